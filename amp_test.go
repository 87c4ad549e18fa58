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
				// MaxValueLen is as short as the condition allows, shorter than
				// some names: the limit is for refusals, an event echoes the
				// rule as written.
				p, err := amp.NewProcessor(amp.Config{Conditions: []amp.Condition{r.Condition}, MaxValueLen: max(len(r.Value), valueRoom[r.Condition])})
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
					assertXML(t, writeXML(msg), res.Message(), "a message routed on is passed on unchanged")
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
	dropAny := rule(amp.ConditionMatchResource, amp.ActionDrop, "any")
	for _, c := range []struct {
		name  string
		rules []amp.Rule
		want  effect
		fired []amp.Rule // the rules the replies report, in order
	}{
		{"notify-goes-on", []amp.Rule{notifyDirect, rule(amp.ConditionMatchResource, amp.ActionNotify, "exact")},
			effect{Proceed: true, Replies: []string{"notify", "notify"}},
			[]amp.Rule{notifyDirect, rule(amp.ConditionMatchResource, amp.ActionNotify, "exact")}},
		{"first-met-alert-ends", []amp.Rule{rule(amp.ConditionDeliver, amp.ActionAlert, "direct"), rule(amp.ConditionDeliver, amp.ActionError, "direct"), notifyDirect},
			effect{Action: amp.ActionAlert, Replies: []string{"alert"}}, []amp.Rule{rule(amp.ConditionDeliver, amp.ActionAlert, "direct")}},
		{"first-met-drop-ends", []amp.Rule{dropAny, rule(amp.ConditionDeliver, amp.ActionAlert, "direct")},
			effect{Action: amp.ActionDrop}, nil},
		{"first-met-error-ends", []amp.Rule{rule(amp.ConditionDeliver, amp.ActionError, "direct"), rule(amp.ConditionDeliver, amp.ActionDrop, "direct")},
			effect{Action: amp.ActionError, Replies: []string{"error"}}, []amp.Rule{rule(amp.ConditionDeliver, amp.ActionError, "direct")}},
		{"notify-before-and-after", []amp.Rule{notifyDirect, rule(amp.ConditionDeliver, amp.ActionAlert, "direct"), notifyDirect},
			effect{Action: amp.ActionAlert, Replies: []string{"notify", "alert"}}, []amp.Rule{notifyDirect, rule(amp.ConditionDeliver, amp.ActionAlert, "direct")}},
		{"unmet-rules-are-skipped", []amp.Rule{rule(amp.ConditionDeliver, amp.ActionDrop, "stored"), rule(amp.ConditionMatchResource, amp.ActionError, "other"), notifyDirect},
			effect{Proceed: true, Replies: []string{"notify"}}, []amp.Rule{notifyDirect}},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := message(t, recipient, "", rulesXML(c.rules...))
			res := evaluate(t, nil, msg, amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony"})
			assert.Equal(t, c.want, effectOf(t, msg, res))
			assert.Equal(t, c.fired, firedRules(t, res), "the rules the replies report")
		})
	}
	t.Run("result-request-is-the-whole-request", func(t *testing.T) {
		// Result.Request is the request evaluated, not what is left after
		// it: evaluated for storage, where neither rule is met, it keeps
		// both, the drop that stopped direct delivery included.
		msg := message(t, recipient, "", rulesXML(dropAny, rule(amp.ConditionDeliver, amp.ActionAlert, "direct")))
		res := evaluate(t, nil, msg, amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony"})
		require.False(t, res.Proceed())
		assert.Nil(t, res.Replies(domain), "a drop sends nothing")
		stored := mustEvaluate(t, res.Request(), amp.Outcome{Delivery: amp.DeliveryStored})
		assert.Equal(t, []amp.Rule{dropAny, rule(amp.ConditionDeliver, amp.ActionAlert, "direct")}, kept(t, stored.Message()).Rules)
	})
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
				assertXML(t, writeXML(msg), res.Message(), "the message is passed on unchanged")
			}
			if n := len(c.want.Replies); n > 0 && c.want.Replies[n-1] == "service-unavailable" {
				// The refusal echoes the rules as written, unchecked, at
				// most MaxRules of them.
				ev := amp.ParseEvent(res.Replies(domain)[0])
				echo := ampOf(msg).Rules
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
		// Direct delivery failed before the notify was sent: the server
		// stores the message instead, from the request as it was.
		second := mustEvaluate(t, first.Request(), amp.Outcome{Delivery: amp.DeliveryStored, Time: mustTime("2026-11-25T10:00:01Z")})
		assert.Equal(t, effect{Proceed: true, Replies: []string{"notify"}}, effectOf(t, msg, second))
		assert.Equal(t, []amp.Rule{notifyStored}, firedRules(t, second))
		// The stored message keeps the rules that have not fired, as
		// written: the deliver=direct notify whose event was never sent too.
		assertXML(t, requestXML("", rulesXML(notifyDirect, alertLater)), second.Message())
		// Read back from storage and evaluated for storage again, nothing
		// fires twice.
		back, err := p.Resume(readXML(t, writeXML(second.Message())), amp.PresenceAuthorized)
		require.NoError(t, err)
		again := mustEvaluate(t, back, amp.Outcome{Delivery: amp.DeliveryStored, Time: mustTime("2026-11-25T10:00:02Z")})
		assert.Equal(t, goesOn, effectOf(t, msg, again))
		assertXML(t, requestXML("", rulesXML(notifyDirect, alertLater)), again.Message())
		// The first Result still reports what it did.
		assert.Equal(t, []amp.Rule{notifyDirect}, firedRules(t, first))
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
				req, err := p.Resume(back, amp.PresenceAuthorized)
				require.NoError(t, err)
				res := mustEvaluate(t, req, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: mustTime(c.at)})
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
		stored := res.Message()
		assert.Nil(t, stored.SelectElement("amp"), "an empty <amp/> is stored")
		back, err := p.Resume(stored, amp.PresenceAuthorized)
		require.NoError(t, err)
		again := mustEvaluate(t, back, amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopNoAMP})
		assert.Equal(t, goesOn, effectOf(t, stored, again), "nothing left to act, even for a next hop without AMP")
		assert.Same(t, stored, again.Message(), "a message without a request is passed on as given")
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
	assert.Equal(t, node, features(p.DiscoInfo(amp.NS)), "features in the XEP's order")
	assert.Equal(t, []string{amp.NS}, features(p.DiscoInfo("")))
	assert.Nil(t, p.DiscoInfo("urn:other"))
	assertXML(t, `<query xmlns='http://jabber.org/protocol/disco#info'><feature var='http://jabber.org/protocol/amp'/></query>`, p.DiscoInfo(""))
	// ExampleProcessor_DiscoInfo shows the node's answer.
	cfg.RootFeatures = true
	root, err := amp.NewProcessor(cfg)
	require.NoError(t, err)
	assert.Equal(t, node, features(root.DiscoInfo("")), "RootFeatures")
	assert.Equal(t, node, features(root.DiscoInfo(amp.NS)), "RootFeatures leaves the node as it is")
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
		{"max-value-len-too-short-for-expire-at", amp.Config{MaxValueLen: 19}, "amp: Config.MaxValueLen is 19: expire-at needs values of 20 bytes"},
		{"max-value-len-too-short-for-deliver", amp.Config{MaxValueLen: 6}, "amp: Config.MaxValueLen is 6: deliver needs values of 7 bytes"},
		{"max-value-len-too-short-for-match-resource", amp.Config{MaxValueLen: 4, Conditions: []amp.Condition{amp.ConditionMatchResource}}, "amp: Config.MaxValueLen is 4: match-resource needs values of 5 bytes"},
		{"max-value-len-for-expire-at", amp.Config{MaxValueLen: 20}, ""},
		{"max-value-len-for-deliver", amp.Config{MaxValueLen: 7, Conditions: []amp.Condition{amp.ConditionDeliver, amp.ConditionMatchResource}}, ""},
		{"max-value-len-for-match-resource", amp.Config{MaxValueLen: 5, Conditions: []amp.Condition{amp.ConditionMatchResource}}, ""},
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
		MaxRules:    32,
		MaxValueLen: 256,
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
		assert.Equal(t, rs, mustRules(t, req))
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
	{"２００４-01-01T00:00:00Z", ""}, {"20o4-01-01T00:00:00Z", ""}, {"2004-01-01T0O:00:00Z", ""}, {"2004-01-01T00:00:00Zxyz", ""}, {"", ""},
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
	assert.Equal(t, effect{Action: amp.ActionAlert, Replies: []string{"alert"}}, effectOf(t, msg, mustEvaluate(t, req, amp.Outcome{Delivery: amp.DeliveryStored})))
	def, err := amp.NewProcessor(amp.Config{})
	require.NoError(t, err)
	assert.Equal(t, []string{amp.NS}, features(p.DiscoInfo("")))
	assertXML(t, writeXML(def.DiscoInfo(amp.NS)), p.DiscoInfo(amp.NS))
	assert.Equal(t, def.Config(), p.Config())

	var zreq amp.Request
	res := mustEvaluate(t, zreq, amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopNoAMP})
	assert.True(t, res.Proceed(), "no request, nothing unavailable")
	assert.Nil(t, res.Replies(domain))
	assert.Nil(t, res.Message(), "the zero Request has no message")
	assert.Equal(t, zreq, res.Request())

	var zres amp.Result
	assert.True(t, zres.Proceed())
	assert.Nil(t, zres.Replies(domain))
	assert.Nil(t, zres.Message())
	assert.Equal(t, amp.Request{}, zres.Request())

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
		Text     string // the Error's text
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
	failed.Kind, failed.Text, failed.Listed = amp.ErrFailedRules, "amp: rules failed", []amp.Rule{fail}
	for _, c := range []struct {
		name    string
		replies func(t *testing.T) []*etree.Element
		want    []read
	}{
		{"notify-and-alert", evaluated("", direct, notify, alert), []read{event(amp.ActionNotify, notify), event(amp.ActionAlert, alert)}},
		{"error-action", evaluated("", direct, fail), []read{failed}},
		{"service-unavailable", evaluated(" per-hop='true'", amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopNoAMP}, notify, alert),
			[]read{event(amp.ActionNotify, notify), {ID: "m1", PerHop: true, Rules: []amp.Rule{notify, alert}, Kind: amp.ErrServiceUnavailable, Text: "amp: service unavailable"}}},
		{"bad-request", refused(""), []read{{ID: "m1", PerHop: true, Kind: amp.ErrBadRequest, Text: "amp: bad request"}}},
		{"unsupported-action", refused(ruleXML("deliver", "bounce", "none")), []read{{ID: "m1", PerHop: true, Rules: []amp.Rule{rule(amp.ConditionDeliver, "bounce", "none")},
			Kind: amp.ErrUnsupportedAction, Text: "amp: unsupported action", Listed: []amp.Rule{rule(amp.ConditionDeliver, "bounce", "none")}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []read
			for _, reply := range c.replies(t) {
				ev := amp.ParseEvent(reply)
				require.NotNil(t, ev, "ParseEvent(%s)", writeXML(reply))
				r := read{ID: ev.ID, Status: ev.Status, From: ev.From, To: ev.To, PerHop: ev.PerHop, Rules: ev.Rules}
				if ev.Err != nil {
					r.Kind, r.Text, r.Listed = ev.Err.Kind, ev.Err.Error(), ev.Err.Rules
					assert.Nil(t, ev.Err.Reply(domain))
				}
				got = append(got, r)
			}
			assert.Equal(t, c.want, got)
		})
	}
}
