package amp

import (
	"errors"
	"fmt"

	"github.com/ampxmpp/amp/etreexml"
	"github.com/beevik/etree"
)

// The kinds of AMP error (§7.1). Each is the Kind of an [*Error], so that
// errors.Is(err, amp.ErrUnsupportedAction) tells what a refusal was.
var (
	// ErrBadRequest is a request no server can accept: a message without
	// an id, a per-hop other than true or false, or no rule. Stanza:
	// <bad-request/>, type modify, code 400.
	ErrBadRequest = errors.New("amp: bad request")
	// ErrUnsupportedAction is a rule whose action the server does not
	// support. Stanza: <bad-request/> with <unsupported-actions/>, type
	// modify, code 400.
	ErrUnsupportedAction = errors.New("amp: unsupported action")
	// ErrUnsupportedCondition is a rule whose condition the server does not
	// support. Stanza: <bad-request/> with <unsupported-conditions/>, type
	// modify, code 400.
	ErrUnsupportedCondition = errors.New("amp: unsupported condition")
	// ErrNotAcceptable is a rule that is malformed or refused by policy or
	// limits. Stanza: <not-acceptable/> with <invalid-rules/>, type modify,
	// code 405.
	ErrNotAcceptable = errors.New("amp: rule not acceptable")
	// ErrServiceUnavailable is a request the next server cannot process.
	// Stanza: <service-unavailable/>, type cancel, code 503.
	ErrServiceUnavailable = errors.New("amp: service unavailable")
	// ErrFailedRules is the error the error action sends. Stanza:
	// <undefined-condition/> with <failed-rules/>, type modify, code 500.
	ErrFailedRules = errors.New("amp: rules failed")
)

// wireForms gives each error kind its wire form (§7.1), for writing and
// reading alike. A kind without a container lists no rules. Read, an
// <error/> is the kind of its container, or else of the first row with
// its condition.
var wireForms = [...]struct {
	kind                 error
	condition, typ, code string
	container, ns        string
}{
	{ErrBadRequest, "bad-request", "modify", "400", "", ""},
	{ErrUnsupportedAction, "bad-request", "modify", "400", "unsupported-actions", NS},
	{ErrUnsupportedCondition, "bad-request", "modify", "400", "unsupported-conditions", NS},
	{ErrNotAcceptable, "not-acceptable", "modify", "405", "invalid-rules", NS},
	{ErrServiceUnavailable, "service-unavailable", "cancel", "503", "", ""},
	{ErrFailedRules, "undefined-condition", "modify", "500", "failed-rules", NSErrors},
}

// Error is an AMP error: a refusal of a request by Parse, or, read by
// ParseEvent, the error a server sent. Its methods accept a nil *Error.
type Error struct {
	// Kind is one of ErrBadRequest, ErrUnsupportedAction,
	// ErrUnsupportedCondition, ErrNotAcceptable, ErrServiceUnavailable and
	// ErrFailedRules.
	Kind error
	// Rules are the rules the error lists, in document order and as
	// written: every rule that fails with Kind, or the rules past the
	// limit, at most MaxRules of them.
	Rules []Rule
	// Err says why the first rule fails, or why the request is bad; it may
	// be nil.
	Err error

	index int       // of the first failing rule, or -1
	reply *refusing // what Reply needs; nil for an Error that ParseEvent read
}

// refusing is what the reply to a refused request needs, copied when the
// request was read.
type refusing struct {
	stanza       stanza
	perHop       bool
	echo, listed []rule
	maxValueLen  int
}

// Error returns the kind, the position of the first failing rule counted
// from 1, and the cause: "amp: unsupported action: rule 2: action \"x\"".
func (e *Error) Error() string {
	if e == nil {
		return "amp: <nil>"
	}
	msg := "amp: AMP error"
	if e.Kind != nil {
		msg = e.Kind.Error()
	}
	if e.index >= 0 && e.reply != nil {
		msg = fmt.Sprintf("%s: rule %d", msg, e.index+1)
	}
	if e.Err != nil {
		msg = fmt.Sprintf("%s: %v", msg, e.Err)
	}
	return msg
}

