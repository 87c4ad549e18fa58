package amptest

import (
	"slices"
	"strings"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// scenario is one check of the kit. To add one, write it in the table of
// its concern (discovery below, actions.go, lifecycle.go, validation.go,
// security.go): a name, its level and requirement, and what it runs.
type scenario struct {
	// name starts with the XEP section: "§3.3.1/deliver=direct/notify".
	name string
	// level and req are the requirement checked: req quotes the XEP, or
	// says what the project reads and why.
	level Level
	req   string
	doc   string
	// actions and conditions are what the scenario needs the server to
	// advertise; it is skipped otherwise.
	actions    []amp.Action
	conditions []amp.Condition
	needs      need
	run        func(e *env)
}

// need is what else a scenario needs from the Server's description.
type need int

const (
	needOutsider need = 1 << iota // an account the recipient has not authorized
	needOneWay                    // the first pair is subscribed one way only
	needRestart                   // Server.Restart
	needClock                     // Server.SetTime
	needMaxRules                  // Server.MaxRules
)

// allScenarios returns every scenario, in the order they run. The list is
// the same for every server; the kit skips what a server's support rules
// out.
func allScenarios() []scenario {
	out := discoveryScenarios()
	for _, a := range xepActions {
		out = append(out, actionScenarios(a)...)
	}
	out = append(out, lifecycleScenarios()...)
	out = append(out, validationScenarios()...)
	out = append(out, securityScenarios()...)
	return append(out, neverScenarios()...)
}

// xepActions and xepConditions are what XEP-0079 defines, in its order.
var (
	xepActions    = []amp.Action{amp.ActionAlert, amp.ActionDrop, amp.ActionError, amp.ActionNotify}
	xepConditions = []amp.Condition{amp.ConditionDeliver, amp.ConditionExpireAt, amp.ConditionMatchResource}
)

// The XEP's words for the requirements most scenarios check.
const (
	reqProcess = "§2.2.3: The server MUST process the rules serially, and in the order they are presented within the <amp/> element. As soon as a rule's condition is met, processing ends with that action overriding the default action determined earlier (unless the action permits continued processing)."
	reqValid   = "§2.2.1: at the very least the server MUST verify that it understands each of the rule conditions and actions, and that the condition contents are appropriate. [...] If the semantics are not valid, supported, or acceptable, the server MUST reply with an error specifying the rule(s) that are at issue."
)

// reqAction is what the XEP asks of each action.
var reqAction = map[amp.Action]string{
	amp.ActionAlert:  "§3.4.1: This <message/> stanza MUST contain the element <amp status='alert'/>, which itself contains the <rule/> that triggered this action. In all other respects, this action behaves as \"drop\".",
	amp.ActionDrop:   "§3.4.2: The \"drop\" action silently discards the message from any further delivery attempts and ensures that it is not placed into offline storage. The drop MUST NOT result in other responses.",
	amp.ActionError:  "§3.4.3: The <message/> stanza's <error/> child MUST contain a <failed-rules xmlns='http://jabber.org/protocol/amp#errors'/> error condition, which itself contains the rules that triggered this action.",
	amp.ActionNotify: "§3.4.4: This <message/> stanza MUST contain the element <amp status='notify'/>, which itself contains the <rule/> that triggered this action. [...] the server then executes its default behavior after sending the notify.",
}

func discoveryScenarios() []scenario {
	return []scenario{{
		name:  "§2.1.1/disco/root-feature",
		level: Must,
		req:   "§2.1.1: If a server supports Advanced Message Processing, it MUST report that by including a service discovery feature of \"http://jabber.org/protocol/amp\" in the service discovery information result that it returns.",
		doc:   "the server's root disco#info lists " + amp.NS,
		run: func(e *env) {
			e.discoStanzas()
			if e.k.sup.rootErr != "" {
				e.stop(Must, "disco#info at the root: %s", e.k.sup.rootErr)
			}
			if !slices.Contains(e.k.sup.root, amp.NS) {
				e.problem(Must, "the root features %q do not include %s", e.k.sup.root, amp.NS)
			}
		},
	}, {
		name:  "§2.1.1/disco/node",
		level: Should,
		req:   "§2.1.1: A server SHOULD also maintain a service discovery node named \"http://jabber.org/protocol/amp\", at which it advertises the individual actions and conditions it supports.",
		doc:   "disco#info at the node " + amp.NS + " lists the ?action= and ?condition= features of what the server supports",
		run: func(e *env) {
			e.discoStanzas()
			if e.k.sup.nodeErr != "" {
				e.stop(Should, "disco#info at the node %s: %s", amp.NS, e.k.sup.nodeErr)
			}
			if len(e.k.sup.actions) == 0 {
				e.problem(Should, "the node lists no %s?action= feature", amp.NS)
			}
			if len(e.k.sup.conditions) == 0 {
				e.problem(Should, "the node lists no %s?condition= feature", amp.NS)
			}
			if !slices.Contains(e.k.sup.node, amp.NS) {
				e.problem(Project, "the node's features %q do not include %s itself, as its example does", e.k.sup.node, amp.NS)
			}
		},
	}, {
		name:  "§8/stream-feature",
		level: May,
		req:   "§8: the receiving entity [...] MAY announce support for Advanced Message Processing by including the relevant stream feature.",
		doc:   "the stream features list <amp xmlns='" + amp.NSFeature + "'/>",
		run: func(e *env) {
			if !e.k.sup.streamFeature {
				e.problem(May, "no <amp xmlns='%s'/> among the stream features", amp.NSFeature)
			}
		},
	}}
}

// discoStanzas adds the discovery's stanzas and streams to the scenario's
// transcript.
func (e *env) discoStanzas() {
	e.log.mu.Lock()
	defer e.log.mu.Unlock()
	e.log.stanzas = append(e.log.stanzas, e.k.sup.stanzas...)
	for _, s := range e.k.sup.streams {
		r := &recording{label: s.Session, chunks: s.Chunks}
		e.log.streams = append(e.log.streams, r)
	}
}

// rules returns a rule set of rules.
func rules(rs ...amp.Rule) *amp.RuleSet { return &amp.RuleSet{Rules: rs} }

// rule returns the rule "a if c is v".
func rule(c amp.Condition, a amp.Action, v string) amp.Rule {
	return amp.Rule{Condition: c, Action: a, Value: v}
}

// acted returns what is wanted once met, a rule of msg, is met: notify
// sends its event and the message goes on to the recipient sessions to;
// alert sends its event and error its error, and the message is not
// delivered; drop sends nothing. A message delivered to several sessions
// is wanted on each.
func (e *env) acted(sender *conn, msg *etree.Element, met amp.Rule, to ...*conn) []*want {
	switch met.Action {
	case amp.ActionNotify:
		w := []*want{e.event(sender, msg, met.Action, met)}
		for _, c := range to {
			w = append(w, e.delivered(sender, msg, c))
		}
		return w
	case amp.ActionAlert:
		return []*want{e.event(sender, msg, met.Action, met)}
	case amp.ActionError:
		return []*want{e.failed(sender, msg, met)}
	}
	return nil
}

// decoyAction returns the action of the rule not met that a scenario puts
// before the rule met: another action than a that the server supports
// and whose firing shows (notify, then alert, then error), so that an
// event for the wrong rule cannot pass for the right one, even with the
// wrong value written in it.
func (e *env) decoyAction(a amp.Action) amp.Action {
	for _, d := range []amp.Action{amp.ActionNotify, amp.ActionAlert, amp.ActionError} {
		if d != a && e.k.sup.actions[d] {
			return d
		}
	}
	return a
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

// formatDateTime writes t as an XEP-0082 DateTime in UTC, as expire-at
// takes it, in whole seconds so that transcripts stay readable.
func formatDateTime(t time.Time) string { return amp.FormatDateTime(t.Truncate(time.Second)) }

// withArticle returns "an alert", "a drop" and so on, for the docs.
func withArticle(a amp.Action) string {
	if strings.ContainsRune("aeiou", rune(a[0])) {
		return "an " + string(a)
	}
	return "a " + string(a)
}
