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

// allActions lists the actions XEP-0079 defines, in its order.
var allActions = [...]Action{ActionAlert, ActionDrop, ActionError, ActionNotify}

// Replies returns the stanzas the server sends to the sender for this
// Result, in order: a notify event for each met notify rule, then the
// alert event, the error of the error action, or service-unavailable. A
// drop sends nothing. Every reply comes from server, the processing
// server's JID, goes to the original sender's full JID, carries the
// original id and none of the original message's other children; rules
// are echoed as Error.Reply echoes them, and service-unavailable echoes at
// most MaxRules rules. Replies returns nil
// when there is nothing to send. Each call returns new elements.
func (r Result) Replies(server string) []*etree.Element {
	var out []*etree.Element
	req := r.req
	for _, i := range r.notified {
		out = append(out, req.event(server, ActionNotify, req.rules[i]))
	}
	if r.overrider > 0 {
		switch ru := req.rules[r.overrider-1]; ru.Action {
		case ActionAlert:
			out = append(out, req.event(server, ActionAlert, ru))
		case ActionError:
			// §3.4.3: the event's <amp/> in an error, with the rule in
			// <failed-rules/>.
			m := req.event(server, ActionError, ru)
			m.CreateAttr("type", "error")
			m.AddChild(errorElement(ErrFailedRules, []rule{ru}, req.p.maxValueLen))
			out = append(out, m)
		}
	}
	if r.unavailable {
		m := reply(req.msg, server, "error")
		m.AddChild(ampElement(req.perHop, req.rules[:min(len(req.rules), req.p.maxRules)], req.p.maxValueLen))
		m.AddChild(errorElement(ErrServiceUnavailable, nil, 0))
		out = append(out, m)
	}
	return out
}

// event returns the event with status for ru (§3.4.1, §3.4.4, §4.1): its
// <amp/> names the original sender and recipient.
func (r Request) event(server string, status Action, ru rule) *etree.Element {
	// The three elements, their attributes and children in one allocation:
	// building them one by one costs 15 allocations, and BenchmarkNotify's
	// budget does not allow it.
	s := new(struct {
		msg, amp, rule                etree.Element
		msgAttr                       [5]etree.Attr
		ampAttr                       [4]etree.Attr
		ruleAttr                      [3]etree.Attr
		msgChild, ampChild, ruleChild [1]etree.Token
	})
	s.msg = etree.Element{Tag: "message", Attr: s.msgAttr[:0], Child: s.msgChild[:0]}
	s.amp = etree.Element{Tag: "amp", Attr: s.ampAttr[:0], Child: s.ampChild[:0]}
	s.rule = etree.Element{Tag: "rule", Attr: s.ruleAttr[:0], Child: s.ruleChild[:0]}
	m := startReply(&s.msg, r.msg, server, "")
	m.AddChild(&s.amp)
	s.amp.CreateAttr("xmlns", NS)
	s.amp.CreateAttr("status", string(status))
	if from := attrValue(r.msg, "from"); from != "" {
		s.amp.CreateAttr("from", from)
	}
	if to := attrValue(r.msg, "to"); to != "" {
		s.amp.CreateAttr("to", to)
	}
	s.amp.AddChild(&s.rule)
	writeRule(&s.rule, ru, r.p.maxValueLen)
	return m
}

// reply returns the start of a reply to msg: a <message/> in msg's
// namespace from server to msg's sender, with msg's id and type typ when
// it is not empty.
func reply(msg *etree.Element, server string, typ string) *etree.Element {
	return startReply(etree.NewElement("message"), msg, server, typ)
}

// startReply makes m, a new <message/>, the start of a reply to msg, as
// reply says, and returns it.
func startReply(m, msg *etree.Element, server string, typ string) *etree.Element {
	if ns := msg.NamespaceURI(); ns != "" {
		m.CreateAttr("xmlns", ns)
	}
	for _, a := range [...][2]string{
		{"from", server},
		{"to", attrValue(msg, "from")},
		{"id", attrValue(msg, "id")},
		{"type", typ},
	} {
		if a[1] != "" {
			m.CreateAttr(a[0], a[1])
		}
	}
	return m
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
	if !isMessage(msg) {
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
	}
	ev.Rules = ruleValues(readRules(el, NS))
	if isError {
		ev.Err = readError(msg)
	}
	return ev
}
