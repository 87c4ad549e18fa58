package amp

import (
	"errors"
	"fmt"

	"github.com/beevik/etree"
)

// Rule is one <rule/> of a request. Parse keeps unknown conditions and
// actions as written, so that a refusal can echo them.
type Rule struct {
	Condition Condition
	Action    Action
	Value     string
}

// RuleSet is the <amp/> element of a request: its rules in document order
// and its per-hop flag.
type RuleSet struct {
	// PerHop applies the rules at every server on the route, not only at
	// the edges.
	PerHop bool
	// Rules are the rules in document order.
	Rules []Rule

	// malformed lists, by index, rules that repeat an attribute. They are
	// refused as not acceptable.
	malformed []int
}

// inlineRules is how many rules Parse stores without a second allocation.
const inlineRules = 4

// ruleSetStorage holds a RuleSet and its N rules, N up to inlineRules, in
// one allocation of the size N needs.
type ruleSetStorage[N interface {
	[1]Rule | [2]Rule | [3]Rule | [4]Rule
}] struct {
	rs  RuleSet
	buf N
}

// Parse recognizes and reads the AMP request of msg, a <message/> stanza.
//
// It returns nil and no error when msg carries no request: no <amp/> child
// in the AMP namespace (whatever its prefix), an <amp/> with a status
// attribute (an event sent by a server, never processed again), or a
// message of type error. Only the first <amp/> child in the namespace
// counts. Parse does not validate the rules against a configuration; that
// is [Config.Validate].
//
// A request that no configuration can accept gets an [*Error] whose kind is
// [ErrBadRequest]: a message without an id or with an empty one (§1.3), a
// per-hop other than "true" or "false", or repeated, or an <amp/> without a
// <rule/>.
// [ErrorReply] turns it into the stanza to send back. Parse returns a plain
// error, with no stanza to send, when msg is not a <message/> or has no
// from attribute: a server stamps the sender's full JID before routing.
//
// Repeated attributes, which XML forbids but encoding/xml accepts, are seen
// only when msg was read with etree's ReadSettings.PreserveDuplicateAttrs:
// by default etree keeps the last of them, and Parse reads what is left.
func Parse(msg *etree.Element) (*RuleSet, error) {
	if msg == nil || msg.Tag != "message" {
		return nil, notMessage(msg)
	}
	// The loop over a message without <amp/> costs no call.
	for i, t := range msg.Child {
		if el, ok := t.(*etree.Element); ok && el.Tag == "amp" {
			return parseFrom(msg, i)
		}
	}
	return nil, nil
}

// parseFrom is Parse for a message whose child i is named amp.
func parseFrom(msg *etree.Element, i int) (*RuleSet, error) {
	el := findAMPFrom(msg, i)
	if el == nil {
		return nil, nil
	}
	el, id, err := checkRequest(msg, el)
	if el == nil || err != nil {
		return nil, err
	}
	rs := newRuleSet(el)
	if err := rs.read(el, id); err != nil {
		return nil, err
	}
	return rs, nil
}

// ParseInto is Parse reading the request into rs, whose storage it reuses,
// so that a server that keeps one RuleSet per connection or worker parses
// requests without allocating. It reports whether msg carries a request;
// when it returns false or an error, the contents of rs are undefined. An
// [*Error] it returns holds its own copy of the rules, so rs may be reused
// before the error is answered. rs must not be nil.
func ParseInto(rs *RuleSet, msg *etree.Element) (bool, error) {
	el, id, err := findRequest(msg)
	if el == nil || err != nil {
		return false, err
	}
	if err := rs.read(el, id); err != nil {
		var e *Error
		if errors.As(err, &e) && e.request == rs {
			e.request = &RuleSet{Rules: append([]Rule(nil), rs.Rules...)}
		}
		return false, err
	}
	return true, nil
}

// findRequest returns the <amp/> of the request msg carries and msg's id,
// or nil when there is none; the error is the one Parse returns before it
// reads rules.
func findRequest(msg *etree.Element) (amp *etree.Element, id string, err error) {
	if msg == nil || msg.Tag != "message" {
		return nil, "", notMessage(msg)
	}
	el := findAMP(msg)
	if el == nil {
		return nil, "", nil
	}
	return checkRequest(msg, el)
}

// notMessage is the error for something that is not a <message/>.
func notMessage(msg *etree.Element) error {
	if msg == nil {
		return errors.New("amp: no message")
	}
	return fmt.Errorf("amp: <%s/> is not a message", msg.FullTag())
}

