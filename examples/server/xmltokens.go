package main

// This file converts between etree elements and encoding/xml tokens, which
// mellium reads and writes. It is a copy of what the amp library's etreexml
// package provides, kept here until that package is released.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/beevik/etree"
)

// nsXML is the namespace bound to the xml prefix (xml:lang).
const nsXML = "http://www.w3.org/XML/1998/namespace"

// readElement reads one element, such as a stanza, from r into an etree
// element, so that a server reading an XML stream with encoding/xml (or a
// library built on it, such as mellium.im/xmpp) can pass it to amp.Processor.Parse.
//
// When start is nil, readElement skips comments, processing instructions,
// directives and character data that is only whitespace, and reads the
// element from its start element on. When start is not nil it is the start
// of the element, already read, and r yields the element's content: reading
// stops at the end element that closes start, or at io.EOF right after the
// content (the reader of a stream handler, which ends before or after that
// end element). In both cases nothing past the element is read.
//
// The element keeps the namespaces that r resolved: every element whose
// namespace differs from its parent's gets an xmlns attribute, so that
// NamespaceURI works on it and on its descendants, and a prefixed attribute
// gets a prefix declared on its element (xml for the XML namespace). The
// prefixes and the namespace declarations of the input are not kept. r
// should therefore resolve namespaces, as an *xml.Decoder's Token does; the
// raw tokens of RawToken would leave prefixes unresolved. Comments,
// processing instructions and directives inside the element are dropped.
//
// Errors are prefixed "amp:" and wrap the reader's error; io.EOF before the
// element ends is io.ErrUnexpectedEOF.
func readElement(r xml.TokenReader, start *xml.StartElement) (*etree.Element, error) {
	if start == nil {
		for {
			tok, err := r.Token()
			if err == io.EOF && tok == nil {
				return nil, fmt.Errorf("no element: %w", io.ErrUnexpectedEOF)
			}
			if err != nil && tok == nil {
				return nil, fmt.Errorf("reading an element: %w", err)
			}
			switch t := tok.(type) {
			case xml.StartElement:
				s := t.Copy()
				start = &s
			case xml.CharData:
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, errors.New("character data before the element")
				}
			case xml.EndElement:
				return nil, fmt.Errorf("end element </%s> before the element", t.Name.Local)
			}
			if start != nil {
				break
			}
		}
	}
	root := newFromStart(nil, *start)
	cur := root
	for {
		tok, err := r.Token()
		if tok == nil && err == io.EOF {
			if cur == root {
				return root, nil
			}
			return nil, fmt.Errorf("reading <%s/>: %w", root.Tag, io.ErrUnexpectedEOF)
		}
		if tok == nil && err != nil {
			return nil, fmt.Errorf("reading <%s/>: %w", root.Tag, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			cur = newFromStart(cur, t)
		case xml.EndElement:
			if cur == root {
				return root, nil
			}
			cur = cur.Parent()
		case xml.CharData:
			cur.CreateText(string(t))
		}
	}
}

// newFromStart adds to parent, or returns alone when parent is nil, the
// element that start opens, declaring its namespaces.
func newFromStart(parent *etree.Element, start xml.StartElement) *etree.Element {
	var el *etree.Element
	if parent == nil {
		el = etree.NewElement(start.Name.Local)
	} else {
		el = parent.CreateElement(start.Name.Local)
	}
	inherited := ""
	if parent != nil {
		inherited = parent.NamespaceURI()
	}
	if start.Name.Space != inherited {
		el.CreateAttr("xmlns", start.Name.Space)
	}
	n := 0
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns"):
			// Declarations: replaced by the ones this element needs.
		case a.Name.Space == "":
			el.CreateAttr(a.Name.Local, a.Value)
		case a.Name.Space == nsXML || a.Name.Space == "xml":
			el.CreateAttr("xml:"+a.Name.Local, a.Value)
		default:
			prefix := prefixFor(el, a.Name.Space)
			if prefix == "" {
				n++
				prefix = fmt.Sprintf("ns%d", n)
				for findPrefix(el, prefix) != "" {
					n++
					prefix = fmt.Sprintf("ns%d", n)
				}
				el.CreateAttr("xmlns:"+prefix, a.Name.Space)
			}
			el.CreateAttr(prefix+":"+a.Name.Local, a.Value)
		}
	}
	return el
}

