package amptest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// scenarios returns every scenario, in the order they run. The list is the
// same for every server; the kit skips what a server's support rules out.
func (k *kit) scenarios() []scenario {
	var out []scenario
	out = append(out, discoveryScenarios()...)
	for _, a := range xepActions {
		out = append(out, actionScenarios(a)...)
	}
	out = append(out, stagedScenarios()...)
	out = append(out, validationScenarios()...)
	out = append(out, securityScenarios()...)
	out = append(out, neverScenarios()...)
	return out
}

func discoveryScenarios() []scenario {
	return []scenario{{
		name: "§2.1.1/disco/root-feature",
		doc:  "the server's root disco#info lists " + amp.NS,
		run: func(e *env) {
			e.discoStanzas()
			if e.k.sup.rootErr != "" {
				e.fatalf("disco#info at the root: %s", e.k.sup.rootErr)
			}
			if !slices.Contains(e.k.sup.root, amp.NS) {
				e.errorf("the root features %q do not include %s", e.k.sup.root, amp.NS)
			}
		},
	}, {
		name: "§2.1.1/disco/node",
		doc:  "disco#info at the node " + amp.NS + " lists " + amp.NS + " and the ?action= and ?condition= features of what the server supports",
		run: func(e *env) {
			e.discoStanzas()
			if e.k.sup.nodeErr != "" {
				e.fatalf("disco#info at the node %s: %s", amp.NS, e.k.sup.nodeErr)
			}
			if !slices.Contains(e.k.sup.node, amp.NS) {
				e.errorf("the node's features %q do not include %s", e.k.sup.node, amp.NS)
			}
			if len(e.k.sup.actions) == 0 {
				e.errorf("the node lists no %s?action= feature", amp.NS)
			}
			if len(e.k.sup.conditions) == 0 {
				e.errorf("the node lists no %s?condition= feature", amp.NS)
			}
		},
	}, {
		name: "§8/stream-feature",
		doc:  "the stream features list <amp xmlns='" + amp.NSFeature + "'/>",
		run: func(e *env) {
			if !e.k.sup.streamFeature {
				e.errorf("no <amp xmlns='%s'/> among the stream features", amp.NSFeature)
			}
		},
	}}
}

// discoStanzas adds the discovery's stanzas to the scenario's transcript.
func (e *env) discoStanzas() {
	e.log.mu.Lock()
	e.log.stanzas = append(e.log.stanzas, e.k.sup.stanzas...)
	e.log.mu.Unlock()
}

// acted returns what is wanted once rule, with action a, is met for msg:
// notify sends its event and the message goes on to the recipient
// sessions to; alert sends its event and error its error, and the message
// is not delivered; drop sends nothing.
func (e *env) acted(a amp.Action, sender *conn, msg *etree.Element, rule amp.Rule, to ...*conn) []*want {
	switch a {
	case amp.ActionNotify:
		w := []*want{e.event(sender, msg, a, rule)}
		if len(to) > 0 {
			w = append(w, e.delivered(sender, msg, to...))
		}
		return w
	case amp.ActionAlert:
		return []*want{e.event(sender, msg, a, rule)}
	case amp.ActionError:
		return []*want{e.failed(sender, msg, rule)}
	}
	return nil
}

// rules returns a rule set of rules.
func rules(rs ...amp.Rule) *amp.RuleSet { return &amp.RuleSet{Rules: rs} }