// checkRequest is findRequest for an <amp/> child el of msg.
func checkRequest(msg, el *etree.Element) (amp *etree.Element, id string, err error) {
	if hasAttr(el, "status") {
		return nil, "", nil
	}
	from, id, typ := stanzaAttrs(msg)
	switch {
	case typ == "error":
		return nil, "", nil
	case from == "":
		return el, "", ErrNoSender
	}
	return el, id, nil
}

// read reads the request whose <amp/> is el, on a message with id, into
// rs.
func (rs *RuleSet) read(el *etree.Element, id string) error {
	rs.readRules(el)
	perHop, perHopSet := attrLookup(el, "per-hop")
	switch {
	case id == "":
		return requestError(rs, "the message has no id")
	case perHopSet && perHop != "true" && perHop != "false":
		return requestError(rs, fmt.Sprintf("per-hop is %q, not true or false", perHop))
	case perHopSet && repeatedAttr(el, "per-hop"):
		return requestError(rs, "per-hop is repeated")
	case len(rs.Rules) == 0:
		return requestError(rs, "the request has no rule")
	}
	rs.PerHop = perHop == "true"
	return nil
}

// findAMP returns the first <amp/> child of msg in the AMP namespace.
func findAMP(msg *etree.Element) *etree.Element {
	for i, t := range msg.Child {
		if el, ok := t.(*etree.Element); ok && el.Tag == "amp" {
			return findAMPFrom(msg, i)
		}
	}
	return nil
}

// findAMPFrom is findAMP from msg's child i on. It is apart so that the
// loop over a message without <amp/> is inlined.
func findAMPFrom(msg *etree.Element, i int) *etree.Element {
	for _, t := range msg.Child[i:] {
		if el, ok := t.(*etree.Element); ok && el.Tag == "amp" && el.NamespaceURI() == NS {
			return el
		}
	}
	return nil
}

// countRules counts the children of amp named rule whatever their
// namespace: it sizes the storage and costs no namespace lookup.
func countRules(amp *etree.Element) int {
	n := 0
	for _, t := range amp.Child {
		if el, ok := t.(*etree.Element); ok && el.Tag == "rule" {
			n++
		}
	}
	return n
}

// newRuleSet returns an empty RuleSet with room for the rules of amp, in
// one allocation for up to inlineRules rules.
func newRuleSet(amp *etree.Element) *RuleSet {
	var rs *RuleSet
	switch n := countRules(amp); {
	case n <= 1:
		s := new(ruleSetStorage[[1]Rule])
		s.rs.Rules, rs = s.buf[:0:n], &s.rs
	case n == 2:
		s := new(ruleSetStorage[[2]Rule])
		s.rs.Rules, rs = s.buf[:0:n], &s.rs
	case n == 3:
		s := new(ruleSetStorage[[3]Rule])
		s.rs.Rules, rs = s.buf[:0:n], &s.rs
	case n == inlineRules:
		s := new(ruleSetStorage[[4]Rule])
		s.rs.Rules, rs = s.buf[:0:n], &s.rs
	default:
		rs = &RuleSet{Rules: make([]Rule, 0, n)}
	}
	return rs
}

// readRules reads every <rule/> child of an <amp/> element, which is in
// the AMP namespace, into rs, reusing its storage.
func (rs *RuleSet) readRules(amp *etree.Element) {
	rs.PerHop, rs.Rules, rs.malformed = false, rs.Rules[:0], rs.malformed[:0]
	for _, t := range amp.Child {
		el, ok := t.(*etree.Element)
		if !ok || el.Tag != "rule" {
			continue
		}
		// The rule is read in place, into the next slot, and taken back
		// when it is not in the AMP namespace.
		k := len(rs.Rules)
		if k == cap(rs.Rules) {
			rs.Rules = append(rs.Rules, Rule{})
		} else {
			rs.Rules = rs.Rules[:k+1]
		}
		repeated, declares := readRule(&rs.Rules[k], el.Attr)
		// A child that declares no namespace and shares its parent's
		// prefix is in its parent's namespace, the AMP one: only the
		// others need a lookup.
		if (declares || el.Space != amp.Space || el.Parent() != amp) && el.NamespaceURI() != NS {
			rs.Rules = rs.Rules[:k]
			continue
		}
		if repeated {
			rs.malformed = append(rs.malformed, k)
		}
	}
}

