package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// bin is the ampcheck command, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ampcheck-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "ampcheck")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building ampcheck: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of ampcheck printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// ampcheck runs the command with args and stdin.
func ampcheck(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running ampcheck %q: %v", args, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// runInProcess calls run with args and stdin.
func runInProcess(stdin string, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(stdin), &stdout, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

// output is the JSON ampcheck prints, read strictly.
type decoded struct {
	Deliver bool
	Message *string
	Replies []string
}

// decode checks the shape of ampcheck's JSON output and reads it: one
// object with exactly the keys deliver, replies and, only when deliver is
// true, message; replies an array, never null.
func decode(t testing.TB, r result) decoded {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit status %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
	if !strings.HasSuffix(r.stdout, "\n") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("stdout %q is not one line", r.stdout)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatalf("stdout %q is not a JSON object: %v", r.stdout, err)
	}
	var d decoded
	if err := json.Unmarshal(raw["deliver"], &d.Deliver); err != nil {
		t.Fatalf("deliver in %s: %v", r.stdout, err)
	}
	wantKeys := 2
	if d.Deliver {
		wantKeys = 3
		if err := json.Unmarshal(raw["message"], &d.Message); err != nil || d.Message == nil {
			t.Fatalf("deliver is true and message is not a string in %s", r.stdout)
		}
	}
	if len(raw) != wantKeys {
		t.Fatalf("got keys %v in %s; want deliver, replies and, when deliver is true, message", keys(raw), r.stdout)
	}
	if rep, ok := raw["replies"]; !ok || !bytes.HasPrefix(rep, []byte("[")) {
		t.Fatalf("replies is %s, want an array", rep)
	}
	if err := json.Unmarshal(raw["replies"], &d.Replies); err != nil {
		t.Fatalf("replies in %s: %v", r.stdout, err)
	}
	return d
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// want is the expected outcome of a run.
type want struct {
	deliver bool
	message *etree.Element // the stanza passed on, when deliver is true
	replies []*etree.Element
}

// check compares ampcheck's output with w.
func check(t testing.TB, r result, w want) {
	t.Helper()
	d := decode(t, r)
	if d.Deliver != w.deliver {
		t.Errorf("deliver = %v, want %v", d.Deliver, w.deliver)
	}
	if w.deliver && d.Message != nil {
		if diff := diffXML(parseXML(t, *d.Message), w.message); diff != "" {
			t.Errorf("message: %s\ngot  %s", diff, *d.Message)
		}
	}
	if len(d.Replies) != len(w.replies) {
		t.Fatalf("got %d replies %q, want %d", len(d.Replies), d.Replies, len(w.replies))
	}
	for i, rep := range d.Replies {
		if diff := diffXML(parseXML(t, rep), w.replies[i]); diff != "" {
			t.Errorf("reply %d: %s\ngot  %s", i, diff, rep)
		}
	}
}

// failsOnBadInput checks that a run failed on bad input: exit status 2, nothing on
// stdout, one line on stderr and no panic.
func failsOnBadInput(t testing.TB, r result) {
	t.Helper()
	if r.code != 2 {
		t.Errorf("exit status %d, want 2 (stdout %q, stderr %q)", r.code, r.stdout, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
	if !strings.HasPrefix(r.stderr, "ampcheck: ") || !strings.HasSuffix(r.stderr, "\n") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("stderr %q, want one line starting with ampcheck:", r.stderr)
	}
	for _, s := range []string{"panic", "goroutine"} {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("output mentions %q: %q", s, r.stderr)
		}
	}
}

// The XEP's examples, as testdata/examples.txt lists them.
var (
	exampleFiles    []string
	exampleCaptions []string
)

func init() {
	b, err := os.ReadFile("../../testdata/examples.txt")
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		// Each line is the file, the caption and the file's SHA-256.
		file, rest, _ := strings.Cut(line, "\t")
		caption, _, _ := strings.Cut(rest, "\t")
		exampleFiles = append(exampleFiles, filepath.Join("../../testdata", file))
		exampleCaptions = append(exampleCaptions, caption)
	}
}

// exampleName is how the XEP cites example n.
func exampleName(n int) string {
	return fmt.Sprintf("Example %d: %s", n, exampleCaptions[n-1])
}

// exampleFile is the path of example n.
func exampleFile(n int) string { return exampleFiles[n-1] }

// ellipsis matches the lines the XEP writes "..." for what it leaves out.
var ellipsis = regexp.MustCompile(`(?m)^\s*\.\.\.\s*$`)

// example returns the root element of example n, without its "..." lines;
// a <message/> that declares no namespace is put in jabber:client, as
// ampcheck reads it. Each call returns a new tree to change.
func example(t testing.TB, n int) *etree.Element {
	t.Helper()
	b, err := os.ReadFile(exampleFile(n))
	if err != nil {
		t.Fatal(err)
	}
	return inClient(parseXML(t, ellipsis.ReplaceAllString(string(b), "")))
}

// exampleText returns example n with change applied, as XML to feed ampcheck.
func exampleText(t testing.TB, n int, change func(msg *etree.Element)) string {
	t.Helper()
	el := example(t, n)
	change(el)
	s, err := etree.NewDocumentWithRoot(el).WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// inClient puts a <message/> that declares no default namespace in
// jabber:client.
func inClient(el *etree.Element) *etree.Element {
	if el.Tag == "message" && el.Space == "" && el.SelectAttr("xmlns") == nil {
		el.CreateAttr("xmlns", nsClient)
	}
	return el
}

// xmlElement parses a literal stanza, put in jabber:client when it is a
// <message/> without a namespace.
func xmlElement(t testing.TB, s string) *etree.Element {
	t.Helper()
	return inClient(parseXML(t, s))
}

// ampChild returns the <amp/> child of msg.
func ampChild(t testing.TB, msg *etree.Element) *etree.Element {
	t.Helper()
	for _, c := range msg.ChildElements() {
		if c.Tag == "amp" {
			return c
		}
	}
	t.Fatalf("<%s/> has no <amp/>", msg.Tag)
	return nil
}

// withoutAMP removes the <amp/> child of msg: the message as delivered.
func withoutAMP(t testing.TB, msg *etree.Element) *etree.Element {
	t.Helper()
	msg.RemoveChild(ampChild(t, msg))
	return msg
}

// swapAMPFromTo swaps the from and to of msg's <amp/>: the XEP's notify and
// error examples write them the other way round from §4.1.
func swapAMPFromTo(t testing.TB, msg *etree.Element) *etree.Element {
	t.Helper()
	a := ampChild(t, msg)
	from, to := a.SelectAttrValue("from", ""), a.SelectAttrValue("to", "")
	a.CreateAttr("from", to)
	a.CreateAttr("to", from)
	return msg
}

// setRules sets attribute key to value on every <rule/> under el.
func setRules(el *etree.Element, key, value string) {
	for _, r := range el.FindElements(".//rule") {
		r.CreateAttr(key, value)
	}
}

func TestStdin(t *testing.T) {
	input, err := os.ReadFile(exampleFile(14))
	if err != nil {
		t.Fatal(err)
	}
	fromFile := ampcheck(t, "", "-deliver", "stored", exampleFile(14))
	decode(t, fromFile)
	for name, args := range map[string][]string{
		"no FILE": {"-deliver", "stored"},
		"FILE -":  {"-deliver", "stored", "-"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := ampcheck(t, string(input), args...); got != fromFile {
				t.Errorf("got %+v, want as from the file: %+v", got, fromFile)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	r := ampcheck(t, "", "-h")
	if r.code != 0 {
		t.Errorf("exit status %d, want 0", r.code)
	}
	if !strings.HasPrefix(r.stdout, "usage: ampcheck [flags] [FILE]\n") {
		t.Errorf("usage does not start with the usage line: %q", r.stdout)
	}
	for _, f := range []string{"-server JID", "-deliver V", "-resource R", "-now T", "-hop H",
		"-presence", "-next-hop-amp", "-support LIST", "-disco NODE", "-features",
		`(default "direct")`, `(default "edge")`, "(default true)"} {
		if !strings.Contains(r.stdout, f) {
			t.Errorf("usage does not mention %q", f)
		}
	}
}
