package amp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	direct := func(tm time.Time) amp.Outcome {
		return amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: tm}
	}
	rows = append(rows,
		row{"deliver=direct/when-no-delivery-stated", rule(amp.ConditionDeliver, "", "direct"), recipient, amp.Outcome{}, false},
		row{"expire-at/before", expire, recipient, direct(atTime.Add(-time.Nanosecond)), false},
		row{"expire-at/at", expire, recipient, direct(atTime), true},
		row{"expire-at/after", expire, recipient, direct(atTime.Add(time.Hour)), true},
		row{"expire-at/zero-time", rule(amp.ConditionExpireAt, "", "0001-01-01T00:00:00Z"), recipient, direct(time.Time{}), false},
		row{"expire-at/time-in-another-zone", expire, recipient, direct(atTime.In(time.FixedZone("PST", -8*3600))), true},
		row{"expire-at/before-in-another-zone", expire, recipient, direct(atTime.Add(-time.Second).In(time.FixedZone("CET", 3600))), false},
		row{"expire-at/+00:00-fraction-before", rule(amp.ConditionExpireAt, "", "2026-11-25T12:00:00.5+00:00"), recipient, direct(atTime.Add(500*time.Millisecond - 1)), false},
		row{"expire-at/+00:00-fraction-at", rule(amp.ConditionExpireAt, "", "2026-11-25T12:00:00.5+00:00"), recipient, direct(atTime.Add(500 * time.Millisecond)), true},
		row{"expire-at/below-a-nanosecond", rule(amp.ConditionExpireAt, "", "2004-01-01T00:00:00.0000000009Z"), recipient, direct(mustTime("2004-01-01T00:00:00Z")), true},
		row{"expire-at/first-instant", rule(amp.ConditionExpireAt, "", "0001-01-01T00:00:00Z"), recipient, direct(time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)), true},
		row{"expire-at/last-instant-before", rule(amp.ConditionExpireAt, "", "9999-12-31T23:59:59.999999999Z"), recipient, direct(time.Date(9999, 12, 31, 23, 59, 59, 999999998, time.UTC)), false},
		row{"expire-at/last-instant-after", rule(amp.ConditionExpireAt, "", "9999-12-31T23:59:59.999999999Z"), recipient, direct(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), true},
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
		{"resource-with-slash-first-part", recipient + "/2", amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony"}, true, false, true},
		{"resource-case-matters", bare + "/Balcony", amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony"}, true, false, true},
		{"empty-resource", bare + "/", amp.Outcome{Delivery: amp.DeliveryDirect}, true, true, false},
		{"non-ascii", "капулетти.lit/балкон/２", amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "балкон/２"}, true, true, false},
		{"bare-to-delivered-to-a-resource", bare, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony"}, true, false, true},
		{"bare-to-delivered-bare", bare, amp.Outcome{Delivery: amp.DeliveryDirect}, true, true, false},
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
				// MaxValueLen is the value's length, shorter than some names:
				// the limit is for refusals, an event echoes the rule as written.
				p, err := amp.NewProcessor(amp.Config{MaxValueLen: len(r.Value)})
				require.NoError(t, err)
				msg := message(t, c.to, "", rulesXML(r))
				res := evaluate(t, p, msg, amp.HopEdge, c.o)
				want := goesOn
				if c.met {
					want = metRule(action)
				}
				require.Equal(t, want, effectOf(t, msg, res))
				for _, reply := range res.Replies(domain) {
					require.Equal(t, []amp.Rule{r}, amp.ParseEvent(reply).Rules, "the event's rule")
				}
				switch {
				case !res.Proceed():
				case c.o.NextHop != amp.NextHopLocal:
					assert.Same(t, msg, res.Message(), "a message routed on is passed on unchanged")
				case c.o.Delivery == amp.DeliveryStored && !c.met:
					assert.Equal(t, []amp.Rule{r}, kept(t, res.Message()).Rules, "a stored message keeps the rule that has not fired")
				default:
					assert.Nil(t, kept(t, res.Message()).Rules, "the message is passed on without <amp/>")
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
		{"edge-next-hop-without-amp-overridden", nil, false, "", rules, amp.HopEdge, noAMP, alerted, false},
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
		{"transit-too-many-rules-next-hop-without-amp", two, false, "", rules, amp.HopTransit, noAMP, effect{Replies: []string{"service-unavailable"}}, false},
		{"hop-out-of-range-is-transit", nil, false, "", rules, amp.Hop(2), routed, goesOn, true},
		{"next-hop-out-of-range-is-amp", nil, false, "", rulesXML(mrDrop), amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHop(9)}, goesOn, true},
		{"transit-per-hop-next-hop-unstated", nil, false, " per-hop='true'", rulesXML(mrDrop), amp.HopTransit, direct, goesOn, true},
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
				// The refusal echoes the rules as written, unchecked, at
				// most MaxRules of them.
				ev := amp.ParseEvent(res.Replies(domain)[0])
				echo := kept(t, msg).Rules
				assert.Equal(t, echo[:min(len(echo), c.p.Config().MaxRules)], ev.Rules, "echoed rules")
				assert.Equal(t, c.ampAttrs != "", ev.PerHop, "echoed per-hop")
			}
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
		assertXML(t, requestXML("", rulesXML(alertLater)), second.Message())
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
				assert.True(t, kept(t, back).PerHop, "the stored <amp/> keeps per-hop")
				res := evaluate(t, p, back, amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: mustTime(c.at)})
				assert.Equal(t, c.want, effectOf(t, back, res))
				if res.Proceed() {
					assert.Nil(t, kept(t, res.Message()).Rules, "delivered with its <amp/>")
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

// TestMessageInStream checks the message passed on when the message was
// read inside a stream whose root declares its namespaces.
func TestMessageInStream(t *testing.T) {
	stream := readXML(t, `<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:a='http://jabber.org/protocol/amp' xmlns:e='urn:example:e'>`+
		`<message from='romeo@montague.lit/orchard' to='juliet@capulet.lit' id='m1'><a:amp><a:rule condition='deliver' action='notify' value='stored'/>`+
		`<a:rule condition='expire-at' action='drop' value='2030-01-01T00:00:00Z'/></a:amp><e:data/></message></stream:stream>`)
	msg := stream.SelectElement("message")
	res := evaluate(t, nil, msg, amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryStored, Time: mustTime("2026-01-01T00:00:00Z")})
	assertXML(t, `<message xmlns='jabber:server' from='romeo@montague.lit/orchard' to='juliet@capulet.lit' id='m1'>`+
		`<amp xmlns='http://jabber.org/protocol/amp'><rule condition='expire-at' action='drop' value='2030-01-01T00:00:00Z'/></amp><data xmlns='urn:example:e'/></message>`, res.Message())
	res = evaluate(t, nil, msg, amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryDirect})
	assertXML(t, `<message xmlns='jabber:server' from='romeo@montague.lit/orchard' to='juliet@capulet.lit' id='m1'><data xmlns='urn:example:e'/></message>`, res.Message())
	assert.Len(t, msg.ChildElements(), 2, "the caller's message is not modified")
}

