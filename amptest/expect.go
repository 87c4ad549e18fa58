package amptest

import (
	"fmt"
	"slices"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// The expectations on the stanzas a server sends. Each problem carries
// the level of what it checks: the XEP's MUST, SHOULD or MAY, or the
// project's reading where the XEP is silent.

// event wants the alert or notify event for rule of msg, which sender
// sent (§2.2.5, §3.4.1, §3.4.4): a message to the sender with the
// original id and an <amp status/> holding exactly that rule.
func (e *env) event(sender *conn, msg *etree.Element, status amp.Action, rule amp.Rule) *want {
	return &want{
		to:    []*conn{sender},
		level: Must,
		desc:  fmt.Sprintf("the %s event for %s", status, rulesString([]amp.Rule{rule})),
		match: func(el *etree.Element) bool {
			r := readReply(el)
			return r.status == string(status) && r.typ != "error" && slices.Contains(r.rules, rule)
		},
		check: func(el *etree.Element) []Problem {
			p := e.replyProblems(sender, msg, el, "")
			return append(p, statusProblems(sender, msg, el, rule)...)
		},
	}
}

// failed wants the error the error action sends for rule (§3.4.3): a
// message of type error with the <amp status='error'/> of an event and an
// <error/> holding <failed-rules xmlns='amp#errors'/> with the rule; the
// error SHOULD be of type modify with <undefined-condition/>.
func (e *env) failed(sender *conn, msg *etree.Element, rule amp.Rule) *want {
	return &want{
		to:    []*conn{sender},
		level: Must,
		desc:  fmt.Sprintf("the error of the error action for %s", rulesString([]amp.Rule{rule})),
		match: func(el *etree.Element) bool {
			r := readReply(el)
			return r.status == string(amp.ActionError) || (r.typ == "error" && r.container == "failed-rules")
		},
		check: func(el *etree.Element) []Problem {
			r := readReply(el)
			p := e.replyProblems(sender, msg, el, "error")
			p = append(p, statusProblems(sender, msg, el, rule)...)
			if r.errEl == nil {
				return append(p, Problem{Must, "no <error/>: §3.4.3 wants <failed-rules/> in it"})
			}
			if r.errType != "modify" {
				p = append(p, Problem{Should, fmt.Sprintf("<error type=%q>, want modify (§3.4.3)", r.errType)})
			}
			if r.condition != "undefined-condition" {
				p = append(p, Problem{Should, fmt.Sprintf("error condition %q, want <undefined-condition xmlns='%s'/> (§3.4.3)", r.condition, amp.NSStanzas)})
			}
			if r.errCode != "" && r.errCode != "500" {
				p = append(p, Problem{Project, fmt.Sprintf("<error code=%q>, want 500, the legacy code of undefined-condition", r.errCode)})
			}
			switch {
			case r.container != "failed-rules":
				p = append(p, Problem{Must, fmt.Sprintf("no <failed-rules xmlns='%s'/> in the <error/>", amp.NSErrors)})
			case !slices.Equal(r.listed, []amp.Rule{rule}):
				p = append(p, Problem{Must, fmt.Sprintf("<failed-rules/> lists %s, want %s", rulesString(r.listed), rulesString([]amp.Rule{rule}))})
			}
			return p
		},
	}
}

// refused wants the refusal of msg's request (§2.2.1, §6): an error of
// kind listing exactly listed, the request's rules echoed in an <amp/>
// without status. A kind of ErrBadRequest is the project's plain
// bad-request, with no container. level is that of the refusal itself.
func (e *env) refused(sender *conn, msg *etree.Element, level Level, kind error, listed []amp.Rule) *want {
	w := wireForms[kind]
	desc := "the plain bad-request refusal"
	if w.container != "" {
		desc = fmt.Sprintf("the %s refusal with <%s/>", w.condition, w.container)
	}
	return &want{
		to:    []*conn{sender},
		level: level,
		desc:  desc,
		match: func(el *etree.Element) bool {
			r := readReply(el)
			return r.typ == "error" && !r.hasBody && !r.hasStatus
		},
		check: func(el *etree.Element) []Problem {
			r := readReply(el)
			p := e.replyProblems(sender, msg, el, "error")
			if r.errEl == nil {
				return append(p, Problem{level, "no <error/>"})
			}
			if r.condition != w.condition || r.errType != w.typ {
				p = append(p, Problem{level, fmt.Sprintf("error %s of type %q, want <%s xmlns='%s'/> of type %q (§6)", r.condition, r.errType, w.condition, amp.NSStanzas, w.typ)})
			}
			if r.errCode != "" && r.errCode != w.code {
				p = append(p, Problem{Project, fmt.Sprintf("<error code=%q>, want %s, the legacy code of %s", r.errCode, w.code, w.condition)})
			}
			switch {
			case w.container == "" && r.containersCounted > 0:
				p = append(p, Problem{Project, "a rule container in the <error/> of a plain bad-request"})
			case w.container != "" && r.container != w.container:
				p = append(p, Problem{level, fmt.Sprintf("no <%s xmlns='%s'/> in the <error/> to say which rules are at issue (§2.2.1)", w.container, amp.NS)})
			case w.container != "" && !slices.Equal(r.listed, listed):
				p = append(p, Problem{level, fmt.Sprintf("<%s/> lists %s, want %s (§2.2.1: the rules at issue)", w.container, rulesString(r.listed), rulesString(listed))})
			}
			// The echo holds the request's first MaxRules rules: a reply
			// is bounded whatever the request.
			want := requestRules(msg)
			if e.k.s.MaxRules > 0 && len(want) > e.k.s.MaxRules {
				want = want[:e.k.s.MaxRules]
			}
			switch {
			case r.amp == nil:
				p = append(p, Problem{Project, fmt.Sprintf("no <amp xmlns='%s'/> echoing the request", amp.NS)})
			case !slices.Equal(r.rules, want):
				p = append(p, Problem{Project, fmt.Sprintf("the echo holds %s, want the request's %s", rulesString(r.rules), rulesString(want))})
			}
			return p
		},
	}
}

// delivered wants msg, which sender sent, handed to one of the recipient
// sessions to: with its body and id, from the sender's full JID (RFC 6120
// §8.1.2.1, §8.1.3), and without its <amp/> (the project's reading: the
// recipient's client has no use for a request already processed).
func (e *env) delivered(sender *conn, msg *etree.Element, to ...*conn) *want {
	body := bodyText(msg)
	return &want{
		to:    to,
		level: Must,
		desc:  fmt.Sprintf("the message %s delivered", attrValue(msg, "id")),
		match: func(el *etree.Element) bool {
			return bodyText(el) == body && attrValue(el, "type") != "error"
		},
		check: func(el *etree.Element) []Problem {
			var p []Problem
			if got := attrValue(el, "id"); got != attrValue(msg, "id") {
				p = append(p, Problem{Must, fmt.Sprintf("id %q, want %q", got, attrValue(msg, "id"))})
			}
			if got := attrValue(el, "from"); got != sender.jid.String() {
				p = append(p, Problem{Must, fmt.Sprintf("from %q, want the sender %q", got, sender.jid)})
			}
			if len(children(el, amp.NS, "amp")) > 0 {
				p = append(p, Problem{Project, "<amp/> left on the message delivered to the recipient"})
			}
			return p
		},
	}
}

// replyProblems checks what every AMP reply shares: to the sender (MUST,
// §2.2.5), the sender's full JID (project), from the server's JID
// (project), the original id (MUST, §1.3), type typ ("error": MUST; none:
// project), and none of the original message's children but <amp/>
// (SHOULD NOT, §2.2.5).
func (e *env) replyProblems(sender *conn, msg, el *etree.Element, typ string) []Problem {
	var p []Problem
	if got := attrValue(el, "from"); got != e.k.s.Domain {
		p = append(p, Problem{Project, fmt.Sprintf("from %q, want the server %q: a reply comes from the server that processed the rule", got, e.k.s.Domain)})
	}
	switch got := attrValue(el, "to"); got {
	case sender.jid.String():
	case sender.jid.Bare().String():
		p = append(p, Problem{Project, fmt.Sprintf("to %q, want the sender's full JID %q", got, sender.jid)})
	default:
		p = append(p, Problem{Must, fmt.Sprintf("to %q, want the sender %q (§2.2.5)", got, sender.jid)})
	}
	if want, ok := attr(msg, "id"); ok {
		if got := attrValue(el, "id"); got != want {
			p = append(p, Problem{Must, fmt.Sprintf("id %q, want the original id %q (§1.3)", got, want)})
		}
	}
	if got := attrValue(el, "type"); got != typ {
		l := Project
		if typ == "error" {
			l = Must
		}
		p = append(p, Problem{l, fmt.Sprintf("type %q, want %q", got, typ)})
	}
	r := readReply(el)
	if r.hasBody {
		p = append(p, Problem{Should, "a <body/> in the reply (§2.2.5: SHOULD NOT contain the non-AMP contents)"})
	}
	for _, c := range r.otherChildren {
		if child(msg, "", c) != nil || child(msg, "jabber:client", c) != nil {
			p = append(p, Problem{Should, fmt.Sprintf("the original message's <%s/> in the reply (§2.2.5)", c)})
		}
	}
	return p
}

// statusProblems checks the <amp/> of an event or of the error action's
// error (§4.1): a status, from the original sender's full JID and to the
// original recipient, present (MUST), and exactly the rule met (MUST,
// §3.4: "contains the rule that triggered this action").
func statusProblems(sender *conn, msg, el *etree.Element, rule amp.Rule) []Problem {
	r := readReply(el)
	if r.amp == nil || !r.hasStatus {
		return []Problem{{Must, "no <amp/> with a status (§4.1)"}}
	}
	var p []Problem
	if r.status != string(rule.Action) {
		p = append(p, Problem{Must, fmt.Sprintf("<amp status=%q>, want %q (§3.4)", r.status, rule.Action)})
	}
	if r.from != sender.jid.String() {
		p = append(p, Problem{Must, fmt.Sprintf("<amp from=%q>, want the original sender's full JID %q (§4.1)", r.from, sender.jid)})
	}
	switch to := attrValue(msg, "to"); {
	case r.to == "":
		p = append(p, Problem{Must, fmt.Sprintf("no <amp to/>, want the original recipient %q (§4.1)", to)})
	case r.to != to:
		p = append(p, Problem{Project, fmt.Sprintf("<amp to=%q>, want the original to %q as written", r.to, to)})
	}
	if !slices.Equal(r.rules, []amp.Rule{rule}) {
		p = append(p, Problem{Must, fmt.Sprintf("<amp/> holds %s, want exactly the rule met, %s (§3.4)", rulesString(r.rules), rulesString([]amp.Rule{rule}))})
	}
	return p
}

// wireForm is how an error kind is written (§6).
type wireForm struct{ typ, code, condition, container string }

var wireForms = map[error]wireForm{
	amp.ErrBadRequest:           {"modify", "400", "bad-request", ""},
	amp.ErrUnsupportedAction:    {"modify", "400", "bad-request", "unsupported-actions"},
	amp.ErrUnsupportedCondition: {"modify", "400", "bad-request", "unsupported-conditions"},
	amp.ErrNotAcceptable:        {"modify", "405", "not-acceptable", "invalid-rules"},
}

// requestRules returns the rules of the request msg carries, as written.
func requestRules(msg *etree.Element) []amp.Rule {
	var out []amp.Rule
	for _, a := range children(msg, amp.NS, "amp") {
		out = append(out, ruleChildren(a, amp.NS)...)
	}
	return out
}
