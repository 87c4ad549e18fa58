package amp

import (
	"github.com/beevik/etree"
)

// Action is the action attribute of a rule (§3.4), and the status of the
// event it sends.
type Action string

// The actions XEP-0079 defines.
const (
	// ActionAlert sends the sender an alert event and discards the message.
	ActionAlert Action = "alert"
	// ActionDrop silently discards the message.
	ActionDrop Action = "drop"
	// ActionError sends the sender an error, undefined-condition with
	// <failed-rules/>, and discards the message.
	ActionError Action = "error"
	// ActionNotify sends the sender a notify event; the server then goes on
	// with its default behaviour.
	ActionNotify Action = "notify"
)

var actions = [...]Action{ActionAlert, ActionDrop, ActionError, ActionNotify}

func (a Action) defined() bool {
	return a == ActionAlert || a == ActionDrop || a == ActionError || a == ActionNotify
}

// Replies returns the stanzas the server sends to the sender for this
// Result, in order: a notify event for each met notify rule, then the
// alert event, the error of the error action, or service-unavailable. A
// drop sends nothing. Every reply comes from server, the processing
// server's JID, goes to the original sender's full JID, carries the
// original id and none of the original message's other children. It
// returns nil when there is nothing to send.
func (r *Result) Replies(server string) []*etree.Element {
	if r.rules == nil {
		return nil
	}
	return r.replies(server)
}

// replies is Replies for a request.
func (r *Result) replies(server string) []*etree.Element {
	// The events are built in one allocation and the replies listed in
	// another, or in the same one for a single event.
	events := 0
	for i := range r.rules.Rules {
		if r.notified.has(i) {
			events++
		}
	}
	rule, ok := r.Rule()
	n := events
	if ok && (r.Action == ActionAlert || r.Action == ActionError) {
		n++
	}
	if ok && r.Action == ActionAlert {
		events++
	}
	if r.Err == ErrServiceUnavailable {
		n++
	}
	if n == 0 {
		return nil
	}
	var out []*etree.Element
	var ev []eventElements
	switch {
	case n == 1 && events == 1:
		// The common case, one event, in one allocation.
		s := new(struct {
			ev  [1]eventElements
			out [1]*etree.Element
		})
		out, ev = s.out[:0:1], s.ev[:]
	case events > 0:
		out, ev = make([]*etree.Element, 0, n), make([]eventElements, events)
	default:
		out = make([]*etree.Element, 0, n)
	}
	for i, rule := range r.rules.Rules {
		if r.notified.has(i) {
			out = append(out, ev[0].event(r.msg, server, ActionNotify, rule))
			ev = ev[1:]
		}
	}
	if ok {
		switch r.Action {
		case ActionAlert:
			out = append(out, ev[0].event(r.msg, server, ActionAlert, rule))
		case ActionError:
			out = append(out, failedRules(r.msg, server, rule))
		}
	}
	if r.Err == ErrServiceUnavailable {
		out = append(out, errorStanza(r.msg, server, r.rules, ErrServiceUnavailable, nil))
	}
	return out
}

// eventElements holds the elements of an event, or of the message and
// <amp/> of the error of the error action, so that one allocation builds
// them.
type eventElements struct {
	msg, amp etree.Element
	rule     ruleElement
	msgAttr  [5]etree.Attr
	ampAttr  [4]etree.Attr
	msgChild [2]etree.Token
	ampChild [1]etree.Token
}

// event returns an alert or notify event for rule (§3.4.1, §3.4.4).
func (s *eventElements) event(msg *etree.Element, server string, status Action, rule Rule) *etree.Element {
	m := reply(&s.msg, s.msgAttr[:], s.msgChild[:1], msg, server, "")
	m.AddChild(statusAMP(&s.amp, s.ampAttr[:], s.ampChild[:], msg, status, s.rule.build(rule)))
	return m
}

