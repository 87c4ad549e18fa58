package amptest

import (
	"encoding/xml"
	"io"
	"strings"

	"github.com/beevik/etree"
)

// nsXML is the namespace the xml prefix is bound to.
const nsXML = "http://www.w3.org/XML/1998/namespace"

// readElement reads the element that start opens from r, which returns the
// element's inner tokens and then, possibly, its end element. The kit reads
// what the server sent as a tree so that its checks never depend on how the
// server wrote prefixes or quotes.
func readElement(r xml.TokenReader, start xml.StartElement) (*etree.Element, error) {
	root := fromStart(start, "")
	cur := root
	for {
		tok, err := r.Token()
		if tok == nil && err == io.EOF {
			if cur == root {
				return root, nil
			}
			return nil, io.ErrUnexpectedEOF
		}
		if tok == nil && err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			el := fromStart(t, cur.NamespaceURI())
			cur.AddChild(el)
			cur = el
		case xml.EndElement:
			if cur == root {
				return root, nil
			}
			cur = cur.Parent()
		case xml.CharData:
			cur.CreateText(string(t))
		}
		if err == io.EOF {
			if cur == root {
				return root, nil
			}
			return nil, io.ErrUnexpectedEOF
		}
	}
}

// fromStart returns an element for start, declaring its namespace when it
// differs from parentNS, the namespace of the element it goes in.
func fromStart(start xml.StartElement, parentNS string) *etree.Element {
	el := etree.NewElement(start.Name.Local)
	if start.Name.Space != parentNS {
		el.CreateAttr("xmlns", start.Name.Space)
	}
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns", a.Name.Space == "xmlns":
			// The namespaces are written from the names above.
		case a.Name.Space == nsXML || a.Name.Space == "xml":
			el.CreateAttr("xml:"+a.Name.Local, a.Value)
		case a.Name.Space == "":
			el.CreateAttr(a.Name.Local, a.Value)
		}
	}
	return el
}

// serialize returns the XML of el as one line.
func serialize(el *etree.Element) string {
	if el == nil {
		return ""
	}
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	s, err := doc.WriteToString()
	if err != nil {
		return "<!-- " + err.Error() + " -->"
	}
	return s
}

// attr returns el's attribute key in no namespace, and whether it is there.
func attr(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// attrValue returns el's attribute key in no namespace, or "".
func attrValue(el *etree.Element, key string) string {
	v, _ := attr(el, key)
	return v
}

// children returns el's child elements named local in namespace ns.
func children(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, ch := range el.ChildElements() {
		if ch.Tag == local && ch.NamespaceURI() == ns {
			out = append(out, ch)
		}
	}
	return out
}

// child returns el's first child element named local in namespace ns, or
// nil.
func child(el *etree.Element, ns, local string) *etree.Element {
	if c := children(el, ns, local); len(c) > 0 {
		return c[0]
	}
	return nil
}

// bodyText returns the text of the <body/> of a message, or "".
func bodyText(msg *etree.Element) string {
	for _, ch := range msg.ChildElements() {
		if ch.Tag == "body" {
			return strings.TrimSpace(ch.Text())
		}
	}
	return ""
}
