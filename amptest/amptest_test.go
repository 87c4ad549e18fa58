package amptest_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/ampxmpp/amp/amptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The kit's scenarios run against the example server in its own tests
// (examples/server/amptest_test.go) and through ampprobe's tests here:
// those show that it passes a conforming server and names each planted
// wiring mistake. These tests cover what a caller gets before any
// scenario runs.

var accounts = []amptest.Account{{User: "alice", Password: "a"}, {User: "bob", Password: "b"}}

func TestCheckRefusesAnIncompleteServer(t *testing.T) {
	tests := []struct {
		name string
		s    amptest.Server
		want []string
	}{
		{"nothing", amptest.Server{}, []string{"no Addr", "no Domain", "no Subscribed pair"}},
		{"unknown account", amptest.Server{Addr: "127.0.0.1:1", Domain: "localhost", Accounts: accounts,
			Subscribed: []amptest.Subscription{{Sender: "alice", Recipient: "carol"}}}, []string{`no account "carol"`}},
		{"one account", amptest.Server{Addr: "127.0.0.1:1", Domain: "localhost", Accounts: accounts,
			Subscribed: []amptest.Subscription{{Sender: "alice", Recipient: "alice"}}}, []string{"the kit needs two accounts"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			results, err := amptest.Check(context.Background(), tc.s)
			require.Error(t, err)
			assert.Nil(t, results)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestCheckFailsFastWithoutAServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	start := time.Now()
	_, err = amptest.Check(context.Background(), amptest.Server{
		Addr: addr, Domain: "localhost", Accounts: accounts,
		Subscribed: []amptest.Subscription{{Sender: "alice", Recipient: "bob"}},
		Timeout:    time.Second,
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), addr)
	assert.Less(t, time.Since(start), 5*time.Second, "the wait is bounded by Timeout")
}

// TestCheckTimesOutOnASilentServer runs the kit against a listener that
// accepts and never answers: Check ends with a timeout error well within
// twice the Timeout, and does not try again.
func TestCheckTimesOutOnASilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	const timeout = 700 * time.Millisecond
	start := time.Now()
	_, err = amptest.Check(context.Background(), amptest.Server{
		Addr: l.Addr().String(), Domain: "localhost", Accounts: accounts,
		Subscribed: []amptest.Subscription{{Sender: "alice", Recipient: "bob"}},
		Timeout:    timeout,
	})
	elapsed := time.Since(start)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "timed out")
	assert.Contains(t, err.Error(), l.Addr().String())
	assert.Less(t, elapsed, 2*timeout, "the wait is bounded by Timeout: %v", elapsed)
	assert.GreaterOrEqual(t, elapsed, timeout/2)
}

func TestResultReport(t *testing.T) {
	r := amptest.Result{
		Name: "§3.3.1/deliver=direct/notify", Section: "§3.3.1", Doc: "a notify deliver=direct rule is met",
		Level: amptest.Must, Requirement: "§3.4.4: MUST contain <amp status='notify'/>",
		Status:   amptest.Fail,
		Problems: []amptest.Problem{{Level: amptest.Must, Text: "the notify event: id \"\", want the original id \"m1\""}},
		Stanzas: []amptest.Stanza{
			{Session: "alice/s", Sent: true, XML: "<message id='m1'/>"},
			{Session: "alice/s", XML: "<message/>"},
			{Session: "alice/s", XML: "<message id='x'/>", Ignored: true},
			{XML: "bob/r1 is offline", Note: true},
		},
	}
	want := "§3.3.1/deliver=direct/notify: a notify deliver=direct rule is met\n" +
		"  requirement (MUST §3.3.1): §3.4.4: MUST contain <amp status='notify'/>\n" +
		"  - [MUST] the notify event: id \"\", want the original id \"m1\"\n" +
		"  stanzas:\n" +
		"    alice/s → <message id='m1'/>\n" +
		"    alice/s ← <message/>\n" +
		"    alice/s ← <message id='x'/> (ignored)\n" +
		"    (kit) bob/r1 is offline"
	assert.Equal(t, want, r.Report())

	at := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	r.Streams = []amptest.Stream{{Session: "alice/s", Chunks: []amptest.Chunk{
		{At: at, Sent: true, Data: "<message id='m1'/>"}, {At: at, Data: "<message/>"},
	}}}
	assert.Equal(t, "  stream alice/s:\n    12:00:00.000 → <message id='m1'/>\n    12:00:00.000 ← <message/>\n", r.Wire())
}

func TestStatusAndLevel(t *testing.T) {
	for s, want := range map[amptest.Status]string{
		amptest.Pass: "pass", amptest.NonStrict: "non-strict", amptest.Informational: "informational",
		amptest.Fail: "fail", amptest.Skip: "skip", amptest.Status(9): "Status(9)",
	} {
		assert.Equal(t, want, s.String())
	}
	for l, want := range map[amptest.Level]string{
		amptest.Must: "MUST", amptest.Should: "SHOULD", amptest.May: "MAY", amptest.Project: "project", amptest.Level(9): "Level(9)",
	} {
		assert.Equal(t, want, l.String())
	}
	for _, tc := range []struct {
		status         amptest.Status
		strict, failed bool
	}{
		{amptest.Fail, false, true}, {amptest.NonStrict, false, false}, {amptest.NonStrict, true, true},
		{amptest.Informational, true, false}, {amptest.Skip, true, false}, {amptest.Pass, true, false},
	} {
		assert.Equal(t, tc.failed, amptest.Result{Status: tc.status}.Failed(tc.strict), "%s strict=%v", tc.status, tc.strict)
	}
}
