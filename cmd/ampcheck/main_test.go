package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ampNS declares the AMP namespace on a literal <amp/>.
const ampNS = `xmlns='http://jabber.org/protocol/amp'`

// request is a message from a@x.lit/r to to, with id 1, carrying rules.
func request(to, rules string) string {
	return `<message from='a@x.lit/r' to='` + to + `' id='1'><amp ` + ampNS + `>` + rules + `</amp></message>`
}

// TestMessages covers what the XEP's examples do not show.
func TestMessages(t *testing.T) {
	const chat = `<message to='b@y.lit' type='chat'><body>hi</body></message>`
	const three = `<rule action='notify' condition='deliver' value='stored'/><rule action='drop' condition='expire-at' value='2030-01-01T00:00:00Z'/><rule action='alert' condition='deliver' value='none'/>`
	runCases(t, []runCase{
		{name: "no request and no from: passed on unchanged, even to a next hop without AMP",
			stdin: chat, args: []string{"-next-hop-amp=false"}, deliver: true, message: readXML(t, chat)},
		{name: "jabber:server, stored: the rules not met stay, the notify event is sent",
			stdin: `<message xmlns='jabber:server' from='a@x.lit/r' to='b@x.lit' id='1'><body>hi</body><amp ` + ampNS + `>` + three + `</amp></message>`,
			args:  []string{"-deliver", "stored", "-now", "2026-01-01T00:00:00Z"}, deliver: true,
			message: readXML(t, `<message xmlns='jabber:server' from='a@x.lit/r' to='b@x.lit' id='1'><body>hi</body><amp `+ampNS+`><rule action='drop' condition='expire-at' value='2030-01-01T00:00:00Z'/><rule action='alert' condition='deliver' value='none'/></amp></message>`),
			replies: []*etree.Element{readXML(t, `<message xmlns='jabber:server' from='x.lit' to='a@x.lit/r' id='1'><amp `+ampNS+` status='notify' from='a@x.lit/r' to='b@x.lit'><rule action='notify' condition='deliver' value='stored'/></amp></message>`)}},
		{name: "-max-rules: the rules past the limit are listed, at most N are echoed",
			stdin: request("b@x.lit", three), args: []string{"-max-rules", "1"},
			replies: []*etree.Element{readXML(t, `<message from='x.lit' to='a@x.lit/r' id='1' type='error'><amp `+ampNS+`><rule action='notify' condition='deliver' value='stored'/></amp>
  <error type='modify' code='405'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><invalid-rules `+ampNS+`><rule action='drop' condition='expire-at' value='2030-01-01T00:00:00Z'/></invalid-rules></error></message>`)}},
		{name: "-max-value-len below a name's length: the names XEP-0079 defines are echoed whole",
			stdin: request("b@x.lit/s", `<rule action='notify' condition='match-resource' value='exact'/>`), args: []string{"-max-value-len", "7", "-support", "notify,deliver,match-resource"},
			deliver: true, message: readXML(t, `<message from='a@x.lit/r' to='b@x.lit/s' id='1'/>`),
			replies: []*etree.Element{readXML(t, `<message from='x.lit' to='a@x.lit/r' id='1'><amp `+ampNS+` status='notify' from='a@x.lit/r' to='b@x.lit/s'><rule action='notify' condition='match-resource' value='exact'/></amp></message>`)}},
	})
}

