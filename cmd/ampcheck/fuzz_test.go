package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// FuzzRun feeds run any stanza: it must answer with one JSON object and
// status 0, or with one line on stderr and status 2, and never panic.
func FuzzRun(f *testing.F) {
	for _, file := range exampleFiles {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "stored", "2004-01-01T00:00:00Z", true)
	}
	f.Add(`<message from='a@x/r' to='b@y/s' id='1'><amp xmlns='http://jabber.org/protocol/amp'><rule action='notify' condition='match-resource' value='exact'/></amp></message>`, "direct", "2026-01-01T00:00:00Z", false)
	f.Fuzz(func(t *testing.T, stanza, deliver, now string, presence bool) {
		args := []string{"-deliver", deliver, "-now", now, "-next-hop-amp=false"}
		if !presence {
			args = append(args, "-presence=false")
		}
		r := runInProcess(stanza, args...)
		switch r.code {
		case 0:
			var out map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.stderr != "" {
				t.Fatalf("status 0 with stdout %q, stderr %q", r.stdout, r.stderr)
			}
		case 2:
			if r.stdout != "" || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("status 2 with stdout %q, stderr %q", r.stdout, r.stderr)
			}
		default:
			t.Fatalf("status %d", r.code)
		}
	})
}
