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

// rule is a rule as written and what check decided about it.
type rule struct {
	Rule
	written  uint8     // the attributes the <rule/> has, empty or not
	repeated bool      // the <rule/> repeats one of them
	skip     bool      // it does not apply at this hop: neither checked nor evaluated
	at       time.Time // the time of an acceptable expire-at rule
}

// check decides what rule r means to p, for a server at hop and a sender
// with presence. It returns the kind of error r fails with and why, or nil
// when r is acceptable; it sets r.skip for a rule that does not apply at
// hop, and r.at for an acceptable expire-at rule. It is the one place
// that decides whether a rule is acceptable: Evaluate meets only rules
// that passed it.
func (p *Processor) check(r *rule, hop Hop, presence Presence) (kind, why error) {
	switch {
	case hop == HopTransit && r.Condition == ConditionMatchResource:
		r.skip = true // decided by the server that delivers (§3.3.3)
		return nil, nil
	case r.Condition == "":
		return ErrNotAcceptable, errors.New("missing or empty condition")
	case r.Action == "":
		return ErrNotAcceptable, errors.New("missing or empty action")
	case r.Value == "":
		return ErrNotAcceptable, errors.New("missing or empty value")
	case r.repeated:
		return ErrNotAcceptable, errors.New("repeated attribute")
	case !p.supportsAction(r.Action):
		return ErrUnsupportedAction, fmt.Errorf("action %q", cut(string(r.Action), p.maxValueLen))
	case !p.supportsCondition(r.Condition):
		return ErrUnsupportedCondition, fmt.Errorf("condition %q", cut(string(r.Condition), p.maxValueLen))
	case len(r.Value) > p.maxValueLen:
		return ErrNotAcceptable, fmt.Errorf("value longer than %d bytes", p.maxValueLen)
	}
	if why := r.Condition.checkValue(r.Value, &r.at); why != nil {
		return ErrNotAcceptable, why
	}
	if presence == PresenceDenied && r.Action != ActionDrop {
		return ErrNotAcceptable, errPresence
	}
	return nil, nil
}

var errPresence = errors.New("the sender may not see the recipient's presence (XEP-0079 §9)")

// validate checks every rule of the request and returns the error for
// those check refuses, or nil: the first failing rule in document order
// decides the kind, and the error lists every rule that fails with it.
func (r *request) validate(presence Presence) error {
	first, firstKind, firstWhy := -1, error(nil), error(nil)
	var listed []rule
	for i := range r.rules {
		kind, why := r.p.check(&r.rules[i], r.hop, presence)
		if kind == nil || (first >= 0 && kind != firstKind) {
			continue
		}
		if first < 0 {
			first, firstKind, firstWhy = i, kind, why
		}
		listed = append(listed, r.rules[i])
	}
	if first < 0 {
		return nil
	}
	return r.refusal(firstKind, first, listed, firstWhy)
}

// badRequest returns the refusal of a request no server can accept.
func (r *request) badRequest(why string) *Error {
	return r.refusal(ErrBadRequest, -1, nil, errors.New(why))
}