// actionScenarios are the scenarios of action a on every condition value
// a client can produce.
func actionScenarios(a amp.Action) []scenario {
	deliver := func(value, notMet, doc string, run func(e *env, met amp.Rule, unmet amp.Rule)) scenario {
		return scenario{
			name:       fmt.Sprintf("§3.3.1/deliver=%s/%s", value, a),
			doc:        doc,
			actions:    []amp.Action{a},
			conditions: []amp.Condition{condDeliver},
			run: func(e *env) {
				run(e, amp.Rule{Condition: condDeliver, Action: a, Value: value}, amp.Rule{Condition: condDeliver, Action: a, Value: notMet})
			},
		}
	}
	match := func(value, notMet, doc string, other bool) scenario {
		return scenario{
			name:       fmt.Sprintf("§3.3.3/match-resource=%s/%s", value, a),
			doc:        doc,
			actions:    []amp.Action{a},
			conditions: []amp.Condition{condMatchResource},
			run: func(e *env) {
				s := e.login(e.k.sender, "s")
				r1 := e.login(e.k.recipient, "r1")
				r2 := e.login(e.k.recipient, "r2")
				to := r1.jid.String()
				if other {
					to = e.jid(e.k.recipient) + "/" + e.token + "-gone"
					e.needsOtherResource(s, to, r1, r2)
				}
				met := amp.Rule{Condition: condMatchResource, Action: a, Value: value}
				var rs *amp.RuleSet
				if notMet == "" {
					rs = rules(met)
				} else {
					rs = rules(amp.Rule{Condition: condMatchResource, Action: a, Value: notMet}, met)
				}
				msg := e.message(to, rs)
				e.send(s, msg)
				if other {
					e.exchange(e.acted(a, s, msg, met, r1, r2)...)
				} else {
					e.exchange(e.acted(a, s, msg, met, r1)...)
				}
			},
		}
	}
	return []scenario{
		deliver(deliverDirect, deliverStored, fmt.Sprintf("%s deliver=direct rule is met for a message to an online resource, and a deliver=stored rule before it is not", withArticle(a)),
			func(e *env, met, unmet amp.Rule) {
				s := e.login(e.k.sender, "s")
				r1 := e.login(e.k.recipient, "r1")
				msg := e.message(r1.jid.String(), rules(unmet, met))
				e.send(s, msg)
				e.exchange(e.acted(a, s, msg, met, r1)...)
			}),
		deliver(deliverStored, deliverNone, fmt.Sprintf("%s deliver=stored rule is met for a message to an offline user, and the message is stored only if the action lets it through", withArticle(a)),
			func(e *env, met, unmet amp.Rule) {
				s := e.login(e.k.sender, "s")
				msg := e.message(e.jid(e.k.recipient), rules(unmet, met))
				e.send(s, msg)
				e.exchange(e.acted(a, s, msg, met)...)
				r1 := e.login(e.k.recipient, "r1")
				if a == amp.ActionNotify {
					e.exchange(e.delivered(s, msg, r1))
				} else {
					e.quiet()
				}
			}),
		deliver(deliverNone, deliverStored, fmt.Sprintf("%s deliver=none rule is met for a headline to an offline user, which is not stored (RFC 6121 §8.5.2.2)", withArticle(a)),
			func(e *env, met, unmet amp.Rule) {
				s := e.login(e.k.sender, "s")
				msg := e.message(e.jid(e.k.recipient), rules(unmet, met))
				msg.CreateAttr("type", "headline")
				e.send(s, msg)
				e.exchange(e.acted(a, s, msg, met)...)
				e.login(e.k.recipient, "r1")
				e.quiet()
			}),
		{
			name:       fmt.Sprintf("§3.3.2/expire-at=past/%s", a),
			doc:        fmt.Sprintf("%s expire-at rule whose time has passed is met on receipt, and one an hour ahead before it is not", withArticle(a)),
			actions:    []amp.Action{a},
			conditions: []amp.Condition{condExpireAt},
			run: func(e *env) {
				s := e.login(e.k.sender, "s")
				r1 := e.login(e.k.recipient, "r1")
				now := time.Now()
				unmet := amp.Rule{Condition: condExpireAt, Action: a, Value: formatDateTime(now.Add(time.Hour))}
				met := amp.Rule{Condition: condExpireAt, Action: a, Value: formatDateTime(now.Add(-time.Hour))}
				msg := e.message(r1.jid.String(), rules(unmet, met))
				e.send(s, msg)
				e.exchange(e.acted(a, s, msg, met, r1)...)
			},
		},
		{
			name:       fmt.Sprintf("§3.3.2/expire-at=passes-while-stored/%s", a),
			doc:        fmt.Sprintf("%s expire-at rule that passes while the message is stored is met when the message is dispatched at login", withArticle(a)),
			actions:    []amp.Action{a},
			conditions: []amp.Condition{condExpireAt},
			run: func(e *env) {
				s := e.login(e.k.sender, "s")
				// expire-at has whole seconds: round up so that the time
				// is at least ExpireWindow away.
				at := time.Now().Add(e.k.s.ExpireWindow).Truncate(time.Second).Add(time.Second)
				met := amp.Rule{Condition: condExpireAt, Action: a, Value: formatDateTime(at)}
				msg := e.message(e.jid(e.k.recipient), rules(met))
				e.send(s, msg)
				e.quiet()
				time.Sleep(time.Until(at) + 200*time.Millisecond)
				r1 := e.login(e.k.recipient, "r1")
				e.exchange(e.acted(a, s, msg, met, r1)...)
			},
		},
		match(matchAny, "", fmt.Sprintf("%s match-resource=any rule is met for a message delivered to an online resource", withArticle(a)), false),
		match(matchExact, matchOther, fmt.Sprintf("%s match-resource=exact rule is met for a message to the online resource it names, and an other rule before it is not", withArticle(a)), false),
		match(matchOther, matchExact, fmt.Sprintf("%s match-resource=other rule is met for a message to an offline resource delivered to another, and an exact rule before it is not", withArticle(a)), true),
	}
}

