package amptest

import (
	"encoding/xml"
	"strings"

	"github.com/beevik/etree"
)

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

// escape returns s escaped for an XML attribute value.
func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
