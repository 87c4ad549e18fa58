package amp_test

import (
	_ "errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The parties of the tests' messages: the sender, the recipient as the
// sender addressed it, and the processing server.
const (
	sender    = "romeo@montague.lit/orchard"
	recipient = "juliet@capulet.lit/balcony"
	bare      = "juliet@capulet.lit"
	domain    = "capulet.lit"
)

var (
	allDeliveries = []amp.Delivery{amp.DeliveryDirect, amp.DeliveryForward, amp.DeliveryGateway, amp.DeliveryNone, amp.DeliveryStored}
	allActions    = []amp.Action{amp.ActionAlert, amp.ActionDrop, amp.ActionError, amp.ActionNotify}
)

func rule(c amp.Condition, a amp.Action, v string) amp.Rule {
	return amp.Rule{Condition: c, Action: a, Value: v}
}

// rulesXML writes rules as <rule/> elements, leaving out empty attributes.
func rulesXML(rules ...amp.Rule) string {
	var b strings.Builder
	for _, r := range rules {
		b.WriteString("<rule")
		for _, kv := range [][2]string{{"condition", string(r.Condition)}, {"action", string(r.Action)}, {"value", r.Value}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, " %s='%s'", kv[0], kv[1])
			}
		}
		b.WriteString("/>")
	}
	return b.String()
}

// message returns a chat message with id m1 and a body from sender to to,
// with an <amp/> that carries ampAttrs (" per-hop='true'", say) and holds
// rules, written as XML.
func message(t testing.TB, to, ampAttrs, rules string) *etree.Element {
	t.Helper()
	return readXML(t, fmt.Sprintf(`<message from='%s' to='%s' id='m1' type='chat'><body>secret</body><amp xmlns='%s'%s>%s</amp></message>`,
		sender, to, amp.NS, ampAttrs, rules))
}

func mustTime(s string) time.Time {
	t, err := amp.ParseDateTime(s)
	if err != nil {
		panic(err)
	}
	return t
}

// evaluate parses msg as the default server at hop for a sender with
// presence authorization, requires it to be acceptable, and evaluates it.
func evaluate(t testing.TB, p *amp.Processor, msg *etree.Element, hop amp.Hop, o amp.Outcome) amp.Result {
	t.Helper()
	req, err := p.Parse(msg, hop, amp.PresenceAuthorized)
	require.NoError(t, err)
	return req.Evaluate(o)
}

// effect is what a Result does: whether the server goes on, the action
// that overrode it, and what each reply is: its status, or
// "service-unavailable".
type effect struct {
	Proceed bool
	Action  amp.Action
	Replies []string
}

var goesOn = effect{Proceed: true}

// metRule is the effect of one met rule with action a.
func metRule(a amp.Action) effect {
	switch a {
	case amp.ActionNotify:
		return effect{Proceed: true, Replies: []string{"notify"}}
	case amp.ActionDrop:
		return effect{Action: a}
	}
	return effect{Action: a, Replies: []string{string(a)}}
}

// effectOf returns what res does for msg, after checking what every reply
// must be: from the server to the sender, with the message's id, without
// its body, and readable by ParseEvent.
func effectOf(t testing.TB, msg *etree.Element, res amp.Result) effect {
	t.Helper()
	e := effect{Proceed: res.Proceed(), Action: res.Action()}
	for _, reply := range res.Replies(domain) {
		ev := amp.ParseEvent(reply)
		require.NotNil(t, ev, "reply is not an AMP event: %s", writeXML(reply))
		assert.Equal(t, [3]string{domain, msg.SelectAttrValue("from", ""), msg.SelectAttrValue("id", "")},
			[3]string{reply.SelectAttrValue("from", ""), reply.SelectAttrValue("to", ""), ev.ID}, "reply from, to, id")
		assert.Nil(t, reply.SelectElement("body"), "a reply carries the body: %s", writeXML(reply))
		switch {
		case ev.Status != "":
			e.Replies = append(e.Replies, string(ev.Status))
		case ev.Err != nil && ev.Err.Kind == amp.ErrServiceUnavailable:
			e.Replies = append(e.Replies, "service-unavailable")
		default:
			t.Fatalf("unexpected reply %s", writeXML(reply))
		}
	}
	if !e.Proceed {
		assert.Nil(t, res.Message(), "Message when the server does not go on")
	}
	return e
}

