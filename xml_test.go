package amp_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// canonical writes el as a canonical string for comparison: each element
// as {namespace}tag, its attributes sorted with namespace declarations left
// out, its non-blank text trimmed, its children in order.
func canonical(el *etree.Element) string {
	var b strings.Builder
	writeCanonical(&b, el, 0)
	return b.String()
}

func writeCanonical(b *strings.Builder, el *etree.Element, depth int) {
	b.WriteString(strings.Repeat("  ", depth))
	b.WriteString("{" + el.NamespaceURI() + "}" + el.Tag)
	var attrs []string
	for _, a := range el.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		key := a.Key
		if a.Space != "" {
			key = "{" + a.NamespaceURI() + "}" + a.Key
		}
		attrs = append(attrs, key+"="+`"`+a.Value+`"`)
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

// parseXML parses one element; a default namespace of jabber:client is
// assumed for a root that declares none, as on a client stream.
func parseXML(t testing.TB, s string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	root := doc.Root()
	if root == nil {
		t.Fatalf("no element in %q", s)
	}
	if root.NamespaceURI() == "" && root.Space == "" {
		root.CreateAttr("xmlns", "jabber:client")
	}
	return root
}

// serialize writes el as compact XML.
func serialize(t testing.TB, el *etree.Element) string {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertXMLEqual compares two elements as trees.
func assertXMLEqual(t testing.TB, got, want *etree.Element) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Fatalf("got %v, want %v", got, want)
		}
		return
	}
	// A round trip through the serializer checks that got declares its
	// namespaces itself.
	g := parseXML(t, serialize(t, got))
	if cg, cw := canonical(g), canonical(want); cg != cw {
		t.Errorf("got\n%s\nwant\n%s", cg, cw)
	}
}