// needsOtherResource skips the scenario when the server does not deliver
// a message for the offline resource to to another resource, which RFC
// 6121 §8.5.3.2.1 allows: match-resource=other cannot be produced there.
func (e *env) needsOtherResource(s *conn, to string, r1, r2 *conn) {
	probe := e.message(to, nil)
	e.send(s, probe)
	w := &want{to: []*conn{s, r1, r2}, desc: "the probe for an offline resource", match: func(el *etree.Element) bool {
		return bodyText(el) == bodyText(probe) || (attrValue(el, "type") == "error" && attrValue(el, "id") == attrValue(probe, "id"))
	}}
	e.exchange(w)
	if len(e.problems) > 0 {
		panic(errStop)
	}
	if w.on == s {
		e.skipf("the server answers a message for an offline resource with %s instead of delivering it to another resource (RFC 6121 §8.5.3.2.1)", errorKind(w.got))
	}
}

func stagedScenarios() []scenario {
	return []scenario{{
		name:       "§3.3.1/deliver=none/unknown-user/notify",
		doc:        "a notify deliver=none rule is met for a message to a user the server does not know; a service-unavailable error may follow",
		actions:    []amp.Action{amp.ActionNotify},
		conditions: []amp.Condition{condDeliver},
		run: func(e *env) {
			s := e.login(e.k.sender, "s")
			rule := amp.Rule{Condition: condDeliver, Action: amp.ActionNotify, Value: deliverNone}
			msg := e.message(e.token+"-nobody@"+e.k.s.Domain, rules(rule))
			e.send(s, msg)
			ev := e.event(s, msg, amp.ActionNotify, rule)
			ev.optional = true
			// XEP-0160 answers a message nobody receives with
			// service-unavailable; a server may also hide whether a user
			// exists, as §9 hides presence, and refuse the rule.
			bounce := &want{to: []*conn{s}, optional: true, desc: "service-unavailable", match: func(el *etree.Element) bool {
				return attrValue(el, "type") == "error" && errorKind(el) == "service-unavailable"
			}}
			refusal := &want{to: []*conn{s}, optional: true, desc: "the refusal", match: func(el *etree.Element) bool {
				return attrValue(el, "type") == "error" && errorKind(el) == "not-acceptable"
			}}
			e.exchange(bounce, refusal, ev)
			switch {
			case refusal.got != nil && ev.got == nil:
				e.skipf("the server refuses notify rules for a user it does not know (not-acceptable), as §9 allows")
			case ev.got == nil:
				e.errorf("%s: nothing arrived within %v", ev.desc, e.k.s.Timeout)
			}
		},
	}, {
		name:       "§2.2.3/staged/dispatch-evaluates-again",
		doc:        "a stored message's rules are evaluated again when it is dispatched at login: deliver=stored fires at storage, deliver=direct at dispatch",
		actions:    []amp.Action{amp.ActionNotify},
		conditions: []amp.Condition{condDeliver},
		run: func(e *env) {
			s := e.login(e.k.sender, "s")
			stored := amp.Rule{Condition: condDeliver, Action: amp.ActionNotify, Value: deliverStored}
			direct := amp.Rule{Condition: condDeliver, Action: amp.ActionNotify, Value: deliverDirect}
			msg := e.message(e.jid(e.k.recipient), rules(stored, direct))
			e.send(s, msg)
			e.exchange(e.event(s, msg, amp.ActionNotify, stored))
			r1 := e.login(e.k.recipient, "r1")
			e.exchange(e.event(s, msg, amp.ActionNotify, direct), e.delivered(s, msg, r1))
		},
	}, {
		name:       "§2.2.3/staged/fired-rule-does-not-fire-again",
		doc:        "a rule that fired when the message was stored does not fire again at dispatch, though it is still met",
		actions:    []amp.Action{amp.ActionNotify},
		conditions: []amp.Condition{condExpireAt},
		run: func(e *env) {
			s := e.login(e.k.sender, "s")
			past := amp.Rule{Condition: condExpireAt, Action: amp.ActionNotify, Value: formatDateTime(time.Now().Add(-time.Hour))}
			msg := e.message(e.jid(e.k.recipient), rules(past))
			e.send(s, msg)
			e.exchange(e.event(s, msg, amp.ActionNotify, past))
			r1 := e.login(e.k.recipient, "r1")
			e.exchange(e.delivered(s, msg, r1))
		},
	}, {
		name:       "§3.3.2/expire-at=future",
		doc:        "expire-at rules an hour ahead are not met: the message is delivered and nobody is told",
		conditions: []amp.Condition{condExpireAt},
		run: func(e *env) {
			s := e.login(e.k.sender, "s")
			r1 := e.login(e.k.recipient, "r1")
			rs := rules()
			for _, a := range e.supportedActions() {
				rs.Rules = append(rs.Rules, amp.Rule{Condition: condExpireAt, Action: a, Value: formatDateTime(time.Now().Add(time.Hour))})
			}
			msg := e.message(r1.jid.String(), rs)
			e.send(s, msg)
			e.exchange(e.delivered(s, msg, r1))
		},
	}}
}