// TestMongooseIMSubset checks the configuration of MongooseIM's subset:
// actions drop, error and notify, conditions deliver and match-resource.
func TestMongooseIMSubset(t *testing.T) {
	cfg := amp.Config{
		Actions:    []amp.Action{amp.ActionNotify, amp.ActionDrop, amp.ActionError},
		Conditions: []amp.Condition{amp.ConditionMatchResource, amp.ConditionDeliver},
	}
	p, err := amp.NewProcessor(cfg)
	require.NoError(t, err)
	node := []string{amp.NS, amp.NS + "?action=drop", amp.NS + "?action=error", amp.NS + "?action=notify",
		amp.NS + "?condition=deliver", amp.NS + "?condition=match-resource"}
	assert.Equal(t, node, p.Features(amp.NS), "features in the XEP's order")
	assert.Equal(t, []string{amp.NS}, p.Features(""))
	assert.Nil(t, p.Features("urn:other"))
	assert.Nil(t, p.DiscoInfo("urn:other"))
	assertXML(t, `<query xmlns='http://jabber.org/protocol/disco#info'><feature var='http://jabber.org/protocol/amp'/></query>`, p.DiscoInfo(""))
	// ExampleProcessor_DiscoInfo shows the node's answer.
	cfg.RootFeatures = true
	root, err := amp.NewProcessor(cfg)
	require.NoError(t, err)
	assert.Equal(t, node, root.Features(""), "RootFeatures")
}