// prefixFor returns a prefix declared for uri on el or its ancestors that
// no nearer declaration hides, or "".
func prefixFor(el *etree.Element, uri string) string {
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Value == uri && findPrefix(el, a.Key) == uri {
				return a.Key
			}
		}
	}
	return ""
}

// findPrefix returns the namespace bound to prefix at el, or "".
func findPrefix(el *etree.Element, prefix string) string {
	if prefix == "xml" {
		return nsXML
	}
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return a.Value
			}
		}
	}
	return ""
}

// elementTokens returns el and its descendants as an xml.TokenReader, to
// write with an xml.Encoder or to send with an XMPP library that takes
// token readers (mellium.im/xmpp's Session.Send). It returns io.EOF after
// the end element of el. A nil el yields no token.
//
// Every start element carries in its Name.Space the namespace URI the
// element has in its own tree (NamespaceURI, resolved through the
// element's ancestors even when el is not a root). encoding/xml writes
// that namespace as an explicit xmlns attribute on each element, so each
// element keeps its namespace whatever the encoder writes around it: a
// <rule/> under <failed-rules/> stays in the amp#errors namespace. An
// element in no namespace under one in a namespace gets xmlns="".
// Namespace declarations (xmlns and xmlns:*) are left out of the
// attributes, since encoding/xml declares what it needs; a prefixed
// attribute carries its namespace URI in Name.Space, the xml prefix as the
// XML namespace, and an undeclared prefix as written. Character data is
// returned as it is, comments and processing instructions too; etree's
// directives become xml.Directive tokens.
//
// el must not be modified while the reader is in use.
func elementTokens(el *etree.Element) xml.TokenReader {
	r := &tokenReader{}
	if el != nil {
		r.stack = []frame{{el: el, child: -1}}
	}
	return r
}

type frame struct {
	el    *etree.Element
	child int // -1: the start element is not returned yet
}

type tokenReader struct {
	stack []frame
}

func (r *tokenReader) Token() (xml.Token, error) {
	for len(r.stack) > 0 {
		top := &r.stack[len(r.stack)-1]
		if top.child < 0 {
			top.child = 0
			return startOf(top.el), nil
		}
		if top.child >= len(top.el.Child) {
			r.stack = r.stack[:len(r.stack)-1]
			return xml.EndElement{Name: xml.Name{Space: top.el.NamespaceURI(), Local: top.el.Tag}}, nil
		}
		t := top.el.Child[top.child]
		top.child++
		switch t := t.(type) {
		case *etree.Element:
			r.stack = append(r.stack, frame{el: t, child: -1})
		case *etree.CharData:
			return xml.CharData(t.Data), nil
		case *etree.Comment:
			return xml.Comment(t.Data), nil
		case *etree.ProcInst:
			return xml.ProcInst{Target: t.Target, Inst: []byte(t.Inst)}, nil
		case *etree.Directive:
			return xml.Directive(t.Data), nil
		}
	}
	return nil, io.EOF
}

// startOf returns the start element of el with resolved namespaces.
func startOf(el *etree.Element) xml.StartElement {
	ns := el.NamespaceURI()
	start := xml.StartElement{Name: xml.Name{Space: ns, Local: el.Tag}}
	start.Attr = make([]xml.Attr, 0, len(el.Attr))
	if ns == "" {
		if p := el.Parent(); p != nil && p.NamespaceURI() != "" {
			start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "xmlns"}})
		}
	}
	for _, a := range el.Attr {
		switch {
		case a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns"):
			continue
		case a.Space == "":
			start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: a.Key}, Value: a.Value})
		default:
			uri := findPrefix(el, a.Space)
			if uri == "" {
				uri = a.Space
			}
			start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Space: uri, Local: a.Key}, Value: a.Value})
		}
	}
	return start
}
