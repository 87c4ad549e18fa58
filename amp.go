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
// and the caller's elements are never modified. Every value it returns is
// the caller's: nothing the caller does later changes it.
//
// A server makes a [Processor] from its [Config] when it starts, and calls
// it at three points:
//
//   - On receipt: [Processor.Parse] reads and validates the request. On an
//     [*Error] the server sends [Error.Reply] to the sender and stops; on
//     [ErrNoSender] or [ErrNotMessage] there is nobody to answer.
//   - At the routing decision: [Request.Evaluate] the rules against the
//     [Outcome]; send [Result.Replies]; when [Result.Proceed] reports true,
//     pass [Result.Message] on, otherwise stop.
//   - On later steps: when direct delivery fails, evaluate
//     [Result.Remaining] for storage; when a stored message is dispatched,
//     Parse it again and evaluate it with the time of dispatch. No rule
//     fires twice.
//
// Conformance: every condition (deliver, expire-at, match-resource), every
// action (alert, drop, error, notify), per-hop processing, validation with
// all error kinds, the §9 presence policy, service discovery and the stream
// feature. Where the XEP is ambiguous, or its examples contradict its
// formal definition, the package follows the decisions of CONFORMANCE.md in
// the repository: events carry status, and their from and to are the
// original sender and recipient; the alert feature is advertised as
// "?action=alert"; a reply never grows past a size the limits fix.
package amp

