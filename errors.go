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

// ErrNoSender is returned by Parse for a request whose message has no from
// attribute: there is nobody to answer. A server stamps the sender's full
// JID on a message before it routes it.
var ErrNoSender = errors.New("amp: the message has no from attribute")

// Error is an AMP error: a refusal of a request by Parse or Validate, or,
// read by ParseEvent, the error a server sent.
type Error struct {
	// Kind is one of ErrBadRequest, ErrUnsupportedAction,
	// ErrUnsupportedCondition, ErrNotAcceptable, ErrServiceUnavailable and
	// ErrFailedRules.
	Kind error
	// Index is the position, counted from 0 in document order, of the first
	// rule that fails, or of the first rule past the limit; -1 when the
	// error is not about one rule.
	Index int
	// Rules are the rules the error lists, in document order: every rule
	// that fails with Kind.
	Rules []Rule
	// Err says why the first rule fails, or why the request is bad; it may
	// be nil.
	Err error

	request *RuleSet // the request, echoed in the error stanza
}

// Error returns the kind, the position of the first failing rule counted
// from 1, and the cause: "amp: unsupported action: rule 2: action \"x\"".
func (e *Error) Error() string {
	msg := e.Kind.Error()
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

// ErrorReply returns the error stanza that answers msg for err, an
// [*Error] from Parse or Validate: a <message type='error'/> from server to
// msg's sender with msg's id, echoing the request's rules in a plain <amp/>
// and carrying the <error/> of err's kind with the failing rules (§7). It
// returns nil when err is nil or holds no *Error.
func ErrorReply(msg *etree.Element, server string, err error) *etree.Element {
	var e *Error
	if msg == nil || !errors.As(err, &e) {
		return nil
	}
	return errorStanza(msg, server, e.request, e.Kind, e.Rules)
}

// errorStanza returns a refusal of msg: the echo of rs and the error of kind
// listing rules.
func errorStanza(msg *etree.Element, server string, rs *RuleSet, kind error, rules []Rule) *etree.Element {
	m := reply(new(etree.Element), make([]etree.Attr, 5), make([]etree.Token, 2), msg, server, "error")
	echo := newElement("amp", 2)
	echo.Attr = append(echo.Attr, etree.Attr{Key: "xmlns", Value: NS})
	if rs != nil {
		if rs.PerHop {
			echo.Attr = append(echo.Attr, etree.Attr{Key: "per-hop", Value: "true"})
		}
		appendRules(echo, rs.Rules)
	}
	m.AddChild(echo)
	m.AddChild(errorElement(kind, rules))
	return m
}

// errorElement returns the <error/> child for kind listing rules.
func errorElement(kind error, rules []Rule) *etree.Element {
	w := wireForm(kind)
	el := newElement("error", 2)
	el.Attr = append(el.Attr,
		etree.Attr{Key: "type", Value: w.typ},
		etree.Attr{Key: "code", Value: w.code})
	cond := newElement(w.condition, 1)
	cond.Attr = append(cond.Attr, etree.Attr{Key: "xmlns", Value: NSStanzas})
	el.AddChild(cond)
	if w.container != "" {
		c := newElement(w.container, 1)
		c.Attr = append(c.Attr, etree.Attr{Key: "xmlns", Value: w.ns})
		appendRules(c, rules)
		el.AddChild(c)
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
	for _, t := range errEl.Child {
		el, ok := t.(*etree.Element)
		if !ok {
			continue
		}
		switch ns := el.NamespaceURI(); {
		case ns == NSStanzas && condition == "":
			condition = el.Tag
		case ns == NS && el.Tag == "unsupported-actions":
			e.Kind, e.Rules = ErrUnsupportedAction, containerRules(el, NS)
		case ns == NS && el.Tag == "unsupported-conditions":
			e.Kind, e.Rules = ErrUnsupportedCondition, containerRules(el, NS)
		case ns == NS && el.Tag == "invalid-rules":
			e.Kind, e.Rules = ErrNotAcceptable, containerRules(el, NS)
		case ns == NSErrors && el.Tag == "failed-rules":
			e.Kind, e.Rules = ErrFailedRules, containerRules(el, NSErrors)
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

// containerRules reads the <rule/> children of an error container whose
// rules are in namespace ns.
func containerRules(c *etree.Element, ns string) []Rule {
	var rules []Rule
	for _, t := range c.Child {
		el, ok := t.(*etree.Element)
		if !ok || el.Tag != "rule" || el.NamespaceURI() != ns {
			continue
		}
		rules = append(rules, Rule{
			Condition: Condition(attrValue(el, "condition")),
			Action:    Action(attrValue(el, "action")),
			Value:     attrValue(el, "value"),
		})
	}
	return rules
}
