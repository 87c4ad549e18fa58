package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp/amptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTable(t *testing.T) {
	results := []amptest.Result{
		{Name: "§8/stream-feature", Section: "§8", Status: amptest.Pass},
		{Name: "§3.3.2/expire-at=future", Section: "§3.3.2", Status: amptest.Skip, Reason: "the server does not advertise expire-at"},
		{Name: "§2.2.1/request/no-id", Section: "§2.2.1", Status: amptest.Fail, Doc: "refused",
			Problems: []string{"nothing arrived"}, Stanzas: []amptest.Stanza{{Session: "alice/s", Sent: true, XML: "<message/>"}}},
	}
	var out bytes.Buffer
	code := table(&out, results, false)
	assert.Equal(t, 1, code, "a failure exits 1")
	want := "SCENARIO                 SECTION  RESULT\n" +
		"§8/stream-feature        §8       pass\n" +
		"§3.3.2/expire-at=future  §3.3.2   skip  the server does not advertise expire-at\n" +
		"§2.2.1/request/no-id     §2.2.1   fail\n" +
		"\n1 passed, 1 failed, 1 skipped\n" +
		"\nFAIL §2.2.1/request/no-id: refused\n" +
		"  - nothing arrived\n" +
		"  stanzas:\n" +
		"    alice/s → <message/>\n"
	assert.Equal(t, want, out.String())

	out.Reset()
	assert.Equal(t, 0, table(&out, results[:2], false), "passes and skips exit 0")
}

func TestRunRefusesBadArguments(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.json")
	require.NoError(t, os.WriteFile(unknown, []byte(`{"addr": "127.0.0.1:1", "adress": "x"}`), 0o600))
	badQuiet := filepath.Join(dir, "quiet.json")
	require.NoError(t, os.WriteFile(badQuiet, []byte(`{"quiet": 300}`), 0o600))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"argument", []string{"extra"}, "unexpected arguments"},
		{"bad pair", []string{"-account", "alice"}, "want name:value"},
		{"no file", []string{"-config", filepath.Join(dir, "missing.json")}, "missing.json"},
		{"unknown field", []string{"-config", unknown}, `unknown field "adress"`},
		{"quiet as a number", []string{"-config", badQuiet}, `a duration is a string such as "300ms"`},
		{"incomplete", []string{"-addr", "127.0.0.1:1"}, "no Domain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, 2, run(tc.args, &stdout, &stderr))
			assert.Contains(t, stderr.String(), tc.want)
			assert.Empty(t, stdout.String())
		})
	}
}

// TestProbeExampleServer runs ampprobe against the example server, built
// and started as a command the way an operator would run it: it passes
// everything, and a probe told the wrong rule limit fails the limit
// scenario with the stanzas that show why.
func TestProbeExampleServer(t *testing.T) {
	addr := startExampleServer(t)
	dir := t.TempDir()
	cfg := config{
		Addr: addr, Domain: "localhost",
		Accounts: []amptest.Account{
			{User: "alice", Password: "alice-pw"}, {User: "bob", Password: "bob-pw"}, {User: "carol", Password: "carol-pw"},
		},
		Subscribed: []amptest.Subscription{{Sender: "alice", Recipient: "bob"}},
	}
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	path := filepath.Join(dir, "probe.json")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	fast := []string{"-config", path, "-quiet", "100ms", "-expire-window", "1s", "-timeout", "2s"}

	var stdout, stderr bytes.Buffer
	code := run(fast, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "§3.3.1/deliver=stored/notify")
	assert.Contains(t, stdout.String(), " 0 failed, ")
	assert.NotContains(t, stdout.String(), "FAIL")

	stdout.Reset()
	stderr.Reset()
	code = run(append(fast, "-max-rules", "31"), &stdout, &stderr)
	assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	out := stdout.String()
	assert.Contains(t, out, "1 failed")
	assert.Contains(t, out, "FAIL §2.2.1/limit/max-rules-exceeded")
	assert.Contains(t, out, "the not-acceptable refusal with <invalid-rules/>: nothing arrived")
	assert.Contains(t, out, "received the message")
	assert.Contains(t, out, "alice/amptest-")
}

// startExampleServer builds the example server of this repository and
// runs it on a free loopback port until the test ends.
func startExampleServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "server")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "..", "..", "examples", "server")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the example server:\n%s", out)

	config := `{"domain": "localhost", "store": ` + quote(filepath.Join(dir, "offline.db")) + `,
		"accounts": {
			"alice": {"password": "alice-pw", "roster": {"bob@localhost": "both"}},
			"bob": {"password": "bob-pw", "roster": {"alice@localhost": "both"}},
			"carol": {"password": "carol-pw", "roster": {}}}}`
	cfgPath := filepath.Join(dir, "config.json")
	require.NoError(t, os.WriteFile(cfgPath, []byte(config), 0o600))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	var logs bytes.Buffer
	srv := exec.Command(bin, "-config", cfgPath, "-addr", addr)
	srv.Stdout, srv.Stderr = &logs, &logs
	require.NoError(t, srv.Start())
	t.Cleanup(func() {
		srv.Process.Kill()
		srv.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("the example server does not listen on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestPairs(t *testing.T) {
	var p pairs
	require.NoError(t, p.Set("alice:pw:with:colons"))
	assert.Equal(t, pairs{{"alice", "pw:with:colons"}}, p)
	assert.True(t, strings.Contains(p.String(), "alice"))
}
