package amptest

import (
	"fmt"
	"strings"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

const reqSecurity = "§9: If a server implements presence subscriptions as specified in RFC 3921, it SHOULD NOT return alerts, errors, or other AMP notifications to senders who are not authorized to view the recipient's presence information; [accepting the condition only if the sender is so authorized, replying] with a not-acceptable error condition if the sender is not so authorized [...] is the RECOMMENDED behavior."

// securityScenarios check §9 from both sides of the pairs: a sender the
// recipient has not authorized, and the recipient of a one-way pair
// writing back to its sender, which catches a server that reads the
// subscription from the wrong roster.
func securityScenarios() []scenario {
	var out []scenario
	for _, a := range []amp.Action{amp.ActionAlert, amp.ActionError, amp.ActionNotify} {
		out = append(out, scenario{
			name:       fmt.Sprintf("§9/no-subscription/%s", a),
			level:      Should,
			req:        reqSecurity,
			doc:        fmt.Sprintf("%s rule from a sender who may not see the recipient's presence is refused: not-acceptable", withArticle(a)),
			actions:    []amp.Action{a},
			conditions: []amp.Condition{amp.ConditionDeliver},
			needs:      needOutsider,
			run:        func(e *env) { e.unauthorized(e.k.outsider, e.k.recipient, a) },
		})
	}
	out = append(out, scenario{
		name:       "§9/one-way/reverse/notify",
		level:      Should,
		req:        reqSecurity,
		doc:        "the recipient of a one-way subscription, who may not see its sender's presence, is refused a notify rule to that sender: not-acceptable",
		actions:    []amp.Action{amp.ActionNotify},
		conditions: []amp.Condition{amp.ConditionDeliver},
		needs:      needOneWay,
		run:        func(e *env) { e.unauthorized(e.k.recipient, e.k.sender, amp.ActionNotify) },
	})
	return append(out, scenario{
		name:       "§9/no-subscription/drop",
		level:      Should,
		req:        reqSecurity,
		doc:        "a drop rule from a sender who may not see the recipient's presence leaks nothing and is applied",
		actions:    []amp.Action{amp.ActionDrop},
		conditions: []amp.Condition{amp.ConditionDeliver},
		needs:      needOutsider,
		run: func(e *env) {
			u, r1 := e.login(e.k.outsider, "u"), e.login(e.k.recipient, "r1")
			e.send(u, e.message(r1.jid.String(), rules(rule(amp.ConditionDeliver, amp.ActionDrop, "direct"))))
			e.exchangeExtra(func(*etree.Element) (Level, bool) { return Should, true })
		},
	})
}

// unauthorized sends a deliver=direct rule of action a from user, whom
// recipient has not authorized, to an online session of recipient, and
// wants the not-acceptable refusal.
func (e *env) unauthorized(user, recipient string, a amp.Action) {
	u, r1 := e.login(user, "u"), e.login(recipient, "r1")
	met := rule(amp.ConditionDeliver, a, "direct")
	msg := e.message(r1.jid.String(), rules(met))
	e.send(u, msg)
	e.exchangeExtra(func(*etree.Element) (Level, bool) { return Should, true }, e.refused(u, msg, Should, amp.ErrNotAcceptable, []amp.Rule{met}))
}

func neverScenarios() []scenario {
	return []scenario{{
		name:       "§2.2.5/no-body-in-event",
		level:      Should,
		req:        "§2.2.5: This <message/> stanza MUST include the original value of the 'id' attribute and SHOULD NOT contain the non-AMP contents (e.g., <body/> child) originally included by the sender.",
		doc:        "an event carries none of the original message's children: no body, subject or thread",
		actions:    []amp.Action{amp.ActionNotify},
		conditions: []amp.Condition{amp.ConditionDeliver},
		run: func(e *env) {
			s, r1 := e.login(e.k.sender, "s"), e.login(e.k.recipient, "r1")
			met := rule(amp.ConditionDeliver, amp.ActionNotify, "direct")
			msg := e.message(r1.jid.String(), rules(met))
			msg.CreateElement("subject").SetText("amptest subject")
			msg.CreateElement("thread").SetText(e.token + "-thread")
			e.send(s, msg)
			e.exchange(e.acted(s, msg, met, r1)...)
		},
	}, {
		name:  "§2.2.4/no-amp-on-delivered-message",
		level: Project,
		req:   "project: the XEP does not say whether the message delivered to the recipient keeps <amp/>; the project removes it, since the recipient's client has no use for a request already processed and a server downstream must not process it again.",
		doc:   "a message handed to the recipient's client no longer carries <amp/>, even when no rule was met",
		run: func(e *env) {
			s, r1 := e.login(e.k.sender, "s"), e.login(e.k.recipient, "r1")
			msg := e.message(r1.jid.String(), rules(e.inert()))
			e.send(s, msg)
			e.exchangeExtra(projectOnly, e.delivered(s, msg, r1))
		},
	}, {
		name:       "§4.1/no-event-for-an-event",
		level:      Project,
		req:        "project: §4.1 says a request's <amp/> MUST NOT carry a status, and a reply's MUST; the project never processes an <amp/> with a status, so that events cannot loop.",
		doc:        "a message carrying an event (<amp status=.../>) is not processed: no event comes back for it",
		conditions: []amp.Condition{amp.ConditionDeliver},
		run: func(e *env) {
			e.unprocessed(func(s, r1 *conn, msg *etree.Element, a *etree.Element) {
				a.CreateAttr("status", attrValue(child(a, amp.NS, "rule"), "action"))
				a.CreateAttr("from", s.jid.String())
				a.CreateAttr("to", r1.jid.String())
			})
		},
	}, {
		name:       "§2.2.5/no-event-for-an-error",
		level:      Project,
		req:        "project: the XEP does not say whether a message of type error is processed; the project never processes one, as RFC 6120 never answers an error with an error.",
		doc:        "a message of type error is not processed: no event comes back for it",
		conditions: []amp.Condition{amp.ConditionDeliver},
		run: func(e *env) {
			e.unprocessed(func(_, _ *conn, msg *etree.Element, _ *etree.Element) { msg.CreateAttr("type", "error") })
		},
	}}
}

// unprocessed sends a deliver=direct rule on a message edit makes one a
// server must not process, and allows only the message itself, as it is,
// to arrive.
func (e *env) unprocessed(edit func(s, r1 *conn, msg, a *etree.Element)) {
	s, r1 := e.login(e.k.sender, "s"), e.login(e.k.recipient, "r1")
	msg := e.message(r1.jid.String(), rules(rule(amp.ConditionDeliver, e.inert().Action, "direct")))
	edit(s, r1, msg, child(msg, amp.NS, "amp"))
	e.send(s, msg)
	body := bodyText(msg)
	e.exchangeExtra(projectOnly, &want{to: []*conn{r1}, optional: true, desc: "the unprocessed message", match: func(el *etree.Element) bool {
		return strings.Contains(serialize(el), body)
	}})
}
