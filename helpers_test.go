package amp_test

// The one place for reading, writing and comparing XML in the tests, and
// for the XEP's examples in testdata/.

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/require"
)

var (
	update   = flag.Bool("update", false, "with -spec: copy the XEP's examples into testdata/ again")
	specPath = flag.String("spec", "", "the path of xep-0079.xml, to check testdata/ against it (or copy from it with -update)")
)

// readXML parses one element as a server reads it: repeated attributes are
// kept, and a root that declares no namespace is in jabber:client, as on a
// client stream.
func readXML(t testing.TB, s string) *etree.Element {
	t.Helper()
	el, err := parseXML(s)
	require.NoError(t, err, "parsing %q", s)
	return el
}

// parseXML is readXML returning an error, for fuzz targets and helpers.
func parseXML(s string) (*etree.Element, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveDuplicateAttrs = true
	if err := doc.ReadFromString(s); err != nil {
		return nil, err
	}
	root := doc.Root()
	if root == nil {
		return nil, errors.New("no element")
	}
	if root.Space == "" && root.NamespaceURI() == "" {
		root.CreateAttr("xmlns", "jabber:client")
	}
	return root, nil
}

// writeXML writes el as compact XML with the namespaces it inherits; ""
// for nil.
func writeXML(el *etree.Element) string {
	if el == nil {
		return ""
	}
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	s, err := doc.WriteToString()
	if err != nil {
		panic(err)
	}
	return s
}

// canonical writes el for comparison: each element as {namespace}tag, its
// attributes sorted with namespace declarations left out, its non-blank
// text trimmed, its children in order. Written out and read back first, el
// must declare its namespaces itself.
func canonical(el *etree.Element) string {
	if el == nil {
		return "<nil>"
	}
	back, err := parseXML(writeXML(el))
	if err != nil {
		return "unreadable: " + err.Error()
	}
	var b strings.Builder
	writeCanonical(&b, back, 0)
	return b.String()
}

func writeCanonical(b *strings.Builder, el *etree.Element, depth int) {
	b.WriteString(strings.Repeat("  ", depth) + "{" + el.NamespaceURI() + "}" + el.Tag)
	var attrs []string
	for _, a := range el.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		key := a.Key
		if a.Space != "" {
			key = "{" + a.NamespaceURI() + "}" + a.Key
		}
		attrs = append(attrs, fmt.Sprintf("%s=%q", key, a.Value))
	}
	sort.Strings(attrs)
	for _, a := range attrs {
		b.WriteString(" " + a)
	}
	b.WriteString("\n")
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			writeCanonical(b, t, depth+1)
		case *etree.CharData:
			if s := strings.TrimSpace(t.Data); s != "" {
				b.WriteString(strings.Repeat("  ", depth+1) + "text " + s + "\n")
			}
		}
	}
}

// assertXML checks that got is the element want, written as XML, as
// trees; want "" means got must be nil.
func assertXML(t testing.TB, want string, got *etree.Element, msgAndArgs ...any) {
	t.Helper()
	if want == "" {
		require.Nil(t, got, msgAndArgs...)
		return
	}
	require.Equal(t, canonical(readXML(t, want)), canonical(got), msgAndArgs...)
}

// assertXMLs is assertXML for a list of elements.
func assertXMLs(t testing.TB, want []string, got []*etree.Element, msgAndArgs ...any) {
	t.Helper()
	var w, g []string
	for _, s := range want {
		w = append(w, canonical(readXML(t, s)))
	}
	for _, el := range got {
		g = append(g, canonical(el))
	}
	require.Equal(t, w, g, msgAndArgs...)
}

// specExample is one example of XEP-0079, numbered as the XEP numbers them.
type specExample struct {
	Number  int
	Caption string
	Text    string
	sum     string // the SHA-256 that testdata/examples.txt records
}

// File is the name of the example's file in testdata/.
func (e specExample) File() string {
	slug := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(e.Caption), "-"), "-")
	return fmt.Sprintf("example-%02d-%s.xml", e.Number, slug)
}

// Name is how tests cite the example.
func (e specExample) Name() string {
	return fmt.Sprintf("Example %d: %s", e.Number, e.Caption)
}

// examples lists the XEP's examples as testdata/ holds them, from the
// index testdata/examples.txt: file, caption and SHA-256 of the text.
var examples = func() []specExample {
	b, err := os.ReadFile("testdata/examples.txt")
	if err != nil {
		panic(err)
	}
	var out []specExample
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		file, rest, _ := strings.Cut(line, "\t")
		caption, sum, _ := strings.Cut(rest, "\t")
		text, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			panic(err)
		}
		out = append(out, specExample{Number: i + 1, Caption: caption, Text: string(text), sum: sum})
	}
	return out
}()

// example returns the XEP's example number n, read as a server reads it,
// after checking that its caption is the one the test cites.
func example(t testing.TB, n int, caption string) *etree.Element {
	t.Helper()
	e := examples[n-1]
	require.Equal(t, caption, e.Caption, "example %d", n)
	return readXML(t, e.Text)
}

var exampleRE = regexp.MustCompile(`(?s)<example caption=(?:'([^']*)'|"([^"]*)")><!\[CDATA\[\n?(.*?)\]\]></example>`)

// TestSpecExamples checks that testdata/ holds the 26 examples of XEP-0079
// exactly as the specification writes them. Each file is checked against
// the SHA-256 its index records; with -spec PATH, against the
// specification itself, and with -spec PATH -update the files and the
// index are copied from it again.
func TestSpecExamples(t *testing.T) {
	require.Len(t, examples, 26)
	for _, e := range examples {
		require.Equal(t, e.sum, fmt.Sprintf("%x", sha256.Sum256([]byte(e.Text))), "%s: testdata/%s", e.Name(), e.File())
	}
	if *specPath == "" {
		return
	}
	b, err := os.ReadFile(*specPath)
	require.NoError(t, err)
	var want []specExample
	for i, m := range exampleRE.FindAllStringSubmatch(string(b), -1) {
		want = append(want, specExample{Number: i + 1, Caption: m[1] + m[2], Text: m[3]})
	}
	require.Len(t, want, 26, "examples in %s", *specPath)
	if *update {
		var index strings.Builder
		for _, e := range want {
			fmt.Fprintf(&index, "%s\t%s\t%x\n", e.File(), e.Caption, sha256.Sum256([]byte(e.Text)))
			require.NoError(t, os.WriteFile(filepath.Join("testdata", e.File()), []byte(e.Text), 0o644))
		}
		require.NoError(t, os.WriteFile("testdata/examples.txt", []byte(index.String()), 0o644))
		return
	}
	for i, w := range want {
		require.Equal(t, w.Caption, examples[i].Caption, w.Name())
		require.Equal(t, w.Text, examples[i].Text, "%s: testdata/%s differs from the XEP; run go test -run TestSpecExamples -spec PATH -update", w.Name(), w.File())
	}
}

// mustReadXML is readXML for Example functions, which have no testing.TB:
// it panics on XML that does not parse.
func mustReadXML(s string) *etree.Element {
	el, err := parseXML(s)
	if err != nil {
		panic(fmt.Sprintf("parsing %q: %v", s, err))
	}
	return el
}