// supportedActions returns the XEP's actions the server advertises.
func (e *env) supportedActions() []amp.Action {
	var out []amp.Action
	for _, a := range xepActions {
		if e.k.sup.actions[a] {
			out = append(out, a)
		}
	}
	return out
}

// inert returns a rule the server supports that is not met for a message
// to an online resource named exactly: the filler of the validation
// scenarios. Its action is notify when the server supports it.
func (e *env) inert() amp.Rule {
	acts := e.supportedActions()
	if len(acts) == 0 {
		e.skipf("the server advertises none of the actions XEP-0079 defines")
	}
	a := acts[len(acts)-1] // notify when supported: the XEP's order ends with it
	switch {
	case e.k.sup.conditions[condDeliver]:
		return amp.Rule{Condition: condDeliver, Action: a, Value: deliverStored}
	case e.k.sup.conditions[condExpireAt]:
		return amp.Rule{Condition: condExpireAt, Action: a, Value: formatDateTime(time.Now().Add(24 * time.Hour))}
	case e.k.sup.conditions[condMatchResource]:
		return amp.Rule{Condition: condMatchResource, Action: a, Value: matchOther}
	}
	e.skipf("the server advertises none of the conditions XEP-0079 defines")
	return amp.Rule{}
}

// refusal sends rs from the sender to an online recipient resource and
// wants the refusal of kind listing listed, the message not delivered.
func (e *env) refusal(rs *amp.RuleSet, kind error, listed func(rs []amp.Rule) []amp.Rule, edit func(msg *etree.Element)) {
	s := e.login(e.k.sender, "s")
	r1 := e.login(e.k.recipient, "r1")
	msg := e.message(r1.jid.String(), rs)
	if edit != nil {
		edit(msg)
	}
	e.send(s, msg)
	var l []amp.Rule
	if listed != nil {
		l = listed(requestRules(msg))
	}
	e.exchange(e.refused(s, msg, kind, l))
}