// readRule reads into r the unprefixed condition, action and value attributes of
// a <rule/>, the last of each when one is repeated, and reports whether
// one is repeated and whether the attributes declare a namespace.
func readRule(r *Rule, attrs []etree.Attr) (repeated, declares bool) {
	// Field by field: a whole Rule written at once would take the slower
	// write barrier of a bulk move while the GC runs.
	r.Condition, r.Action, r.Value = "", "", ""
	var seen uint8
	for i := range attrs {
		a := &attrs[i]
		if a.Space != "" {
			declares = declares || a.Space == "xmlns"
			continue
		}
		var bit uint8
		switch a.Key {
		case "condition":
			bit, r.Condition = 1, Condition(a.Value)
		case "action":
			bit, r.Action = 2, Action(a.Value)
		case "value":
			bit, r.Value = 4, a.Value
		case "xmlns":
			declares = true
			continue
		default:
			continue
		}
		repeated = repeated || seen&bit != 0
		seen |= bit
	}
	return repeated, declares
}

func requestError(rs *RuleSet, why string) *Error {
	return &Error{Kind: ErrBadRequest, Index: -1, Err: errors.New(why), request: rs}
}

// Validate checks every rule of a request against the server's
// configuration and the §9 presence policy before any answer is given
// (§2.2.1). It returns nil when rs is nil or every rule is acceptable, and
// otherwise an [*Error] that [ErrorReply] turns into the stanza to send.
//
// A request with more rules than MaxRules is refused as not acceptable,
// listing the rules past the limit, before any rule is checked. Otherwise
// each rule fails with the first of: a missing, empty or repeated
// condition, action or value attribute (not acceptable); an action the
// server does not support (unsupported action); a condition it does not
// support (unsupported condition); a value the condition does not define,
// one longer than MaxValueLen, or an alert, error or notify rule from a
// sender without presence authorization (not acceptable). The first failing
// rule in document order decides the kind of error; the error lists every
// rule that fails with that kind.
func (c *Config) Validate(rs *RuleSet, p Presence) error {
	if rs == nil {
		return nil
	}
	return c.validate(rs, p)
}

// validate is Validate for a request.
func (c *Config) validate(rs *RuleSet, p Presence) error {
	if len(rs.Rules) == 0 {
		return requestError(rs, "the request has no rule")
	}
	if max := c.maxRules(); len(rs.Rules) > max {
		return &Error{
			Kind:    ErrNotAcceptable,
			Index:   max,
			Rules:   append([]Rule(nil), rs.Rules[max:]...),
			Err:     fmt.Errorf("more than %d rules", max),
			request: rs,
		}
	}
	firstIdx := -1
	for i := range rs.Rules {
		if !c.accepts(rs, i, p) {
			firstIdx = i
			break
		}
	}
	if firstIdx < 0 {
		return nil
	}
	kind, first := c.check(rs, firstIdx, p)
	if kind == nil {
		return nil // unreachable while accepts and check agree
	}
	e := &Error{Kind: kind, Index: firstIdx, Err: first, request: rs}
	for i := firstIdx; i < len(rs.Rules); i++ {
		if k, _ := c.check(rs, i, p); k == kind {
			e.Rules = append(e.Rules, rs.Rules[i])
		}
	}
	return e
}

// accepts reports whether rule i of rs passes every check of check, which
// says why it does not.
func (c *Config) accepts(rs *RuleSet, i int, p Presence) bool {
	r := &rs.Rules[i]
	if r.Condition == "" || r.Action == "" || r.Value == "" || len(r.Value) > c.maxValueLen() ||
		(p == PresenceDenied && r.Action != ActionDrop) ||
		(len(rs.malformed) > 0 && rs.isMalformed(i)) ||
		!c.SupportsAction(r.Action) || !c.SupportsCondition(r.Condition) {
		return false
	}
	switch r.Condition {
	case CondDeliver:
		return Deliver(r.Value).defined()
	case CondMatchResource:
		switch MatchResource(r.Value) {
		case MatchAny, MatchExact, MatchOther:
			return true
		}
		return false
	}
	return r.Condition.check(r.Value) == nil
}

// check validates rule i of rs and returns the kind of its failure and why,
// or nil.
func (c *Config) check(rs *RuleSet, i int, p Presence) (kind, why error) {
	r := &rs.Rules[i]
	switch {
	case r.Condition == "":
		return ErrNotAcceptable, errors.New("missing condition")
	case r.Action == "":
		return ErrNotAcceptable, errors.New("missing action")
	case r.Value == "":
		return ErrNotAcceptable, errors.New("missing value")
	case rs.isMalformed(i):
		return ErrNotAcceptable, errors.New("repeated attribute")
	case !c.SupportsAction(r.Action):
		return ErrUnsupportedAction, fmt.Errorf("action %q", r.Action)
	case !c.SupportsCondition(r.Condition):
		return ErrUnsupportedCondition, fmt.Errorf("condition %q", r.Condition)
	case len(r.Value) > c.maxValueLen():
		return ErrNotAcceptable, fmt.Errorf("value longer than %d bytes", c.maxValueLen())
	}
	if err := r.Condition.check(r.Value); err != nil {
		return ErrNotAcceptable, err
	}
	if p == PresenceDenied && r.Action != ActionDrop {
		return ErrNotAcceptable, errPresence
	}
	return nil, nil
}

