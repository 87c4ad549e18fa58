// Package amp implements XEP-0079: Advanced Message Processing.
//
// A server calls it from its message-routing hooks. The package parses the
// <amp/> rule set a sender put on a <message/>, validates it against the
// server's configuration, decides what the rules say about the delivery the
// server is about to make, and builds the stanzas the server sends back:
// validation errors, alert and notify events, the error of the "error"
// action and service-unavailable for a next hop without AMP. It performs no
// I/O, reads no clock and keeps no state: the time, the delivery outcome, the
// sender's presence authorization and the server's identity are arguments,
// and the caller's elements are never modified.
//
// A server calls the package at three points:
//
//   - On receipt: [Parse] the message and [Config.Validate] its rules; on an
//     error send [ErrorReply] to the sender and stop.
//   - At the routing decision: [Config.Evaluate] the rules against the
//     [Outcome]; send [Result.Replies]; when [Result.Deliver] is true pass
//     [Result.Message] on, otherwise stop.
//   - On later steps, when direct delivery fails or a stored message is
//     dispatched: evaluate [Result.Remaining], or the rules parsed again from
//     the stored message, with the new outcome. No rule fires twice.
//
// Conformance: every condition (deliver, expire-at, match-resource), every
// action (alert, drop, error, notify), per-hop processing, validation with
// all error kinds, the §9 presence policy, service discovery and the stream
// feature. The package follows the formal definition of §4 where the XEP's
// examples disagree with it: events carry status, and their from and to are
// the original sender and recipient; the alert feature is advertised as
// "?action=alert".
package amp

import (
	"time"

	"github.com/beevik/etree"
)