// pick returns a func that picks the rules at the positions i.
func pick(i ...int) func([]amp.Rule) []amp.Rule {
	return func(rs []amp.Rule) []amp.Rule {
		var out []amp.Rule
		for _, j := range i {
			if j < len(rs) {
				out = append(out, rs[j])
			}
		}
		return out
	}
}

const (
	unknownAction    = amp.Action("amptest-unknown")
	unknownCondition = amp.Condition("amptest-unknown")
	bogusValue       = "amptest-bogus"
)

func validationScenarios() []scenario {
	v := func(name, doc string, run func(e *env)) scenario {
		return scenario{name: "§2.2.1/" + name, doc: doc, run: run}
	}
	out := []scenario{
		v("unsupported-action", "an action the XEP does not define is refused: bad-request, <unsupported-actions/> listing the rule", func(e *env) {
			in := e.inert()
			e.refusal(rules(in, amp.Rule{Condition: in.Condition, Action: unknownAction, Value: in.Value}), amp.ErrUnsupportedAction, pick(1), nil)
		}),
		v("unsupported-condition", "a condition the XEP does not define is refused: bad-request, <unsupported-conditions/> listing the rule", func(e *env) {
			in := e.inert()
			e.refusal(rules(in, amp.Rule{Condition: unknownCondition, Action: in.Action, Value: "x"}), amp.ErrUnsupportedCondition, pick(1), nil)
		}),
		v("not-acceptable/value", "a value the condition does not define is refused: not-acceptable, <invalid-rules/> listing the rule", func(e *env) {
			in := e.inert()
			e.refusal(rules(in, amp.Rule{Condition: in.Condition, Action: in.Action, Value: bogusValue}), amp.ErrNotAcceptable, pick(1), nil)
		}),
		v("not-acceptable/missing-value", "a rule without a value is refused: not-acceptable, <invalid-rules/> listing the rule as written", func(e *env) {
			in := e.inert()
			e.refusal(rules(amp.Rule{Condition: in.Condition, Action: in.Action}), amp.ErrNotAcceptable, pick(0), nil)
		}),
		{
			name:       "§2.2.1/not-acceptable/expire-at-not-utc",
			doc:        "an expire-at that is not in UTC is refused: not-acceptable",
			conditions: []amp.Condition{condExpireAt},
			run: func(e *env) {
				in := e.inert()
				e.refusal(rules(amp.Rule{Condition: condExpireAt, Action: in.Action, Value: "2030-01-01T00:00:00+02:00"}), amp.ErrNotAcceptable, pick(0), nil)
			},
		},
		v("precedence/missing-value-before-unsupported-action", "a rule that lacks its value and names an unknown action is not acceptable: attributes are checked first", func(e *env) {
			in := e.inert()
			e.refusal(rules(amp.Rule{Condition: in.Condition, Action: unknownAction}), amp.ErrNotAcceptable, pick(0), nil)
		}),
		v("precedence/action-before-condition", "a rule with an unknown action and an unknown condition is an unsupported action", func(e *env) {
			e.refusal(rules(amp.Rule{Condition: unknownCondition, Action: unknownAction, Value: "x"}), amp.ErrUnsupportedAction, pick(0), nil)
		}),
		v("precedence/condition-before-value", "a rule with an unknown condition and a value no condition defines is an unsupported condition", func(e *env) {
			in := e.inert()
			e.refusal(rules(amp.Rule{Condition: unknownCondition, Action: in.Action, Value: bogusValue}), amp.ErrUnsupportedCondition, pick(0), nil)
		}),
		v("precedence/first-failing-rule-decides", "the first failing rule decides the kind, and the error lists every rule failing with that kind, in order", func(e *env) {
			in := e.inert()
			bad1 := amp.Rule{Condition: in.Condition, Action: in.Action, Value: bogusValue}
			unknown := amp.Rule{Condition: in.Condition, Action: unknownAction, Value: in.Value}
			bad2 := amp.Rule{Condition: in.Condition, Action: in.Action, Value: bogusValue + "-2"}
			e.refusal(rules(in, bad1, unknown, bad2), amp.ErrNotAcceptable, pick(1, 3), nil)
		}),
		v("request/no-id", "a request on a message without an id is refused with a plain bad-request: no event could name the message", func(e *env) {
			e.refusal(rules(e.inert()), amp.ErrBadRequest, nil, func(msg *etree.Element) { msg.RemoveAttr("id") })
		}),
		v("request/bad-per-hop", "a per-hop other than true or false is refused with a plain bad-request", func(e *env) {
			e.refusal(rules(e.inert()), amp.ErrBadRequest, nil, func(msg *etree.Element) {
				child(msg, amp.NS, "amp").CreateAttr("per-hop", "maybe")
			})
		}),
		v("request/no-rule", "an <amp/> without a rule is refused with a plain bad-request", func(e *env) {
			e.refusal(rules(), amp.ErrBadRequest, nil, nil)
		}),
		v("limit/max-rules", "a request with MaxRules rules is accepted", func(e *env) {
			s := e.login(e.k.sender, "s")
			r1 := e.login(e.k.recipient, "r1")
			rs := rules()
			in := e.inert()
			for range e.k.s.MaxRules {
				rs.Rules = append(rs.Rules, in)
			}
			msg := e.message(r1.jid.String(), rs)
			e.send(s, msg)
			e.exchange(e.delivered(s, msg, r1))
		}),
		v("limit/max-rules-exceeded", "a request with more than MaxRules rules is not acceptable, <invalid-rules/> listing the rules past the limit", func(e *env) {
			rs := rules()
			in := e.inert()
			for range e.k.s.MaxRules + 1 {
				rs.Rules = append(rs.Rules, in)
			}
			e.refusal(rs, amp.ErrNotAcceptable, pick(e.k.s.MaxRules), nil)
		}),
	}
	for _, a := range xepActions {
		out = append(out, scenario{
			name: fmt.Sprintf("§2.2.1/unadvertised-action/%s", a),
			doc:  fmt.Sprintf("an action the server does not advertise, %s, is refused: bad-request, <unsupported-actions/>", a),
			run: func(e *env) {
				if e.k.sup.actions[a] {
					e.skipf("the server advertises %s?action=%s", amp.NS, a)
				}
				in := e.inert()
				e.refusal(rules(amp.Rule{Condition: in.Condition, Action: a, Value: in.Value}), amp.ErrUnsupportedAction, pick(0), nil)
			},
		})
	}
	for _, c := range xepConditions {
		out = append(out, scenario{
			name: fmt.Sprintf("§2.2.1/unadvertised-condition/%s", c),
			doc:  fmt.Sprintf("a condition the server does not advertise, %s, is refused: bad-request, <unsupported-conditions/>", c),
			run: func(e *env) {
				if e.k.sup.conditions[c] {
					e.skipf("the server advertises %s?condition=%s", amp.NS, c)
				}
				in := e.inert()
				e.refusal(rules(amp.Rule{Condition: c, Action: in.Action, Value: validValue(c)}), amp.ErrUnsupportedCondition, pick(0), nil)
			},
		})
	}
	return out
}