var errPresence = errors.New("the sender may not see the recipient's presence (XEP-0079 §9)")

func (rs *RuleSet) isMalformed(i int) bool {
	for _, m := range rs.malformed {
		if m == i {
			return true
		}
	}
	return false
}

// Element returns rs as an <amp/> element in the AMP namespace, to add to
// an outgoing message: msg.AddChild(rs.Element()). It writes per-hop only
// when it is true, and leaves out empty attributes.
func (rs *RuleSet) Element() *etree.Element {
	amp := newElement("amp", 2)
	amp.Attr = append(amp.Attr, etree.Attr{Key: "xmlns", Value: NS})
	if rs.PerHop {
		amp.Attr = append(amp.Attr, etree.Attr{Key: "per-hop", Value: "true"})
	}
	appendRules(amp, rs.Rules)
	return amp
}

// appendRules adds a <rule/> child to parent for each rule.
func appendRules(parent *etree.Element, rules []Rule) {
	if cap(parent.Child)-len(parent.Child) < len(rules) {
		child := make([]etree.Token, len(parent.Child), len(parent.Child)+len(rules))
		copy(child, parent.Child)
		parent.Child = child
	}
	els := make([]ruleElement, len(rules))
	for i, r := range rules {
		parent.AddChild(els[i].build(r))
	}
}

// ruleElement holds a <rule/> element and its attributes, so that one
// allocation builds it.
type ruleElement struct {
	el   etree.Element
	attr [3]etree.Attr
}

// build returns r as a <rule/> element that inherits its namespace.
func (s *ruleElement) build(r Rule) *etree.Element {
	el := initElement(&s.el, "rule", s.attr[:], nil)
	if r.Action != "" {
		el.Attr = append(el.Attr, etree.Attr{Key: "action", Value: string(r.Action)})
	}
	if r.Condition != "" {
		el.Attr = append(el.Attr, etree.Attr{Key: "condition", Value: string(r.Condition)})
	}
	if r.Value != "" {
		el.Attr = append(el.Attr, etree.Attr{Key: "value", Value: r.Value})
	}
	return el
}

// newElement returns an element with room for n attributes. Attributes
// written through Attr have no owner element; etree needs one only to
// resolve their namespace prefix, and these have none.
func newElement(tag string, n int) *etree.Element {
	el := etree.NewElement(tag)
	el.Attr = make([]etree.Attr, 0, n)
	return el
}

// unparented is an element as etree.NewElement returns it.
var unparented = *etree.NewElement("")

// initElement makes *el what etree.NewElement(tag) returns, tag having no
// prefix, with its attributes stored in attr and its children in child,
// whose capacities bound what el holds before an append copies them: an
// element built in storage allocated with others. A nil child leaves the
// element the empty Child etree gives it. It returns el.
func initElement(el *etree.Element, tag string, attr []etree.Attr, child []etree.Token) *etree.Element {
	*el = unparented
	el.Tag = tag
	el.Attr = attr[:0]
	if child != nil {
		el.Child = child[:0]
	}
	return el
}

// attrLookup returns the value of the unprefixed attribute key of el.
func attrLookup(el *etree.Element, key string) (string, bool) {
	for i := range el.Attr {
		// By pointer: a copy of each etree.Attr costs more than the test.
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

// stanzaAttrs returns the unprefixed from, id and type attributes of el,
// the first of each as attrValue does, in one pass.
func stanzaAttrs(el *etree.Element) (from, id, typ string) {
	var seen uint8
	for i := range el.Attr {
		a := &el.Attr[i]
		if a.Space != "" {
			continue
		}
		switch a.Key {
		case "from":
			if seen&1 == 0 {
				from, seen = a.Value, seen|1
			}
		case "id":
			if seen&2 == 0 {
				id, seen = a.Value, seen|2
			}
		case "type":
			if seen&4 == 0 {
				typ, seen = a.Value, seen|4
			}
		}
	}
	return from, id, typ
}

func attrValue(el *etree.Element, key string) string {
	v, _ := attrLookup(el, key)
	return v
}

func hasAttr(el *etree.Element, key string) bool {
	_, ok := attrLookup(el, key)
	return ok
}