import (
	"bytes"
	"fmt"
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
// Any value other than HopEdge counts as HopTransit.
type Hop uint8

const (
	// HopEdge is the sender's server or the recipient's server. It is the
	// zero value.
	HopEdge Hop = 0
	// HopTransit is any server between them. Rules apply there only when
	// the request says per-hop='true', and match-resource rules never do.
	HopTransit Hop = 1
)

// NextHop says whether the message leaves this server for another one and,
// if so, whether that server supports AMP. A value other than the three
// below counts as NextHopAMP.
type NextHop uint8

const (
	// NextHopLocal means this server itself delivers, stores, forwards,
	// gateways or discards the message. It is the zero value.
	NextHopLocal NextHop = 0
	// NextHopAMP means the message is routed on to a server that supports
	// AMP.
	NextHopAMP NextHop = 1
	// NextHopNoAMP means the message is routed on to a server that does not
	// support AMP: when the rules leave the default behaviour standing, the
	// sender gets service-unavailable instead (§2.2.4).
	NextHopNoAMP NextHop = 2
)

// Presence says whether the sender may see the recipient's presence (§9):
// the recipient's roster has a subscription of "from" or "both" for the
// sender, or the network is a trusted closed one.
type Presence bool

const (
	// PresenceDenied is the zero value: alert, error and notify rules, whose
	// events could reveal the recipient's presence, are refused as not
	// acceptable.
	PresenceDenied Presence = false
	// PresenceAuthorized allows every rule.
	PresenceAuthorized Presence = true
)

// Default limits of Config.
const (
	DefaultMaxRules    = 32
	DefaultMaxValueLen = 256
)

// Config is a server's AMP configuration, checked by [NewProcessor]. The
// zero Config supports every action and condition that XEP-0079 defines,
// with the default limits.
type Config struct {
	// Actions lists the actions the server supports, each one that
	// XEP-0079 defines. Default (nil): all four. An empty non-nil list, a
	// name XEP-0079 does not define, or a repeated name is an error.
	Actions []Action
	// Conditions lists the conditions the server supports, each one that
	// XEP-0079 defines. Default (nil): all three. An empty non-nil list, a
	// name XEP-0079 does not define, or a repeated name is an error.
	Conditions []Condition
	// MaxRules is the most rules one request may carry; a request with more
	// is refused as not acceptable. Default (0): 32. Negative is an error.
	MaxRules int
	// MaxValueLen is the longest value attribute, in bytes, that a rule
	// may carry; a longer one fails its rule as not acceptable. Replies cut
	// longer values, and condition and action names that XEP-0079 does not
	// define, to this length. Default (0): 256. Negative is an error.
	MaxValueLen int
	// RootFeatures also lists the supported actions and conditions at the
	// root of service discovery, for clients that look for them there.
	// Default: false.
	RootFeatures bool
}

// Processor applies a checked Config. It is safe for concurrent use, and
// never changes once made. A nil *Processor behaves as the one that
// NewProcessor(Config{}) returns.
type Processor struct {
	actions      uint8 // the supported actions, as Action.bit says
	conditions   uint8 // the supported conditions, as Condition.bit says
	maxRules     int
	maxValueLen  int
	rootFeatures bool
}

// defaultProcessor is what a nil *Processor stands for. It is never
// modified.
var defaultProcessor = &Processor{
	actions:     1<<len(allActions) - 1,
	conditions:  1<<len(allConditions) - 1,
	maxRules:    DefaultMaxRules,
	maxValueLen: DefaultMaxValueLen,
}

// NewProcessor checks c and returns a Processor that applies it. It
// returns an error, and no Processor, for an action or condition that
// XEP-0079 does not define, a repeated one, an empty non-nil list, or a
// negative limit: a server should refuse to start with it.
func NewProcessor(c Config) (*Processor, error) {
	p := &Processor{
		maxRules:     c.MaxRules,
		maxValueLen:  c.MaxValueLen,
		rootFeatures: c.RootFeatures,
	}
	var err error
	if p.actions, err = supported("action", allActions[:], c.Actions); err != nil {
		return nil, err
	}
	if p.conditions, err = supported("condition", allConditions[:], c.Conditions); err != nil {
		return nil, err
	}
	switch {
	case c.MaxRules < 0:
		return nil, fmt.Errorf("amp: Config.MaxRules is %d, less than 0", c.MaxRules)
	case c.MaxValueLen < 0:
		return nil, fmt.Errorf("amp: Config.MaxValueLen is %d, less than 0", c.MaxValueLen)
	}
	if p.maxRules == 0 {
		p.maxRules = DefaultMaxRules
	}
	if p.maxValueLen == 0 {
		p.maxValueLen = DefaultMaxValueLen
	}
	return p, nil
}

// supported returns the set of names listed, as bit says, or all of them
// when listed is nil.
func supported[T interface {
	~string
	bit() uint8
}](what string, all, listed []T) (uint8, error) {
	if listed == nil {
		listed = all
	}
	if len(listed) == 0 {
		return 0, fmt.Errorf("amp: Config lists no %s; leave the list nil to support all", what)
	}
	var set uint8
	for _, name := range listed {
		switch bit := name.bit(); {
		case bit == 0:
			return 0, fmt.Errorf("amp: Config lists %s %q, which XEP-0079 does not define", what, name)
		case set&bit != 0:
			return 0, fmt.Errorf("amp: Config lists %s %q twice", what, name)
		default:
			set |= bit
		}
	}
	return set, nil
}

// members returns the names of all in set, in the order of all.
func members[T interface {
	~string
	bit() uint8
}](all []T, set uint8) []T {
	var out []T
	for _, name := range all {
		if set&name.bit() != 0 {
			out = append(out, name)
		}
	}
	return out
}

// orDefault returns p, or the default Processor when p is nil.
func (p *Processor) orDefault() *Processor {
	if p == nil {
		return defaultProcessor
	}
	return p
}

// Config returns the configuration p applies, with the defaults filled in:
// the lists name what is supported, and the limits are the ones in force.
func (p *Processor) Config() Config {
	p = p.orDefault()
	return Config{
		Actions:      members(allActions[:], p.actions),
		Conditions:   members(allConditions[:], p.conditions),
		MaxRules:     p.maxRules,
		MaxValueLen:  p.maxValueLen,
		RootFeatures: p.rootFeatures,
	}
}

func (p *Processor) supportsAction(a Action) bool { return p.actions&a.bit() != 0 }

func (p *Processor) supportsCondition(c Condition) bool { return p.conditions&c.bit() != 0 }

// isMessage reports whether el is a <message/> stanza: in jabber:client,
// jabber:server, jabber:component:accept, or no namespace (a bare stanza as
// a tool reads it).
func isMessage(el *etree.Element) bool {
	if el == nil || el.Tag != "message" {
		return false
	}
	switch ns := namespaceOf(el); {
	case el.Space != "" && ns == "":
		return false // an unbound prefix
	case ns == "jabber:client", ns == "jabber:server", ns == "jabber:component:accept", ns == "":
		return true
	}
	return false
}

// namespaceOf returns el.NamespaceURI(), looking first at el's own
// declaration of its default namespace, where a stanza has it, by pointer:
// etree's lookup copies each attribute (BenchmarkNoAMP).
func namespaceOf(el *etree.Element) string {
	if el.Space == "" {
		for i := range el.Attr {
			if a := &el.Attr[i]; a.Space == "" && a.Key == "xmlns" {
				return a.Value
			}
		}
	}
	return el.NamespaceURI()
}

// Request is the AMP request of one message, read and validated by
// [Processor.Parse], and the facts Parse was given about it. A Request
// never changes; the zero Request is a message without a request whose
// element is unknown.
type Request struct {
	msg *etree.Element
	// req is the request, nil for a message without one. Apart, so that
	// a Request is two words: BenchmarkNoAMP pays for copying it.
	req *request
}

// request is what Parse read and was told about a request.
type request struct {
	msg    *etree.Element
	p      *Processor
	hop    Hop
	perHop bool
	rules  []rule      // never modified once Parse returns
	stanza stanzaAttrs // the message's from, to, id and type
	target string      // the resource of the message's to: the one the sender addressed
	// few holds the rules of a request that has few, so that the request
	// and its rules take one allocation (BenchmarkEvaluate).
	few [3]rule
}

// Parse reads the AMP request of msg, a <message/> stanza whose from
// attribute the server has set to the sender's full JID, and validates it
// for a server at hop, where presence says whether the sender may see the
// recipient's presence (§2.2.1, §9).
//
// A message without an <amp/> child in the AMP namespace (whatever its
// prefix), one whose <amp/> has a status attribute (an event, never
// processed again), and one of type error carry no request: Parse returns a
// Request without rules and a nil error, and evaluating it lets the message
// go on unchanged.
//
// Parse returns an [*Error] for a request the server refuses, which
// [Error.Reply] answers. Every rule is checked before any answer: a request
// whose message has no id, with a per-hop other than true or false or
// repeated, or with no rule is a bad request; one with more rules than
// MaxRules is not acceptable. Otherwise each rule fails with the first of:
// a missing, empty or repeated condition, action or value attribute (not
// acceptable); an action the server does not support (unsupported action);
// a condition it does not support (unsupported condition); a value the
// condition does not define, one longer than MaxValueLen, or an alert,
// error or notify rule when presence is PresenceDenied (not acceptable).
// The first failing rule in document order decides the kind of error; the
// error lists every rule that fails with that kind.
//
// At a transit hop only the rules that apply there are checked (§2.1.2):
// none without per-hop='true', and no match-resource rule with it. Only a
// malformed per-hop is refused there in any case.
//
// Parse returns an error wrapping [ErrNotMessage] when msg is nil or is not
// a <message/> in jabber:client, jabber:server, jabber:component:accept or
// no namespace, and [ErrNoSender] for a request without a from attribute.
// There is nobody to answer these: the server drops the message.
//
// Repeated attributes, which XML forbids but encoding/xml accepts, are seen
// only when msg was read with etree's ReadSettings.PreserveDuplicateAttrs:
// by default etree keeps the last of them.
func (p *Processor) Parse(msg *etree.Element, hop Hop, presence Presence) (Request, error) {
	if !isMessage(msg) {
		return Request{}, notMessage(msg)
	}
	if hop != HopEdge {
		hop = HopTransit
	}
	amp := findAMP(msg)
	if amp == nil || hasAttr(amp, "status") {
		return Request{msg: msg}, nil
	}
	return p.orDefault().parse(msg, amp, hop, presence)
}

// parse is Parse for a message with an <amp/> child, amp, that is not an
// event.
func (p *Processor) parse(msg, amp *etree.Element, hop Hop, presence Presence) (Request, error) {
	stanza := readStanzaAttrs(msg)
	switch {
	case stanza.typ == "error":
		return Request{msg: msg}, nil
	case stanza.from == "":
		return Request{}, ErrNoSender
	}
	req := &request{msg: msg, p: p, hop: hop, stanza: stanza, target: resourcePart(stanza.to)}
	req.rules = readRules(amp, NS, req.few[:])
	perHop, perHopSet := attrLookup(amp, "per-hop")
	req.perHop = perHop == "true"
	switch {
	case perHopSet && perHop != "true" && perHop != "false":
		return Request{}, req.badRequest(fmt.Sprintf("per-hop is %q, not true or false", perHop))
	case repeatedAttr(amp, "per-hop"):
		return Request{}, req.badRequest("per-hop is repeated")
	case hop == HopTransit && !req.perHop:
		return Request{msg, req}, nil // no rule applies here (§2.1.2)
	case stanza.id == "":
		return Request{}, req.badRequest("the message has no id")
	case len(req.rules) == 0:
		return Request{}, req.badRequest("the request has no rule")
	case len(req.rules) > p.maxRules:
		past := req.rules[p.maxRules:min(len(req.rules), 2*p.maxRules)]
		return Request{}, req.refusal(ErrNotAcceptable, p.maxRules, past,
			fmt.Errorf("more than %d rules", p.maxRules))
	}
	if err := req.validate(presence); err != nil {
		return Request{}, err
	}
	return Request{msg, req}, nil
}

// CheckRule reports whether p accepts r on a request at an edge server from
// a sender with presence: nil when it does, and otherwise an [*Error] whose
// Kind is the kind r fails with and whose Err says why. It is the check
// Parse applies to each rule, for tools and clients that check a rule
// alone; the Error answers no message, so its Reply is nil.
func (p *Processor) CheckRule(r Rule, presence Presence) error {
	p = p.orDefault()
	ru := rule{Rule: r, written: r.nonEmpty()}
	kind, why := p.check(&ru, HopEdge, presence)
	if kind == nil {
		return nil
	}
	return &Error{Kind: kind, Rules: []Rule{r}, Err: why}
}

// MayHaveRequest reports, without parsing, whether raw, the bytes of one
// whole stanza as it arrived on an XMPP stream, may carry an AMP request.
// When it returns false, [Processor.Parse] finds no request in that stanza,
// so a server can skip parsing stanzas it otherwise passes on as bytes.
// When it returns true the stanza may or may not carry one.
//
// It returns true when raw contains any of:
//   - the AMP namespace, http://jabber.org/protocol/amp, as bytes;
//   - "&#", a character reference, which can spell the namespace in an
//     attribute value (&#x68;ttp://...) without its bytes appearing; the
//     predefined entities (&amp; and the like) stand for characters the
//     namespace does not contain, and XMPP forbids other entities;
//   - ":amp", a prefixed <x:amp> element, whose prefix may have been
//     declared on the stream header rather than in raw.
//
// raw must be UTF-8 (the only encoding XMPP allows). The check is a few
// byte searches; it does not tell requests from events or from the string
// in a body.
func MayHaveRequest(raw []byte) bool {
	return bytes.Contains(raw, []byte(NS)) ||
		bytes.Contains(raw, []byte("&#")) ||
		bytes.Contains(raw, []byte(":amp"))
}

// Rules returns a copy of the request's rules as written and its per-hop
// flag. It returns the zero RuleSet for a message without a request.
func (r Request) Rules() RuleSet {
	if r.req == nil {
		return RuleSet{}
	}
	return RuleSet{PerHop: r.req.perHop, Rules: ruleValues(r.req.rules)}
}

// Outcome is the delivery the server is about to make, stated by the caller.
type Outcome struct {
	// Delivery is the server's default behaviour for the message. An empty
	// Delivery meets no deliver or match-resource rule.
	Delivery Delivery
	// Resource is the resource the message would be delivered to: empty
	// for a bare JID such as a room, and for storage.
	Resource string
	// Time is the time of dispatch, compared with expire-at values. When
	// the message is about to be stored it is the time of storage: an
	// expire-at rule is then met only if its time has already passed, and
	// is checked again when the message leaves storage. The zero Time meets
	// no expire-at rule.
	Time time.Time
	// NextHop says whether the message is routed on to another server.
	// Default: NextHopLocal.
	NextHop NextHop
}

// Evaluate processes the request's rules against the delivery the server
// is about to make (§2.2.3), in document order: each met notify rule adds
// an event and processing goes on; the first met alert, drop or error rule
// ends processing and overrides the default behaviour. When the rules leave
// the default behaviour standing and o.NextHop is NextHopNoAMP, the sender
// gets service-unavailable instead (§2.2.4).
//
// At a transit hop nothing is met unless the request says per-hop='true';
// match-resource rules are met only where the server delivers the message
// itself (NextHopLocal at an edge). A Request without rules, the zero one
// included, meets nothing.
func (r Request) Evaluate(o Outcome) Result {
	res := Result{msg: r.msg, req: r.req, stored: o.Delivery == DeliveryStored, nextHop: o.NextHop}
	req := r.req
	if req == nil {
		return res
	}
	if req.hop == HopEdge || req.perHop {
		// match-resource rules are met only where this server delivers the
		// message itself.
		delivers := req.hop == HopEdge && o.NextHop == NextHopLocal
		for i := range req.rules {
			ru := &req.rules[i]
			if ru.skip || !ru.met(o, req.target, delivers) {
				continue
			}
			if ru.Action == ActionNotify {
				// A notify rule sends its event and processing goes on.
				res.notified.add(i)
				continue
			}
			// The first met alert, drop or error rule ends processing.
			res.overrider = i + 1
			return res
		}
	}
	res.unavailable = o.NextHop == NextHopNoAMP
	return res
}

// Result is what the rules of a request say about one delivery. It holds
// everything it reports: later calls, on the same Request or any other,
// do not change it. The zero Result proceeds, with no message to pass on
// and nothing to send.
type Result struct {
	msg         *etree.Element
	req         *request // nil for a message without a request
	stored      bool     // the message is about to be stored
	nextHop     NextHop
	overrider   int      // 1 + the index of the rule that overrode the default behaviour; 0 when none did
	unavailable bool     // the next hop lacks AMP (§2.2.4)
	notified    indexSet // the met notify rules
}

// Proceed reports whether the server goes on with its default behaviour:
// true for a message without a request, and when no rule overrode the
// default and the next hop does not lack AMP.
func (r Result) Proceed() bool {
	return r.overrider == 0 && !r.unavailable
}

// Action returns the action of the met rule that overrode the default
// behaviour: ActionAlert, ActionDrop or ActionError; "" when none did.
func (r Result) Action() Action {
	rule, _ := r.Rule()
	return rule.Action
}

// Rule returns the met rule that overrode the default behaviour, as
// written, and false when there is none.
func (r Result) Rule() (Rule, bool) {
	if r.overrider == 0 {
		return Rule{}, false
	}
	return r.req.rules[r.overrider-1].Rule, true
}

// Notified returns the met notify rules, in document order, or nil.
func (r Result) Notified() []Rule {
	var out []Rule
	for i, ru := range r.req.rulesOrNil() {
		if r.notified.has(i) {
			out = append(out, ru.Rule)
		}
	}
	return out
}

// ServiceUnavailable reports whether the message is refused because the
// rules left the default behaviour standing and it would be routed on to a
// server without AMP (§2.2.4).
func (r Result) ServiceUnavailable() bool {
	return r.unavailable
}

// Remaining returns the request with only the rules that have not fired,
// to evaluate at a later step of the same message: when direct delivery
// fails and the message is stored instead, for example.
func (r Result) Remaining() Request {
	if r.notified.empty() && r.overrider == 0 {
		return Request{r.msg, r.req}
	}
	rest := *r.req
	rest.rules = rest.few[:0]
	for i, ru := range r.req.rules {
		if !r.notified.has(i) && i != r.overrider-1 {
			rest.rules = append(rest.rules, ru)
		}
	}
	return Request{r.msg, &rest}
}

// indexSet is a set of rule indexes. The first 64 cost no allocation
// (BenchmarkEvaluate).
type indexSet struct {
	low  uint64
	high []uint64 // indexes from 64 on, 64 a word
}

func (s *indexSet) add(i int) {
	if i < 64 {
		s.low |= 1 << i
		return
	}
	w := i/64 - 1
	for len(s.high) <= w {
		s.high = append(s.high, 0)
	}
	s.high[w] |= 1 << (i % 64)
}

func (s indexSet) has(i int) bool {
	if i < 64 {
		return s.low&(1<<i) != 0
	}
	w := i/64 - 1
	return w < len(s.high) && s.high[w]&(1<<(i%64)) != 0
}

func (s indexSet) empty() bool { return s.low == 0 && s.high == nil }

// rulesOrNil returns r's rules, or nil when r is nil.
func (r *request) rulesOrNil() []rule {
	if r == nil {
		return nil
	}
	return r.rules
}

// Message returns the message the server passes on when Proceed reports
// true, and nil otherwise. The caller's element is never modified; a
// changed message is a copy.
//
//   - A message without a request, or one routed on to another server or
//     processed at a transit hop, is returned as it is, <amp/> included,
//     since the next server processes it.
//   - A message about to be stored keeps in its <amp/> only the rules that
//     have not fired, as written, to be evaluated when it is dispatched; the
//     <amp/> is removed when none remain.
//   - A message delivered to the recipient's sessions, forwarded, sent to
//     a gateway or not delivered at all loses its <amp/>: the recipient's
//     server does not pass the request on to the client.
//
// The zero Result, and one from the zero Request, return nil.
func (r Result) Message() *etree.Element {
	switch {
	case !r.Proceed() || r.msg == nil:
		return nil
	case r.req == nil || r.req.hop == HopTransit || r.nextHop != NextHopLocal:
		return r.msg
	}
	var keep *etree.Element
	if r.stored {
		if rest := r.Remaining().req; len(rest.rules) > 0 {
			keep = ampElement(rest.perHop, rest.rules, 0)
		}
	}
	return withoutAMP(r.msg, keep)
}

// withoutAMP returns a copy of msg without its <amp/> children in the AMP
// namespace, with keep, if not nil, in the place of the first one. The
// copy declares the namespaces, default and prefixed, that msg inherits
// from its ancestors, so that it keeps its meaning on its own.
func withoutAMP(msg *etree.Element, keep *etree.Element) *etree.Element {
	out := msg.Copy()
	first := -1
	var children childNamespaces
	for i := len(msg.Child) - 1; i >= 0; i-- {
		if el, ok := msg.Child[i].(*etree.Element); ok && el.Tag == "amp" && children.of(msg, el) == NS {
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
	if el.Parent() == nil {
		return nil
	}
	var used map[string]bool // the prefixes el and its descendants use, found once
	declared := func(a etree.Attr, in []etree.Attr) bool {
		for _, d := range in {
			if d.Space == a.Space && d.Key == a.Key {
				return true
			}
		}
		return false
	}
	var decls []etree.Attr
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			isDecl := a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns")
			if !isDecl || declared(a, el.Attr) || declared(a, decls) {
				continue
			}
			if a.Space == "xmlns" && used == nil {
				used = make(map[string]bool)
				usedPrefixes(el, used)
			}
			if a.Space == "" || used[a.Key] {
				decls = append(decls, etree.Attr{Space: a.Space, Key: a.Key, Value: a.Value})
			}
		}
	}
	return decls
}

// usedPrefixes adds to used the prefixes of the names of el and its
// descendants.
func usedPrefixes(el *etree.Element, used map[string]bool) {
	used[el.Space] = true
	for _, a := range el.Attr {
		used[a.Space] = true
	}
	for _, t := range el.Child {
		if c, ok := t.(*etree.Element); ok {
			usedPrefixes(c, used)
		}
	}
}
