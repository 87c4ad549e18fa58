package amptest

import (
	"fmt"
	"slices"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// lifecycleScenarios follow a message past its receipt: to a user the
// server does not know, into storage and out of it, across a restart of
// the server, and to a session that drops before acknowledging it.
func lifecycleScenarios() []scenario {
	return append(append(unknownUserScenarios(), stagedScenarios()...), survivalScenarios()...)
}

// unknownUserScenarios send a deliver=none rule of each action to a user
// the server does not know.
func unknownUserScenarios() []scenario {
	out := []scenario{{
		name:       "§3.3.1/deliver=none/unknown-user/notify",
		level:      Must,
		req:        reqProcess + " " + reqAction[amp.ActionNotify],
		doc:        "a notify deliver=none rule is met for a message to a user the server does not know; the service-unavailable of RFC 6121 may follow",
		actions:    []amp.Action{amp.ActionNotify},
		conditions: []amp.Condition{amp.ConditionDeliver},
		run:        func(e *env) { e.unknownUser(amp.ActionNotify) },
	}}
	for _, a := range []amp.Action{amp.ActionAlert, amp.ActionDrop, amp.ActionError} {
		out = append(out, scenario{
			name:       fmt.Sprintf("§2.2.3/deliver=none/unknown-user/%s", a),
			level:      Must,
			req:        reqProcess + " " + reqAction[a],
			doc:        fmt.Sprintf("%s deliver=none rule met for a chat message to a user the server does not know decides the delivery: its outcome, and no service-unavailable beside it", withArticle(a)),
			actions:    []amp.Action{a},
			conditions: []amp.Condition{amp.ConditionDeliver},
			run:        func(e *env) { e.unknownUser(a) },
		})
	}
	return out
}

// stagedScenarios follow a message into storage and out of it.
func stagedScenarios() []scenario {
	return []scenario{{
		name:       "§2.2.3/staged/dispatch-evaluates-again",
		level:      Project,
		req:        "project: §3.3.1 judges deliver \"at the moment of receipt\"; the project evaluates a stored message's rules again when it is dispatched, so that deliver=direct tells the sender it was delivered at last.",
		doc:        "a stored message's rules are evaluated again when it is dispatched at login: deliver=stored fires at storage, deliver=direct at dispatch",
		actions:    []amp.Action{amp.ActionNotify},
		conditions: []amp.Condition{amp.ConditionDeliver},
		run: func(e *env) {
			s := e.login(e.k.sender, "s")
			stored := rule(amp.ConditionDeliver, amp.ActionNotify, "stored")
			direct := rule(amp.ConditionDeliver, amp.ActionNotify, "direct")
			msg := e.message(e.jid(e.k.recipient), rules(stored, direct))
			e.send(s, msg)
			e.exchange(e.event(s, msg, amp.ActionNotify, stored))
			r1 := e.login(e.k.recipient, "r1")
			e.exchangeExtra(projectOnly, e.event(s, msg, amp.ActionNotify, direct), e.delivered(s, msg, r1))
		},
	}, {
		name:       "§2.2.3/staged/fired-rule-does-not-fire-again",
		level:      Project,
		req:        "project: the XEP does not say what happens to a rule that fired when a message was stored; the project fires each rule at most once in a message's life.",
		doc:        "a rule that fired when the message was stored does not fire again at dispatch, though it is still met",
		actions:    []amp.Action{amp.ActionNotify},
		conditions: []amp.Condition{amp.ConditionExpireAt},
		run: func(e *env) {
			s := e.login(e.k.sender, "s")
			past := rule(amp.ConditionExpireAt, amp.ActionNotify, formatDateTime(time.Now().Add(-time.Hour)))
			msg := e.message(e.jid(e.k.recipient), rules(past))
			e.send(s, msg)
			e.exchange(e.event(s, msg, amp.ActionNotify, past))
			r1 := e.login(e.k.recipient, "r1")
			e.exchangeExtra(projectOnly, e.delivered(s, msg, r1))
		},
	}, {
		name:       "§3.3.2/expire-at=future",
		level:      Must,
		req:        "§3.3.2: The condition is met if the message would be delivered to the recipient after the specified datetime.",
		doc:        "expire-at rules an hour ahead are not met: the message is delivered and nobody is told",
		conditions: []amp.Condition{amp.ConditionExpireAt},
		run: func(e *env) {
			s := e.login(e.k.sender, "s")
			r1 := e.login(e.k.recipient, "r1")
			rs := rules()
			for _, a := range e.supportedActions() {
				rs.Rules = append(rs.Rules, rule(amp.ConditionExpireAt, a, formatDateTime(time.Now().Add(time.Hour))))
			}
			msg := e.message(r1.jid.String(), rs)
			e.send(s, msg)
			e.exchange(e.delivered(s, msg, r1))
		},
	}}
}

// survivalScenarios follow a message through a restart of the server and
// a recipient's session that drops.
func survivalScenarios() []scenario {
	return []scenario{{
		name:       "§3.4.2/restart/stopped-message-not-kept",
		level:      Must,
		req:        "§3.4.2: The \"drop\" action silently discards the message from any further delivery attempts and ensures that it is not placed into offline storage. (alert and error behave as drop.)",
		doc:        "a stored message stopped at dispatch by its expire-at is gone: after a restart of the server it neither fires again nor arrives",
		conditions: []amp.Condition{amp.ConditionExpireAt},
		needs:      needRestart,
		run:        func(e *env) { e.stoppedNotKept() },
	}, {
		name:       "§2.2.3/restart/fired-rule-not-again",
		level:      Project,
		req:        "project: a rule fires at most once in a message's life, which a stored message keeps across a restart of the server.",
		doc:        "a stored message whose deliver=stored notify fired is delivered after a restart of the server, and the rule does not fire again",
		actions:    []amp.Action{amp.ActionNotify},
		conditions: []amp.Condition{amp.ConditionDeliver},
		needs:      needRestart,
		run: func(e *env) {
			s := e.login(e.k.sender, "s")
			stored := rule(amp.ConditionDeliver, amp.ActionNotify, "stored")
			msg := e.message(e.jid(e.k.recipient), rules(stored))
			e.send(s, msg)
			e.exchange(e.event(s, msg, amp.ActionNotify, stored))
			e.restart()
			// The sender logs in with the same resource, so that an event
			// for the message reaches it again.
			s = e.login(e.k.sender, "s")
			r1 := e.login(e.k.recipient, "r1")
			w := e.delivered(s, msg, r1)
			w.level = Project
			e.exchangeExtra(projectOnly, w)
		},
	}, {
		name:       "§2.2.3/sm/no-direct-before-ack",
		level:      Project,
		req:        "project: the XEP predates XEP-0198; the project sends a notify that reports a delivery only once the recipient acknowledged it, so that the sender never hears \"direct\" for a message that was lost.",
		doc:        "a recipient with stream management (XEP-0198) that drops before acknowledging a message: the sender is not told deliver=direct, and the message is not lost",
		actions:    []amp.Action{amp.ActionNotify},
		conditions: []amp.Condition{amp.ConditionDeliver},
		run:        func(e *env) { e.dropBeforeAck() },
	}}
}

// projectOnly makes every unexpected message a problem of the project's
// reading, for the scenarios that check it.
func projectOnly(*etree.Element) (Level, bool) { return Project, true }

// unknownUser sends a chat message with a deliver=none rule of action a
// to a user the server does not know, and wants that rule's outcome. A
// service-unavailable error may follow a notify, but not a rule that
// decides the delivery (§2.2.3). A server that hides whether a user
// exists, as §9 hides presence, and refuses the rule, is skipped.
func (e *env) unknownUser(a amp.Action) {
	s := e.login(e.k.sender, "s")
	met := rule(amp.ConditionDeliver, a, "none")
	msg := e.message(e.token+"-nobody@"+e.k.s.Domain, rules(met))
	msg.CreateAttr("type", "chat")
	e.send(s, msg)
	errorOf := func(condition string) func(el *etree.Element) bool {
		return func(el *etree.Element) bool {
			r := readReply(el)
			return r.typ == "error" && !r.hasStatus && r.condition == condition
		}
	}
	refusal := &want{to: []*conn{s}, optional: true, desc: "a refusal", match: errorOf("not-acceptable")}
	wants := append(e.acted(s, msg, met), refusal)
	if a == amp.ActionNotify {
		wants = append(wants, &want{to: []*conn{s}, optional: true, desc: "service-unavailable", match: errorOf("service-unavailable")})
	}
	e.exchange(wants...)
	if refusal.got != nil {
		e.problems = nil
		e.skipf("the server refuses %s rules for a user it does not know (not-acceptable), as §9 allows", a)
	}
}

// stoppedNotKept stores a message whose alert, error or drop expire-at
// rule passes in storage, dispatches it at login, restarts the server,
// and wants nothing at the next login.
func (e *env) stoppedNotKept() {
	var a amp.Action
	for _, x := range []amp.Action{amp.ActionDrop, amp.ActionError, amp.ActionAlert} {
		if e.k.sup.actions[x] {
			a = x
		}
	}
	if a == "" {
		e.skipf("the server advertises none of alert, drop and error")
	}
	e.expiredWhileStored(a)
	e.restart()
	// The sender logs in with the same resource, so that an event for
	// the message would reach it again.
	e.login(e.k.sender, "s")
	e.login(e.k.recipient, "r2")
	e.quiet()
}

// restart closes the scenario's sessions and restarts the server with
// the Restart hook.
func (e *env) restart() {
	e.closeAll()
	e.conns = nil
	e.log.note("restarting the server")
	if err := e.k.s.Restart(); err != nil {
		e.skipf("the Restart hook failed: %v", err)
	}
	if err := e.k.rewatch(e.ctx); err != nil {
		e.skipf("after the restart: %v", err)
	}
}

// dropBeforeAck has the recipient enable stream management, receive a
// message with a deliver=direct notify rule, and drop its connection
// without acknowledging it. The sender must not hear deliver=direct
// before another session of the recipient logs in, and the message must
// not be lost: stored (it arrives at the next login) or answered.
func (e *env) dropBeforeAck() {
	s := e.login(e.k.sender, "s")
	r1 := e.login(e.k.recipient, "r1")
	if !r1.sm {
		e.skipf("the server does not offer stream management (urn:xmpp:sm:3)")
	}
	if err := r1.sendRaw(`<enable xmlns='urn:xmpp:sm:3'/>`); err != nil {
		e.skipf("enabling stream management: %v", err)
	}
	if r1.awaitTag("enabled", time.Now().Add(e.k.s.Timeout)) == nil {
		e.skipf("the server did not enable stream management within %v", e.k.s.Timeout)
	}
	direct := rule(amp.ConditionDeliver, amp.ActionNotify, "direct")
	stored := rule(amp.ConditionDeliver, amp.ActionNotify, "stored")
	msg := e.message(r1.jid.String(), rules(direct, stored))
	e.send(s, msg)
	// Only r1's messages are taken here: what the sender hears stays
	// queued, and is judged after the drop.
	arrived := false
	for deadline := time.Now().Add(e.k.s.Timeout); !arrived && time.Now().Before(deadline); {
		for _, el := range e.incoming(r1) {
			arrived = arrived || bodyText(el) == bodyText(msg)
		}
		if !arrived {
			waitFor(r1.notify, deadline)
		}
	}
	if !arrived {
		e.skipf("the message did not reach the recipient's session within %v: nothing to drop", e.k.s.Timeout)
	}
	r1.drop()
	e.log.note(r1.label + " dropped its connection without acknowledging the message")
	if why := e.k.offline(r1); why != "" {
		e.skipf("%s", why)
	}
	// Until another session logs in, nobody has received the message: a
	// deliver=direct event now reports a delivery that did not happen. A
	// later one may report the dispatch to r2, which counts a write as
	// delivery as it has no stream management.
	outcome := false
	judge := func(beforeDispatch bool) {
		for _, el := range e.incoming(s) {
			r := readReply(el)
			if beforeDispatch && r.status == string(amp.ActionNotify) && slices.Contains(r.rules, direct) {
				e.problem(Project, "the sender was told deliver=direct for a message the recipient never acknowledged: %s", serialize(el))
			} else if r.amp != nil || r.typ == "error" {
				outcome = true
			}
		}
	}
	judge(true)
	r2 := e.login(e.k.recipient, "r2")
	time.Sleep(e.k.s.Quiet)
	judge(false)
	for _, el := range e.incoming(r2) {
		outcome = outcome || bodyText(el) == bodyText(msg)
	}
	if !outcome {
		e.problem(Project, "the message was lost: neither stored for the next login nor answered")
	}
}