// keptRules returns the rules of the <amp/> of a message passed on, as
// written, or nil when it has none.
func keptRules(t testing.TB, msg *etree.Element) []amp.Rule {
	t.Helper()
	require.NotNil(t, msg, "no message to pass on")
	// Read at a transit hop: rules that do not apply there are not checked.
	req, err := (*amp.Processor)(nil).Parse(msg, amp.HopTransit, amp.PresenceAuthorized)
	require.NoError(t, err)
	return req.Rules().Rules
}

func TestConditions(t *testing.T) {
	type row struct {
		name string
		rule amp.Rule // its action is each action in turn
		to   string
		o    amp.Outcome
		met  bool
	}
	var rows []row
	for _, value := range allDeliveries {
		for _, actual := range allDeliveries {
			rows = append(rows, row{fmt.Sprintf("deliver=%s/when-%s", value, actual),
				rule(amp.ConditionDeliver, "", string(value)), recipient,
				amp.Outcome{Delivery: actual, Resource: "balcony"}, value == actual})
		}
	}
	const at = "2026-11-25T12:00:00Z"
	atTime := mustTime(at)
	expire := rule(amp.ConditionExpireAt, "", at)
	direct := func(tm time.Time) amp.Outcome { return amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: tm} }
	rows = append(rows,
		row{"deliver=direct/when-no-delivery-stated", rule(amp.ConditionDeliver, "", "direct"), recipient, amp.Outcome{}, false},
		row{"expire-at/before", expire, recipient, direct(atTime.Add(-time.Nanosecond)), false},
		row{"expire-at/at", expire, recipient, direct(atTime), true},
		row{"expire-at/after", expire, recipient, direct(atTime.Add(time.Hour)), true},
		row{"expire-at/zero-time", rule(amp.ConditionExpireAt, "", "0001-01-01T00:00:00Z"), recipient, direct(time.Time{}), false},
		row{"expire-at/time-in-another-zone", expire, recipient, direct(atTime.In(time.FixedZone("PST", -8*3600))), true},
		row{"expire-at/+00:00-fraction-before", rule(amp.ConditionExpireAt, "", "2026-11-25T12:00:00.5+00:00"), recipient, direct(atTime), false},
		row{"expire-at/+00:00-fraction-at", rule(amp.ConditionExpireAt, "", "2026-11-25T12:00:00.5+00:00"), recipient, direct(atTime.Add(500 * time.Millisecond)), true},
		row{"expire-at/at-storage-passed", expire, recipient, amp.Outcome{Delivery: amp.DeliveryStored, Time: atTime}, true},
		row{"expire-at/at-storage-not-passed", expire, recipient, amp.Outcome{Delivery: amp.DeliveryStored, Time: atTime.Add(-time.Second)}, false},
		row{"expire-at/routed-on", expire, recipient, amp.Outcome{Delivery: amp.DeliveryDirect, Time: atTime, NextHop: amp.NextHopAMP}, true},
	)
	// R is the resource of the message's to, D the one the server would
	// deliver to; only exact string equality counts.
	for _, c := range []struct {
		name              string
		to                string
		o                 amp.Outcome
		any, exact, other bool
	}{
		{"direct-same-resource", recipient, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony"}, true, true, false},
		{"direct-other-resource", recipient, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "chamber"}, true, false, true},
		{"direct-prefix-is-not-a-match", bare + "/home", amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "home/laptop"}, true, false, true},
		{"direct-resource-with-slash", bare + "/home/laptop", amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "home/laptop"}, true, true, false},
		{"bare-to-delivered-to-a-resource", bare, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony"}, true, false, true},
		{"bare-to-delivered-bare", "room@chat.capulet.lit", amp.Outcome{Delivery: amp.DeliveryDirect}, true, true, false},
		{"bare-to-stored", bare, amp.Outcome{Delivery: amp.DeliveryStored}, false, true, false},
		{"full-to-stored", recipient, amp.Outcome{Delivery: amp.DeliveryStored}, false, false, false},
		{"none", recipient, amp.Outcome{Delivery: amp.DeliveryNone}, false, false, false},
		{"forward", bare, amp.Outcome{Delivery: amp.DeliveryForward}, false, false, false},
		{"gateway", bare, amp.Outcome{Delivery: amp.DeliveryGateway}, false, false, false},
		{"routed-on", recipient, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", NextHop: amp.NextHopAMP}, false, false, false},
		{"routed-on-bare", bare, amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopAMP}, false, false, false},
	} {
		for _, v := range []struct {
			value amp.MatchResource
			met   bool
		}{{amp.MatchResourceAny, c.any}, {amp.MatchResourceExact, c.exact}, {amp.MatchResourceOther, c.other}} {
			rows = append(rows, row{fmt.Sprintf("match-resource=%s/%s", v.value, c.name),
				rule(amp.ConditionMatchResource, "", string(v.value)), c.to, c.o, v.met})
		}
	}
	for _, c := range rows {
		for _, action := range allActions {
			t.Run(c.name+"/"+string(action), func(t *testing.T) {
				r := c.rule
				r.Action = action
				msg := message(t, c.to, "", rulesXML(r))
				res := evaluate(t, nil, msg, amp.HopEdge, c.o)
				want := goesOn
				if c.met {
					want = metRule(action)
				}
				require.Equal(t, want, effectOf(t, msg, res))
				switch {
				case !res.Proceed():
				case c.o.NextHop != amp.NextHopLocal:
					assert.Same(t, msg, res.Message(), "a message routed on is passed on unchanged")
				case c.o.Delivery == amp.DeliveryStored && !c.met:
					assert.Equal(t, []amp.Rule{r}, keptRules(t, res.Message()), "a stored message keeps the rule that has not fired")
				default:
					assert.Nil(t, keptRules(t, res.Message()), "the message is passed on without <amp/>")
					assert.NotNil(t, res.Message().SelectElement("body"), "the message is passed on without its body")
				}
			})
		}
	}
}

