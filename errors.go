package amp

import (
	"errors"
	"fmt"

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

// Errors for which there is nobody to answer: Parse returns them, or an
// error that wraps them, and the server drops the message without a reply.
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

// Error is an AMP error: a refusal of a request by Parse, or, read by
// ParseEvent, the error a server sent.
type Error struct {
	// Kind is one of ErrBadRequest, ErrUnsupportedAction,
	// ErrUnsupportedCondition, ErrNotAcceptable, ErrServiceUnavailable and
	// ErrFailedRules.
	Kind error
	// Index is the position, counted from 0 in document order, of the first
	// rule that fails, or of the first rule past the limit; -1 when the
	// error is not about one rule.
	Index int
	// Rules are the rules the error lists, in document order and as
	// written: every rule that fails with Kind, or the rules past the
	// limit, at most MaxRules of them.
	Rules []Rule
	// Err says why the first rule fails, or why the request is bad; it may
	// be nil.
	Err error

	// What Reply needs: the refused message, and the rules it echoes and
	// lists as written. msg is nil for an Error that ParseEvent read.
	msg         *etree.Element
	perHop      bool
	echo        []rule
	listed      []rule
	maxValueLen int
}

// Error returns the kind, the position of the first failing rule counted
// from 1, and the cause: "amp: unsupported action: rule 2: action \"x\"".
func (e *Error) Error() string {
	msg := "amp: AMP error"
	if e.Kind != nil {
		msg = e.Kind.Error()
	}
	if e.Index >= 0 {
		msg = fmt.Sprintf("%s: rule %d", msg, e.Index+1)
	}
	if e.Err != nil {
		msg = fmt.Sprintf("%s: %v", msg, e.Err)
	}
	return msg
}

// Unwrap returns the error's Kind and its cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// stanzaError is the wire form of an error kind.
type stanzaError struct {
	condition, typ, code string
	container, ns        string
}

func wireForm(kind error) stanzaError {
	switch kind {
	case ErrUnsupportedAction:
		return stanzaError{"bad-request", "modify", "400", "unsupported-actions", NS}
	case ErrUnsupportedCondition:
		return stanzaError{"bad-request", "modify", "400", "unsupported-conditions", NS}
	case ErrNotAcceptable:
		return stanzaError{"not-acceptable", "modify", "405", "invalid-rules", NS}
	case ErrServiceUnavailable:
		return stanzaError{"service-unavailable", "cancel", "503", "", ""}
	case ErrFailedRules:
		return stanzaError{"undefined-condition", "modify", "500", "failed-rules", NSErrors}
	}
	return stanzaError{"bad-request", "modify", "400", "", ""}
}

// Reply returns the error stanza that answers the refused message (§7): a
// <message type='error'/> from server to the message's sender, with its
// id, echoing the request's rules in a plain <amp/> and carrying the
// <error/> of e's kind with the rules e lists. Each value of an echoed or
// listed rule, and each condition or action name that XEP-0079 does not
// define, is cut to MaxValueLen bytes, and at most MaxRules rules are
// echoed, so that the reply's size is bounded by the limits. Reply
// returns nil for an Error that ParseEvent read, which has no message to
// answer, and for a nil e. Each call returns a new element.
func (e *Error) Reply(server string) *etree.Element {
	if e == nil || e.msg == nil {
		return nil
	}
	m := reply(e.msg, server, "error")
	m.AddChild(ampElement(e.perHop, e.echo, e.maxValueLen))
	m.AddChild(errorElement(e.Kind, e.listed, e.maxValueLen))
	return m
}

// errorElement returns the <error/> child for kind listing rules, each
// attribute cut to maxLen bytes.
func errorElement(kind error, rules []rule, maxLen int) *etree.Element {
	w := wireForm(kind)
	el := etree.NewElement("error")
	addAttr(el, "type", w.typ)
	addAttr(el, "code", w.code)
	addAttr(el.CreateElement(w.condition), "xmlns", NSStanzas)
	if w.container != "" {
		c := el.CreateElement(w.container)
		addAttr(c, "xmlns", w.ns)
		appendRules(c, rules, maxLen)
	}
	return el
}

// readError reads the AMP error of a message of type error.
func readError(msg *etree.Element) *Error {
	e := &Error{Kind: ErrBadRequest, Index: -1}
	var errEl *etree.Element
	for _, t := range msg.Child {
		if el, ok := t.(*etree.Element); ok && el.Tag == "error" {
			errEl = el
			break
		}
	}
	if errEl == nil {
		return e
	}
	var condition string
	var children childNamespaces
	for _, t := range errEl.Child {
		el, ok := t.(*etree.Element)
		if !ok {
			continue
		}
		switch ns := children.of(errEl, el); {
		case ns == NSStanzas && condition == "":
			condition = el.Tag
		case ns == NS && el.Tag == "unsupported-actions":
			e.Kind, e.Rules = ErrUnsupportedAction, ruleValues(readRules(el, NS, nil))
		case ns == NS && el.Tag == "unsupported-conditions":
			e.Kind, e.Rules = ErrUnsupportedCondition, ruleValues(readRules(el, NS, nil))
		case ns == NS && el.Tag == "invalid-rules":
			e.Kind, e.Rules = ErrNotAcceptable, ruleValues(readRules(el, NS, nil))
		case ns == NSErrors && el.Tag == "failed-rules":
			e.Kind, e.Rules = ErrFailedRules, ruleValues(readRules(el, NSErrors, nil))
		}
	}
	if e.Rules == nil {
		switch condition {
		case "service-unavailable":
			e.Kind = ErrServiceUnavailable
		case "not-acceptable":
			e.Kind = ErrNotAcceptable
		case "undefined-condition":
			e.Kind = ErrFailedRules
		}
	}
	return e
}
