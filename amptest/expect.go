package amptest

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// The expectations on the stanzas a server sends, as XEP-0079 and the
// project's conformance notes give them.

// event wants the alert or notify event for rule of msg, which sender
// sent (§2.2.5, §3.4.1, §3.4.4): from the server to the sender's full JID
// with the original id, no type, no body, and an <amp/> with the status,
// the original sender and recipient and exactly that rule.
func (e *env) event(sender *conn, msg *etree.Element, status amp.Action, rule amp.Rule) *want {
	return &want{
		to:   []*conn{sender},
		desc: fmt.Sprintf("the %s event for %s", status, rulesString([]amp.Rule{rule})),
		match: func(el *etree.Element) bool {
			ev := amp.ParseEvent(el)
			return ev != nil && ev.Status == status && attrValue(el, "type") != "error" && slices.Contains(ev.Rules, rule)
		},
		check: func(el *etree.Element) []string {
			p := e.replyProblems(sender, msg, el, "")
			return append(p, statusProblems(sender, msg, el, []amp.Rule{rule})...)
		},
	}
}

// failed wants the error the error action sends for rule (§3.4.3, §6):
// type error, the <amp status='error'/> of an event, and <error
// type='modify' code='500'> with <undefined-condition/> and <failed-rules/>
// in the amp#errors namespace holding the rule.
func (e *env) failed(sender *conn, msg *etree.Element, rule amp.Rule) *want {
	return &want{
		to:   []*conn{sender},
		desc: fmt.Sprintf("the error of the error action for %s", rulesString([]amp.Rule{rule})),
		match: func(el *etree.Element) bool {
			if attrValue(el, "type") != "error" {
				return false
			}
			ev := amp.ParseEvent(el)
			return ev != nil && (ev.Status == amp.ActionError || errorIs(ev, amp.ErrFailedRules))
		},
		check: func(el *etree.Element) []string {
			p := e.replyProblems(sender, msg, el, "error")
			p = append(p, statusProblems(sender, msg, el, []amp.Rule{rule})...)
			p = append(p, errorProblems(el, "modify", "500", "undefined-condition")...)
			ev := amp.ParseEvent(el)
			if ev != nil {
				if !errorIs(ev, amp.ErrFailedRules) {
					p = append(p, fmt.Sprintf("no <failed-rules xmlns='%s'/> in the <error/>", amp.NSErrors))
				} else if got := errorRules(ev); !slices.Equal(got, []amp.Rule{rule}) {
					p = append(p, fmt.Sprintf("<failed-rules/> lists %s, want %s", rulesString(got), rulesString([]amp.Rule{rule})))
				}
			}
			return p
		},
	}
}

// refused wants the refusal of msg's request (§2.2.1, §6): type error,
// an echo of the request's rules in an <amp/> without status, and the
// <error/> of kind listing exactly listed. A kind of ErrBadRequest is a
// plain bad-request, with no container.
func (e *env) refused(sender *conn, msg *etree.Element, kind error, listed []amp.Rule) *want {
	desc := "the plain bad-request refusal"
	if w := wire[kind]; w.container != "" {
		desc = fmt.Sprintf("the %s refusal with <%s/>", w.condition, w.container)
	}
	return &want{
		to:   []*conn{sender},
		desc: desc,
		match: func(el *etree.Element) bool {
			if attrValue(el, "type") != "error" || bodyText(el) != "" {
				return false
			}
			ev := amp.ParseEvent(el)
			return ev == nil || ev.Status == ""
		},
		check: func(el *etree.Element) []string {
			p := e.replyProblems(sender, msg, el, "error")
			w := wire[kind]
			p = append(p, errorProblems(el, w.typ, w.code, w.condition)...)
			ev := amp.ParseEvent(el)
			if ev == nil {
				return append(p, fmt.Sprintf("no <amp xmlns='%s'/> echoing the request", amp.NS))
			}
			// The echo holds the request's first MaxRules rules: a reply is
			// bounded whatever the request.
			want := requestRules(msg)
			if len(want) > e.k.s.MaxRules {
				want = want[:e.k.s.MaxRules]
			}
			if got := ev.Rules; !slices.Equal(got, want) {
				p = append(p, fmt.Sprintf("the echo holds %s, want the request's %s", rulesString(got), rulesString(want)))
			}
			errEl := child(el, attrValue(el, "xmlns"), "error")
			if errEl == nil {
				errEl = child(el, "jabber:client", "error")
			}
			containers := 0
			if errEl != nil {
				for _, c := range []string{"unsupported-actions", "unsupported-conditions", "invalid-rules"} {
					containers += len(children(errEl, amp.NS, c))
				}
			}
			switch {
			case w.container == "" && containers > 0:
				p = append(p, "a rule container in the <error/> of a plain bad-request")
			case w.container != "" && (errEl == nil || child(errEl, amp.NS, w.container) == nil):
				p = append(p, fmt.Sprintf("no <%s xmlns='%s'/> in the <error/>", w.container, amp.NS))
			case w.container != "":
				if got := errorRules(ev); !slices.Equal(got, listed) {
					p = append(p, fmt.Sprintf("<%s/> lists %s, want %s", w.container, rulesString(got), rulesString(listed)))
				}
			}
			return p
		},
	}
}