func TestNewProcessor(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  amp.Config
		text string // the error; "" for none
	}{
		{"zero", amp.Config{}, ""},
		{"unknown-action", amp.Config{Actions: []amp.Action{amp.ActionDrop, "bounce"}}, `amp: Config lists action "bounce", which XEP-0079 does not define`},
		{"unknown-condition", amp.Config{Conditions: []amp.Condition{"deliverr"}}, `amp: Config lists condition "deliverr", which XEP-0079 does not define`},
		{"empty-actions", amp.Config{Actions: []amp.Action{}}, "amp: Config lists no action; leave the list nil to support all"},
		{"empty-conditions", amp.Config{Conditions: []amp.Condition{}}, "amp: Config lists no condition; leave the list nil to support all"},
		{"repeated-action", amp.Config{Actions: []amp.Action{amp.ActionDrop, amp.ActionDrop}}, `amp: Config lists action "drop" twice`},
		{"repeated-condition", amp.Config{Conditions: []amp.Condition{amp.ConditionDeliver, amp.ConditionDeliver}}, `amp: Config lists condition "deliver" twice`},
		{"negative-max-rules", amp.Config{MaxRules: -1}, "amp: Config.MaxRules is -1, less than 0"},
		{"negative-max-value-len", amp.Config{MaxValueLen: -1}, "amp: Config.MaxValueLen is -1, less than 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := amp.NewProcessor(c.cfg)
			if c.text == "" {
				assert.NoError(t, err)
				assert.NotNil(t, p)
				return
			}
			assert.EqualError(t, err, c.text)
			assert.Nil(t, p)
		})
	}

	defaults := amp.Config{
		Actions:     allActions,
		Conditions:  []amp.Condition{amp.ConditionDeliver, amp.ConditionExpireAt, amp.ConditionMatchResource},
		MaxRules:    amp.DefaultMaxRules,
		MaxValueLen: amp.DefaultMaxValueLen,
	}
	p, err := amp.NewProcessor(amp.Config{})
	require.NoError(t, err)
	assert.Equal(t, defaults, p.Config(), "nil lists mean all; zero limits the defaults")
	assert.Equal(t, defaults, (*amp.Processor)(nil).Config(), "a nil *Processor")
	cfg := p.Config()
	cfg.Actions[0] = "bounce"
	assert.Equal(t, defaults, p.Config(), "Config returns a copy")
	mine := amp.Config{Actions: []amp.Action{amp.ActionNotify, amp.ActionDrop}, MaxRules: 3, MaxValueLen: 40, RootFeatures: true}
	p, err = amp.NewProcessor(mine)
	require.NoError(t, err)
	mine.Actions = []amp.Action{amp.ActionDrop, amp.ActionNotify} // the XEP's order
	mine.Conditions = defaults.Conditions
	assert.Equal(t, mine, p.Config())
}

func TestRuleSetElement(t *testing.T) {
	for _, rs := range []amp.RuleSet{
		{PerHop: true, Rules: []amp.Rule{rule(amp.ConditionDeliver, amp.ActionNotify, "stored"), rule(amp.ConditionExpireAt, amp.ActionDrop, amp.FormatDateTime(time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC)))}},
		{Rules: []amp.Rule{rule(amp.ConditionMatchResource, amp.ActionAlert, "exact")}},
	} {
		msg := readXML(t, `<message from='romeo@montague.lit/orchard' to='juliet@capulet.lit' id='m1'><body>hi</body></message>`)
		msg.AddChild(rs.Element())
		req, err := (*amp.Processor)(nil).Parse(readXML(t, writeXML(msg)), amp.HopEdge, amp.PresenceAuthorized)
		require.NoError(t, err)
		assert.Equal(t, rs, req.Rules())
	}
	assertXML(t, `<amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop'/></amp>`,
		amp.RuleSet{Rules: []amp.Rule{rule(amp.ConditionDeliver, amp.ActionDrop, "")}}.Element(), "empty attributes left out, per-hop only when true")
}

