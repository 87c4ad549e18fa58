package amp

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

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

// rule is a rule as written and what it means to the server that parsed
// it, as check decided.
type rule struct {
	Rule
	written  uint8 // the attributes the <rule/> has, empty or not
	repeated bool  // the <rule/> repeats one of them

	kind error     // the kind of error the rule fails with; nil when acceptable
	why  error     // why it fails
	at   time.Time // the time of an acceptable expire-at rule
	skip bool      // it does not apply at this hop, and is neither checked nor evaluated
}

// check decides what rule r means to p, for a server at hop and a sender
// with presence: it sets r.skip for a rule that does not apply there, and
// otherwise r.kind and r.why for a rule that fails, or r.at for an
// acceptable expire-at rule. It is the one place that decides whether a
// rule is acceptable; Evaluate relies on its answer.
func (p *Processor) check(r *rule, hop Hop, presence Presence) {
	fail := func(kind, why error) { r.kind, r.why = kind, why }
	switch {
	case hop == HopTransit && r.Condition == ConditionMatchResource:
		r.skip = true // decided by the server that delivers (§3.3.3)
	case r.Condition == "":
		fail(ErrNotAcceptable, errors.New("missing or empty condition"))
	case r.Action == "":
		fail(ErrNotAcceptable, errors.New("missing or empty action"))
	case r.Value == "":
		fail(ErrNotAcceptable, errors.New("missing or empty value"))
	case r.repeated:
		fail(ErrNotAcceptable, errors.New("repeated attribute"))
	case !p.supportsAction(r.Action):
		fail(ErrUnsupportedAction, fmt.Errorf("action %q", cut(string(r.Action), p.maxValueLen)))
	case !p.supportsCondition(r.Condition):
		fail(ErrUnsupportedCondition, fmt.Errorf("condition %q", cut(string(r.Condition), p.maxValueLen)))
	case len(r.Value) > p.maxValueLen:
		fail(ErrNotAcceptable, fmt.Errorf("value longer than %d bytes", p.maxValueLen))
	default:
		if why := r.Condition.checkValue(r.Value, &r.at); why != nil {
			fail(ErrNotAcceptable, why)
		} else if presence == PresenceDenied && r.Action != ActionDrop {
			fail(ErrNotAcceptable, errPresence)
		}
	}
}

var errPresence = errors.New("the sender may not see the recipient's presence (XEP-0079 §9)")

// validationError returns the error for the rules check refused, or nil:
// the first failing rule in document order decides the kind, and the
// error lists every rule that fails with it.
func (r Request) validationError() error {
	first := -1
	var listed []rule
	for i, ru := range r.rules {
		if ru.kind == nil || (first >= 0 && ru.kind != r.rules[first].kind) {
			continue
		}
		if first < 0 {
			first = i
		}
		listed = append(listed, ru)
	}
	if first < 0 {
		return nil
	}
	return r.refusal(r.rules[first].kind, first, listed, r.rules[first].why)
}

// badRequest returns the refusal of a request no server can accept.
func (r Request) badRequest(why string) *Error {
	return r.refusal(ErrBadRequest, -1, nil, errors.New(why))
}

// refusal returns the error of kind for the request, listing rules. The
// reply echoes at most MaxRules rules of the request, and lists at most
// MaxRules, so that its size is bounded by the limits.
func (r Request) refusal(kind error, index int, listed []rule, why error) *Error {
	e := &Error{Kind: kind, Index: index, Err: why, msg: r.msg, perHop: r.perHop, maxValueLen: r.p.maxValueLen}
	e.echo = r.rules[:min(len(r.rules), r.p.maxRules)]
	e.listed = listed[:min(len(listed), r.p.maxRules)]
	e.Rules = ruleValues(e.listed)
	return e
}

// readRules reads every <rule/> child of parent in namespace ns, as
// written.
func readRules(parent *etree.Element, ns string) []rule {
	var rules []rule
	for _, t := range parent.Child {
		if el, ok := t.(*etree.Element); ok && el.Tag == "rule" && el.NamespaceURI() == ns {
			rules = append(rules, readRule(el))
		}
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

// readRule reads the unprefixed condition, action and value attributes of
// a <rule/>, the last of each when one is repeated.
func readRule(el *etree.Element) rule {
	var r rule
	for _, a := range el.Attr {
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
	return r
}

// ampElement returns an <amp/> in the AMP namespace holding rules as
// written, each attribute cut to maxLen bytes when maxLen is not 0.
func ampElement(perHop bool, rules []rule, maxLen int) *etree.Element {
	amp := etree.NewElement("amp")
	amp.CreateAttr("xmlns", NS)
	if perHop {
		amp.CreateAttr("per-hop", "true")
	}
	appendRules(amp, rules, maxLen)
	return amp
}

// appendRules adds a <rule/> child to parent for each rule, with the
// attributes it was written with, each cut to maxLen bytes when maxLen is
// not 0. The <rule/> elements inherit parent's namespace.
func appendRules(parent *etree.Element, rules []rule, maxLen int) {
	for _, r := range rules {
		el := parent.CreateElement("rule")
		if r.written&hasAction != 0 {
			el.CreateAttr("action", cut(string(r.Action), maxLen))
		}
		if r.written&hasCondition != 0 {
			el.CreateAttr("condition", cut(string(r.Condition), maxLen))
		}
		if r.written&hasValue != 0 {
			el.CreateAttr("value", cut(r.Value, maxLen))
		}
	}
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

// findAMP returns the first <amp/> child of msg in the AMP namespace,
// whatever its prefix, or nil.
func findAMP(msg *etree.Element) *etree.Element {
	for _, t := range msg.Child {
		if el, ok := t.(*etree.Element); ok && el.Tag == "amp" && el.NamespaceURI() == NS {
			return el
		}
	}
	return nil
}

// attrLookup returns the value of the first unprefixed attribute key of
// el.
func attrLookup(el *etree.Element, key string) (string, bool) {
	if el == nil {
		return "", false
	}
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
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

func attrValue(el *etree.Element, key string) string {
	v, _ := attrLookup(el, key)
	return v
}

func hasAttr(el *etree.Element, key string) bool {
	_, ok := attrLookup(el, key)
	return ok
}
