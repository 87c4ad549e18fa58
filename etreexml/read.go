package etreexml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/beevik/etree"
)

// ReadElement reads one element, such as a stanza, from r into an etree
// element, so that a program reading an XML stream with encoding/xml (or
// a library built on it, such as mellium.im/xmpp) can work on it as an
// etree tree.
//
// When start is nil, ReadElement skips comments, processing instructions,
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
// gets a prefix declared on its element (xml for the XML namespace, ns1,
// ns2, ... for the others, each the first one not already in scope). The
// prefixes and the namespace declarations of the input are not kept, nor
// is an unprefixed attribute that etree would take for a declaration
// (xmlns:x in Name.Local). r should therefore resolve namespaces, as an
// *xml.Decoder's Token does; the raw tokens of RawToken would leave
// prefixes unresolved. A name is kept as r gives it: a Name.Local with a
// colon, such as the "a:" an xml.Decoder returns for <a:>, stays the
// element's Tag or the attribute's Key, with no prefix. An attribute given
// twice keeps its first place and its last value, as CreateAttr does.
// Comments, processing instructions and directives inside the element are
// dropped.
//
// Errors are prefixed "etreexml:" and wrap the reader's error; io.EOF
// before the element ends is io.ErrUnexpectedEOF.
func ReadElement(r xml.TokenReader, start *xml.StartElement) (*etree.Element, error) {
	var b builder
	if start != nil {
		b.open(*start)
	}
	for len(b.stack) == 0 {
		tok, err := r.Token()
		if tok == nil && err == io.EOF {
			return nil, fmt.Errorf("etreexml: no element: %w", io.ErrUnexpectedEOF)
		}
		if tok == nil && err != nil {
			return nil, fmt.Errorf("etreexml: reading an element: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			b.open(t)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, errors.New("etreexml: character data before the element")
			}
		case xml.EndElement:
			return nil, fmt.Errorf("etreexml: end element </%s> before the element", t.Name.Local)
		}
	}
	root := b.root
	for {
		tok, err := r.Token()
		if tok == nil && err == io.EOF {
			if len(b.stack) == 1 {
				return root, nil
			}
			return nil, fmt.Errorf("etreexml: reading <%s/>: %w", root.Tag, io.ErrUnexpectedEOF)
		}
		if tok == nil && err != nil {
			return nil, fmt.Errorf("etreexml: reading <%s/>: %w", root.Tag, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			b.open(t)
		case xml.EndElement:
			if len(b.stack) == 1 {
				return root, nil
			}
			b.close()
		case xml.CharData:
			b.top().el.CreateText(string(t))
		}
	}
}

// A builder builds a tree from start and end elements. It carries the
// namespaces in scope, so that each element costs the same whatever its
// depth.
type builder struct {
	root  *etree.Element
	stack []open // the elements open, innermost last
	// prefixes holds the namespace URIs of the prefixes in scope, all
	// declared by the builder: prefixes[i] is bound to "ns" + (i+1).
	prefixes []string
	// prefixOf maps each URI in prefixes to its index.
	prefixOf map[string]int
	// attrIndex maps the names of the attributes of the element being
	// opened to their index, when it has many: see setAttr.
	attrIndex map[attrName]int
}

// An open element, and the scope it opens.
type open struct {
	el *etree.Element
	// ns is the default namespace in scope inside el: the namespace of el.
	ns string
	// prefixes is the length of builder.prefixes outside el.
	prefixes int
}

type attrName struct{ space, key string }

// linearAttrs is the number of attributes of an element up to which
// setAttr finds a repeated name by looking through the attributes.
const linearAttrs = 8

// open adds the element that start opens to the tree, declaring its
// namespaces, and makes it the element that the next tokens go in.
func (b *builder) open(start xml.StartElement) {
	var el *etree.Element
	parentNS := ""
	if len(b.stack) == 0 {
		el = etree.NewElement("")
		b.root = el
	} else {
		parent := b.top()
		el = parent.el.CreateElement("")
		parentNS = parent.ns
	}
	el.Tag = start.Name.Local // set here: CreateElement would split a colon
	if start.Name.Space != parentNS {
		appendAttr(el, "", "xmlns", start.Name.Space)
	}
	b.stack = append(b.stack, open{el: el, ns: start.Name.Space, prefixes: len(b.prefixes)})

	b.attrIndex = nil
	if len(start.Attr) > linearAttrs {
		b.attrIndex = make(map[attrName]int, len(start.Attr))
	}
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "xmlns" || a.Name.Space == "" && isDeclaration(a.Name.Local):
			// Declarations: replaced by the ones this element needs.
		case a.Name.Space == "":
			b.setAttr(el, "", a.Name.Local, a.Value)
		case a.Name.Space == nsXML || a.Name.Space == "xml":
			b.setAttr(el, "xml", a.Name.Local, a.Value)
		default:
			b.setAttr(el, b.prefix(el, a.Name.Space), a.Name.Local, a.Value)
		}
	}
}

// isDeclaration reports whether etree takes an attribute named key, with
// no prefix of its own, for a namespace declaration.
func isDeclaration(key string) bool {
	return key == "xmlns" || len(key) > len("xmlns:") && key[:len("xmlns:")] == "xmlns:"
}

// prefix returns the prefix bound to uri in the scope of el, declaring a
// new one on el when there is none.
func (b *builder) prefix(el *etree.Element, uri string) string {
	if i, ok := b.prefixOf[uri]; ok {
		return "ns" + strconv.Itoa(i+1)
	}
	if b.prefixOf == nil {
		b.prefixOf = make(map[string]int)
	}
	b.prefixOf[uri] = len(b.prefixes)
	b.prefixes = append(b.prefixes, uri)
	p := "ns" + strconv.Itoa(len(b.prefixes))
	appendAttr(el, "xmlns", p, uri)
	return p
}

// close ends the innermost open element and the prefixes it declared.
func (b *builder) close() {
	n := b.top().prefixes
	for _, uri := range b.prefixes[n:] {
		delete(b.prefixOf, uri)
	}
	b.prefixes = b.prefixes[:n]
	b.stack = b.stack[:len(b.stack)-1]
}

// top returns the innermost open element; there must be one.
func (b *builder) top() *open {
	return &b.stack[len(b.stack)-1]
}

// setAttr sets the attribute space:key of el to value, replacing the
// value of an attribute of that name as CreateAttr does, in a time that
// does not grow with the number of attributes of el.
func (b *builder) setAttr(el *etree.Element, space, key, value string) {
	if b.attrIndex == nil {
		for i := range el.Attr {
			if a := &el.Attr[i]; a.Space == space && a.Key == key {
				a.Value = value
				return
			}
		}
		appendAttr(el, space, key, value)
		return
	}
	n := attrName{space, key}
	if i, ok := b.attrIndex[n]; ok {
		el.Attr[i].Value = value
		return
	}
	appendAttr(el, space, key, value)
	b.attrIndex[n] = len(el.Attr) - 1
}

// appendAttr adds the attribute space:key to el, without looking for one of
// the same name. CreateAttr would look through all the attributes of el,
// and split a colon in key: it makes the first attribute only, an
// attribute the others are copies of, each keeping the pointer to el that
// its Element method returns.
func appendAttr(el *etree.Element, space, key, value string) {
	if len(el.Attr) == 0 {
		a := el.CreateAttr("", value)
		a.Space, a.Key = space, key
		return
	}
	a := el.Attr[0]
	a.Space, a.Key, a.Value = space, key, value
	el.Attr = append(el.Attr, a)
}