// reply makes m, whose attributes and children are stored in attr and
// child, the start of a reply to msg: a <message/> in msg's namespace from
// server to msg's sender with msg's id.
func reply(m *etree.Element, attr []etree.Attr, child []etree.Token, msg *etree.Element, server string, typ string) *etree.Element {
	initElement(m, "message", attr, child)
	if ns := msg.NamespaceURI(); ns != "" {
		m.Attr = append(m.Attr, etree.Attr{Key: "xmlns", Value: ns})
	}
	if server != "" {
		m.Attr = append(m.Attr, etree.Attr{Key: "from", Value: server})
	}
	if to := attrValue(msg, "from"); to != "" {
		m.Attr = append(m.Attr, etree.Attr{Key: "to", Value: to})
	}
	if id := attrValue(msg, "id"); id != "" {
		m.Attr = append(m.Attr, etree.Attr{Key: "id", Value: id})
	}
	if typ != "" {
		m.Attr = append(m.Attr, etree.Attr{Key: "type", Value: typ})
	}
	return m
}

// statusAMP makes amp, whose attributes and child are stored in attr and
// child, the <amp/> of an event: status, the original sender and
// recipient, and rule, the <rule/> concerned.
func statusAMP(amp *etree.Element, attr []etree.Attr, child []etree.Token, msg *etree.Element, status Action, rule *etree.Element) *etree.Element {
	initElement(amp, "amp", attr, child)
	amp.Attr = append(amp.Attr,
		etree.Attr{Key: "xmlns", Value: NS},
		etree.Attr{Key: "status", Value: string(status)})
	if from := attrValue(msg, "from"); from != "" {
		amp.Attr = append(amp.Attr, etree.Attr{Key: "from", Value: from})
	}
	if to := attrValue(msg, "to"); to != "" {
		amp.Attr = append(amp.Attr, etree.Attr{Key: "to", Value: to})
	}
	amp.AddChild(rule)
	return amp
}

// failedRules returns the error of the error action for rule (§3.4.3).
func failedRules(msg *etree.Element, server string, rule Rule) *etree.Element {
	s := new(eventElements)
	m := reply(&s.msg, s.msgAttr[:], s.msgChild[:], msg, server, "error")
	m.AddChild(statusAMP(&s.amp, s.ampAttr[:], s.ampChild[:], msg, ActionError, s.rule.build(rule)))
	m.AddChild(errorElement(ErrFailedRules, []Rule{rule}))
	return m
}

// Event is an AMP reply as a client or bot receives it: an alert or notify
// event, the error of an error action, or a refusal of the request.
type Event struct {
	// ID is the id of the message the event is about.
	ID string
	// Status is the action that sent the event: ActionAlert, ActionError
	// or ActionNotify; empty for a refusal (validation error or
	// service-unavailable), whose <amp/> carries no status.
	Status Action
	// From and To are the original sender and intended recipient, as the
	// server wrote them on the <amp/>; empty for a refusal.
	From, To string
	// PerHop is the per-hop flag the <amp/> carries.
	PerHop bool
	// Rules are the rules of the <amp/>: the rule met, or the rules of the
	// refused request.
	Rules []Rule
	// Err is set for a message of type error: an [*Error] whose Kind is one
	// of the package's error kinds and whose Rules are the rules its
	// <error/> lists. It is nil for an alert or notify event.
	Err error
}

// ParseEvent reads an AMP reply from an incoming message: one whose first
// <amp/> child in the AMP namespace has a status attribute, or a message
// of type error with such an <amp/>. It returns nil for any other message.
func ParseEvent(msg *etree.Element) *Event {
	if msg == nil || msg.Tag != "message" {
		return nil
	}
	el := findAMP(msg)
	if el == nil {
		return nil
	}
	status, hasStatus := attrLookup(el, "status")
	isError := attrValue(msg, "type") == "error"
	if !hasStatus && !isError {
		return nil
	}
	ev := &Event{
		ID:     attrValue(msg, "id"),
		Status: Action(status),
		From:   attrValue(el, "from"),
		To:     attrValue(el, "to"),
		PerHop: attrValue(el, "per-hop") == "true",
		Rules:  eventRules(el),
	}
	if isError {
		ev.Err = readError(msg)
	}
	return ev
}

// eventRules reads the rules of an event's <amp/>.
func eventRules(el *etree.Element) []Rule {
	var rs RuleSet
	rs.readRules(el)
	return rs.Rules
}