func TestProcessingOrder(t *testing.T) {
	notifyDirect := rule(amp.ConditionDeliver, amp.ActionNotify, "direct")
	for _, c := range []struct {
		name     string
		rules    []amp.Rule
		want     effect
		rule     amp.Rule
		notified []amp.Rule
	}{
		{"notify-goes-on", []amp.Rule{notifyDirect, rule(amp.ConditionMatchResource, amp.ActionNotify, "exact")},
			effect{Proceed: true, Replies: []string{"notify", "notify"}}, amp.Rule{},
			[]amp.Rule{notifyDirect, rule(amp.ConditionMatchResource, amp.ActionNotify, "exact")}},
		{"first-met-alert-ends", []amp.Rule{rule(amp.ConditionDeliver, amp.ActionAlert, "direct"), rule(amp.ConditionDeliver, amp.ActionError, "direct"), notifyDirect},
			effect{Action: amp.ActionAlert, Replies: []string{"alert"}}, rule(amp.ConditionDeliver, amp.ActionAlert, "direct"), nil},
		{"first-met-drop-ends", []amp.Rule{rule(amp.ConditionMatchResource, amp.ActionDrop, "any"), rule(amp.ConditionDeliver, amp.ActionAlert, "direct")},
			effect{Action: amp.ActionDrop}, rule(amp.ConditionMatchResource, amp.ActionDrop, "any"), nil},
		{"first-met-error-ends", []amp.Rule{rule(amp.ConditionDeliver, amp.ActionError, "direct"), rule(amp.ConditionDeliver, amp.ActionDrop, "direct")},
			effect{Action: amp.ActionError, Replies: []string{"error"}}, rule(amp.ConditionDeliver, amp.ActionError, "direct"), nil},
		{"notify-before-and-after", []amp.Rule{notifyDirect, rule(amp.ConditionDeliver, amp.ActionAlert, "direct"), notifyDirect},
			effect{Action: amp.ActionAlert, Replies: []string{"notify", "alert"}}, rule(amp.ConditionDeliver, amp.ActionAlert, "direct"), []amp.Rule{notifyDirect}},
		{"unmet-rules-are-skipped", []amp.Rule{rule(amp.ConditionDeliver, amp.ActionDrop, "stored"), rule(amp.ConditionMatchResource, amp.ActionError, "other"), notifyDirect},
			effect{Proceed: true, Replies: []string{"notify"}}, amp.Rule{}, []amp.Rule{notifyDirect}},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := message(t, recipient, "", rulesXML(c.rules...))
			res := evaluate(t, nil, msg, amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony"})
			assert.Equal(t, c.want, effectOf(t, msg, res))
			got, ok := res.Rule()
			assert.Equal(t, c.rule, got, "Rule")
			assert.Equal(t, c.rule != amp.Rule{}, ok, "Rule reports an overriding rule")
			assert.Equal(t, c.notified, res.Notified(), "Notified")
		})
	}
}