// dateTimes are expire-at values, and each as RFC 3339 with nanoseconds
// in UTC; "" when it is no XEP-0082 time. TestHostile sends each in a rule.
var dateTimes = []struct{ in, want string }{
	{"2004-01-01T00:00:00Z", "2004-01-01T00:00:00Z"},
	{"2004-01-01T00:00:00+00:00", "2004-01-01T00:00:00Z"},
	{"2004-01-01T00:00:00.123Z", "2004-01-01T00:00:00.123Z"},
	{"2004-01-01T00:00:00.5+00:00", "2004-01-01T00:00:00.5Z"},
	{"2004-01-01T00:00:00.1234567891Z", "2004-01-01T00:00:00.123456789Z"},
	{"2004-01-01T00:00:00.1234567890123456789+00:00", "2004-01-01T00:00:00.123456789Z"},
	{"2004-02-29T23:59:59Z", "2004-02-29T23:59:59Z"},
	{"0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"},
	{"9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999Z"},
	{"2003-02-29T00:00:00Z", ""}, {"2004-02-30T00:00:00Z", ""}, {"2004-04-31T00:00:00Z", ""}, {"2004-13-01T00:00:00Z", ""},
	{"2004-01-01T00:00:60Z", ""}, {"2016-12-31T23:59:60Z", ""}, {"2004-01-01T24:00:00Z", ""},
	{"0000-01-01T00:00:00Z", ""}, {"99999-01-01T00:00:00Z", ""}, {"-2004-01-01T00:00:00Z", ""},
	{"2004-01-01T00:00:00", ""}, {"2004-01-01", ""}, {"2004-01-01T00:00Z", ""}, {"1072915200", ""},
	{"2004-01-01T00:00:00-00:00", ""}, {"2004-01-01T00:00:00+01:00", ""}, {"2004-01-01T00:00:00z", ""},
	{"2004-01-01 00:00:00Z", ""}, {"2004-01-01T00:00:00.Z", ""}, {"2004-01-01T00:00:00,5Z", ""},
	{"２００４-01-01T00:00:00Z", ""}, {"2004-01-01T00:00:00Zxyz", ""}, {"", ""},
}

func TestDateTime(t *testing.T) {
	for _, c := range dateTimes {
		t.Run(c.in, func(t *testing.T) {
			got, err := amp.ParseDateTime(c.in)
			if c.want == "" {
				assert.ErrorIs(t, err, amp.ErrDateTime)
				assert.Equal(t, 1, strings.Count(err.Error(), "amp:"), "%q has one amp: prefix", err)
				assert.True(t, got.IsZero(), "got %v with an error", got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got.Format(time.RFC3339Nano))
			assert.Equal(t, time.UTC, got.Location())
		})
	}
	for _, c := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 12, 24, 18, 0, 0, 0, time.FixedZone("CET", 3600)), "2026-12-24T17:00:00Z"},
		{time.Date(2026, 12, 24, 18, 0, 0, 0, time.FixedZone("PST", -8*3600)), "2026-12-25T02:00:00Z"},
		{time.Date(2026, 12, 24, 18, 0, 0, 120_000_000, time.UTC), "2026-12-24T18:00:00.12Z"},
		{time.Date(2026, 12, 24, 18, 0, 0, 1, time.UTC), "2026-12-24T18:00:00.000000001Z"},
	} {
		got := amp.FormatDateTime(c.in)
		assert.Equal(t, c.want, got, "FormatDateTime(%v)", c.in)
		back, err := amp.ParseDateTime(got)
		require.NoError(t, err)
		assert.True(t, c.in.Equal(back), "ParseDateTime(FormatDateTime(%v)) = %v", c.in, back)
	}
}

func TestNilAndZeroValues(t *testing.T) {
	var p *amp.Processor
	msg := message(t, recipient, "", rulesXML(rule(amp.ConditionDeliver, amp.ActionAlert, "stored")))
	req, err := p.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
	require.NoError(t, err, "a nil *Processor parses as the default")
	assert.Equal(t, effect{Action: amp.ActionAlert, Replies: []string{"alert"}}, effectOf(t, msg, req.Evaluate(amp.Outcome{Delivery: amp.DeliveryStored})))
	def, err := amp.NewProcessor(amp.Config{})
	require.NoError(t, err)
	assert.Equal(t, def.Features(amp.NS), p.Features(amp.NS))
	assert.Equal(t, []string{amp.NS}, p.Features(""))
	assertXML(t, writeXML(def.DiscoInfo(amp.NS)), p.DiscoInfo(amp.NS))
	assert.Equal(t, def.Config(), p.Config())

	var zreq amp.Request
	assert.Equal(t, amp.RuleSet{}, zreq.Rules())
	res := zreq.Evaluate(amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopNoAMP})
	assert.True(t, res.Proceed())
	assert.False(t, res.ServiceUnavailable(), "no request, nothing unavailable")
	assert.Nil(t, res.Replies(domain))
	assert.Nil(t, res.Message(), "the zero Request has no message")

	var zres amp.Result
	assert.True(t, zres.Proceed())
	assert.Equal(t, amp.Action(""), zres.Action())
	assert.Nil(t, zres.Replies(domain))
	assert.Nil(t, zres.Message())
	assert.Equal(t, amp.Request{}, zres.Remaining())
	assert.Nil(t, zres.Notified())
	assert.False(t, zres.ServiceUnavailable())
	r, ok := zres.Rule()
	assert.Equal(t, amp.Rule{}, r)
	assert.False(t, ok)

	var e *amp.Error
	assert.Nil(t, e.Reply(domain))
	assert.Nil(t, amp.ParseEvent(nil))
	ev := amp.ParseEvent(readXML(t, `<message from='capulet.lit' id='m1' type='error'><amp xmlns='http://jabber.org/protocol/amp'/>`+
		`<error type='modify' code='400'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`))
	require.NotNil(t, ev)
	require.NotNil(t, ev.Err)
	assert.Nil(t, ev.Err.Reply(domain), "an Error read by ParseEvent has no message to answer")
	assert.Equal(t, "amp: bad request", ev.Err.Error())
}

