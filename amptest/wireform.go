package amptest

import (
	"fmt"
	"slices"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// reply is an AMP reply as the kit reads it from the wire, by element
// names, namespaces and attributes, without the amp library: the checks
// do not trust the code they test.
type reply struct {
	typ string // the message's type
	// amp is the first <amp/> child in the AMP namespace, or nil.
	amp       *etree.Element
	status    string
	hasStatus bool
	from, to  string
	rules     []amp.Rule // the <rule/> children of <amp/>
	// errEl is the <error/> child in the stream's namespace, or nil.
	errEl              *etree.Element
	errType, errCode   string
	condition          string     // the stanza error condition, or ""
	container          string     // the AMP element inside <error/>, or ""
	containerNS        string     // its namespace
	listed             []amp.Rule // the rules the container lists
	otherChildren      []string   // children other than amp and error
	conditionsCounted  int        // stanza error conditions inside <error/>
	containersCounted  int        // AMP containers inside <error/>
	hasBody, hasThread bool
}

// errorContainers are the elements an AMP error may carry in <error/>,
// with their namespace.
var errorContainers = map[string]string{
	"unsupported-actions":    amp.NS,
	"unsupported-conditions": amp.NS,
	"invalid-rules":          amp.NS,
	"failed-rules":           amp.NSErrors,
}

// readReply reads el's AMP parts from the wire form.
func readReply(el *etree.Element) reply {
	r := reply{typ: attrValue(el, "type")}
	for _, c := range el.ChildElements() {
		switch {
		case c.Tag == "amp" && c.NamespaceURI() == amp.NS && r.amp == nil:
			r.amp = c
			r.status, r.hasStatus = attr(c, "status")
			r.from, r.to = attrValue(c, "from"), attrValue(c, "to")
			r.rules = ruleChildren(c, amp.NS)
		case c.Tag == "error" && r.errEl == nil:
			r.errEl = c
			r.errType, r.errCode = attrValue(c, "type"), attrValue(c, "code")
			for _, ch := range c.ChildElements() {
				if ch.NamespaceURI() == amp.NSStanzas && ch.Tag != "text" {
					r.condition = ch.Tag
					r.conditionsCounted++
				}
				if ns, ok := errorContainers[ch.Tag]; ok && ch.NamespaceURI() == ns {
					r.container, r.containerNS = ch.Tag, ns
					r.listed = ruleChildren(ch, ns)
					r.containersCounted++
				}
			}
		case c.Tag == "body":
			r.hasBody = true
		case c.Tag == "thread":
			r.hasThread = true
			r.otherChildren = append(r.otherChildren, c.Tag)
		default:
			r.otherChildren = append(r.otherChildren, c.Tag)
		}
	}
	return r
}

// ruleChildren returns the <rule/> children of el in namespace ns, as
// written.
func ruleChildren(el *etree.Element, ns string) []amp.Rule {
	var out []amp.Rule
	for _, r := range children(el, ns, "rule") {
		out = append(out, amp.Rule{
			Condition: amp.Condition(attrValue(r, "condition")),
			Action:    amp.Action(attrValue(r, "action")),
			Value:     attrValue(r, "value"),
		})
	}
	return out
}

// crossCheck compares the kit's reading of el with the amp library's
// ParseEvent, and says how they differ, or "". A difference is the kit's
// or the library's mistake, not the server's: the kit notes it in the
// transcript and judges by its own reading.
func crossCheck(el *etree.Element) string {
	r := readReply(el)
	ev := amp.ParseEvent(el)
	if ev == nil {
		if r.hasStatus || (r.typ == "error" && r.amp != nil) {
			return "the amp library reads no AMP reply where the wire has one"
		}
		return ""
	}
	switch {
	case string(ev.Status) != r.status:
		return fmt.Sprintf("the amp library reads status %q, the wire has %q", ev.Status, r.status)
	case ev.From != r.from || ev.To != r.to:
		return fmt.Sprintf("the amp library reads from %q to %q, the wire has %q and %q", ev.From, ev.To, r.from, r.to)
	case !slices.Equal(ev.Rules, r.rules):
		return fmt.Sprintf("the amp library reads the rules %s, the wire has %s", rulesString(ev.Rules), rulesString(r.rules))
	case ev.Err != nil && r.container != "" && !slices.Equal(ev.Err.Rules, r.listed):
		return fmt.Sprintf("the amp library reads the error's rules %s, the wire has %s", rulesString(ev.Err.Rules), rulesString(r.listed))
	}
	return ""
}