func TestHops(t *testing.T) {
	mrDrop := rule(amp.ConditionMatchResource, amp.ActionDrop, "any")
	rules := rulesXML(mrDrop, rule(amp.ConditionExpireAt, amp.ActionNotify, "2000-01-01T00:00:00Z"), rule(amp.ConditionDeliver, amp.ActionAlert, "direct"))
	invalid := rulesXML(rule(amp.ConditionDeliver, "bounce", "x"), rule("x-when", amp.ActionDrop, ""), rule(amp.ConditionMatchResource, amp.ActionDrop, "some"))
	direct := amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: mustTime("2026-01-01T00:00:00Z")}
	routed := direct
	routed.NextHop = amp.NextHopAMP
	noAMP := direct
	noAMP.NextHop = amp.NextHopNoAMP
	alerted := effect{Action: amp.ActionAlert, Replies: []string{"notify", "alert"}}
	two, err := amp.NewProcessor(amp.Config{MaxRules: 2})
	require.NoError(t, err)
	for _, c := range []struct {
		name     string
		p        *amp.Processor
		noID     bool
		ampAttrs string
		rules    string
		hop      amp.Hop
		o        amp.Outcome
		want     effect
		same     bool // the message is passed on unchanged
	}{
		{"edge", nil, false, "", rules, amp.HopEdge, direct, effect{Action: amp.ActionDrop}, false},
		{"edge-per-hop", nil, false, " per-hop='true'", rules, amp.HopEdge, direct, effect{Action: amp.ActionDrop}, false},
		{"edge-routing-on", nil, false, "", rules, amp.HopEdge, routed, alerted, false},
		{"edge-routing-on-goes-on", nil, false, "", rulesXML(mrDrop), amp.HopEdge, routed, goesOn, true},
		{"transit", nil, false, "", rules, amp.HopTransit, routed, goesOn, true},
		{"transit-per-hop-false", nil, false, " per-hop='false'", rules, amp.HopTransit, routed, goesOn, true},
		{"transit-invalid-rules-pass", nil, false, "", invalid, amp.HopTransit, routed, goesOn, true},
		{"transit-no-id-passes", nil, true, "", rules, amp.HopTransit, routed, goesOn, true},
		{"transit-no-rule-passes", nil, false, "", "", amp.HopTransit, routed, goesOn, true},
		{"transit-too-many-rules-pass", two, false, "", rules, amp.HopTransit, routed, goesOn, true},
		{"transit-next-hop-without-amp", nil, false, "", invalid, amp.HopTransit, noAMP, effect{Replies: []string{"service-unavailable"}}, false},
		{"transit-per-hop", nil, false, " per-hop='true'", rules, amp.HopTransit, routed, alerted, false},
		{"transit-per-hop-goes-on", nil, false, " per-hop='true'", rulesXML(mrDrop), amp.HopTransit, routed, goesOn, true},
		{"transit-per-hop-match-resource-not-validated", nil, false, " per-hop='true'",
			rulesXML(rule(amp.ConditionMatchResource, "bounce", "some"), rule(amp.ConditionMatchResource, amp.ActionDrop, "")), amp.HopTransit, routed, goesOn, true},
		{"transit-per-hop-next-hop-without-amp", nil, false, " per-hop='true'", rulesXML(mrDrop), amp.HopTransit, noAMP, effect{Replies: []string{"service-unavailable"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := message(t, recipient, c.ampAttrs, c.rules)
			if c.noID {
				msg.RemoveAttr("id")
			}
			res := evaluate(t, c.p, msg, c.hop, c.o)
			assert.Equal(t, c.want, effectOf(t, msg, res))
			if c.same {
				assert.Same(t, msg, res.Message(), "the message is passed on unchanged")
			}
			if res.ServiceUnavailable() {
				// The refusal echoes the rules as written, unchecked.
				ev := amp.ParseEvent(res.Replies(domain)[0])
				assert.Equal(t, keptRules(t, msg), ev.Rules, "echoed rules")
				assert.Equal(t, c.ampAttrs != "", ev.PerHop, "echoed per-hop")
			}
		})
	}

	t.Run("transit-per-hop-match-resource-echoed", func(t *testing.T) {
		mr := rule(amp.ConditionMatchResource, amp.ActionDrop, "some")
		bad := rule(amp.ConditionDeliver, amp.ActionDrop, "elsewhere")
		msg := message(t, recipient, " per-hop='true'", rulesXML(mr, bad))
		_, err := (*amp.Processor)(nil).Parse(msg, amp.HopTransit, amp.PresenceAuthorized)
		var e *amp.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, []amp.Rule{bad}, e.Rules, "listed rules")
		assert.Equal(t, 1, e.Index)
		ev := amp.ParseEvent(e.Reply(domain))
		assert.Equal(t, []amp.Rule{mr, bad}, ev.Rules, "echoed rules")
		assert.True(t, ev.PerHop)
	})

	t.Run("malformed-or-repeated-per-hop", func(t *testing.T) {
		for _, attrs := range []string{" per-hop='yes'", " per-hop='1'", " per-hop=''", " per-hop='TRUE'", " per-hop='true' per-hop='true'", " per-hop='false' per-hop='true'"} {
			for _, hop := range []amp.Hop{amp.HopEdge, amp.HopTransit} {
				msg := message(t, recipient, attrs, rulesXML(mrDrop))
				_, err := (*amp.Processor)(nil).Parse(msg, hop, amp.PresenceAuthorized)
				assert.ErrorIs(t, err, amp.ErrBadRequest, "%s at hop %d", attrs, hop)
			}
		}
	})
}

