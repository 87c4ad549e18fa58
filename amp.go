// Package amp implements XEP-0079: Advanced Message Processing.
//
// A server calls it from its message-routing hooks. The package reads the
// <amp/> rule set a sender put on a <message/>, validates it against the
// server's configuration, decides what the rules say about each delivery
// the server is about to make, and builds the stanzas the server sends
// back: validation errors, alert and notify events, the error of the
// "error" action and service-unavailable for a next hop without AMP. It
// performs no I/O, reads no clock and keeps no state: the time, the
// delivery outcome, the sender's presence authorization and the server's
// identity are arguments. The caller's elements are never modified, and
// what the package read from them is its own: nothing the caller does to
// an element later changes a [Request], a [Result] or an [*Error]. (A
// message that carries no request is not copied: Result.Message hands
// back the caller's own element, as it is then.)
//
// A message's life, as a server sees it:
//
//   - Receipt: [Processor.Parse] reads and validates the request. On an
//     [*Error] the server sends [Error.Reply] to the sender and stops.
//   - Each routing decision (deliver to a session, store offline, route on,
//     nobody to deliver to): [Request.Evaluate] the rules against that
//     [Outcome]. When [Result.Proceed] reports false, send
//     [Result.Replies] at once and stop. Otherwise pass [Result.Message]
//     on, and send Result.Replies (the notify events of that delivery)
//     once the delivery has happened: acknowledged by the client, written,
//     or committed to storage.
//   - A delivery that fails (the session is gone, storage is full): no rule
//     of its Result has fired yet, so evaluate [Result.Request] again with
//     the next outcome. The sender never hears "direct" for a message that
//     was not delivered, and no rule is lost.
//   - Dispatch of a stored message: [Processor.Resume] reads the rules it
//     was stored with. An accepted request is honoured, not validated
//     again, and when the sender may no longer see the recipient's
//     presence its rules still act but send nothing (§9).
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
	"errors"
	"fmt"
	"time"

	"github.com/ampxmpp/amp/etreexml"
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
	// HopTransit is any server between them. Rules apply there only when
	// the request says per-hop='true', and match-resource rules never do.
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
	// support AMP: when the rules leave the default behaviour standing, the
	// sender gets service-unavailable instead (§2.2.4).
	NextHopNoAMP NextHop = 2
)

// Presence says whether the sender may see the recipient's presence (§9):
// the recipient's roster has a subscription of "from" or "both" for the
// sender, or the network is a trusted closed one.
type Presence bool

const (
	// PresenceDenied is the zero value. Parse refuses alert, error and
	// notify rules, whose events could reveal the recipient's presence, as
	// not acceptable; Resume keeps them but sends nothing.
	PresenceDenied Presence = false
	// PresenceAuthorized allows every rule.
	PresenceAuthorized Presence = true
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
	// define, to this length. Default (0): 256. Negative is an error, and
	// so is a length too short for a value of a supported condition: 20
	// for expire-at (an XEP-0082 DateTime), 7 for deliver, 5 for
	// match-resource.
	MaxValueLen int
	// RootFeatures also lists the supported actions and conditions at the
	// root of service discovery, for clients that look for them there.
	// Default: false.
	RootFeatures bool
}

// Processor applies a checked Config. It is safe for concurrent use, and
// never changes once made. A nil *Processor, and the zero Processor,
// behave as the one that NewProcessor(Config{}) returns.
type Processor struct {
	made         bool  // by NewProcessor: a zero Processor is the default one
	actions      uint8 // the supported actions, as Action.bit says
	conditions   uint8 // the supported conditions, as Condition.bit says
	maxRules     int
	maxValueLen  int
	rootFeatures bool
}

// defaultProcessor is what a nil or zero Processor stands for.
var defaultProcessor, _ = NewProcessor(Config{})

