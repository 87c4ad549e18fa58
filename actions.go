package amp

import (
	"github.com/ampxmpp/amp/etreexml"
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

// allActions lists the actions XEP-0079 defines, in its order.
var allActions = [...]Action{ActionAlert, ActionDrop, ActionError, ActionNotify}

// bit returns a's bit in a set of actions, or 0 when XEP-0079 does not
// define a.
func (a Action) bit() uint8 {
	switch a {
	case ActionAlert:
		return 1 << 0
	case ActionDrop:
		return 1 << 1
	case ActionError:
		return 1 << 2
	case ActionNotify:
		return 1 << 3
	}
	return 0
}

// Replies returns the stanzas the server sends to the sender for this
// Result, in order: a notify event for each met notify rule, then the
// alert event, the error of the error action, or service-unavailable. A
// drop sends nothing, and neither does a Request that Resume read for a
// sender who may not see the recipient's presence. Every reply comes from
// server, the processing server's JID, goes to the original sender's full
// JID, carries the original id and none of the original message's other
// children; rules are echoed as Error.Reply echoes them. Replies returns
// nil when there is nothing to send. Each call returns new elements.
//
// When Proceed reports true, the replies are notify events about a
// delivery that has not happened yet: send them once it has.
func (r Result) Replies(server string) []*etree.Element {
	q := r.req.req
	if q == nil || q.silent {
		return nil
	}
	var out []*etree.Element
	for i, ru := range q.rules {
		if r.notified.has(i) {
			out = append(out, q.event(server, ActionNotify, ru))
		}
	}
	if r.overrider > 0 {
		switch ru := q.rules[r.overrider-1]; ru.Action {
		case ActionAlert:
			out = append(out, q.event(server, ActionAlert, ru))
		case ActionError:
			// §3.4.3: the event's <amp/> in an error, with the rule in
			// <failed-rules/>.
			m := q.event(server, ActionError, ru)
			m.CreateAttr("type", "error")
			m.AddChild(errorElement(ErrFailedRules, []rule{ru}, q.p.maxValueLen))
			out = append(out, m)
		}
	}
	if r.unavailable {
		m := startReply(etree.NewElement("message"), q.stanza, server, "error")
		m.AddChild(ampElement(q.perHop, q.echoed(), q.p.maxValueLen))
		m.AddChild(errorElement(ErrServiceUnavailable, nil, 0))
		out = append(out, m)
	}
	return out
}

// event returns the event with status for ru (§3.4.1, §3.4.4, §4.1): its
// <amp/> names the original sender and recipient.
func (q *request) event(server string, status Action, ru rule) *etree.Element {
	// The three elements, their attributes and children in one allocation,
	// where building them one by one takes 15 (BenchmarkNotify).
	s := new(struct {
		msg, amp, rule     etree.Element
		msgAttr            [5]etree.Attr
		ampAttr            [4]etree.Attr
		ruleAttr           [3]etree.Attr
		msgChild, ampChild [2]etree.Token
	})
	s.msg = etree.Element{Tag: "message", Attr: s.msgAttr[:0], Child: s.msgChild[:0]}
	s.amp = etree.Element{Tag: "amp", Attr: s.ampAttr[:0], Child: s.ampChild[:0]}
	s.rule = etree.Element{Tag: "rule", Attr: s.ruleAttr[:0]}
	m := startReply(&s.msg, q.stanza, server, "")
	m.AddChild(&s.amp)
	addAttr(&s.amp, "xmlns", NS)
	addAttr(&s.amp, "status", string(status))
	if q.stanza.from != "" {
		addAttr(&s.amp, "from", q.stanza.from)
	}
	if q.stanza.to != "" {
		addAttr(&s.amp, "to", q.stanza.to)
	}
	s.amp.AddChild(&s.rule)
	writeRule(&s.rule, ru, q.p.maxValueLen)
	return m
}

// startReply makes m, a new <message/>, the start of a reply to the
// message st: in its namespace, from server to its sender, with its id,
// and of type typ when typ is not empty. It returns m.
func startReply(m *etree.Element, st stanza, server string, typ string) *etree.Element {
	for _, a := range [...][2]string{
		{"xmlns", st.ns},
		{"from", server},
		{"to", st.from},
		{"id", st.id},
		{"type", typ},
	} {
		if a[1] != "" {
			addAttr(m, a[0], a[1])
		}
	}
	return m
}

// addAttr adds the unprefixed attribute key=value to el, an element being
// built that has no attribute key yet, without CreateAttr's search for one
// of the same name (BenchmarkNotify). CreateAttr is the one way to make an
// attribute that el owns (Attr.Element), so the first is made with it and
// the others are copies of the first, which keep their owner.
func addAttr(el *etree.Element, key, value string) {
	if len(el.Attr) == 0 {
		el.CreateAttr(key, value)
		return
	}
	a := el.Attr[0]
	a.Space, a.Key, a.Value = "", key, value
	el.Attr = append(el.Attr, a)
}

// Event is an AMP reply as a client or bot receives it: an alert or notify
// event, the error of an error action, or a refusal of the request.
type Event struct {
	// ID is the id of the message the event is about.
	ID string
	// Status is the action that sent the event: ActionAlert, ActionError
	// or ActionNotify; empty for a refusal (a validation error or
	// service-unavailable), whose <amp/> carries no status.
	Status Action
	// From and To are the original sender and intended recipient, as the
	// server wrote them on the <amp/>; empty for a refusal.
	From, To string
	// PerHop is the per-hop flag the <amp/> carries.
	PerHop bool
	// Rules are the rules of the <amp/>: the rule met, or the rules of the
	// refused request as the server echoed them.
	Rules []Rule
	// Err is set for a message of type error: its Kind is one of the
	// package's error kinds and its Rules are the rules its <error/>
	// lists. It is nil for an alert or notify event.
	Err *Error
}

// ParseEvent reads an AMP reply from an incoming message: one whose first
// <amp/> child in the AMP namespace has a status attribute, or a message
// of type error with such an <amp/>. It returns nil for any other message,
// and for a nil one.
func ParseEvent(msg *etree.Element) *Event {
	ns, ok := messageNamespace(msg)
	if !ok {
		return nil
	}
	el, isEvent := findAMP(msg)
	st := readStanza(msg, ns)
	if el == nil || (!isEvent && st.typ != "error") {
		return nil
	}
	attr := func(key string) string {
		v, _ := etreexml.Attr(el, key)
		return v
	}
	ev := &Event{
		ID:     st.id,
		Status: Action(attr("status")),
		From:   attr("from"),
		To:     attr("to"),
		PerHop: attr("per-hop") == "true",
		Rules:  ruleValues(readRules(el, NS, nil)),
	}
	if st.typ == "error" {
		ev.Err = readError(msg)
	}
	return ev
}