// TestBadInput checks that bad input gets exit status 2, nothing on
// stdout, and one line on stderr that says what is wrong.
func TestBadInput(t *testing.T) {
	const msg = `<message from='a@x.lit/r' to='b@x.lit' id='1'><body>hi</body></message>`
	f5 := exampleFile(t, 5, capSemantics)
	// The library's own refusals, which ampcheck reports as they are.
	config := func(c amp.Config) string {
		_, err := amp.NewProcessor(c)
		require.Error(t, err, "NewProcessor(%+v)", c)
		return err.Error()
	}
	tests := []struct {
		name, stdin string
		args        []string
		want        string // in the message
	}{
		{"not XML", "this is not XML", nil, "no element"},
		{"empty input", "", nil, "no element"},
		{"unclosed element", "<message from='a@x.lit/r'>", nil, "not well-formed XML"},
		{"two root elements", msg + msg, nil, "more than one root element"},
		{"text after the root element", msg + "trailing", nil, "text outside the root element"},
		{"repeated attribute", "<message from='a@x.lit/r' from='b@x.lit/r'/>", nil, "attribute from repeated"},
		{"undefined entity", "<message from='a@x.lit/r'><body>&nbsp;</body></message>", nil, "not well-formed XML"},
		{"iq", "<iq type='get' id='1'/>", nil, amp.ErrNotMessage.Error()},
		{"message in another namespace", "<message xmlns='urn:x' from='a@x.lit/r' id='1'/>", nil, amp.ErrNotMessage.Error()},
		{name(1, "Initial Service Discovery information request", "not a message"), "",
			[]string{exampleFile(t, 1, "Initial Service Discovery information request")}, amp.ErrNotMessage.Error()},
		{name(3, "Request for information about individual actions and conditions", "not a message"), "",
			[]string{exampleFile(t, 3, "Request for information about individual actions and conditions")}, amp.ErrNotMessage.Error()},
		{"request without from", "<message to='b@x.lit' id='1'><amp " + ampNS + "><rule action='drop' condition='deliver' value='stored'/></amp></message>",
			nil, amp.ErrNoSender.Error()},
		{"missing file", "", []string{filepath.Join(t.TempDir(), "missing.xml")}, "missing.xml"},
		{"directory", "", []string{t.TempDir()}, "directory"},
		{"two files", "", []string{f5, f5}, "more than one FILE"},
		{"flag after FILE", "", []string{f5, "-deliver", "stored"}, "more than one FILE"},
		{"unknown -deliver", msg, []string{"-deliver", "later"}, `-deliver: amp: Outcome.Delivery "later" is not direct`},
		{"empty -deliver", msg, []string{"-deliver", ""}, `-deliver: amp: Outcome.Delivery "" is not`},
		{"unknown -hop", msg, []string{"-hop", "middle"}, `-hop "middle"`},
		{"bad -now", msg, []string{"-now", "yesterday"}, `-now "yesterday"`},
		{"-now without a time", msg, []string{"-now", "2004-01-01"}, `-now "2004-01-01"`},
		{"-now without a zone", msg, []string{"-now", "2004-01-01T00:00:00"}, `-now "2004-01-01T00:00:00"`},
		{"bad -presence", msg, []string{"-presence=maybe"}, "-presence"},
		{"unknown -support item", msg, []string{"-support", "drop,deliver,teleport"}, `"teleport" is neither an action nor a condition`},
		{"repeated -support item", msg, []string{"-support", "drop,deliver,drop"},
			config(amp.Config{Actions: []amp.Action{"drop", "drop"}, Conditions: []amp.Condition{"deliver"}})},
		{"-support without a condition", msg, []string{"-support", "drop,notify"},
			config(amp.Config{Actions: []amp.Action{"drop", "notify"}, Conditions: []amp.Condition{}})},
		{"-support without an action", msg, []string{"-support", "deliver"},
			config(amp.Config{Actions: []amp.Action{}, Conditions: []amp.Condition{"deliver"}})},
		{"empty -support", msg, []string{"-support", ""}, config(amp.Config{Actions: []amp.Action{}})},
		{"negative -max-rules", msg, []string{"-max-rules", "-1"}, config(amp.Config{MaxRules: -1})},
		{"negative -max-value-len", msg, []string{"-max-value-len", "-1"}, config(amp.Config{MaxValueLen: -1})},
		{"-max-value-len too short for an expire-at DateTime", msg, []string{"-max-value-len", "19"}, config(amp.Config{MaxValueLen: 19})},
		{"-max-rules not a number", msg, []string{"-max-rules", "many"}, "-max-rules"},
		{"unknown flag", msg, []string{"-verbose"}, "-verbose"},
		{"flag without value", msg, []string{"-deliver"}, "-deliver"},
		{"unknown disco node", "", []string{"-disco", "http://jabber.org/protocol/amp#errors"}, "amp#errors"},
		{"-disco and -features", "", []string{"-disco", "", "-features"}, "exclusive"},
		{"-features and FILE", "", []string{"-features", f5}, "read no FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ampcheck(tt.stdin, tt.args...)
			assert.Equal(t, 2, r.code, "exit status; stderr %q", r.stderr)
			assert.Empty(t, r.stdout)
			assert.Regexp(t, `^ampcheck: [^\n]+\n$`, r.stderr, "one line")
			assert.Contains(t, r.stderr, tt.want)
		})
	}
}