// NewProcessor checks c and returns a Processor that applies it. It
// returns an error, and no Processor, for an action or condition that
// XEP-0079 does not define, a repeated one, an empty non-nil list, a
// negative limit, or a MaxValueLen too short for the values of a supported
// condition: a server should refuse to start with it.
func NewProcessor(c Config) (*Processor, error) {
	p := &Processor{made: true, maxRules: c.MaxRules, maxValueLen: c.MaxValueLen, rootFeatures: c.RootFeatures}
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
		p.maxRules = 32
	}
	if p.maxValueLen == 0 {
		p.maxValueLen = 256
	}
	for _, c := range members(allConditions[:], p.conditions) {
		if need := c.shortestValueRoom(); p.maxValueLen < need {
			return nil, fmt.Errorf("amp: Config.MaxValueLen is %d: %s needs values of %d bytes", p.maxValueLen, c, need)
		}
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

// orDefault returns p, or the default Processor when p is nil or zero.
func (p *Processor) orDefault() *Processor {
	if p == nil || !p.made {
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

// Request is the AMP request of one message, read by [Processor.Parse] or
// [Processor.Resume], with the facts it was read with. It holds its own
// copy of everything it needs, the message included, and never changes.
// The zero Request is a message without a request whose element is
// unknown.
type Request struct {
	// msg is the caller's element of a message without a request, which
	// Message returns as it is; nil when req is set.
	msg *etree.Element
	req *request // nil for a message without a request
}

// request is what Parse or Resume read and was told about a request. It
// is never modified once made.
type request struct {
	p      *Processor
	msg    etreexml.Frozen // the message as it came, standing alone
	ampAt  int             // the index in msg.Child of its first <amp/>
	hop    Hop
	perHop bool
	silent bool // resumed for a sender who may not see the recipient's presence
	rules  []rule
	stanza stanza
	target string // the resource of the message's to: the one the sender addressed
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
// Request without rules that holds msg itself, which Result.Message
// returns unchanged, and a nil error.
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
// There is nobody to answer these: the server drops the message. A hop
// other than HopEdge and HopTransit is an error too.
//
// Repeated attributes, which XML forbids but encoding/xml accepts, are seen
// only when msg was read with etree's ReadSettings.PreserveDuplicateAttrs:
// by default etree keeps the last of them.
func (p *Processor) Parse(msg *etree.Element, hop Hop, presence Presence) (Request, error) {
	if hop != HopEdge && hop != HopTransit {
		return Request{}, fmt.Errorf("amp: Hop %d is neither HopEdge nor HopTransit", hop)
	}
	q, amp, err := p.orDefault().read(msg, hop)
	switch {
	case err != nil:
		return Request{}, err
	case q == nil:
		return Request{msg: msg}, nil
	}
	if err := q.validate(presence); err != nil {
		return Request{}, err
	}
	q.own(msg, amp)
	return Request{req: q}, nil
}

// Resume reads the request of a message this server accepted and stored,
// as Result.Message wrote it, to evaluate its rules when the message is
// dispatched (§10). The request is not validated again: a configuration or
// a presence authorization that changed since it was accepted never
// refuses it, and its rules keep their meaning. When presence is
// PresenceDenied, the sender may no longer see the recipient's presence
// (§9): the rules still act, and a met alert, drop or error rule still
// stops the delivery, but its Results send no replies.
//
// A message without a request is returned as Parse returns it. Resume
// returns an error wrapping ErrNotMessage as Parse does, and a plain error,
// never an *Error, for what this package never stores (a malformed
// per-hop, a rule that XEP-0079 does not define): the stored message is
// not one Result.Message wrote, and there is nobody to answer.
func (p *Processor) Resume(stored *etree.Element, presence Presence) (Request, error) {
	q, amp, err := p.orDefault().read(stored, HopEdge)
	var refusal *Error
	switch {
	case errors.As(err, &refusal):
		// Nobody is answered at dispatch for what amp never stores.
		return Request{}, fmt.Errorf("amp: stored request: %w", refusal.Err)
	case err != nil:
		return Request{}, err
	case q == nil:
		return Request{msg: stored}, nil
	}
	for i := range q.rules {
		ru := &q.rules[i]
		if ru.Action.bit() == 0 || ru.Condition.bit() == 0 {
			return Request{}, fmt.Errorf("amp: stored request: rule %d: condition %q, action %q", i+1,
				cut(string(ru.Condition), 64), cut(string(ru.Action), 64))
		}
		var err error
		if ru.at, err = checkValue(ru.Condition, ru.Value); err != nil {
			return Request{}, fmt.Errorf("amp: stored request: rule %d: %w", i+1, err)
		}
	}
	q.silent = presence == PresenceDenied
	q.own(stored, amp)
	return Request{req: q}, nil
}

// read reads the request of msg for a server at hop: nil, with the <amp/>
// element, when msg carries none. It returns ErrNotMessage and
// ErrNoSender, and a refusal for what no server accepts.
func (p *Processor) read(msg *etree.Element, hop Hop) (*request, *etree.Element, error) {
	ns, ok := messageNamespace(msg)
	if !ok {
		return nil, nil, notMessage(msg)
	}
	amp, isEvent := findAMP(msg)
	if amp == nil || isEvent {
		return nil, nil, nil
	}
	st := readStanza(msg, ns)
	switch {
	case st.typ == "error":
		return nil, nil, nil
	case st.from == "":
		return nil, nil, ErrNoSender
	}
	q := &request{p: p, hop: hop, stanza: st, target: resourcePart(st.to)}
	q.rules = readRules(amp, NS, q.few[:])
	perHop, perHopSet := etreexml.Attr(amp, "per-hop")
	q.perHop = perHop == "true"
	switch {
	case perHopSet && perHop != "true" && perHop != "false":
		return nil, nil, q.badRequest(fmt.Sprintf("per-hop is %q, not true or false", cut(perHop, p.maxValueLen)))
	case repeatedAttr(amp, "per-hop"):
		return nil, nil, q.badRequest("per-hop is repeated")
	}
	return q, amp, nil
}

// own gives q its own frozen copy of msg, whose <amp/> is amp.
func (q *request) own(msg, amp *etree.Element) {
	q.msg = etreexml.Freeze(msg)
	q.ampAt = amp.Index()
}

// messageNamespace returns the namespace of el, and whether el is a
// <message/> stanza: in jabber:client, jabber:server,
// jabber:component:accept, or no namespace (a bare stanza as a tool reads
// it).
func messageNamespace(el *etree.Element) (string, bool) {
	if el == nil || el.Tag != "message" {
		return "", false
	}
	switch ns := el.NamespaceURI(); {
	case el.Space != "" && ns == "":
		return "", false // an unbound prefix
	case ns == "jabber:client", ns == "jabber:server", ns == "jabber:component:accept", ns == "":
		return ns, true
	}
	return "", false
}

// Outcome is the delivery the server is about to make, stated by the caller.
type Outcome struct {
	// Delivery is the server's default behaviour for the message: one of
	// the five values of the deliver condition. Any other value, the empty
	// one included, is an error of Evaluate.
	Delivery Delivery
	// Resource is the resource of the destination: the resource of the
	// session a message is delivered to, whether the message was addressed
	// to a full or a bare JID. It is empty only for a destination that has
	// no resource (a room, offline storage). When the server delivers one
	// message to several sessions at once (RFC 6121 §8.5.2.1.1, a message
	// to a bare JID), evaluate it once, with the resource of any one of
	// them: none is the intended resource, so each gives the same answer.
	Resource string
	// Time is the time of dispatch, compared with expire-at values. When
	// the message is about to be stored it is the time of storage: an
	// expire-at rule is then met only if its time has already passed, and
	// is checked again when the message leaves storage. The zero Time meets
	// no expire-at rule.
	Time time.Time
	// NextHop says whether the message is routed on to another server.
	// Default: NextHopLocal. A value other than the three NextHop
	// constants is an error of Evaluate.
	NextHop NextHop
}

// check returns the error for an Outcome the rules cannot be judged by.
func (o Outcome) check() error {
	if _, err := checkValue(ConditionDeliver, string(o.Delivery)); err != nil {
		return fmt.Errorf("amp: Outcome.Delivery %q is not direct, forward, gateway, none or stored", cut(string(o.Delivery), 64))
	}
	if o.NextHop > NextHopNoAMP {
		return fmt.Errorf("amp: Outcome.NextHop %d is not NextHopLocal, NextHopAMP or NextHopNoAMP", o.NextHop)
	}
	return nil
}

// Evaluate processes the request's rules against the delivery the server
// is about to make (§2.2.3), in document order: each met notify rule adds
// an event and processing goes on; the first met alert, drop or error rule
// ends processing and overrides the default behaviour. When the rules leave
// the default behaviour standing and o.NextHop is NextHopNoAMP, the sender
// gets service-unavailable instead (§2.2.4). Only the rules that apply at
// this server are met: at a transit hop, none without per-hop='true';
// match-resource rules only where the server delivers the message itself
// (NextHopLocal at an edge). A Request without rules, the zero one
// included, meets nothing.
//
// Evaluate returns an error, and the zero Result, for an Outcome whose
// Delivery or NextHop is not one the package defines.
func (r Request) Evaluate(o Outcome) (Result, error) {
	if err := o.check(); err != nil {
		return Result{}, err
	}
	res := Result{req: r, delivery: o.Delivery, nextHop: o.NextHop}
	q := r.req
	if q == nil {
		return res, nil
	}
	for i := range q.rules {
		ru := &q.rules[i]
		if !q.appliesHere(ru, o.NextHop) || !ru.met(o, q.target) {
			continue
		}
		if ru.Action == ActionNotify {
			// A notify rule sends its event and processing goes on.
			res.notified.add(i)
			continue
		}
		// The first met alert, drop or error rule ends processing.
		res.overrider = i + 1
		return res, nil
	}
	res.unavailable = o.NextHop == NextHopNoAMP
	return res, nil
}

// Result is what the rules of a request say about one delivery. It never
// changes, whatever the caller does next. The zero Result proceeds, with
// no message to pass on and nothing to send.
type Result struct {
	req         Request
	delivery    Delivery
	nextHop     NextHop
	overrider   int      // 1 + the index of the rule that overrode the default behaviour; 0 when none did
	unavailable bool     // the next hop lacks AMP (§2.2.4)
	notified    indexSet // the met notify rules
}

// indexSet is a set of rule indexes. The first 64 take no allocation: an
// evaluation that meets a notify rule would otherwise take one
// (BenchmarkEvaluate).
type indexSet struct {
	low  uint64
	more []bool // indexes from 64 on
}

func (s *indexSet) add(i int) {
	if i < 64 {
		s.low |= 1 << i
		return
	}
	for len(s.more) <= i-64 {
		s.more = append(s.more, false)
	}
	s.more[i-64] = true
}

func (s indexSet) has(i int) bool {
	if i < 64 {
		return s.low&(1<<i) != 0
	}
	return i-64 < len(s.more) && s.more[i-64]
}

// Proceed reports whether the server goes on with the delivery it
// evaluated: true for a message without a request, and when no rule
// overrode the default behaviour and the next hop does not lack AMP.
func (r Result) Proceed() bool {
	return r.overrider == 0 && !r.unavailable
}

// Request returns the request r was evaluated from. When the delivery r
// allowed fails (the session ended before the client acknowledged the
// message, storage refused it), the server evaluates it again with the next
// outcome: none of r's rules has fired, since r's replies were not sent.
func (r Result) Request() Request {
	return r.req
}

// Message returns the message the server passes on when Proceed reports
// true, and nil otherwise. Each call returns a new copy, which the
// caller may change; the one exception is a message without a request,
// which is the caller's own element, as given to Parse or Resume.
//
//   - A message routed on to another server, or processed at a transit
//     hop, is passed on as it came, <amp/> included, since the next
//     server processes it.
//   - A message about to be stored keeps in its <amp/> only the rules that
//     have not fired, as written, to be read by Resume when it is
//     dispatched; the <amp/> is removed when none remain.
//   - A message delivered to the recipient's sessions, forwarded, sent to
//     a gateway or not delivered at all loses its <amp/>: the recipient's
//     server does not pass the request on to the client.
//
// The copy declares the namespaces the message inherited from its
// ancestors, so that it keeps its meaning on its own.
func (r Result) Message() *etree.Element {
	q := r.req.req
	switch {
	case !r.Proceed():
		return nil
	case q == nil:
		return r.req.msg
	case q.hop == HopTransit || r.nextHop != NextHopLocal:
		return q.msg.Element()
	}
	out := q.msg.ElementWithout(NS, "amp")
	if r.delivery == DeliveryStored {
		if rest := r.unfired(); len(rest) > 0 {
			out.InsertChildAt(q.ampAt, ampElement(q.perHop, rest, 0))
		}
	}
	return out
}

// unfired returns the rules of the request that r did not fire.
func (r Result) unfired() []rule {
	q := r.req.req
	rest := make([]rule, 0, len(q.rules))
	for i, ru := range q.rules {
		if !r.notified.has(i) && i != r.overrider-1 {
			rest = append(rest, ru)
		}
	}
	return rest
}

// ErrNoSender and ErrNotMessage are errors for which there is nobody to
// answer: Parse and Resume return them, or an error that wraps them, and
// the server drops the message without a reply.
var (
	// ErrNoSender is a request whose message has no from attribute. A
	// server stamps the sender's full JID on a message before it routes it.
	ErrNoSender = errors.New("amp: the message has no from attribute")
	// ErrNotMessage is an element that is not a <message/> stanza: nil,
	// named otherwise, or in a namespace other than jabber:client,
	// jabber:server, jabber:component:accept or none.
	ErrNotMessage = errors.New("amp: not a message stanza")
)

// notMessage returns the error for msg, which is not a <message/> stanza.
func notMessage(msg *etree.Element) error {
	if msg == nil {
		return fmt.Errorf("%w: nil element", ErrNotMessage)
	}
	return fmt.Errorf("%w: <%s/> in namespace %q", ErrNotMessage, cut(msg.FullTag(), 64), cut(msg.NamespaceURI(), 64))
}
