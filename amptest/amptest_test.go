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

func TestResultReport(t *testing.T) {
	r := amptest.Result{
		Name: "§3.3.1/deliver=direct/notify", Section: "§3.3.1", Doc: "a notify deliver=direct rule is met",
		Status:   amptest.Fail,
		Problems: []string{"the notify event: id \"\", want the original id \"m1\""},
		Stanzas: []amptest.Stanza{
			{Session: "alice/s", Sent: true, XML: "<message id='m1'/>"},
			{Session: "alice/s", XML: "<message/>"},
			{Session: "alice/s", XML: "<presence/>", Ignored: true},
		},
	}
	want := "§3.3.1/deliver=direct/notify: a notify deliver=direct rule is met\n" +
		"  - the notify event: id \"\", want the original id \"m1\"\n" +
		"  stanzas:\n" +
		"    alice/s → <message id='m1'/>\n" +
		"    alice/s ← <message/>\n" +
		"    alice/s ← <presence/> (ignored)"
	assert.Equal(t, want, r.Report())
}

func TestStatusString(t *testing.T) {
	assert.Equal(t, "pass", amptest.Pass.String())
	assert.Equal(t, "fail", amptest.Fail.String())
	assert.Equal(t, "skip", amptest.Skip.String())
	assert.Equal(t, "Status(7)", amptest.Status(7).String())
}
