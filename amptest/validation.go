package amptest

import (
	"fmt"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

const (
	unknownAction    = amp.Action("amptest-unknown")
	unknownCondition = amp.Condition("amptest-unknown")
	bogusValue       = "amptest-bogus"
)

// refusalCase is one row of the validation scenarios: a request built
// around in, a rule the server supports that is not met, and the refusal
// it must get.
type refusalCase struct {
	name  string
	level Level
	req   string // "" for reqValid
	doc   string
	cond  amp.Condition // a condition the case needs advertised, or ""
	rules func(in amp.Rule) []amp.Rule
	edit  func(msg *etree.Element) // changes the message, or nil
	kind  error
	// listed are the positions of the rules the error must list.
	listed []int
}

const (
	reqPrecedence = "project: §2.2.1 asks only that the server \"SHOULD validate all the semantics before returning an error\"; the project checks a rule's attributes, then its action, then its condition, then its value, and the first failing rule in document order decides the kind."
	reqRequest    = "project: §1.3 says the message MUST possess a non-empty 'id' and §4.1 that per-hop MUST be \"true\" or \"false\", but not what a server answers otherwise; the project refuses the request with a plain bad-request, since no event could name it."
)

var refusalCases = []refusalCase{
	{name: "unsupported-action", level: Must, doc: "an action the XEP does not define is refused: bad-request, <unsupported-actions/> listing the rule",
		rules: func(in amp.Rule) []amp.Rule { return []amp.Rule{in, rule(in.Condition, unknownAction, in.Value)} },
		kind:  amp.ErrUnsupportedAction, listed: []int{1}},
	{name: "unsupported-condition", level: Must, doc: "a condition the XEP does not define is refused: bad-request, <unsupported-conditions/> listing the rule",
		rules: func(in amp.Rule) []amp.Rule { return []amp.Rule{in, rule(unknownCondition, in.Action, "x")} },
		kind:  amp.ErrUnsupportedCondition, listed: []int{1}},
	{name: "not-acceptable/value", level: Must, doc: "a value the condition does not define is refused: not-acceptable, <invalid-rules/> listing the rule",
		rules: func(in amp.Rule) []amp.Rule { return []amp.Rule{in, rule(in.Condition, in.Action, bogusValue)} },
		kind:  amp.ErrNotAcceptable, listed: []int{1}},
	{name: "not-acceptable/missing-value", level: Must, doc: "a rule without a value is refused: not-acceptable, <invalid-rules/> listing the rule as written",
		req:   "§4.2: The 'value' attribute [...] MUST be present, and MUST NOT be an empty string. " + reqValid,
		rules: func(in amp.Rule) []amp.Rule { return []amp.Rule{rule(in.Condition, in.Action, "")} },
		kind:  amp.ErrNotAcceptable, listed: []int{0}},
	{name: "not-acceptable/expire-at-not-utc", level: Must, doc: "an expire-at that is not in UTC is refused: not-acceptable",
		req:  "§3.3.2: the content MUST be a DateTime as specified in XEP-0082, and the timezone MUST be UTC. " + reqValid,
		cond: amp.ConditionExpireAt,
		rules: func(in amp.Rule) []amp.Rule {
			return []amp.Rule{rule(amp.ConditionExpireAt, in.Action, "2030-01-01T00:00:00+02:00")}
		},
		kind: amp.ErrNotAcceptable, listed: []int{0}},
	{name: "precedence/missing-value-before-unsupported-action", level: Project, req: reqPrecedence,
		doc:   "a rule that lacks its value and names an unknown action is not acceptable: attributes are checked first",
		rules: func(in amp.Rule) []amp.Rule { return []amp.Rule{rule(in.Condition, unknownAction, "")} },
		kind:  amp.ErrNotAcceptable, listed: []int{0}},
	{name: "precedence/action-before-condition", level: Project, req: reqPrecedence,
		doc:   "a rule with an unknown action and an unknown condition is an unsupported action",
		rules: func(amp.Rule) []amp.Rule { return []amp.Rule{rule(unknownCondition, unknownAction, "x")} },
		kind:  amp.ErrUnsupportedAction, listed: []int{0}},
	{name: "precedence/condition-before-value", level: Project, req: reqPrecedence,
		doc:   "a rule with an unknown condition and a value no condition defines is an unsupported condition",
		rules: func(in amp.Rule) []amp.Rule { return []amp.Rule{rule(unknownCondition, in.Action, bogusValue)} },
		kind:  amp.ErrUnsupportedCondition, listed: []int{0}},
	{name: "precedence/first-failing-rule-decides", level: Project, req: reqPrecedence,
		doc: "the first failing rule decides the kind, and the error lists every rule failing with that kind, in order",
		rules: func(in amp.Rule) []amp.Rule {
			return []amp.Rule{in, rule(in.Condition, in.Action, bogusValue), rule(in.Condition, unknownAction, in.Value), rule(in.Condition, in.Action, bogusValue+"-2")}
		},
		kind: amp.ErrNotAcceptable, listed: []int{1, 3}},
	{name: "request/no-id", level: Project, req: reqRequest,
		doc:   "a request on a message without an id is refused with a plain bad-request: no event could name the message",
		rules: func(in amp.Rule) []amp.Rule { return []amp.Rule{in} },
		edit:  func(msg *etree.Element) { msg.RemoveAttr("id") },
		kind:  amp.ErrBadRequest},
	{name: "request/bad-per-hop", level: Project, req: reqRequest,
		doc:   "a per-hop other than true or false is refused with a plain bad-request",
		rules: func(in amp.Rule) []amp.Rule { return []amp.Rule{in} },
		edit:  func(msg *etree.Element) { child(msg, amp.NS, "amp").CreateAttr("per-hop", "maybe") },
		kind:  amp.ErrBadRequest},
	{name: "request/no-rule", level: Project, req: "project: the XEP's schema wants at least one <rule/>, but says not what a server answers otherwise; the project refuses with a plain bad-request.",
		doc:   "an <amp/> without a rule is refused with a plain bad-request",
		rules: func(amp.Rule) []amp.Rule { return nil },
		kind:  amp.ErrBadRequest},
}

func validationScenarios() []scenario {
	var out []scenario
	for _, rc := range refusalCases {
		req := rc.req
		if req == "" {
			req = reqValid
		}
		sc := scenario{name: "§2.2.1/" + rc.name, level: rc.level, req: req, doc: rc.doc, run: func(e *env) {
			in := e.inert()
			rs := rc.rules(in)
			var listed []amp.Rule
			for _, i := range rc.listed {
				listed = append(listed, rs[i])
			}
			e.refusal(rules(rs...), rc.level, rc.kind, listed, rc.edit)
		}}
		if rc.cond != "" {
			sc.conditions = []amp.Condition{rc.cond}
		}
		out = append(out, sc)
	}
	return append(append(out, limitScenarios()...), unadvertisedScenarios()...)
}

// limitScenarios check the server's rule limit, when it is given.
func limitScenarios() []scenario {
	const reqLimit = "project: the XEP sets no limit; the project accepts at most MaxRules rules in a request and refuses more as not acceptable, listing the rules past the limit, so that one stanza's cost is bounded."
	return []scenario{{
		name: "§2.2.1/limit/max-rules", level: Project, req: reqLimit, needs: needMaxRules,
		doc: "a request with MaxRules rules is accepted",
		run: func(e *env) {
			s, r1 := e.login(e.k.sender, "s"), e.login(e.k.recipient, "r1")
			msg := e.message(r1.jid.String(), rules(e.repeat(e.k.s.MaxRules)...))
			e.send(s, msg)
			e.exchange(e.delivered(s, msg, r1))
		},
	}, {
		name: "§2.2.1/limit/max-rules-exceeded", level: Project, req: reqLimit, needs: needMaxRules,
		doc: "a request with more than MaxRules rules is not acceptable, <invalid-rules/> listing the rules past the limit",
		run: func(e *env) {
			rs := e.repeat(e.k.s.MaxRules + 1)
			e.refusal(rules(rs...), Project, amp.ErrNotAcceptable, rs[e.k.s.MaxRules:], nil)
		},
	}}
}

// unadvertisedScenarios use each action and condition of the XEP the
// server does not advertise.
func unadvertisedScenarios() []scenario {
	var out []scenario
	const reqAdvertised = "§2.1.1: a server SHOULD [...] maintain a service discovery node [...] at which it advertises the individual actions and conditions it supports. " + reqValid
	for _, a := range xepActions {
		out = append(out, scenario{
			name: fmt.Sprintf("§2.2.1/unadvertised-action/%s", a), level: Should, req: reqAdvertised,
			doc: fmt.Sprintf("an action the server does not advertise, %s, is refused: bad-request, <unsupported-actions/>", a),
			run: func(e *env) {
				if e.k.sup.assumed {
					e.skipf("the server gives no list at its node: every action is assumed supported (§2.1.1)")
				}
				if e.k.sup.actions[a] {
					e.skipf("the server advertises %s?action=%s", amp.NS, a)
				}
				in := e.inert()
				r := rule(in.Condition, a, in.Value)
				e.refusal(rules(r), Should, amp.ErrUnsupportedAction, []amp.Rule{r}, nil)
			},
		})
	}
	for _, c := range xepConditions {
		out = append(out, scenario{
			name: fmt.Sprintf("§2.2.1/unadvertised-condition/%s", c), level: Should, req: reqAdvertised,
			doc: fmt.Sprintf("a condition the server does not advertise, %s, is refused: bad-request, <unsupported-conditions/>", c),
			run: func(e *env) {
				if e.k.sup.assumed {
					e.skipf("the server gives no list at its node: every condition is assumed supported (§2.1.1)")
				}
				if e.k.sup.conditions[c] {
					e.skipf("the server advertises %s?condition=%s", amp.NS, c)
				}
				r := rule(c, e.inert().Action, validValue(c))
				e.refusal(rules(r), Should, amp.ErrUnsupportedCondition, []amp.Rule{r}, nil)
			},
		})
	}
	return out
}

// repeat returns n copies of the inert rule.
func (e *env) repeat(n int) []amp.Rule {
	in := e.inert()
	out := make([]amp.Rule, n)
	for i := range out {
		out[i] = in
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
	for _, c := range xepConditions {
		if e.k.sup.conditions[c] {
			return rule(c, a, validValue(c))
		}
	}
	e.skipf("the server advertises none of the conditions XEP-0079 defines")
	return amp.Rule{}
}

// validValue returns a value of condition c that is not met for a message
// to an online resource named exactly.
func validValue(c amp.Condition) string {
	switch c {
	case amp.ConditionExpireAt:
		return formatDateTime(time.Now().Add(24 * time.Hour))
	case amp.ConditionMatchResource:
		return "other"
	}
	return "stored"
}

// refusal sends rs from the sender to an online recipient resource and
// wants the refusal of kind listing listed, the message not delivered.
func (e *env) refusal(rs *amp.RuleSet, level Level, kind error, listed []amp.Rule, edit func(msg *etree.Element)) {
	s, r1 := e.login(e.k.sender, "s"), e.login(e.k.recipient, "r1")
	msg := e.message(r1.jid.String(), rs)
	if edit != nil {
		edit(msg)
	}
	e.send(s, msg)
	e.exchangeExtra(func(*etree.Element) (Level, bool) { return level, true }, e.refused(s, msg, level, kind, listed))
}