// delivered wants msg, which sender sent, handed to one of the recipient
// sessions to: with its body and id, from the sender's full JID, and
// without its <amp/> (§2.2.4, conformance notes: a message delivered to
// the recipient's client carries no request any more).
func (e *env) delivered(sender *conn, msg *etree.Element, to ...*conn) *want {
	body := bodyText(msg)
	return &want{
		to:   to,
		desc: fmt.Sprintf("the message %s delivered", attrValue(msg, "id")),
		match: func(el *etree.Element) bool {
			return bodyText(el) == body && attrValue(el, "type") != "error"
		},
		check: func(el *etree.Element) []string {
			var p []string
			if got := attrValue(el, "id"); got != attrValue(msg, "id") {
				p = append(p, fmt.Sprintf("id %q, want %q", got, attrValue(msg, "id")))
			}
			if got := attrValue(el, "from"); got != sender.jid.String() {
				p = append(p, fmt.Sprintf("from %q, want the sender %q", got, sender.jid))
			}
			if len(children(el, amp.NS, "amp")) > 0 {
				p = append(p, "<amp/> left on the message delivered to the recipient")
			}
			return p
		},
	}
}

// replyProblems checks what every AMP reply shares: from the server's JID
// to the sender's full JID, the original id, type typ, and none of the
// original message's children but <amp/> (no body).
func (e *env) replyProblems(sender *conn, msg, el *etree.Element, typ string) []string {
	var p []string
	if got := attrValue(el, "from"); got != e.k.s.Domain {
		p = append(p, fmt.Sprintf("from %q, want the server %q", got, e.k.s.Domain))
	}
	if got := attrValue(el, "to"); got != sender.jid.String() {
		p = append(p, fmt.Sprintf("to %q, want the sender's full JID %q", got, sender.jid))
	}
	if want, ok := attr(msg, "id"); ok {
		if got := attrValue(el, "id"); got != want {
			p = append(p, fmt.Sprintf("id %q, want the original id %q", got, want))
		}
	}
	if got := attrValue(el, "type"); got != typ {
		p = append(p, fmt.Sprintf("type %q, want %q", got, typ))
	}
	for _, c := range el.ChildElements() {
		switch {
		case c.Tag == "body":
			p = append(p, "a <body/> in the reply")
		case c.Tag == "amp" || c.Tag == "error":
		case child(msg, c.NamespaceURI(), c.Tag) != nil || child(msg, "", c.Tag) != nil:
			p = append(p, fmt.Sprintf("the original message's <%s/> in the reply", c.Tag))
		}
	}
	return p
}

// statusProblems checks the <amp/> of an event or of the error action's
// error: status, from the original sender, to the original to, and rules.
func statusProblems(sender *conn, msg, el *etree.Element, rules []amp.Rule) []string {
	ev := amp.ParseEvent(el)
	if ev == nil {
		return []string{"no <amp/> with a status"}
	}
	var p []string
	if ev.From != sender.jid.String() {
		p = append(p, fmt.Sprintf("<amp from=%q>, want the original sender %q", ev.From, sender.jid))
	}
	if to := attrValue(msg, "to"); ev.To != to {
		p = append(p, fmt.Sprintf("<amp to=%q>, want the original to %q", ev.To, to))
	}
	if !slices.Equal(ev.Rules, rules) {
		p = append(p, fmt.Sprintf("<amp/> holds %s, want %s", rulesString(ev.Rules), rulesString(rules)))
	}
	return p
}

// wireForm is how an error kind is written.
type wireForm struct{ typ, code, condition, container string }

var wire = map[error]wireForm{
	amp.ErrBadRequest:           {"modify", "400", "bad-request", ""},
	amp.ErrUnsupportedAction:    {"modify", "400", "bad-request", "unsupported-actions"},
	amp.ErrUnsupportedCondition: {"modify", "400", "bad-request", "unsupported-conditions"},
	amp.ErrNotAcceptable:        {"modify", "405", "not-acceptable", "invalid-rules"},
}

// errorProblems checks the <error/> of an error stanza.
func errorProblems(el *etree.Element, typ, code, condition string) []string {
	var errEl *etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == "error" {
			errEl = c
		}
	}
	if errEl == nil {
		return []string{"no <error/>"}
	}
	var p []string
	if got := attrValue(errEl, "type"); got != typ {
		p = append(p, fmt.Sprintf("<error type=%q>, want %q", got, typ))
	}
	if got := attrValue(errEl, "code"); got != code {
		p = append(p, fmt.Sprintf("<error code=%q>, want %q", got, code))
	}
	if got := errorKind(el); got != condition {
		p = append(p, fmt.Sprintf("error condition %s, want <%s xmlns='%s'/>", got, condition, amp.NSStanzas))
	}
	return p
}

// requestRules returns the rules of the request msg carries, as written.
func requestRules(msg *etree.Element) []amp.Rule {
	var out []amp.Rule
	for _, a := range children(msg, amp.NS, "amp") {
		for _, r := range a.ChildElements() {
			if r.Tag == "rule" {
				out = append(out, amp.Rule{
					Condition: amp.Condition(attrValue(r, "condition")),
					Action:    amp.Action(attrValue(r, "action")),
					Value:     attrValue(r, "value"),
				})
			}
		}
	}
	return out
}

// errorIs reports whether ev is an error of kind.
func errorIs(ev *amp.Event, kind error) bool {
	return ev.Err != nil && errors.Is(ev.Err, kind)
}

// errorRules returns the rules the <error/> of ev lists.
func errorRules(ev *amp.Event) []amp.Rule {
	if ev.Err == nil {
		return nil
	}
	return ev.Err.Rules
}
