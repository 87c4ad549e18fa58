package main

// The one place for running ampcheck, reading its output and comparing
// XML in the tests, and for the XEP's examples in ../../testdata/.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain runs the command itself, not the tests, when the environment
// says so: TestExitStatus runs the test binary as ampcheck.
func TestMain(m *testing.M) {
	if os.Getenv("AMPCHECK_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// result is what one run printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// ampcheck runs the command in-process with args and stdin.
func ampcheck(stdin string, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(stdin), &stdout, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

// decode checks that r is a success: one line of JSON with exactly the
// keys deliver, replies (an array, never null) and, only when deliver is
// true, message, no < escaped, every stanza one XML element. It returns
// the output with its stanzas read.
func decode(t testing.TB, r result) (deliver bool, message *etree.Element, replies []*etree.Element) {
	t.Helper()
	require.Equal(t, result{stdout: r.stdout}, r, "want status 0 and nothing on stderr")
	require.Regexp(t, `^[^\n]*\n$`, r.stdout, "one line")
	assert.NotContains(t, r.stdout, `\u003c`, "< is escaped")
	var keys map[string]any
	var out output
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &keys), r.stdout)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), r.stdout)
	_, isArray := keys["replies"].([]any)
	_, isString := keys["message"].(string)
	wantKeys := 2
	if out.Deliver {
		wantKeys = 3
	}
	require.True(t, isArray && isString == out.Deliver && len(keys) == wantKeys,
		"want deliver, replies (an array) and, only when deliver is true, message: %s", r.stdout)
	if out.Deliver {
		message = readXML(t, *out.Message)
	}
	for _, s := range out.Replies {
		replies = append(replies, readXML(t, s))
	}
	return out.Deliver, message, replies
}

// readXML parses one element as ampcheck reads a stanza: a root that
// declares no namespace is in jabber:client.
func readXML(t testing.TB, s string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromString(s), "parsing %q", s)
	require.Len(t, doc.ChildElements(), 1, "the elements of %q", s)
	root := doc.Root()
	if root.Space == "" && root.SelectAttr("xmlns") == nil {
		root.CreateAttr("xmlns", nsClient)
	}
	return root
}

// canonical writes el for comparison: each element as {namespace}tag, its
// attributes sorted with namespace declarations left out, its non-blank
// text trimmed, its children in order; "<nil>" for nil.
func canonical(el *etree.Element) string {
	if el == nil {
		return "<nil>"
	}
	var b strings.Builder
	var write func(el *etree.Element, indent string)
	write = func(el *etree.Element, indent string) {
		var attrs []string
		for _, a := range el.Attr {
			if a.Space != "xmlns" && a.FullKey() != "xmlns" {
				attrs = append(attrs, fmt.Sprintf(" %s=%q", a.FullKey(), a.Value))
			}
		}
		sort.Strings(attrs)
		fmt.Fprintf(&b, "%s{%s}%s%s\n", indent, el.NamespaceURI(), el.Tag, strings.Join(attrs, ""))
		for _, c := range el.Child {
			switch c := c.(type) {
			case *etree.Element:
				write(c, indent+"  ")
			case *etree.CharData:
				if s := strings.TrimSpace(c.Data); s != "" {
					fmt.Fprintf(&b, "%s  text %q\n", indent, s)
				}
			}
		}
	}
	write(el, "")
	return b.String()
}

// assertXMLs checks that got are the elements want, as trees.
func assertXMLs(t testing.TB, want, got []*etree.Element, msgAndArgs ...any) {
	t.Helper()
	list := func(els []*etree.Element) string {
		var b strings.Builder
		for i, el := range els {
			fmt.Fprintf(&b, "%d: %s", i+1, canonical(el))
		}
		return b.String()
	}
	assert.Equal(t, list(want), list(got), msgAndArgs...)
}

// The XEP's examples: file and caption, from the index.
var exampleFiles, exampleCaptions = func() (files, captions []string) {
	b, err := os.ReadFile("../../testdata/examples.txt")
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		file, rest, _ := strings.Cut(line, "\t") // file, caption, SHA-256
		caption, _, _ := strings.Cut(rest, "\t")
		files = append(files, filepath.Join("../../testdata", file))
		captions = append(captions, caption)
	}
	return files, captions
}()

// exampleFile returns the file of the XEP's example n, after checking that
// its caption is the one the test cites.
func exampleFile(t testing.TB, n int, caption string) string {
	t.Helper()
	require.Equal(t, caption, exampleCaptions[n-1], "the caption of example %d", n)
	return exampleFiles[n-1]
}

// ellipsis matches the lines where the XEP writes "..." for what it leaves
// out.
var ellipsis = regexp.MustCompile(`(?m)^\s*\.\.\.\s*$`)

// example returns the XEP's example n, without its "..." lines, read as
// ampcheck reads it, with the edits applied in order.
func example(t testing.TB, n int, caption string, edits ...func(*etree.Element)) *etree.Element {
	t.Helper()
	b, err := os.ReadFile(exampleFile(t, n, caption))
	require.NoError(t, err)
	el := readXML(t, ellipsis.ReplaceAllString(string(b), ""))
	for _, edit := range edits {
		edit(el)
	}
	return el
}

// set is an edit: it sets the attributes of every element that path, an
// etree path, selects, from keys and values in turn; an empty value
// removes the attribute.
func set(path string, keyValues ...string) func(*etree.Element) {
	return func(el *etree.Element) {
		for _, e := range el.FindElements(path) {
			for i := 0; i < len(keyValues); i += 2 {
				if keyValues[i+1] == "" {
					e.RemoveAttr(keyValues[i])
				} else {
					e.CreateAttr(keyValues[i], keyValues[i+1])
				}
			}
		}
	}
}

// remove is an edit: it removes every element that path selects.
func remove(path string) func(*etree.Element) {
	return func(el *etree.Element) {
		for _, e := range el.FindElements(path) {
			e.Parent().RemoveChild(e)
		}
	}
}

// runCase is one run of ampcheck and what it must print.
type runCase struct {
	name    string
	stdin   string
	args    []string // flags, then FILE
	deliver bool
	message *etree.Element // the stanza passed on, when deliver is true
	replies []*etree.Element
}

// runCases runs each case as a subtest.
func runCases(t *testing.T, cases []runCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			deliver, message, replies := decode(t, ampcheck(c.stdin, c.args...))
			assert.Equal(t, c.deliver, deliver, "deliver")
			assert.Equal(t, canonical(c.message), canonical(message), "message")
			assertXMLs(t, c.replies, replies, "replies")
		})
	}
}
