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
		{Name: "§8/stream-feature", Section: "§8", Level: amptest.May, Status: amptest.Informational, Doc: "listed",
			Problems: []amptest.Problem{{Level: amptest.May, Text: "not listed"}}},
		{Name: "§3.3.2/expire-at=future", Section: "§3.3.2", Level: amptest.Must, Status: amptest.Skip, Reason: "the server does not advertise expire-at"},
		{Name: "§9/no-subscription/notify", Section: "§9", Level: amptest.Should, Status: amptest.NonStrict},
		{Name: "§2.2.1/unsupported-action", Section: "§2.2.1", Level: amptest.Must, Status: amptest.Fail, Doc: "refused", Requirement: "§2.2.1: MUST reply with an error",
			Problems: []amptest.Problem{{Level: amptest.Must, Text: "nothing arrived"}}, Stanzas: []amptest.Stanza{{Session: "alice/s", Sent: true, XML: "<message/>"}}},
	}
	var out bytes.Buffer
	code := table(&out, results, false, false, false)
	assert.Equal(t, 1, code, "a broken MUST exits 1")
	want := "SCENARIO                   LEVEL   RESULT\n" +
		"§8/stream-feature          MAY     informational\n" +
		"§3.3.2/expire-at=future    MUST    skip  the server does not advertise expire-at\n" +
		"§9/no-subscription/notify  SHOULD  non-strict\n" +
		"§2.2.1/unsupported-action  MUST    fail\n" +
		"\n0 pass, 1 non-strict, 1 informational, 1 fail, 1 skip\n" +
		"\nINFORMATIONAL §8/stream-feature: listed\n" +
		"  requirement (MAY §8): \n" +
		"  - [MAY] not listed\n" +
		"\nNON-STRICT §9/no-subscription/notify: \n" +
		"  requirement (SHOULD §9): \n" +
		"\nFAIL §2.2.1/unsupported-action: refused\n" +
		"  requirement (MUST §2.2.1): §2.2.1: MUST reply with an error\n" +
		"  - [MUST] nothing arrived\n" +
		"  stanzas:\n" +
		"    alice/s → <message/>\n"
	assert.Equal(t, want, out.String())

	out.Reset()
	assert.Equal(t, 0, table(&out, results[:3], false, false, false), "no broken MUST exits 0")
	assert.Equal(t, 1, table(&out, results[:3], true, false, false), "strict: a broken SHOULD exits 1")
}

