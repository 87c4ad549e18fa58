package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func parse(t *testing.T, s string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil || doc.Root() == nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return doc.Root()
}

func findChild(el *etree.Element, ns, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

// canon writes el as {namespace}tag, sorted attributes without namespace
// declarations, then children; a root in no namespace is a stanza of the
// stream, in jabber:client.
func canon(el *etree.Element) string {
	var b strings.Builder
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		ns := e.NamespaceURI()
		if ns == "" && e.Parent() == nil && e.Space == "" {
			ns = "jabber:client"
		}
		fmt.Fprintf(&b, "<{%s}%s", ns, e.Tag)
		var attrs []string
		for _, a := range e.Attr {
			if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
				continue
			}
			attrs = append(attrs, fmt.Sprintf(" %s=%q", a.FullKey(), a.Value))
		}
		sort.Strings(attrs)
		b.WriteString(strings.Join(attrs, ""))
		b.WriteString(">")
		for _, t := range e.Child {
			switch t := t.(type) {
			case *etree.Element:
				walk(t)
			case *etree.CharData:
				b.WriteString(t.Data)
			}
		}
		fmt.Fprintf(&b, "</%s>", e.Tag)
	}
	walk(el)
	return b.String()
}

// slixRecord is what slix.py's record makes of a stanza through slixmpp's
// XEP-0079 plugin.
func slixRecord(el *etree.Element) map[string]any {
	typ := attr(el, "type")
	if typ == "" {
		typ = "normal"
	}
	body := ""
	if b := findChild(el, "jabber:client", "body"); b != nil {
		body = b.Text()
	}
	r := map[string]any{"id": attr(el, "id"), "type": typ, "from": attr(el, "from"), "to": attr(el, "to"), "body": body}
	rules := func(c *etree.Element, ns string) []any {
		out := []any{}
		for _, x := range c.ChildElements() {
			if x.Tag == "rule" && x.NamespaceURI() == ns {
				out = append(out, map[string]any{"action": attr(x, "action"), "condition": attr(x, "condition"), "value": attr(x, "value")})
			}
		}
		return out
	}
	if a := findChild(el, amp.NS, "amp"); a != nil {
		r["amp"] = map[string]any{"status": attr(a, "status"), "from": attr(a, "from"), "to": attr(a, "to"),
			"per_hop": attr(a, "per-hop") == "true", "rules": rules(a, amp.NS)}
	}
	if e := findChild(el, "jabber:client", "error"); typ == "error" && e != nil {
		rec := map[string]any{"type": attr(e, "type"), "code": attr(e, "code")}
		for _, c := range e.ChildElements() {
			switch ns := c.NamespaceURI(); {
			case ns == amp.NSStanzas:
				rec["condition"] = c.Tag
			case ns == amp.NSErrors && c.Tag == "failed-rules":
				rec["failed_rules"] = rules(c, amp.NSErrors)
			case ns == amp.NS:
				rec[strings.ReplaceAll(c.Tag, "-", "_")] = rules(c, amp.NS)
			}
		}
		r["error"] = rec
	}
	return r
}
