package etreexml

import (
	"encoding/xml"
	"io"

	"github.com/beevik/etree"
)

// ElementTokens returns el and its descendants as an xml.TokenReader, to
// write with an xml.Encoder or to send with an XMPP library that takes
// token readers (mellium.im/xmpp's Session.Send). It returns io.EOF after
// the end element of el. A nil el yields no token.
//
// Every start element carries in its Name.Space the namespace URI the
// element has in its own tree (NamespaceURI, resolved through the
// element's ancestors even when el is not a root). encoding/xml writes
// that namespace as an explicit xmlns attribute on each element, so each
// element keeps its namespace whatever the encoder writes around it: a
// child that inherits its namespace from el's parent keeps it once written
// alone. An element in no namespace under one in a namespace gets
// xmlns="". Namespace declarations (xmlns and xmlns:*) are left out of the
// attributes, since encoding/xml declares what it needs; a prefixed
// attribute carries its namespace URI in Name.Space, the xml prefix as the
// XML namespace, and an undeclared prefix as written. Character data is
// returned as it is, comments and processing instructions too; etree's
// directives become xml.Directive tokens.
//
// ElementTokens looks through the ancestors of el once; each token then
// costs the same whatever its depth. el must not be modified while the
// reader is in use.
func ElementTokens(el *etree.Element) xml.TokenReader {
	r := &tokenReader{}
	if el == nil {
		return r
	}
	// The scope of el's parent, looked through once: the nearest
	// declaration of each prefix, and of the default namespace, wins.
	def, found := "", false
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			switch {
			case a.Space == "xmlns":
				if _, ok := r.scope.top[a.Key]; !ok {
					r.scope.push(a.Key, a.Value)
				}
			case a.Space == "" && a.Key == "xmlns" && !found:
				def, found = a.Value, true
			}
		}
	}
	parentNS := def
	if p := el.Parent(); p != nil && p.Space != "" {
		parentNS = r.scope.lookup(p.Space)
	}
	r.stack = append(r.stack, frame{el: el, child: -1, def: def, underNS: parentNS != ""})
	return r
}

type tokenReader struct {
	stack []frame // the elements open, innermost last
	scope scope
}

// A frame is an element whose start the reader has returned, or is about
// to return.
type frame struct {
	el    *etree.Element
	child int // -1: the start element is not returned yet
	// ns is the namespace of el, def the default namespace in its scope,
	// set from its parent's until its start element is returned.
	ns, def string
	// underNS is true when el's parent is in a namespace.
	underNS bool
	// bindings is the length of scope.bindings outside el.
	bindings int
}

func (r *tokenReader) Token() (xml.Token, error) {
	for len(r.stack) > 0 {
		top := &r.stack[len(r.stack)-1]
		if top.child < 0 {
			top.child = 0
			return r.start(top), nil
		}
		if top.child >= len(top.el.Child) {
			end := xml.EndElement{Name: xml.Name{Space: top.ns, Local: top.el.Tag}}
			r.scope.popTo(top.bindings)
			r.stack = r.stack[:len(r.stack)-1]
			return end, nil
		}
		t := top.el.Child[top.child]
		top.child++
		switch t := t.(type) {
		case *etree.Element:
			// top is not used again once the stack may have grown.
			r.stack = append(r.stack, frame{el: t, child: -1, def: top.def, underNS: top.ns != ""})
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

// start enters the scope of f's element and returns its start element with
// resolved namespaces.
func (r *tokenReader) start(f *frame) xml.StartElement {
	el := f.el
	f.bindings = len(r.scope.bindings)
	// Backwards, so that the first declaration of a prefix wins, as in
	// etree's lookups.
	for i := len(el.Attr) - 1; i >= 0; i-- {
		if a := &el.Attr[i]; a.Space == "xmlns" {
			r.scope.push(a.Key, a.Value)
		}
	}
	for i := range el.Attr {
		if a := &el.Attr[i]; a.Space == "" && a.Key == "xmlns" {
			f.def = a.Value
			break
		}
	}
	f.ns = f.def
	if el.Space != "" {
		f.ns = r.scope.lookup(el.Space)
	}

	start := xml.StartElement{Name: xml.Name{Space: f.ns, Local: el.Tag}}
	start.Attr = make([]xml.Attr, 0, len(el.Attr))
	if f.ns == "" && f.underNS {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "xmlns"}})
	}
	for _, a := range el.Attr {
		switch {
		case a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns"):
			continue
		case a.Space == "":
			start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: a.Key}, Value: a.Value})
		default:
			uri := nsXML
			if a.Space != "xml" {
				uri = r.scope.lookup(a.Space)
			}
			if uri == "" {
				uri = a.Space
			}
			start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Space: uri, Local: a.Key}, Value: a.Value})
		}
	}
	return start
}
