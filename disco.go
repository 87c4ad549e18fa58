package amp

import "github.com/beevik/etree"

// nsDiscoInfo is the namespace of service discovery information requests.
const nsDiscoInfo = "http://jabber.org/protocol/disco#info"

// features returns the service discovery features for node (§2.1.1, §8):
//
//   - at the root (node ""), NS, followed by the supported actions and
//     conditions when RootFeatures is set;
//   - at the node NS, NS followed by NS+"?action=X" for each supported
//     action and NS+"?condition=Y" for each supported condition, in the
//     order XEP-0079 defines them;
//   - nil for any other node.
func (p *Processor) features(node string) []string {
	p = p.orDefault()
	switch node {
	case "":
		if !p.rootFeatures {
			return []string{NS}
		}
	case NS:
	default:
		return nil
	}
	out := []string{NS}
	for _, a := range members(allActions[:], p.actions) {
		out = append(out, NS+"?action="+string(a))
	}
	for _, c := range members(allConditions[:], p.conditions) {
		out = append(out, NS+"?condition="+string(c))
	}
	return out
}

// DiscoInfo returns the disco#info <query/> for node: at the root, the AMP
// feature (and, with Config.RootFeatures, the supported actions and
// conditions) that a server adds to its own answer; at the node NS, the
// whole answer, NS and NS+"?action=X" and NS+"?condition=Y" for each
// supported action and condition, in the order XEP-0079 defines them, with the identity of category server and type im that the
// XEP-0030 registry defines (example 4 of XEP-0079 swaps the two). It returns nil
// for any other node, which a server answers with item-not-found.
func (p *Processor) DiscoInfo(node string) *etree.Element {
	features := p.features(node)
	if features == nil {
		return nil
	}
	q := etree.NewElement("query")
	q.CreateAttr("xmlns", nsDiscoInfo)
	if node != "" {
		q.CreateAttr("node", node)
		id := q.CreateElement("identity")
		id.CreateAttr("category", "server")
		id.CreateAttr("type", "im")
	}
	for _, f := range features {
		q.CreateElement("feature").CreateAttr("var", f)
	}
	return q
}

// StreamFeature returns the stream feature a server may list in
// <stream:features/>: <amp xmlns='http://jabber.org/features/amp'/> (§8).
func StreamFeature() *etree.Element {
	el := etree.NewElement("amp")
	el.CreateAttr("xmlns", NSFeature)
	return el
}