// validValue returns a value condition c defines.
func validValue(c amp.Condition) string {
	switch c {
	case condExpireAt:
		return formatDateTime(time.Now().Add(24 * time.Hour))
	case condMatchResource:
		return matchOther
	}
	return deliverStored
}

func securityScenarios() []scenario {
	var out []scenario
	for _, a := range []amp.Action{amp.ActionAlert, amp.ActionError, amp.ActionNotify} {
		out = append(out, scenario{
			name:       fmt.Sprintf("§9/no-subscription/%s", a),
			doc:        fmt.Sprintf("%s rule from a sender who may not see the recipient's presence is refused: not-acceptable", withArticle(a)),
			actions:    []amp.Action{a},
			conditions: []amp.Condition{condDeliver},
			outsider:   true,
			run: func(e *env) {
				u := e.login(e.k.outsider, "u")
				r1 := e.login(e.k.recipient, "r1")
				rule := amp.Rule{Condition: condDeliver, Action: a, Value: deliverDirect}
				msg := e.message(r1.jid.String(), rules(rule))
				e.send(u, msg)
				e.exchange(e.refused(u, msg, amp.ErrNotAcceptable, []amp.Rule{rule}))
			},
		})
	}
	return append(out, scenario{
		name:       "§9/no-subscription/drop",
		doc:        "a drop rule from a sender who may not see the recipient's presence leaks nothing and is applied",
		actions:    []amp.Action{amp.ActionDrop},
		conditions: []amp.Condition{condDeliver},
		outsider:   true,
		run: func(e *env) {
			u := e.login(e.k.outsider, "u")
			r1 := e.login(e.k.recipient, "r1")
			msg := e.message(r1.jid.String(), rules(amp.Rule{Condition: condDeliver, Action: amp.ActionDrop, Value: deliverDirect}))
			e.send(u, msg)
			e.quiet()
		},
	})
}