// TestExitStatus runs the command as a process: main exits with the
// status run returns, after printing what run prints.
func TestExitStatus(t *testing.T) {
	f14 := exampleFile(t, 14, capAlert)
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"-deliver", "stored", f14}, 0},
		{[]string{"-deliver", "later", f14}, 2},
		{[]string{"-h"}, 0},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], tt.args...)
			cmd.Env = append(os.Environ(), "AMPCHECK_MAIN=1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			var exit *exec.ExitError
			if err := cmd.Run(); err != nil {
				require.ErrorAs(t, err, &exit, "running ampcheck")
			}
			got := result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
			assert.Equal(t, tt.code, got.code, "exit status")
			assert.Equal(t, ampcheck("", tt.args...), got, "the process prints what run prints")
		})
	}
}

// TestStdin checks that a stanza on standard input, with FILE absent or
// "-", gives what the file gives.
func TestStdin(t *testing.T) {
	f14 := exampleFile(t, 14, capAlert)
	input, err := os.ReadFile(f14)
	require.NoError(t, err)
	fromFile := ampcheck("", "-deliver", "stored", f14)
	decode(t, fromFile)
	assert.Equal(t, fromFile, ampcheck(string(input), "-deliver", "stored"), "no FILE")
	assert.Equal(t, fromFile, ampcheck(string(input), "-deliver", "stored", "-"), "FILE -")
}

func TestHelp(t *testing.T) {
	r := ampcheck("", "-h")
	require.Equal(t, 0, r.code, "exit status")
	assert.Empty(t, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "usage: ampcheck [flags] [FILE]\n"), r.stdout)
	for _, f := range []string{"-server JID", "-deliver V", "-resource R", "-now T", "-hop H", "-presence",
		"-next-hop-amp", "-support LIST", "-max-rules N", "-max-value-len N", "-disco NODE", "-features",
		`(default "direct")`, `(default "edge")`, "(default true)"} {
		assert.Contains(t, r.stdout, f)
	}
}

// TestREADME runs the README's ampcheck examples and compares what they
// print with what the README shows. The first is also the README's first
// command, which prints the alert of example 15.
func TestREADME(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	readme := string(b)
	runs := regexp.MustCompile(`(?m)^    \$ go run \./cmd/ampcheck (.+)\n    (.+)$`).FindAllStringSubmatch(readme, -1)
	require.Len(t, runs, 2, "the README's ampcheck examples")
	first := regexp.MustCompile("(?s)^[^`]*```sh\n([^\n]*)\n").FindStringSubmatch(readme)
	require.NotNil(t, first, "the README's first command")
	require.Equal(t, "go run ./cmd/ampcheck "+runs[0][1], first[1], "the README's first command")
	for i, r := range runs {
		args := strings.Fields(r[1])
		for j, a := range args {
			if strings.HasPrefix(a, "testdata/") {
				args[j] = filepath.Join("../..", a)
			}
		}
		got := ampcheck("", args...)
		assert.Equal(t, result{stdout: r[2] + "\n"}, got, "README example %d: %s", i+1, r[1])
		if i == 0 {
			_, _, replies := decode(t, got)
			assertXMLs(t, []*etree.Element{example(t, 15, capAlerted)}, replies, "the README's first command")
		}
	}
}

// FuzzRun feeds run any stanza, delivery, time and limits: it must answer
// with one JSON object and status 0, or with one line on stderr and
// status 2, and never panic.
func FuzzRun(f *testing.F) {
	for _, file := range exampleFiles {
		b, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(string(b), "stored", "2004-01-01T00:00:00Z", true, uint8(0), uint8(0))
	}
	f.Add(request("b@y.lit/s", `<rule action='notify' condition='match-resource' value='exact'/><rule action='drop' condition='deliver' value='direct'/>`),
		"direct", "2026-01-01T00:00:00Z", false, uint8(1), uint8(5))
	f.Fuzz(func(t *testing.T, stanza, deliver, now string, presence bool, maxRules, maxValueLen uint8) {
		r := ampcheck(stanza, "-deliver", deliver, "-now", now, "-next-hop-amp=false",
			"-presence="+strconv.FormatBool(presence),
			"-max-rules", strconv.Itoa(int(maxRules)), "-max-value-len", strconv.Itoa(int(maxValueLen)))
		switch r.code {
		case 0:
			decode(t, r)
		case 2:
			require.Empty(t, r.stdout, "status 2")
			require.Regexp(t, `^ampcheck: [^\n]*\n$`, r.stderr, "status 2")
		default:
			t.Fatalf("status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
}