// Namespaces used by XEP-0079, provided as a convenience.
const (
	// NS is the namespace of <amp/>, <rule/> and the validation error
	// containers, and the service discovery feature and node.
	NS = "http://jabber.org/protocol/amp"
	// NSErrors is the namespace of <failed-rules/>.
	NSErrors = "http://jabber.org/protocol/amp#errors"
	// NSFeature is the namespace of the stream feature.
	NSFeature = "http://jabber.org/features/amp"
	// NSStanzas is the namespace of stanza error conditions (RFC 6120).
	NSStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// Hop says where on the route of a message the processing server stands.
type Hop uint8

const (
	// HopEdge is the sender's server or the recipient's server. It is the
	// zero value.
	HopEdge Hop = 0
	// HopTransit is any server between them. Rules apply there only when the
	// request says per-hop='true', and match-resource rules never do.
	HopTransit Hop = 1
)

// NextHop says whether the message leaves this server for another one and,
// if so, whether that server supports AMP.
type NextHop uint8

const (
	// NextHopLocal means this server itself delivers, stores, forwards,
	// gateways or discards the message. It is the zero value.
	NextHopLocal NextHop = 0
	// NextHopAMP means the message is routed on to a server that supports
	// AMP.
	NextHopAMP NextHop = 1
	// NextHopNoAMP means the message is routed on to a server that does not
	// support AMP: when the rules leave the default behaviour standing the
	// sender gets service-unavailable instead (§2.2.4).
	NextHopNoAMP NextHop = 2
)

// Presence says whether the sender may see the recipient's presence (§9):
// a subscription of "from" or "both", or a trusted closed network.
type Presence bool

const (
	// PresenceDenied is the zero value: alert, error and notify rules, whose
	// events could reveal the recipient's presence, are refused as not
	// acceptable and are never met.
	PresenceDenied Presence = false
	// PresenceAuthorized allows every rule.
	PresenceAuthorized Presence = true
)

// Outcome is the delivery the server is about to make, stated by the caller.
type Outcome struct {
	// Deliver is the server's default behaviour for the message. An empty
	// Deliver meets no deliver or match-resource rule.
	Deliver Deliver
	// Resource is the resource the message would be delivered to: empty
	// for a bare JID such as a room, and for storage.
	Resource string
	// Time is the time of dispatch, compared with expire-at values. When
	// the message is about to be stored it is the time of storage: an
	// expire-at rule is then met only if its time has already passed, and
	// is checked again when the message leaves storage. The zero Time meets
	// no expire-at rule.
	Time time.Time
	// Hop is where this server stands on the route. Default: HopEdge.
	Hop Hop
	// NextHop says whether the message is routed on to another server.
	// Default: NextHopLocal.
	NextHop NextHop
	// Presence is whether the sender may see the recipient's presence.
	// Default: PresenceDenied.
	Presence Presence
}

// Config is a server's AMP configuration. The zero Config supports every
// action and condition that XEP-0079 defines, with the default limits. A
// nil *Config behaves as the zero Config. A Config must not be modified
// while it is in use.
type Config struct {
	// Actions lists the actions the server supports. Actions that XEP-0079
	// does not define are never supported. Default (nil or empty): all four.
	Actions []Action
	// Conditions lists the conditions the server supports. Conditions that
	// XEP-0079 does not define are never supported. Default (nil or empty):
	// all three.
	Conditions []Condition
	// MaxRules is the most rules one request may carry; a request with more
	// is refused as not acceptable. Default (0 or less): 32.
	MaxRules int
	// MaxValueLen is the longest value attribute, in bytes, a rule may
	// carry; a longer one fails its rule as not acceptable. Default (0 or
	// less): 256.
	MaxValueLen int
	// RootFeatures also lists the supported actions and conditions at the
	// root of service discovery, for clients that look for them there.
	// Default: false.
	RootFeatures bool
}

// Default limits of Config.
const (
	DefaultMaxRules    = 32
	DefaultMaxValueLen = 256
)

func (c *Config) maxRules() int {
	if c == nil || c.MaxRules <= 0 {
		return DefaultMaxRules
	}
	return c.MaxRules
}

func (c *Config) maxValueLen() int {
	if c == nil || c.MaxValueLen <= 0 {
		return DefaultMaxValueLen
	}
	return c.MaxValueLen
}

// SupportsAction reports whether the server supports action a.
func (c *Config) SupportsAction(a Action) bool {
	if !a.defined() {
		return false
	}
	if c == nil || len(c.Actions) == 0 {
		return true
	}
	for _, s := range c.Actions {
		if s == a {
			return true
		}
	}
	return false
}

// SupportsCondition reports whether the server supports condition cond.
func (c *Config) SupportsCondition(cond Condition) bool {
	if !cond.defined() {
		return false
	}
	if c == nil || len(c.Conditions) == 0 {
		return true
	}
	for _, s := range c.Conditions {
		if s == cond {
			return true
		}
	}
	return false
}

// Result is what the rules say about one delivery. The zero Result delivers
// nothing and sends nothing.
type Result struct {
	// Deliver reports whether the server goes on with its default
	// behaviour: true with no request, or when only notify rules were met.
	Deliver bool
	// Action is the met rule's action that overrides the default
	// behaviour: ActionAlert, ActionDrop or ActionError; empty when none.
	Action Action
	// Err is ErrServiceUnavailable when the default behaviour would route
	// the message on to a server without AMP; nil otherwise.
	Err error

	msg       *etree.Element
	rules     *RuleSet
	notified  bitset
	final     int  // index of the rule that overrode delivery, or -1
	unchanged bool // the message goes on as it is: routed on, or at a transit hop
	stored    bool // the message is about to be stored
}

// Rule returns the met rule that overrides the default behaviour, and false
// when there is none.
func (r *Result) Rule() (Rule, bool) {
	if r.rules == nil || r.final < 0 || r.Action == "" {
		return Rule{}, false
	}
	return r.rules.Rules[r.final], true
}

// Notified returns the met notify rules, in document order, or nil.
func (r *Result) Notified() []Rule {
	if r.rules == nil {
		return nil
	}
	var out []Rule
	for i, rule := range r.rules.Rules {
		if r.notified.has(i) {
			out = append(out, rule)
		}
	}
	return out
}

// fired reports whether rule i has fired in this evaluation.
func (r *Result) fired(i int) bool {
	return r.notified.has(i) || (r.Action != "" && i == r.final)
}

// Remaining returns the rules that have not fired, to evaluate at a later
// step of the same message: when direct delivery fails and the message is
// stored instead, for example. It returns nil when the message carried no
// request. The returned RuleSet may have no rules; evaluating it then meets
// nothing.
func (r *Result) Remaining() *RuleSet {
	if r.rules == nil {
		return nil
	}
	rest := &RuleSet{PerHop: r.rules.PerHop, Rules: make([]Rule, 0, len(r.rules.Rules))}
	for i, rule := range r.rules.Rules {
		if !r.fired(i) {
			rest.Rules = append(rest.Rules, rule)
		}
	}
	return rest
}

// Message returns the message the server passes on when Deliver is true,
// and nil otherwise. The caller's element is never modified; a changed
// message is a copy.
//
//   - A message without a request, or one routed on to another server or
//     processed at a transit hop, is returned as it is, <amp/> included,
//     since the next server processes it.
//   - A message about to be stored keeps in its <amp/> only the rules that
//     have not fired, to be evaluated when it is dispatched; the <amp/> is
//     removed when none remain.
//   - A message delivered to the recipient's sessions, forwarded, sent to
//     a gateway or not delivered at all loses its <amp/>: the recipient's
//     server does not pass the request on to the client.
func (r *Result) Message() *etree.Element {
	if r.Deliver && r.rules == nil {
		// Inlined: a message without a request costs no call.
		return r.msg
	}
	return r.message()
}

// message is Message for a request.
func (r *Result) message() *etree.Element {
	if !r.Deliver {
		return nil
	}
	if r.rules == nil || r.unchanged {
		return r.msg
	}
	var keep *etree.Element
	if r.stored {
		if rest := r.Remaining(); len(rest.Rules) > 0 {
			keep = rest.Element()
		}
	}
	return withoutAMP(r.msg, keep)
}

// Evaluate processes the rules of a request against the delivery the server
// is about to make (§2.2.3), in document order: each met notify rule adds
// an event and processing goes on; the first met alert, drop or error rule
// ends processing and overrides the default behaviour.
//
// Evaluate expects rules that passed Validate: a rule it does not
// understand, or whose action or condition c does not support, is never
// met. With PresenceDenied only drop rules can be met. At a transit hop
// nothing is met unless the request says per-hop='true', and match-resource
// rules are met only where the server delivers the message itself
// (NextHopLocal at an edge). A nil rs is a message without a request: the
// Result delivers it unchanged.
func (c *Config) Evaluate(msg *etree.Element, rs *RuleSet, o Outcome) Result {
	if rs == nil {
		// Inlined: a message without a request costs no call. Without
		// rules the Result never reads the outcome.
		return Result{Deliver: true, msg: msg, final: -1}
	}
	return c.evaluate(msg, rs, o)
}

// evaluate is Evaluate for a request.
func (c *Config) evaluate(msg *etree.Element, rs *RuleSet, o Outcome) (res Result) {
	// Field by field: a composite literal would be built aside and copied.
	res.Deliver, res.msg, res.rules, res.final = true, msg, rs, -1
	res.unchanged = o.Hop == HopTransit || o.NextHop != NextHopLocal
	res.stored = o.Deliver == DeliverStored
	if msg == nil {
		return res
	}
	if o.Hop == HopTransit && !rs.PerHop {
		res.routeCheck(o.NextHop)
		return res
	}
	// target, the resource of the message's to, is read for the first
	// match-resource rule.
	target, haveTarget := "", false
	// met knows only the conditions XEP-0079 defines, and the switch below
	// only its actions: with the default configuration nothing else needs
	// checking.
	everyAction := c == nil || len(c.Actions) == 0
	everyCondition := c == nil || len(c.Conditions) == 0
	for i := range rs.Rules {
		rule := &rs.Rules[i]
		if (!everyAction && !c.SupportsAction(rule.Action)) ||
			(!everyCondition && !c.SupportsCondition(rule.Condition)) {
			continue
		}
		if o.Presence == PresenceDenied && rule.Action != ActionDrop {
			continue
		}
		if rule.Condition == CondMatchResource && !haveTarget {
			target, haveTarget = resourcePart(attrValue(msg, "to")), true
		}
		if !rule.met(&o, target) {
			continue
		}
		switch rule.Action {
		case ActionNotify:
			res.notified.set(i)
		case ActionAlert, ActionDrop, ActionError:
			res.Deliver = false
			res.Action = rule.Action
			res.final = i
			return res
		}
	}
	res.routeCheck(o.NextHop)
	return res
}

// routeCheck refuses, with service-unavailable, to route a request on to a
// server that does not support AMP.
func (r *Result) routeCheck(next NextHop) {
	if r.Deliver && next == NextHopNoAMP {
		r.Deliver = false
		r.Err = ErrServiceUnavailable
	}
}

// bitset is a set of rule indexes that allocates only past 64 rules.
type bitset struct {
	low  uint64
	high []uint64
}

func (b *bitset) set(i int) {
	if i < 64 {
		b.low |= 1 << uint(i)
		return
	}
	w := i/64 - 1
	for len(b.high) <= w {
		b.high = append(b.high, 0)
	}
	b.high[w] |= 1 << uint(i%64)
}

func (b *bitset) has(i int) bool {
	if i < 64 {
		return b.low&(1<<uint(i)) != 0
	}
	w := i/64 - 1
	return w < len(b.high) && b.high[w]&(1<<uint(i%64)) != 0
}

// withoutAMP returns a copy of msg without its <amp/> children in the AMP
// namespace, with keep, if not nil, in the place of the first one. The
// copy declares the namespaces, default and prefixed, that msg inherits
// from its ancestors.
func withoutAMP(msg *etree.Element, keep *etree.Element) *etree.Element {
	out := msg.Copy()
	first := -1
	for i := len(msg.Child) - 1; i >= 0; i-- {
		if el, ok := msg.Child[i].(*etree.Element); ok && el.Tag == "amp" && el.NamespaceURI() == NS {
			out.RemoveChildAt(i)
			first = i
		}
	}
	if keep != nil && first >= 0 {
		out.InsertChildAt(first, keep)
	}
	if decls := inheritedNS(msg); decls != nil {
		out.Attr = append(decls, out.Attr...)
	}
	return out
}

// inheritedNS returns the namespace declarations in scope at el that its
// ancestors make and el does not, nearest first, for the default namespace
// and the prefixes el and its descendants use: what a copy of el needs to
// keep their namespaces.
func inheritedNS(el *etree.Element) []etree.Attr {
	var decls []etree.Attr
	needed := func(a etree.Attr) bool {
		for _, d := range el.Attr {
			if d.Space == a.Space && d.Key == a.Key {
				return false
			}
		}
		for _, d := range decls {
			if d.Space == a.Space && d.Key == a.Key {
				return false
			}
		}
		return a.Space == "" || usesPrefix(el, a.Key)
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			isDecl := a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns")
			if isDecl && needed(a) {
				decls = append(decls, etree.Attr{Space: a.Space, Key: a.Key, Value: a.Value})
			}
		}
	}
	return decls
}

// usesPrefix reports whether el or a descendant has a name with prefix.
func usesPrefix(el *etree.Element, prefix string) bool {
	if el.Space == prefix {
		return true
	}
	for _, a := range el.Attr {
		if a.Space == prefix {
			return true
		}
	}
	for _, t := range el.Child {
		if c, ok := t.(*etree.Element); ok && usesPrefix(c, prefix) {
			return true
		}
	}
	return false
}