func neverScenarios() []scenario {
	return []scenario{{
		name:       "§2.2.5/no-body-in-event",
		doc:        "an event carries none of the original message's children: no body, subject or thread",
		actions:    []amp.Action{amp.ActionNotify},
		conditions: []amp.Condition{condDeliver},
		run: func(e *env) {
			s := e.login(e.k.sender, "s")
			r1 := e.login(e.k.recipient, "r1")
			rule := amp.Rule{Condition: condDeliver, Action: amp.ActionNotify, Value: deliverDirect}
			msg := e.message(r1.jid.String(), rules(rule))
			msg.CreateElement("subject").SetText("amptest subject")
			msg.CreateElement("thread").SetText(e.token + "-thread")
			e.send(s, msg)
			e.exchange(e.event(s, msg, amp.ActionNotify, rule), e.delivered(s, msg, r1))
		},
	}, {
		name: "§2.2.4/no-amp-on-delivered-message",
		doc:  "a message handed to the recipient's client no longer carries <amp/>, even when no rule was met",
		run: func(e *env) {
			s := e.login(e.k.sender, "s")
			r1 := e.login(e.k.recipient, "r1")
			msg := e.message(r1.jid.String(), rules(e.inert()))
			e.send(s, msg)
			e.exchange(e.delivered(s, msg, r1))
		},
	}, {
		name:       "§2.2.5/no-event-for-an-event",
		doc:        "a message carrying an event (<amp status=.../>) is not processed: no event comes back for it",
		conditions: []amp.Condition{condDeliver},
		run: func(e *env) {
			s := e.login(e.k.sender, "s")
			r1 := e.login(e.k.recipient, "r1")
			in := e.inert()
			msg := e.message(r1.jid.String(), rules(amp.Rule{Condition: condDeliver, Action: in.Action, Value: deliverDirect}))
			a := child(msg, amp.NS, "amp")
			a.CreateAttr("status", string(in.Action))
			a.CreateAttr("from", s.jid.String())
			a.CreateAttr("to", r1.jid.String())
			e.send(s, msg)
			e.exchange(passedOn(msg, r1))
		},
	}, {
		name:       "§2.2.5/no-event-for-an-error",
		doc:        "a message of type error is not processed: no event comes back for it",
		conditions: []amp.Condition{condDeliver},
		run: func(e *env) {
			s := e.login(e.k.sender, "s")
			r1 := e.login(e.k.recipient, "r1")
			in := e.inert()
			msg := e.message(r1.jid.String(), rules(amp.Rule{Condition: condDeliver, Action: in.Action, Value: deliverDirect}))
			msg.CreateAttr("type", "error")
			e.send(s, msg)
			e.exchange(passedOn(msg, r1))
		},
	}}
}

// passedOn allows msg, which the server must not process, to reach the
// recipient session r1 as it is or not at all.
func passedOn(msg *etree.Element, r1 *conn) *want {
	body := bodyText(msg)
	return &want{to: []*conn{r1}, optional: true, desc: "the unprocessed message", match: func(el *etree.Element) bool {
		return strings.Contains(serialize(el), body)
	}}
}

// withArticle returns "an alert", "a drop" and so on, for the docs.
func withArticle(a amp.Action) string {
	if strings.ContainsRune("aeiou", rune(a[0])) {
		return "an " + string(a)
	}
	return "a " + string(a)
}