func TestCompare(t *testing.T) {
	path := filepath.Join(t.TempDir(), "expected.txt")
	results := []amptest.Result{
		{Name: "§8/stream-feature", Level: amptest.May, Status: amptest.Informational},
		{Name: "§2.2.1/unsupported-action", Level: amptest.Must, Status: amptest.Fail},
	}
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 1, compare(&stdout, &stderr, path, results, false), "a missing file differs")
	assert.Contains(t, stderr.String(), "write it with -update")
	require.Equal(t, 0, compare(&stdout, &stderr, path, results, true))
	assert.Equal(t, 0, compare(&stdout, &stderr, path, results, false), "the same verdicts agree")

	changed := append([]amptest.Result(nil), results...)
	changed[1].Status = amptest.Pass
	changed = append(changed, amptest.Result{Name: "§9/new", Level: amptest.Should, Status: amptest.Pass})
	stdout.Reset()
	assert.Equal(t, 1, compare(&stdout, &stderr, path, changed[1:], false))
	for _, w := range []string{
		"3 verdicts differ",
		"§2.2.1/unsupported-action: pass MUST, want fail MUST",
		"§9/new: pass SHOULD, not in the file",
		"§8/stream-feature: not run, want informational MAY",
	} {
		assert.Contains(t, stdout.String(), w)
	}
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
		{"update without expect", []string{"-update"}, "-update needs -expect FILE"},
		{"bad -run", []string{"-addr", "127.0.0.1:1", "-domain", "localhost", "-account", "a:a", "-account", "b:b", "-subscribed", "a:b", "-run", "("}, "-run: error parsing regexp"},
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
// and started as a command the way an operator would run it: no MUST is
// broken, progress goes to standard error as each scenario ends, the JSON
// holds every result with its raw streams, and the verdicts can be kept
// and compared. A probe told the wrong rule limit gets informational
// verdicts for the limit scenarios, with the stanzas that show why, and
// a wrong domain is an error, not a table.
func TestProbeExampleServer(t *testing.T) {
	addr := startExampleServer(t)
	dir := t.TempDir()
	cfg := config{
		Addr: addr, Domain: "localhost",
		Accounts: []amptest.Account{
			{User: "alice", Password: "alice-pw"}, {User: "bob", Password: "bob-pw"}, {User: "carol", Password: "carol-pw"},
		},
		Subscribed: []amptest.Subscription{{Sender: "alice", Recipient: "bob"}, {Sender: "bob", Recipient: "carol"}},
	}
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	path := filepath.Join(dir, "probe.json")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	fast := []string{"-config", path, "-quiet", "100ms", "-expire-window", "1s", "-timeout", "2s"}
	jsonPath := filepath.Join(dir, "results.json")
	expectPath := filepath.Join(dir, "expected.txt")

	var stdout, stderr bytes.Buffer
	code := run(append(fast, "-max-rules", "32", "-json", jsonPath, "-expect", expectPath, "-update"), &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	out := stdout.String()
	assert.Contains(t, out, "§3.3.1/deliver=stored/notify")
	assert.Contains(t, out, " 0 non-strict, ")
	assert.Contains(t, out, " 0 fail, ")
	assert.NotContains(t, out, "\nFAIL")
	assert.Regexp(t, `\[1/\d+\] pass +MUST +§2\.1\.1/disco/root-feature`, stderr.String())

	var doc struct {
		Counts  map[string]int
		Failed  bool
		Results []struct {
			Name    string
			Status  string
			Level   string
			Streams []amptest.Stream
		}
	}
	b, err = os.ReadFile(jsonPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.False(t, doc.Failed)
	assert.Equal(t, 0, doc.Counts["fail"])
	assert.Equal(t, len(doc.Results), doc.Counts["pass"]+doc.Counts["non-strict"]+doc.Counts["informational"]+doc.Counts["skip"])
	var direct bool
	for _, r := range doc.Results {
		if r.Name != "§3.3.1/deliver=direct/notify" {
			continue
		}
		direct = true
		assert.Equal(t, "MUST", r.Level)
		require.NotEmpty(t, r.Streams)
		var raw strings.Builder
		for _, c := range r.Streams[0].Chunks {
			raw.WriteString(c.Data)
		}
		assert.Contains(t, raw.String(), "<stream:stream", "the bytes on the wire, stream header included")
		assert.Contains(t, raw.String(), "(password hidden)")
		assert.NotContains(t, raw.String(), "YWxpY2UtcHc", "no password in the transcript")
	}
	assert.True(t, direct, "the JSON holds every result")

	stdout.Reset()
	stderr.Reset()
	code = run(append(fast, "-max-rules", "31", "-expect", expectPath), &stdout, &stderr)
	assert.Equal(t, 1, code, "the verdicts differ from the file:\n%s", stdout.String())
	out = stdout.String()
	assert.Contains(t, out, "§2.2.1/limit/max-rules-exceeded: informational project, want pass project")
	assert.Contains(t, out, "INFORMATIONAL §2.2.1/limit/max-rules-exceeded")
	assert.Contains(t, out, "the not-acceptable refusal with <invalid-rules/>: nothing arrived")
	assert.Contains(t, out, "received the message")

	stdout.Reset()
	stderr.Reset()
	code = run(append(fast, "-run", "^§9/"), &stdout, &stderr)
	assert.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "§9/no-subscription/notify")
	assert.NotContains(t, stdout.String(), "§3.3.1/")
	assert.Contains(t, stdout.String(), "5 pass, 0 non-strict, 0 informational, 0 fail, 0 skip")

	stdout.Reset()
	stderr.Reset()
	code = run(append(fast, "-domain", "example.org"), &stdout, &stderr)
	assert.Equal(t, 2, code, "a wrong domain is an error:\n%s", stdout.String())
	assert.Empty(t, stdout.String(), "no table")
	assert.Contains(t, stderr.String(), "example.org")
}

// startExampleServer builds the example server of this repository and
// runs it on a free loopback port until the test ends, with the shipped
// config.json: one-way subscriptions, where bob lets alice see his
// presence and carol lets bob see hers.
func startExampleServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "server")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "..", "..", "examples", "server")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the example server:\n%s", out)

	// The shipped config.json, with the store in dir.
	shipped, err := os.ReadFile(filepath.Join(build.Dir, "config.json"))
	require.NoError(t, err)
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(shipped, &cfg))
	cfg["store"] = filepath.Join(dir, "offline.db")
	config, err := json.Marshal(cfg)
	require.NoError(t, err)
	cfgPath := filepath.Join(dir, "config.json")
	require.NoError(t, os.WriteFile(cfgPath, config, 0o600))

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

// TestProbeSilentServer runs ampprobe against a listener that accepts and
// never answers: it exits 2 with a timeout error well within twice the
// timeout, and prints no table.
func TestProbeSilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run([]string{"-addr", l.Addr().String(), "-domain", "localhost", "-account", "alice:a", "-account", "bob:b",
		"-subscribed", "alice:bob", "-timeout", "1s"}, &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Contains(t, stderr.String(), "timed out: no answer within 1s")
	assert.Empty(t, stdout.String())
}

func TestPairs(t *testing.T) {
	var p pairs
	require.NoError(t, p.Set("alice:pw:with:colons"))
	assert.Equal(t, pairs{{"alice", "pw:with:colons"}}, p)
	assert.True(t, strings.Contains(p.String(), "alice"))
}
