package main

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// parseXML parses s, which must hold exactly one root element.
func parseXML(t testing.TB, s string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	if n := len(doc.ChildElements()); n != 1 {
		t.Fatalf("%q has %d root elements, want 1", s, n)
	}
	return doc.Root()
}

// diffXML compares two element trees: tag, namespace URI, attributes as a
// set (namespace declarations left out), and children in order, text that
// is only whitespace left out. It returns "" when they are equal, and
// otherwise where they first differ.
func diffXML(got, want *etree.Element) string {
	return diffElement("/", got, want)
}

func diffElement(path string, got, want *etree.Element) string {
	path += want.Tag
	if got.Tag != want.Tag || got.NamespaceURI() != want.NamespaceURI() {
		return fmt.Sprintf("%s: got element {%s}%s, want {%s}%s", path,
			got.NamespaceURI(), got.Tag, want.NamespaceURI(), want.Tag)
	}
	if g, w := attrSet(got), attrSet(want); g != w {
		return fmt.Sprintf("%s: got attributes %s, want %s", path, g, w)
	}
	gc, wc := children(got), children(want)
	for i := 0; i < len(gc) || i < len(wc); i++ {
		if i >= len(gc) {
			return fmt.Sprintf("%s: missing child %d, want %s", path, i, describe(wc[i]))
		}
		if i >= len(wc) {
			return fmt.Sprintf("%s: extra child %d: %s", path, i, describe(gc[i]))
		}
		ge, gok := gc[i].(*etree.Element)
		we, wok := wc[i].(*etree.Element)
		switch {
		case gok && wok:
			if d := diffElement(path+"/", ge, we); d != "" {
				return d
			}
		case gok != wok || gc[i].(string) != wc[i].(string):
			return fmt.Sprintf("%s: child %d is %s, want %s", path, i, describe(gc[i]), describe(wc[i]))
		}
	}
	return ""
}

// attrSet returns el's attributes, namespace declarations left out, as a
// sorted list of {namespace}name="value".
func attrSet(el *etree.Element) string {
	var out []string
	for _, a := range el.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		out = append(out, fmt.Sprintf("{%s}%s=%q", a.NamespaceURI(), a.Key, a.Value))
	}
	sort.Strings(out)
	return "[" + strings.Join(out, " ") + "]"
}

// children returns el's child elements and its text, adjacent character
// data joined and text that is only whitespace left out.
func children(el *etree.Element) []any {
	var out []any
	var text strings.Builder
	flush := func() {
		if s := text.String(); strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
		text.Reset()
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			flush()
			out = append(out, t)
		case *etree.CharData:
			text.WriteString(t.Data)
		}
	}
	flush()
	return out
}

func describe(c any) string {
	if el, ok := c.(*etree.Element); ok {
		return fmt.Sprintf("element {%s}%s", el.NamespaceURI(), el.Tag)
	}
	return fmt.Sprintf("text %q", c)
}

func TestDiffXML(t *testing.T) {
	tests := []struct {
		name, a, b string
		equal      bool
	}{
		{"attribute order and quotes", `<a x='1' y="2"/>`, `<a y='2' x='1'/>`, true},
		{"whitespace-only text", "<a>\n  <b/>\n</a>", `<a><b/></a>`, true},
		{"namespace by declaration or inheritance", `<a xmlns='urn:x'><b/></a>`, `<p:a xmlns:p='urn:x'><p:b/></p:a>`, true},
		{"namespace differs", `<a xmlns='urn:x'/>`, `<a xmlns='urn:y'/>`, false},
		{"inherited namespace differs", `<a xmlns='urn:x'><b xmlns='urn:y'/></a>`, `<a xmlns='urn:x'><b/></a>`, false},
		{"attribute value", `<a x='1'/>`, `<a x='2'/>`, false},
		{"missing attribute", `<a x='1'/>`, `<a/>`, false},
		{"child order", `<a><b/><c/></a>`, `<a><c/><b/></a>`, false},
		{"extra child", `<a><b/></a>`, `<a/>`, false},
		{"text", `<a>hi</a>`, `<a>ho</a>`, false},
		{"text and element", `<a>hi</a>`, `<a><hi/></a>`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := diffXML(parseXML(t, tt.a), parseXML(t, tt.b))
			if (d == "") != tt.equal {
				t.Errorf("diffXML(%s, %s) = %q, want equal %v", tt.a, tt.b, d, tt.equal)
			}
		})
	}
}
