package main

import (
	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// iq answers an IQ the client sent: disco#info to the server, at the root
// and at the AMP node, and an error for any other get or set. It returns
// nil for a result or error, which needs no answer.
func (s *Server) iq(el *etree.Element) *etree.Element {
	typ := attr(el, "type")
	if typ != "get" && typ != "set" {
		return nil
	}
	resp := etree.NewElement("iq")
	resp.CreateAttr("xmlns", "jabber:client")
	to := attr(el, "to")
	if to == "" {
		to = s.cfg.Domain
	}
	resp.CreateAttr("from", to)
	resp.CreateAttr("to", attr(el, "from"))
	resp.CreateAttr("id", attr(el, "id"))
	var query *etree.Element
	for _, ch := range el.ChildElements() {
		if ch.Tag == "query" && ch.NamespaceURI() == "http://jabber.org/protocol/disco#info" {
			query = ch
		}
	}
	if typ != "get" || to != s.cfg.Domain || query == nil {
		return iqError(resp, "cancel", "service-unavailable")
	}
	node := attr(query, "node")
	info := s.amp.DiscoInfo(node)
	switch {
	case info == nil:
		return iqError(resp, "cancel", "item-not-found")
	case node == "":
		// The root: the server's own identity and features, plus AMP's.
		resp.CreateAttr("type", "result")
		q := resp.CreateElement("query")
		q.CreateAttr("xmlns", "http://jabber.org/protocol/disco#info")
		id := q.CreateElement("identity")
		id.CreateAttr("category", "server")
		id.CreateAttr("type", "im")
		q.CreateElement("feature").CreateAttr("var", "http://jabber.org/protocol/disco#info")
		for _, f := range info.ChildElements() {
			q.AddChild(f)
		}
	default:
		resp.CreateAttr("type", "result")
		resp.AddChild(info)
	}
	return resp
}

func iqError(resp *etree.Element, typ, cond string) *etree.Element {
	resp.CreateAttr("type", "error")
	e := resp.CreateElement("error")
	e.CreateAttr("type", typ)
	e.CreateElement(cond).CreateAttr("xmlns", amp.NSStanzas)
	return resp
}
