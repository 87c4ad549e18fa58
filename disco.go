package amp

import "github.com/beevik/etree"

// nsDiscoInfo is the namespace of service discovery information requests.
const nsDiscoInfo = "http://jabber.org/protocol/disco#info"

// Features returns the service discovery features for node (§2.1.1, §8):
//
//   - at the root (node ""), NS, followed by the supported actions and
//     conditions when RootFeatures is set;
//   - at the node NS, NS followed by NS+"?action=X" for each supported
//     action and NS+"?condition=Y" for each supported condition, in the
//     order XEP-0079 defines them;
//   - nil for any other node.
func (c *Config) Features(node string) []string {
	switch node {
	case "":
		if c == nil || !c.RootFeatures {
			return []string{NS}
		}
	case NS:
	default:
		return nil
	}
	out := make([]string, 0, 1+len(actions)+len(conditions))
	out = append(out, NS)
	for _, a := range actions {
		if c.SupportsAction(a) {
			out = append(out, NS+"?action="+string(a))
		}
	}
	for _, cond := range conditions {
		if c.SupportsCondition(cond) {
			out = append(out, NS+"?condition="+string(cond))
		}
	}
	return out
}

// DiscoInfo returns the disco#info <query/> for node: at the root, the AMP
// features a server adds to its own answer; at the node NS, the whole
// answer, with the identity of category server and type im that the
// XEP-0030 registry defines (example 4 of XEP-0079 swaps the two). It returns nil
// for any other node, which a server answers with item-not-found.
func (c *Config) DiscoInfo(node string) *etree.Element {
	features := c.Features(node)
	if features == nil {
		return nil
	}
	q := newElement("query", 2)
	q.Attr = append(q.Attr, etree.Attr{Key: "xmlns", Value: nsDiscoInfo})
	if node != "" {
		q.Attr = append(q.Attr, etree.Attr{Key: "node", Value: node})
		id := newElement("identity", 2)
		id.Attr = append(id.Attr,
			etree.Attr{Key: "category", Value: "server"},
			etree.Attr{Key: "type", Value: "im"})
		q.AddChild(id)
	}
	for _, f := range features {
		el := newElement("feature", 1)
		el.Attr = append(el.Attr, etree.Attr{Key: "var", Value: f})
		q.AddChild(el)
	}
	return q
}

// StreamFeature returns the stream feature a server may list in
// <stream:features/>: <amp xmlns='http://jabber.org/features/amp'/> (§8).
func StreamFeature() *etree.Element {
	el := newElement("amp", 1)
	el.Attr = append(el.Attr, etree.Attr{Key: "xmlns", Value: NSFeature})
	return el
}
