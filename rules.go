package amp

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ampxmpp/amp/etreexml"
	"github.com/beevik/etree"
)

// Rule is one <rule/> of a request. Parse keeps unknown conditions and
// actions as written, so that a refusal can echo them.
type Rule struct {
	Condition Condition
	Action    Action
	Value     string
}

// RuleSet is the <amp/> element of a request, as a client writes it: its
// rules in document order and its per-hop flag.
type RuleSet struct {
	// PerHop applies the rules at every server on the route, not only at
	// the edges.
	PerHop bool
	// Rules are the rules in document order.
	Rules []Rule
}

// Element returns rs as an <amp/> element in the AMP namespace, to add to
// an outgoing message: msg.AddChild(rs.Element()). It writes per-hop only
// when it is true, and leaves out empty attributes.
func (rs RuleSet) Element() *etree.Element {
	rules := make([]rule, len(rs.Rules))
	for i, r := range rs.Rules {
		rules[i] = rule{Rule: r, written: r.nonEmpty()}
	}
	return ampElement(rs.PerHop, rules, 0)
}

// Which attributes a <rule/> has, as bits of rule.written.
const (
	hasCondition uint8 = 1 << iota
	hasAction
	hasValue
)

// nonEmpty returns the attribute bits of r's non-empty fields.
func (r Rule) nonEmpty() uint8 {
	var bits uint8
	if r.Condition != "" {
		bits |= hasCondition
	}
	if r.Action != "" {
		bits |= hasAction
	}
	if r.Value != "" {
		bits |= hasValue
	}
	return bits
}

// rule is a rule as written.
type rule struct {
	Rule
	written  uint8     // the attributes the <rule/> has, empty or not
	repeated bool      // the <rule/> repeats one of them
	at       time.Time // the time of an accepted expire-at rule
}

// appliesHere reports whether rule ru applies at this server, for a
// message that goes to nextHop: NextHopLocal at Parse, where the server
// checks what it may have to do itself. It is the one place that decides
// it. Rules apply at the edge servers, and at a transit hop only with
// per-hop='true' (§2.1.2). match-resource is judged only by the server
// that delivers to the recipient's sessions or storage: never at a
// transit hop, whatever per-hop says, nor where the message is routed on
// (§3.3.3). A rule that does not apply is neither validated nor met.
func (q *request) appliesHere(ru *rule, nextHop NextHop) bool {
	if q.hop == HopTransit && !q.perHop {
		return false
	}
	if ru.Condition == ConditionMatchResource {
		return q.hop == HopEdge && nextHop == NextHopLocal
	}
	return true
}

// validate checks the request, and each rule that applies here, and
// returns the refusal, or nil (§2.2.1): the first failing rule in document
// order decides the kind, and the refusal lists every rule that fails with
// it.
func (q *request) validate(presence Presence) error {
	p := q.p
	switch {
	case q.hop == HopTransit && !q.perHop:
		return nil // no rule applies here (§2.1.2)
	case q.stanza.id == "":
		return q.badRequest("the message has no id")
	case len(q.rules) == 0:
		return q.badRequest("the request has no rule")
	case len(q.rules) > p.maxRules:
		return q.refusal(ErrNotAcceptable, p.maxRules, q.rules[p.maxRules:], fmt.Errorf("more than %d rules", p.maxRules))
	}
	first, firstKind, firstWhy := -1, error(nil), error(nil)
	var listed []rule
	for i := range q.rules {
		ru := &q.rules[i]
		if !q.appliesHere(ru, NextHopLocal) {
			continue
		}
		kind, why := p.check(ru, presence)
		if kind == nil || (first >= 0 && kind != firstKind) {
			continue
		}
		if first < 0 {
			first, firstKind, firstWhy = i, kind, why
		}
		listed = append(listed, *ru)
	}
	if first < 0 {
		return nil
	}
	return q.refusal(firstKind, first, listed, firstWhy)
}

// check returns the kind of error rule r fails with for a sender with
// presence, and why; nil when p accepts it. One rule fails with the first
// of: a missing, empty or repeated attribute; an action p does not
// support; a condition p does not support; a value the condition does not
// define or one too long; a rule that could reveal the recipient's
// presence to a sender who may not see it (§9).
func (p *Processor) check(r *rule, presence Presence) (kind, why error) {
	switch {
	case r.Condition == "":
		return ErrNotAcceptable, errors.New("missing or empty condition")
	case r.Action == "":
		return ErrNotAcceptable, errors.New("missing or empty action")
	case r.Value == "":
		return ErrNotAcceptable, errors.New("missing or empty value")
	case r.repeated:
		return ErrNotAcceptable, errors.New("repeated attribute")
	case p.actions&r.Action.bit() == 0:
		return ErrUnsupportedAction, fmt.Errorf("action %q", cut(string(r.Action), p.maxValueLen))
	case p.conditions&r.Condition.bit() == 0:
		return ErrUnsupportedCondition, fmt.Errorf("condition %q", cut(string(r.Condition), p.maxValueLen))
	case len(r.Value) > p.maxValueLen:
		return ErrNotAcceptable, fmt.Errorf("value longer than %d bytes", p.maxValueLen)
	}
	if r.at, why = checkValue(r.Condition, r.Value); why != nil {
		return ErrNotAcceptable, why
	}
	if presence == PresenceDenied && r.Action != ActionDrop {
		return ErrNotAcceptable, errPresence
	}
	return nil, nil
}

