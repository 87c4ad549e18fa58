package etreexml_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/ampxmpp/amp/etreexml"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/require"
)

// parse reads s with etree's own reader, keeping repeated attributes.
func parse(t testing.TB, s string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveDuplicateAttrs = true
	require.NoError(t, doc.ReadFromString(s))
	require.NotNil(t, doc.Root(), "no element in %q", s)
	return doc.Root()
}

// write returns what etree writes for el with the default settings, or ""
// for nil.
func write(el *etree.Element) string {
	if el == nil {
		return ""
	}
	var b bytes.Buffer
	el.WriteTo(&b, &etree.WriteSettings{})
	return b.String()
}

// read reads the first element of s with ReadElement from an xml.Decoder.
func read(t testing.TB, s string) *etree.Element {
	t.Helper()
	el, err := etreexml.ReadElement(xml.NewDecoder(strings.NewReader(s)), nil)
	require.NoError(t, err)
	return el
}

// encode writes the tokens of r with an xml.Encoder.
func encode(r xml.TokenReader) (string, error) {
	var b bytes.Buffer
	e := xml.NewEncoder(&b)
	for {
		tok, err := r.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		if err := e.EncodeToken(tok); err != nil {
			return "", err
		}
	}
	err := e.Close()
	return b.String(), err
}

// tokens is a TokenReader that returns a list of tokens, then io.EOF.
type tokens []xml.Token

func (r *tokens) Token() (xml.Token, error) {
	if len(*r) == 0 {
		return nil, io.EOF
	}
	t := (*r)[0]
	*r = (*r)[1:]
	return t, nil
}

// canon returns el as a string that two trees share when they mean the
// same: each element as {namespace}tag, with its attributes sorted, their
// prefixes resolved and the namespace declarations left out, then its
// children, adjacent text merged. It is the tests' one tree comparison.
func canon(el *etree.Element) string {
	var b strings.Builder
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		b.WriteString("<{" + e.NamespaceURI() + "}" + e.Tag)
		var attrs []string
		for _, a := range e.Attr {
			if name, ok := resolvedName(a); ok {
				attrs = append(attrs, " "+name+"="+a.Value)
			}
		}
		sort.Strings(attrs)
		b.WriteString(strings.Join(attrs, "") + ">")
		for _, t := range e.Child {
			switch t := t.(type) {
			case *etree.Element:
				walk(t)
			case *etree.CharData:
				b.WriteString(t.Data)
			}
		}
		b.WriteString("</>")
	}
	walk(el)
	return b.String()
}

// resolvedName returns the name of attribute a as {namespace}key, its
// prefix resolved, and false for a namespace declaration.
func resolvedName(a etree.Attr) (string, bool) {
	if a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns" {
		return "", false
	}
	space := a.NamespaceURI()
	if a.Space == "xml" {
		space = "http://www.w3.org/XML/1998/namespace"
	}
	return "{" + space + "}" + a.Key, true
}