// TestParseEvent reads back the events and errors the library sends.
func TestParseEvent(t *testing.T) {
	type read struct {
		ID       string
		Status   amp.Action
		From, To string
		PerHop   bool
		Rules    []amp.Rule
		Kind     error
		Index    int
		Listed   []amp.Rule
	}
	notify := rule(amp.ConditionDeliver, amp.ActionNotify, "direct")
	alert := rule(amp.ConditionMatchResource, amp.ActionAlert, "other")
	fail := rule(amp.ConditionDeliver, amp.ActionError, "direct")
	evaluated := func(ampAttrs string, o amp.Outcome, rules ...amp.Rule) func(t *testing.T) []*etree.Element {
		return func(t *testing.T) []*etree.Element {
			return evaluate(t, nil, message(t, recipient, ampAttrs, rulesXML(rules...)), amp.HopEdge, o).Replies(domain)
		}
	}
	// TestHostile reads back the refusals of rules; this one a bad request.
	refused := func(rules string) func(t *testing.T) []*etree.Element {
		return func(t *testing.T) []*etree.Element {
			_, err := (*amp.Processor)(nil).Parse(message(t, recipient, " per-hop='true'", rules), amp.HopEdge, amp.PresenceAuthorized)
			var e *amp.Error
			require.ErrorAs(t, err, &e)
			return []*etree.Element{e.Reply(domain)}
		}
	}
	direct := amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "chamber"}
	event := func(status amp.Action, r amp.Rule) read {
		return read{ID: "m1", Status: status, From: sender, To: recipient, Rules: []amp.Rule{r}}
	}
	failed := event(amp.ActionError, fail)
	failed.Kind, failed.Index, failed.Listed = amp.ErrFailedRules, -1, []amp.Rule{fail}
	for _, c := range []struct {
		name    string
		replies func(t *testing.T) []*etree.Element
		want    []read
	}{
		{"notify-and-alert", evaluated("", direct, notify, alert), []read{event(amp.ActionNotify, notify), event(amp.ActionAlert, alert)}},
		{"error-action", evaluated("", direct, fail), []read{failed}},
		{"service-unavailable", evaluated(" per-hop='true'", amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopNoAMP}, notify, alert),
			[]read{event(amp.ActionNotify, notify), {ID: "m1", PerHop: true, Rules: []amp.Rule{notify, alert}, Kind: amp.ErrServiceUnavailable, Index: -1}}},
		{"bad-request", refused(""), []read{{ID: "m1", PerHop: true, Kind: amp.ErrBadRequest, Index: -1}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []read
			for _, reply := range c.replies(t) {
				ev := amp.ParseEvent(reply)
				require.NotNil(t, ev, "ParseEvent(%s)", writeXML(reply))
				r := read{ID: ev.ID, Status: ev.Status, From: ev.From, To: ev.To, PerHop: ev.PerHop, Rules: ev.Rules}
				if ev.Err != nil {
					r.Kind, r.Index, r.Listed = ev.Err.Kind, ev.Err.Index, ev.Err.Rules
					assert.Nil(t, ev.Err.Reply(domain))
				}
				got = append(got, r)
			}
			assert.Equal(t, c.want, got)
		})
	}
}