// TestPresence checks the §9 policy, one row for each action: when the
// sender may not see the recipient's presence, the rules whose events
// could reveal it are refused.
func TestPresence(t *testing.T) {
	for _, action := range allActions {
		t.Run(string(action), func(t *testing.T) {
			r := rule(amp.ConditionDeliver, action, "stored")
			msg := message(t, recipient, "", rulesXML(r))
			req, err := (*amp.Processor)(nil).Parse(msg, amp.HopEdge, amp.PresenceDenied)
			if action == amp.ActionDrop {
				require.NoError(t, err)
				assert.Equal(t, effect{Action: amp.ActionDrop}, effectOf(t, msg, req.Evaluate(amp.Outcome{Delivery: amp.DeliveryStored})))
				return
			}
			var e *amp.Error
			require.ErrorAs(t, err, &e)
			assert.ErrorIs(t, err, amp.ErrNotAcceptable)
			assert.Equal(t, []amp.Rule{r}, e.Rules)
			assert.Contains(t, err.Error(), "§9")
		})
	}
}

func TestStagedLifetime(t *testing.T) {
	var p *amp.Processor
	t.Run("direct-fails-then-stored", func(t *testing.T) {
		notifyDirect := rule(amp.ConditionDeliver, amp.ActionNotify, "direct")
		notifyStored := rule(amp.ConditionDeliver, amp.ActionNotify, "stored")
		alertLater := rule(amp.ConditionExpireAt, amp.ActionAlert, "2026-12-01T00:00:00Z")
		msg := message(t, recipient, "", rulesXML(notifyDirect, notifyStored, alertLater))
		first := evaluate(t, p, msg, amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: mustTime("2026-11-25T10:00:00Z")})
		assert.Equal(t, effect{Proceed: true, Replies: []string{"notify"}}, effectOf(t, msg, first))
		// Direct delivery failed: the server stores the message instead.
		rest := first.Remaining()
		assert.Equal(t, []amp.Rule{notifyStored, alertLater}, rest.Rules().Rules, "remaining rules")
		second := rest.Evaluate(amp.Outcome{Delivery: amp.DeliveryStored, Time: mustTime("2026-11-25T10:00:01Z")})
		assert.Equal(t, effect{Proceed: true, Replies: []string{"notify"}}, effectOf(t, msg, second))
		assert.Equal(t, []amp.Rule{notifyStored}, second.Notified())
		// The stored message keeps only the rule that has not fired, as written.
		assertXML(t, `<message from='`+sender+`' to='`+recipient+`' id='m1' type='chat'><body>secret</body>`+
			`<amp xmlns='http://jabber.org/protocol/amp'>`+rulesXML(alertLater)+`</amp></message>`, second.Message())
		// Evaluated again with the same outcome, nothing fires twice.
		again := second.Remaining().Evaluate(amp.Outcome{Delivery: amp.DeliveryStored, Time: mustTime("2026-11-25T10:00:01Z")})
		assert.Equal(t, goesOn, effectOf(t, msg, again))
		// The first Result still reports what it did.
		assert.Equal(t, []amp.Rule{notifyDirect}, first.Notified())
	})
	t.Run("stored-then-dispatched", func(t *testing.T) {
		msg := message(t, bare, " per-hop='true'", rulesXML(
			rule(amp.ConditionDeliver, amp.ActionNotify, "stored"),
			rule(amp.ConditionExpireAt, amp.ActionAlert, "2026-12-01T00:00:00Z"),
			rule(amp.ConditionDeliver, amp.ActionNotify, "direct")))
		store := evaluate(t, p, msg, amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryStored, Time: mustTime("2026-11-25T10:00:00Z")})
		require.Equal(t, effect{Proceed: true, Replies: []string{"notify"}}, effectOf(t, msg, store))
		stored := writeXML(store.Message())
		for _, c := range []struct {
			at   string
			want effect
		}{
			{"2026-11-30T23:59:59Z", effect{Proceed: true, Replies: []string{"notify"}}},
			{"2026-12-01T00:00:00Z", effect{Action: amp.ActionAlert, Replies: []string{"alert"}}},
		} {
			t.Run(c.at, func(t *testing.T) {
				// The server reads the message back from storage.
				back := readXML(t, stored)
				assert.True(t, keptPerHop(t, back), "the stored <amp/> keeps per-hop")
				res := evaluate(t, p, back, amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: mustTime(c.at)})
				assert.Equal(t, c.want, effectOf(t, back, res))
				if res.Proceed() {
					assert.Nil(t, keptRules(t, res.Message()), "delivered with its <amp/>")
				}
			})
		}
	})
	t.Run("stored-with-no-rule-left", func(t *testing.T) {
		msg := message(t, bare, "", rulesXML(rule(amp.ConditionDeliver, amp.ActionNotify, "stored")))
		res := evaluate(t, p, msg, amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryStored})
		assert.Nil(t, res.Message().SelectElement("amp"), "an empty <amp/> is stored")
		assert.Empty(t, res.Remaining().Rules().Rules)
	})
}

func keptPerHop(t testing.TB, msg *etree.Element) bool {
	req, err := (*amp.Processor)(nil).Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
	require.NoError(t, err)
	return req.Rules().PerHop
}