// Unwrap returns the error's Kind and its cause, those that are not nil.
func (e *Error) Unwrap() []error {
	if e == nil {
		return nil
	}
	var out []error
	for _, err := range []error{e.Kind, e.Err} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// badRequest returns the refusal of a request no server can accept.
func (q *request) badRequest(why string) *Error {
	return q.refusal(ErrBadRequest, -1, nil, errors.New(why))
}

// refusal returns the error of kind for the request, whose first failing
// rule is at index, listing rules. Its reply echoes the request's rules
// and lists rules, at most MaxRules of each, so that its size is bounded
// by the limits.
func (q *request) refusal(kind error, index int, listed []rule, why error) *Error {
	listed = listed[:min(len(listed), q.p.maxRules)]
	return &Error{Kind: kind, Rules: ruleValues(listed), Err: why, index: index, reply: &refusing{
		stanza: q.stanza, perHop: q.perHop, echo: q.echoed(), listed: listed, maxValueLen: q.p.maxValueLen,
	}}
}

// echoed returns the rules a reply to the request echoes: the first
// MaxRules, whatever their number.
func (q *request) echoed() []rule {
	return q.rules[:min(len(q.rules), q.p.maxRules)]
}

// Reply returns the error stanza that answers the refused message (§7): a
// <message type='error'/> from server to the message's sender, with its
// id, echoing the request's rules in a plain <amp/> and carrying the
// <error/> of e's kind with the rules e lists. Each value of an echoed or
// listed rule, and each condition or action name that XEP-0079 does not
// define, is cut to MaxValueLen bytes, and at most MaxRules rules are
// echoed, so that the reply's size is bounded by the limits. Everything
// it writes was copied when the request was read. Reply returns nil for an
// Error that ParseEvent read, which has no message to answer, and for a
// nil e. Each call returns a new element.
func (e *Error) Reply(server string) *etree.Element {
	if e == nil || e.reply == nil {
		return nil
	}
	r := e.reply
	m := startReply(etree.NewElement("message"), r.stanza, server, "error")
	m.AddChild(ampElement(r.perHop, r.echo, r.maxValueLen))
	m.AddChild(errorElement(e.Kind, r.listed, r.maxValueLen))
	return m
}

// errorElement returns the <error/> child for kind listing rules, each
// attribute cut to maxLen bytes.
func errorElement(kind error, rules []rule, maxLen int) *etree.Element {
	el := etree.NewElement("error")
	for _, w := range wireForms {
		if w.kind != kind {
			continue
		}
		el.CreateAttr("type", w.typ)
		el.CreateAttr("code", w.code)
		el.CreateElement(w.condition).CreateAttr("xmlns", NSStanzas)
		if w.container != "" {
			c := el.CreateElement(w.container)
			c.CreateAttr("xmlns", w.ns)
			appendRules(c, rules, maxLen)
		}
	}
	return el
}

// readError reads the AMP error of a message of type error.
func readError(msg *etree.Element) *Error {
	e := &Error{Kind: ErrBadRequest, index: -1}
	var errEl *etree.Element
	for _, el := range msg.ChildElements() {
		if el.Tag == "error" {
			errEl = el
			break
		}
	}
	condition := ""
	for ns, el := range etreexml.Children(errEl) {
		if ns == NSStanzas && condition == "" {
			condition = el.Tag
		}
		for _, w := range wireForms {
			if w.container != "" && el.Tag == w.container && ns == w.ns {
				e.Kind, e.Rules = w.kind, ruleValues(readRules(el, w.ns, nil))
				return e
			}
		}
	}
	for _, w := range wireForms {
		if w.condition == condition {
			e.Kind = w.kind
			break
		}
	}
	return e
}