// refusal returns the error of kind for the request, listing rules. The
// reply echoes at most MaxRules rules of the request, and lists at most
// MaxRules, so that its size is bounded by the limits.
func (r *request) refusal(kind error, index int, listed []rule, why error) *Error {
	e := &Error{Kind: kind, Index: index, Err: why, msg: r.msg, perHop: r.perHop, maxValueLen: r.p.maxValueLen}
	e.echo = r.rules[:min(len(r.rules), r.p.maxRules)]
	e.listed = listed[:min(len(listed), r.p.maxRules)]
	e.Rules = ruleValues(e.listed)
	return e
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
	// Sized first, and each rule read in place: growing the slice and
	// copying rules into it were most of the cost of BenchmarkEvaluate.
	rules := buf[:0]
	if n > cap(buf) {
		rules = make([]rule, 0, n)
	}
	var children childNamespaces
	for _, t := range parent.Child {
		el, ok := t.(*etree.Element)
		if !ok || el.Tag != "rule" {
			continue
		}
		rules = append(rules, rule{})
		declares := readRule(&rules[len(rules)-1], el)
		// A <rule/> that declares nothing and has its parent's prefix is
		// in its parent's namespace, ns: only the others need a lookup
		// (BenchmarkEvaluate).
		if (declares || el.Space != parent.Space) && children.of(parent, el) != ns {
			rules = rules[:len(rules)-1]
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

// readRule reads into r, a zero rule, the unprefixed condition, action and
// value attributes of a <rule/>, the last of each when one is repeated, and
// reports whether the <rule/> declares a namespace.
func readRule(r *rule, el *etree.Element) (declares bool) {
	for i := range el.Attr {
		a := &el.Attr[i] // a copy of each etree.Attr costs more than the tests
		if a.Space != "" {
			declares = declares || a.Space == "xmlns"
			continue
		}
		var bit uint8
		switch a.Key {
		case "xmlns":
			declares = true
			continue
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
	return declares
}

// ampElement returns an <amp/> in the AMP namespace holding rules as
// writeRule writes them.
func ampElement(perHop bool, rules []rule, maxLen int) *etree.Element {
	amp := etree.NewElement("amp")
	addAttr(amp, "xmlns", NS)
	if perHop {
		addAttr(amp, "per-hop", "true")
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
		addAttr(el, "action", cutName(r.Action, allActions[:], maxLen))
	}
	if r.written&hasCondition != 0 {
		addAttr(el, "condition", cutName(r.Condition, allConditions[:], maxLen))
	}
	if r.written&hasValue != 0 {
		addAttr(el, "value", cut(r.Value, maxLen))
	}
}

// cutName returns name, cut to maxLen bytes unless it is one of known,
// whose length is bounded already.
func cutName[T ~string](name T, known []T, maxLen int) string {
	if maxLen == 0 || len(name) <= maxLen {
		return string(name)
	}
	for _, k := range known {
		if name == k {
			return string(name)
		}
	}
	return cut(string(name), maxLen)
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
	var children childNamespaces
	for _, t := range msg.Child {
		if el, ok := t.(*etree.Element); ok && el.Tag == "amp" && children.of(msg, el) == NS {
			return el
		}
	}
	return nil
}

// childNamespaces finds the namespaces of the children of one element in
// a time that does not grow with the declarations of its ancestors: a
// child's own declarations, its parent's namespace for a child with its
// parent's prefix, and otherwise the scope of the parent, collected from
// its ancestors once. (NamespaceURI walks the ancestors for each child:
// on a stanza under a stream header with many declarations, that is
// quadratic.) The zero value is ready to use.
type childNamespaces struct {
	parentNS    string
	parentKnown bool
	scope       map[string]string // the prefixes in scope at the parent, "" the default namespace
}

// of returns the namespace of child, a child element of parent.
func (c *childNamespaces) of(parent, child *etree.Element) string {
	for _, a := range child.Attr {
		if (child.Space == "" && a.Space == "" && a.Key == "xmlns") ||
			(child.Space != "" && a.Space == "xmlns" && a.Key == child.Space) {
			return a.Value
		}
	}
	if child.Space == parent.Space {
		if !c.parentKnown {
			c.parentNS, c.parentKnown = parent.NamespaceURI(), true
		}
		return c.parentNS
	}
	if c.scope == nil {
		c.scope = make(map[string]string)
		for e := parent; e != nil; e = e.Parent() {
			for _, a := range e.Attr {
				prefix, ok := a.Key, a.Space == "xmlns"
				if a.Space == "" && a.Key == "xmlns" {
					prefix, ok = "", true
				}
				if _, seen := c.scope[prefix]; ok && !seen {
					c.scope[prefix] = a.Value
				}
			}
		}
	}
	return c.scope[child.Space]
}

// stanzaAttrs are the attributes of a stanza that a request needs.
type stanzaAttrs struct{ from, to, id, typ string }

// readStanzaAttrs returns the first unprefixed from, to, id and type
// attributes of msg, read in one pass (BenchmarkEvaluate).
func readStanzaAttrs(msg *etree.Element) stanzaAttrs {
	var s stanzaAttrs
	var seen uint8
	for i := range msg.Attr {
		a := &msg.Attr[i]
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

// attrLookup returns the value of the first unprefixed attribute key of
// el.
func attrLookup(el *etree.Element, key string) (string, bool) {
	if el == nil {
		return "", false
	}
	for i := range el.Attr {
		if a := &el.Attr[i]; a.Space == "" && a.Key == key {
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