var errPresence = errors.New("the sender may not see the recipient's presence (XEP-0079 §9)")

// findAMP returns the first <amp/> child of msg in the AMP namespace,
// whatever its prefix, or nil, and whether it is an event: an <amp/> with
// a status attribute, which a server sent and never processes again.
func findAMP(msg *etree.Element) (amp *etree.Element, isEvent bool) {
	for _, t := range msg.Child {
		// Only an <amp/> needs its namespace looked up (BenchmarkNoAMP).
		if el, ok := t.(*etree.Element); ok && el.Tag == "amp" {
			for ns, el := range etreexml.Children(msg) {
				if el.Tag == "amp" && ns == NS {
					_, isEvent = etreexml.Attr(el, "status")
					return el, isEvent
				}
			}
			return nil, false
		}
	}
	return nil, false
}

// readRules reads every <rule/> child of parent in namespace ns, as
// written, into buf when it has room for them.
func readRules(parent *etree.Element, ns string, buf []rule) []rule {
	n := 0
	for _, t := range parent.Child {
		if el, ok := t.(*etree.Element); ok && el.Tag == "rule" {
			n++
		}
	}
	rules := buf[:0]
	if n > cap(buf) {
		rules = make([]rule, 0, n)
	}
	for childNS, el := range etreexml.Children(parent) {
		if el.Tag != "rule" || childNS != ns {
			continue
		}
		var r rule
		for i := range el.Attr {
			a := &el.Attr[i]
			if a.Space != "" {
				continue
			}
			var bit uint8
			switch a.Key {
			case "condition":
				bit, r.Condition = hasCondition, Condition(a.Value)
			case "action":
				bit, r.Action = hasAction, Action(a.Value)
			case "value":
				bit, r.Value = hasValue, a.Value
			default:
				continue
			}
			r.repeated = r.repeated || r.written&bit != 0
			r.written |= bit
		}
		rules = append(rules, r)
	}
	return rules
}

// ruleValues returns the rules as values.
func ruleValues(rules []rule) []Rule {
	var out []Rule
	for _, r := range rules {
		out = append(out, r.Rule)
	}
	return out
}

// ampElement returns an <amp/> in the AMP namespace holding rules as
// writeRule writes them.
func ampElement(perHop bool, rules []rule, maxLen int) *etree.Element {
	amp := etree.NewElement("amp")
	amp.CreateAttr("xmlns", NS)
	if perHop {
		amp.CreateAttr("per-hop", "true")
	}
	appendRules(amp, rules, maxLen)
	return amp
}

// appendRules adds a <rule/> child to parent for each rule, written as
// writeRule writes it. The <rule/> elements inherit parent's namespace.
func appendRules(parent *etree.Element, rules []rule, maxLen int) {
	for _, r := range rules {
		writeRule(parent.CreateElement("rule"), r, maxLen)
	}
}

// writeRule gives el, a <rule/>, the attributes r was written with: the
// value, and a condition or action that XEP-0079 does not define, cut to
// maxLen bytes when maxLen is not 0.
func writeRule(el *etree.Element, r rule, maxLen int) {
	if r.written&hasAction != 0 {
		addAttr(el, "action", cutUnknown(string(r.Action), r.Action.bit() != 0, maxLen))
	}
	if r.written&hasCondition != 0 {
		addAttr(el, "condition", cutUnknown(string(r.Condition), r.Condition.bit() != 0, maxLen))
	}
	if r.written&hasValue != 0 {
		addAttr(el, "value", cut(r.Value, maxLen))
	}
}

// cutUnknown returns name cut as cut does, unless it is known: a name
// XEP-0079 defines is short already.
func cutUnknown(name string, known bool, maxLen int) string {
	if known {
		return name
	}
	return cut(name, maxLen)
}

// cut returns s cut to at most maxLen bytes, at the start of a character;
// all of s when maxLen is 0.
func cut(s string, maxLen int) string {
	if maxLen == 0 || len(s) <= maxLen {
		return s
	}
	n := maxLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// stanza holds the attributes of a message that a request needs, read once.
type stanza struct{ ns, from, to, id, typ string }

// readStanza returns the first unprefixed from, to, id and type attributes
// of msg, a message in namespace ns, read in one pass (BenchmarkEvaluate).
func readStanza(msg *etree.Element, ns string) stanza {
	s := stanza{ns: ns}
	var seen uint8
	for i := range msg.Attr {
		a := &msg.Attr[i] // a copy of each etree.Attr costs more than the rest
		if a.Space != "" {
			continue
		}
		var field *string
		var bit uint8
		switch a.Key {
		case "from":
			field, bit = &s.from, 1
		case "to":
			field, bit = &s.to, 2
		case "id":
			field, bit = &s.id, 4
		case "type":
			field, bit = &s.typ, 8
		default:
			continue
		}
		if seen&bit == 0 {
			*field, seen = a.Value, seen|bit
		}
	}
	return s
}

// resourcePart returns the resource of a JID: everything after its first
// slash, or "" for a bare JID.
func resourcePart(jid string) string {
	_, resource, _ := strings.Cut(jid, "/")
	return resource
}

// repeatedAttr reports whether el has the unprefixed attribute key more
// than once.
func repeatedAttr(el *etree.Element, key string) bool {
	n := 0
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			n++
		}
	}
	return n > 1
}
