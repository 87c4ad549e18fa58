package amp_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	sender    = "romeo@montague.lit/orchard"
	recipient = "juliet@capulet.lit/balcony"
	server    = "capulet.lit"
)

// request returns a message from sender to recipient carrying rules.
func request(t testing.TB, to string, perHop string, rules ...amp.Rule) *etree.Element {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `<message xmlns='jabber:client' from='%s' to='%s' id='m1' type='chat'><body>secret</body><amp xmlns='http://jabber.org/protocol/amp'%s>`, sender, to, perHop)
	for _, r := range rules {
		fmt.Fprintf(&b, `<rule condition='%s' action='%s' value='%s'/>`, r.Condition, r.Action, r.Value)
	}
	b.WriteString(`</amp></message>`)
	return parseXML(t, b.String())
}

func rule(c amp.Condition, a amp.Action, v string) amp.Rule {
	return amp.Rule{Condition: c, Action: a, Value: v}
}

// want describes what one evaluation must give.
type want struct {
	deliver bool
	action  amp.Action
	events  []amp.Action // the status of each reply, in order; "" for a refusal
}

func checkResult(t *testing.T, res amp.Result, w want) {
	t.Helper()
	assert.Equal(t, w.deliver, res.Deliver, "Deliver")
	assert.Equal(t, w.action, res.Action, "Action")
	var got []amp.Action
	for _, r := range res.Replies(server) {
		ev := amp.ParseEvent(r)
		require.NotNil(t, ev, "reply is not an AMP event: %s", serialize(t, r))
		got = append(got, ev.Status)
		assert.Equal(t, "m1", ev.ID)
		assert.Equal(t, sender, r.SelectAttrValue("to", ""), "reply recipient")
		assert.Equal(t, server, r.SelectAttrValue("from", ""), "reply sender")
		assert.Nil(t, r.SelectElement("body"), "a reply carries the body")
	}
	assert.Equal(t, w.events, got, "events")
	if w.deliver {
		assert.NotNil(t, res.Message(), "Message")
	} else {
		assert.Nil(t, res.Message(), "Message")
	}
}

var deliverValues = []amp.Deliver{amp.DeliverDirect, amp.DeliverForward, amp.DeliverGateway, amp.DeliverNone, amp.DeliverStored}
var allActions = []amp.Action{amp.ActionAlert, amp.ActionDrop, amp.ActionError, amp.ActionNotify}

// outcomeOf returns what one met rule with action a gives.
func outcomeOf(a amp.Action, met bool) want {
	switch {
	case !met:
		return want{deliver: true}
	case a == amp.ActionNotify:
		return want{deliver: true, events: []amp.Action{amp.ActionNotify}}
	case a == amp.ActionDrop:
		return want{action: a}
	}
	return want{action: a, events: []amp.Action{a}}
}

func TestDeliverCondition(t *testing.T) {
	for _, value := range deliverValues {
		for _, action := range allActions {
			for _, actual := range deliverValues {
				name := fmt.Sprintf("%s-if-%s/when-%s", action, value, actual)
				t.Run(name, func(t *testing.T) {
					msg := request(t, recipient, "", rule(amp.CondDeliver, action, string(value)))
					o := amp.Outcome{Deliver: actual, Resource: "balcony", Presence: amp.PresenceAuthorized}
					checkResult(t, evaluate(t, nil, msg, o), outcomeOf(action, value == actual))
				})
			}
		}
	}
}

func TestExpireAtCondition(t *testing.T) {
	const at = "2026-11-25T12:00:00Z"
	for _, action := range allActions {
		for _, c := range []struct {
			now string
			met bool
		}{
			{"2026-11-25T11:59:59.999Z", false},
			{"2026-11-25T12:00:00Z", true},
			{"2026-11-25T12:00:01Z", true},
		} {
			t.Run(fmt.Sprintf("%s/at-%s", action, c.now), func(t *testing.T) {
				now, err := time.Parse(time.RFC3339Nano, c.now)
				require.NoError(t, err)
				msg := request(t, recipient, "", rule(amp.CondExpireAt, action, at))
				o := amp.Outcome{Deliver: amp.DeliverDirect, Resource: "balcony", Time: now, Presence: amp.PresenceAuthorized}
				checkResult(t, evaluate(t, nil, msg, o), outcomeOf(action, c.met))
			})
		}
	}
	t.Run("zero-time-meets-nothing", func(t *testing.T) {
		msg := request(t, recipient, "", rule(amp.CondExpireAt, amp.ActionDrop, "0001-01-01T00:00:00Z"))
		checkResult(t, evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect}), want{deliver: true})
	})
	t.Run("offset-+00:00-and-fraction", func(t *testing.T) {
		msg := request(t, recipient, "", rule(amp.CondExpireAt, amp.ActionDrop, "2026-11-25T12:00:00.5+00:00"))
		o := amp.Outcome{Deliver: amp.DeliverDirect, Time: mustTime("2026-11-25T12:00:00Z")}
		checkResult(t, evaluate(t, nil, msg, o), want{deliver: true})
		o.Time = o.Time.Add(500 * time.Millisecond)
		checkResult(t, evaluate(t, nil, msg, o), want{action: amp.ActionDrop})
	})
}

func TestMatchResourceCondition(t *testing.T) {
	// R is the resource of the message's to, D the resource the server would
	// deliver to (DESIGN.md, "Conditions").
	cases := []struct {
		name    string
		to      string
		deliver amp.Deliver
		d       string
		any     bool
		exact   bool
		other   bool
	}{
		{"direct-same-resource", "juliet@capulet.lit/balcony", amp.DeliverDirect, "balcony", true, true, false},
		{"direct-other-resource", "juliet@capulet.lit/balcony", amp.DeliverDirect, "chamber", true, false, true},
		{"direct-prefix-is-not-a-match", "juliet@capulet.lit/home", amp.DeliverDirect, "home/laptop", true, false, true},
		{"direct-resource-with-slash", "juliet@capulet.lit/home/laptop", amp.DeliverDirect, "home/laptop", true, true, false},
		{"bare-to-delivered-to-a-resource", "juliet@capulet.lit", amp.DeliverDirect, "balcony", true, false, true},
		{"bare-to-delivered-bare", "room@chat.capulet.lit", amp.DeliverDirect, "", true, true, false},
		{"bare-to-stored", "juliet@capulet.lit", amp.DeliverStored, "", false, true, false},
		{"full-to-stored", "juliet@capulet.lit/balcony", amp.DeliverStored, "", false, false, false},
		{"none", "juliet@capulet.lit/balcony", amp.DeliverNone, "", false, false, false},
		{"forward", "juliet@capulet.lit", amp.DeliverForward, "", false, false, false},
		{"gateway", "juliet@capulet.lit", amp.DeliverGateway, "", false, false, false},
	}
	for _, c := range cases {
		for _, action := range allActions {
			for value, met := range map[amp.MatchResource]bool{amp.MatchAny: c.any, amp.MatchExact: c.exact, amp.MatchOther: c.other} {
				t.Run(fmt.Sprintf("%s/%s-if-%s", c.name, action, value), func(t *testing.T) {
					msg := request(t, c.to, "", rule(amp.CondMatchResource, action, string(value)))
					o := amp.Outcome{Deliver: c.deliver, Resource: c.d, Presence: amp.PresenceAuthorized}
					checkResult(t, evaluate(t, nil, msg, o), outcomeOf(action, met))
				})
			}
		}
	}
	t.Run("not-decided-when-routed-on", func(t *testing.T) {
		msg := request(t, recipient, "", rule(amp.CondMatchResource, amp.ActionDrop, "any"))
		res := evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, NextHop: amp.NextHopAMP})
		checkResult(t, res, want{deliver: true})
		assert.Same(t, msg, res.Message(), "a routed message is passed on unchanged")
	})
}

func TestProcessingOrder(t *testing.T) {
	direct := amp.Outcome{Deliver: amp.DeliverDirect, Resource: "balcony", Presence: amp.PresenceAuthorized}
	cases := []struct {
		name  string
		rules []amp.Rule
		want  want
	}{
		{"notify-continues", []amp.Rule{
			rule(amp.CondDeliver, amp.ActionNotify, "direct"),
			rule(amp.CondMatchResource, amp.ActionNotify, "exact"),
		}, want{deliver: true, events: []amp.Action{amp.ActionNotify, amp.ActionNotify}}},
		{"first-overriding-rule-ends-processing", []amp.Rule{
			rule(amp.CondDeliver, amp.ActionNotify, "direct"),
			rule(amp.CondDeliver, amp.ActionAlert, "direct"),
			rule(amp.CondDeliver, amp.ActionError, "direct"),
			rule(amp.CondDeliver, amp.ActionNotify, "direct"),
		}, want{action: amp.ActionAlert, events: []amp.Action{amp.ActionNotify, amp.ActionAlert}}},
		{"unmet-rules-are-skipped", []amp.Rule{
			rule(amp.CondDeliver, amp.ActionDrop, "stored"),
			rule(amp.CondMatchResource, amp.ActionError, "other"),
			rule(amp.CondDeliver, amp.ActionNotify, "direct"),
		}, want{deliver: true, events: []amp.Action{amp.ActionNotify}}},
		{"drop-after-notify", []amp.Rule{
			rule(amp.CondDeliver, amp.ActionNotify, "direct"),
			rule(amp.CondMatchResource, amp.ActionDrop, "any"),
		}, want{action: amp.ActionDrop, events: []amp.Action{amp.ActionNotify}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkResult(t, evaluate(t, nil, request(t, recipient, "", c.rules...), direct), c.want)
		})
	}
}

func TestHops(t *testing.T) {
	rules := []amp.Rule{
		rule(amp.CondMatchResource, amp.ActionDrop, "any"),
		rule(amp.CondExpireAt, amp.ActionNotify, "2000-01-01T00:00:00Z"),
		rule(amp.CondDeliver, amp.ActionAlert, "direct"),
	}
	now := mustTime("2026-01-01T00:00:00Z")
	cases := []struct {
		name    string
		perHop  string
		hop     amp.Hop
		next    amp.NextHop
		want    want
		sameMsg bool
	}{
		{"edge-delivering", "", amp.HopEdge, amp.NextHopLocal, want{action: amp.ActionDrop}, false},
		{"edge-delivering-per-hop-true", " per-hop='true'", amp.HopEdge, amp.NextHopLocal, want{action: amp.ActionDrop}, false},
		{"edge-routing-on", "", amp.HopEdge, amp.NextHopAMP, want{action: amp.ActionAlert, events: []amp.Action{amp.ActionNotify, amp.ActionAlert}}, false},
		{"transit-per-hop-false", " per-hop='false'", amp.HopTransit, amp.NextHopAMP, want{deliver: true}, true},
		{"transit-no-per-hop", "", amp.HopTransit, amp.NextHopAMP, want{deliver: true}, true},
		{"transit-per-hop-true", " per-hop='true'", amp.HopTransit, amp.NextHopAMP, want{action: amp.ActionAlert, events: []amp.Action{amp.ActionNotify, amp.ActionAlert}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := request(t, recipient, c.perHop, rules...)
			res := evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, Resource: "balcony", Time: now, Hop: c.hop, NextHop: c.next, Presence: amp.PresenceAuthorized})
			checkResult(t, res, c.want)
			if c.sameMsg {
				assert.Same(t, msg, res.Message())
			}
		})
	}
	t.Run("next-hop-without-amp", func(t *testing.T) {
		msg := request(t, recipient, "", rule(amp.CondDeliver, amp.ActionNotify, "direct"), rule(amp.CondDeliver, amp.ActionDrop, "stored"))
		res := evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, NextHop: amp.NextHopNoAMP, Presence: amp.PresenceAuthorized})
		assert.False(t, res.Deliver)
		assert.ErrorIs(t, res.Err, amp.ErrServiceUnavailable)
		replies := res.Replies(server)
		require.Len(t, replies, 2)
		assert.Equal(t, amp.ActionNotify, amp.ParseEvent(replies[0]).Status)
		ev := amp.ParseEvent(replies[1])
		assert.ErrorIs(t, ev.Err, amp.ErrServiceUnavailable)
		assert.Len(t, ev.Rules, 2, "the request's rules are echoed")
		// An overriding rule wins over the missing support.
		res = evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverStored, NextHop: amp.NextHopNoAMP, Presence: amp.PresenceAuthorized})
		assert.Equal(t, amp.ActionDrop, res.Action)
		assert.NoError(t, res.Err)
	})
}

func TestPresencePolicy(t *testing.T) {
	for _, action := range allActions {
		t.Run(string(action), func(t *testing.T) {
			msg := request(t, recipient, "", rule(amp.CondDeliver, action, "stored"))
			rs, err := amp.Parse(msg)
			require.NoError(t, err)
			var cfg amp.Config
			assert.NoError(t, cfg.Validate(rs, amp.PresenceAuthorized))
			err = cfg.Validate(rs, amp.PresenceDenied)
			o := amp.Outcome{Deliver: amp.DeliverStored, Presence: amp.PresenceDenied}
			res := cfg.Evaluate(msg, rs, o)
			if action == amp.ActionDrop {
				assert.NoError(t, err)
				checkResult(t, res, want{action: amp.ActionDrop})
				return
			}
			assert.ErrorIs(t, err, amp.ErrNotAcceptable)
			// Evaluate alone never reveals the recipient's state either.
			checkResult(t, res, want{deliver: true})
		})
	}
}

func TestStagedLifetime(t *testing.T) {
	var cfg amp.Config
	authorized := amp.PresenceAuthorized
	t.Run("direct-fails-then-stored", func(t *testing.T) {
		msg := request(t, recipient, "",
			rule(amp.CondDeliver, amp.ActionNotify, "direct"),
			rule(amp.CondDeliver, amp.ActionNotify, "stored"),
			rule(amp.CondExpireAt, amp.ActionAlert, "2026-12-01T00:00:00Z"))
		first := evaluate(t, &cfg, msg, amp.Outcome{Deliver: amp.DeliverDirect, Resource: "balcony", Time: mustTime("2026-11-25T10:00:00Z"), Presence: authorized})
		checkResult(t, first, want{deliver: true, events: []amp.Action{amp.ActionNotify}})
		assert.Equal(t, []amp.Rule{rule(amp.CondDeliver, amp.ActionNotify, "direct")}, first.Notified())
		// Direct delivery failed: the server stores the message instead.
		rest := first.Remaining()
		require.Len(t, rest.Rules, 2)
		second := cfg.Evaluate(msg, rest, amp.Outcome{Deliver: amp.DeliverStored, Time: mustTime("2026-11-25T10:00:01Z"), Presence: authorized})
		checkResult(t, second, want{deliver: true, events: []amp.Action{amp.ActionNotify}})
		assert.Equal(t, amp.DeliverStored, amp.Deliver(amp.ParseEvent(second.Replies(server)[0]).Rules[0].Value))
		// The stored message keeps only the rule that has not fired.
		storedMsg := second.Message()
		assertXMLEqual(t, storedMsg, parseXML(t, `<message xmlns='jabber:client' from='`+sender+`' to='`+recipient+`' id='m1' type='chat'><body>secret</body>`+
			`<amp xmlns='http://jabber.org/protocol/amp'><rule condition='expire-at' action='alert' value='2026-12-01T00:00:00Z'/></amp></message>`))
		// Evaluated again with the same outcome, nothing fires twice.
		again := cfg.Evaluate(msg, second.Remaining(), amp.Outcome{Deliver: amp.DeliverStored, Time: mustTime("2026-11-25T10:00:01Z"), Presence: authorized})
		checkResult(t, again, want{deliver: true})
	})
	t.Run("stored-then-dispatched", func(t *testing.T) {
		msg := request(t, "juliet@capulet.lit", "",
			rule(amp.CondDeliver, amp.ActionNotify, "stored"),
			rule(amp.CondExpireAt, amp.ActionAlert, "2026-12-01T00:00:00Z"),
			rule(amp.CondDeliver, amp.ActionNotify, "direct"))
		store := evaluate(t, &cfg, msg, amp.Outcome{Deliver: amp.DeliverStored, Time: mustTime("2026-11-25T10:00:00Z"), Presence: authorized})
		checkResult(t, store, want{deliver: true, events: []amp.Action{amp.ActionNotify}})
		stored := serialize(t, store.Message())
		for _, c := range []struct {
			name string
			at   string
			want want
		}{
			{"before-expire-at", "2026-11-30T23:59:59Z", want{deliver: true, events: []amp.Action{amp.ActionNotify}}},
			{"after-expire-at", "2026-12-01T00:00:00Z", want{action: amp.ActionAlert, events: []amp.Action{amp.ActionAlert}}},
		} {
			t.Run(c.name, func(t *testing.T) {
				// The server reads the message back from storage.
				back := parseXML(t, stored)
				res := evaluate(t, &cfg, back, amp.Outcome{Deliver: amp.DeliverDirect, Resource: "balcony", Time: mustTime(c.at), Presence: authorized})
				checkResult(t, res, c.want)
				if c.want.deliver {
					assert.Nil(t, res.Message().SelectElement("amp"), "delivered with its <amp/>")
					assert.NotNil(t, res.Message().SelectElement("body"))
				}
			})
		}
	})
	t.Run("stored-with-expire-at-passed", func(t *testing.T) {
		msg := request(t, "juliet@capulet.lit", "", rule(amp.CondExpireAt, amp.ActionDrop, "2026-11-25T09:00:00Z"))
		res := evaluate(t, &cfg, msg, amp.Outcome{Deliver: amp.DeliverStored, Time: mustTime("2026-11-25T10:00:00Z")})
		checkResult(t, res, want{action: amp.ActionDrop})
	})
	t.Run("stored-with-no-rule-left", func(t *testing.T) {
		msg := request(t, "juliet@capulet.lit", "", rule(amp.CondDeliver, amp.ActionNotify, "stored"))
		res := evaluate(t, &cfg, msg, amp.Outcome{Deliver: amp.DeliverStored, Presence: authorized})
		assert.Nil(t, res.Message().SelectElement("amp"), "an empty <amp/> is stored")
	})
}

func TestValidationErrors(t *testing.T) {
	good := rule(amp.CondDeliver, amp.ActionDrop, "stored")
	cases := []struct {
		name  string
		cfg   amp.Config
		rules []amp.Rule
		kind  error
		index int
		list  []amp.Rule
	}{
		{"all-acceptable", amp.Config{}, []amp.Rule{good, rule(amp.CondMatchResource, amp.ActionError, "other")}, nil, 0, nil},
		{"missing-value", amp.Config{}, []amp.Rule{good, {Condition: amp.CondDeliver, Action: amp.ActionDrop}}, amp.ErrNotAcceptable, 1,
			[]amp.Rule{{Condition: amp.CondDeliver, Action: amp.ActionDrop}}},
		{"missing-action-comes-before-unsupported-condition", amp.Config{}, []amp.Rule{{Condition: "x-unknown", Value: "v"}}, amp.ErrNotAcceptable, 0,
			[]amp.Rule{{Condition: "x-unknown", Value: "v"}}},
		{"unknown-action", amp.Config{}, []amp.Rule{good, rule(amp.CondDeliver, "bounce", "stored"), rule(amp.CondDeliver, "x", "none")}, amp.ErrUnsupportedAction, 1,
			[]amp.Rule{rule(amp.CondDeliver, "bounce", "stored"), rule(amp.CondDeliver, "x", "none")}},
		{"unknown-condition", amp.Config{}, []amp.Rule{rule("x-when", amp.ActionDrop, "v"), good}, amp.ErrUnsupportedCondition, 0,
			[]amp.Rule{rule("x-when", amp.ActionDrop, "v")}},
		{"unsupported-action-before-unsupported-condition", amp.Config{}, []amp.Rule{rule("x-when", "x-do", "v")}, amp.ErrUnsupportedAction, 0,
			[]amp.Rule{rule("x-when", "x-do", "v")}},
		{"first-failing-rule-decides-the-kind", amp.Config{}, []amp.Rule{
			rule(amp.CondDeliver, amp.ActionDrop, "elsewhere"),
			rule(amp.CondDeliver, "x-do", "stored"),
			rule(amp.CondMatchResource, amp.ActionDrop, "some"),
		}, amp.ErrNotAcceptable, 0, []amp.Rule{rule(amp.CondDeliver, amp.ActionDrop, "elsewhere"), rule(amp.CondMatchResource, amp.ActionDrop, "some")}},
		{"bad-expire-at", amp.Config{}, []amp.Rule{rule(amp.CondExpireAt, amp.ActionDrop, "2026-11-25T12:00:00-08:00")}, amp.ErrNotAcceptable, 0,
			[]amp.Rule{rule(amp.CondExpireAt, amp.ActionDrop, "2026-11-25T12:00:00-08:00")}},
		{"value-too-long", amp.Config{MaxValueLen: 6}, []amp.Rule{good, rule(amp.CondDeliver, amp.ActionDrop, "forward")}, amp.ErrNotAcceptable, 1,
			[]amp.Rule{rule(amp.CondDeliver, amp.ActionDrop, "forward")}},
		{"too-many-rules", amp.Config{MaxRules: 2}, []amp.Rule{good, good, rule("x", "y", "z"), good}, amp.ErrNotAcceptable, 2,
			[]amp.Rule{rule("x", "y", "z"), good}},
		{"unsupported-by-configuration", amp.Config{Actions: []amp.Action{amp.ActionDrop}}, []amp.Rule{good, rule(amp.CondDeliver, amp.ActionNotify, "direct")}, amp.ErrUnsupportedAction, 1,
			[]amp.Rule{rule(amp.CondDeliver, amp.ActionNotify, "direct")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			for _, r := range c.rules {
				b.WriteString("<rule")
				for _, kv := range [][2]string{{"condition", string(r.Condition)}, {"action", string(r.Action)}, {"value", r.Value}} {
					if kv[1] != "" {
						fmt.Fprintf(&b, " %s='%s'", kv[0], kv[1])
					}
				}
				b.WriteString("/>")
			}
			msg := parseXML(t, `<message from='`+sender+`' to='`+recipient+`' id='m1'><amp xmlns='http://jabber.org/protocol/amp'>`+b.String()+`</amp></message>`)
			rs, err := amp.Parse(msg)
			require.NoError(t, err)
			err = c.cfg.Validate(rs, amp.PresenceAuthorized)
			if c.kind == nil {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, c.kind)
			var e *amp.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, c.index, e.Index, "Index")
			assert.Equal(t, c.list, e.Rules, "Rules")
			assert.True(t, strings.HasPrefix(err.Error(), "amp: "), "error %q lacks the package prefix", err)
			// The reply lists the same rules in its container and echoes the
			// request.
			reply := amp.ErrorReply(msg, server, err)
			ev := amp.ParseEvent(reply)
			require.NotNil(t, ev)
			assert.ErrorIs(t, ev.Err, c.kind)
			var re *amp.Error
			require.ErrorAs(t, ev.Err, &re)
			assert.Equal(t, c.list, re.Rules, "rules in the error stanza")
			assert.Equal(t, rs.Rules, ev.Rules, "echoed rules")
			assert.Equal(t, "error", reply.SelectAttrValue("type", ""))
			assert.Equal(t, "m1", reply.SelectAttrValue("id", ""))
		})
	}
}

func TestRequestErrors(t *testing.T) {
	const rules = `<rule condition='deliver' action='drop' value='stored'/>`
	cases := []struct {
		name string
		msg  string
		err  error // nil: a valid request; errNone: no request
	}{
		{"valid", `<message from='a@b/c' to='d@e' id='x'><amp xmlns='http://jabber.org/protocol/amp'>` + rules + `</amp></message>`, nil},
		{"no-id", `<message from='a@b/c' to='d@e'><amp xmlns='http://jabber.org/protocol/amp'>` + rules + `</amp></message>`, amp.ErrBadRequest},
		{"empty-id", `<message from='a@b/c' to='d@e' id=''><amp xmlns='http://jabber.org/protocol/amp'>` + rules + `</amp></message>`, amp.ErrBadRequest},
		{"no-rule", `<message from='a@b/c' to='d@e' id='x'><amp xmlns='http://jabber.org/protocol/amp'/></message>`, amp.ErrBadRequest},
		{"per-hop-yes", `<message from='a@b/c' to='d@e' id='x'><amp xmlns='http://jabber.org/protocol/amp' per-hop='yes'>` + rules + `</amp></message>`, amp.ErrBadRequest},
		{"per-hop-1", `<message from='a@b/c' to='d@e' id='x'><amp xmlns='http://jabber.org/protocol/amp' per-hop='1'>` + rules + `</amp></message>`, amp.ErrBadRequest},
		{"no-from", `<message to='d@e' id='x'><amp xmlns='http://jabber.org/protocol/amp'>` + rules + `</amp></message>`, amp.ErrNoSender},
		{"no-amp", `<message from='a@b/c' to='d@e' id='x'><body>hi</body></message>`, errNone},
		{"event", `<message from='a@b/c' to='d@e' id='x'><amp xmlns='http://jabber.org/protocol/amp' status='notify'>` + rules + `</amp></message>`, errNone},
		{"type-error", `<message from='a@b/c' to='d@e' id='x' type='error'><amp xmlns='http://jabber.org/protocol/amp'>` + rules + `</amp></message>`, errNone},
		{"other-namespace", `<message from='a@b/c' to='d@e' id='x'><amp xmlns='urn:example:amp'>` + rules + `</amp></message>`, errNone},
		{"prefixed-namespace", `<message from='a@b/c' to='d@e' id='x'><a:amp xmlns:a='http://jabber.org/protocol/amp'><a:rule condition='deliver' action='drop' value='stored'/></a:amp></message>`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := parseXML(t, c.msg)
			rs, err := amp.Parse(msg)
			switch {
			case c.err == errNone:
				assert.NoError(t, err)
				assert.Nil(t, rs)
			case c.err == nil:
				assert.NoError(t, err)
				require.NotNil(t, rs)
				assert.Equal(t, []amp.Rule{rule(amp.CondDeliver, amp.ActionDrop, "stored")}, rs.Rules)
			default:
				assert.Nil(t, rs)
				assert.ErrorIs(t, err, c.err)
				reply := amp.ErrorReply(msg, "b", err)
				if c.err != amp.ErrBadRequest {
					assert.Nil(t, reply)
					return
				}
				assertXMLEqual(t, reply, parseXML(t, `<message from='b' to='a@b/c' type='error'`+
					map[bool]string{true: ``, false: ` id='x'`}[msg.SelectAttrValue("id", "") == ""]+`><amp xmlns='http://jabber.org/protocol/amp'>`+
					map[bool]string{true: ``, false: rules}[c.name == "no-rule"]+`</amp>`+
					`<error type='modify' code='400'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`))
			}
		})
	}
	t.Run("not-a-message", func(t *testing.T) {
		rs, err := amp.Parse(parseXML(t, `<iq type='get' id='x'/>`))
		assert.Nil(t, rs)
		assert.Error(t, err)
		assert.Nil(t, amp.ErrorReply(parseXML(t, `<iq/>`), "b", err))
	})
}

var errNone = errors.New("no request")

func TestMongooseIMSubset(t *testing.T) {
	cfg := amp.Config{
		Actions:    []amp.Action{amp.ActionDrop, amp.ActionError, amp.ActionNotify},
		Conditions: []amp.Condition{amp.CondDeliver, amp.CondMatchResource},
	}
	assert.Equal(t, []string{
		amp.NS, amp.NS + "?action=drop", amp.NS + "?action=error", amp.NS + "?action=notify",
		amp.NS + "?condition=deliver", amp.NS + "?condition=match-resource",
	}, cfg.Features(amp.NS))
	assert.Equal(t, []string{amp.NS}, cfg.Features(""))
	cfg.RootFeatures = true
	assert.Equal(t, cfg.Features(amp.NS), cfg.Features(""))
	assert.Nil(t, cfg.Features("urn:other"))
	assert.Nil(t, cfg.DiscoInfo("urn:other"))

	for _, c := range []struct {
		name string
		r    amp.Rule
		kind error
	}{
		{"alert", rule(amp.CondDeliver, amp.ActionAlert, "stored"), amp.ErrUnsupportedAction},
		{"expire-at", rule(amp.CondExpireAt, amp.ActionDrop, "2026-01-01T00:00:00Z"), amp.ErrUnsupportedCondition},
		{"notify-direct", rule(amp.CondDeliver, amp.ActionNotify, "direct"), nil},
		{"error-match-resource", rule(amp.CondMatchResource, amp.ActionError, "other"), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rs, err := amp.Parse(request(t, recipient, "", c.r))
			require.NoError(t, err)
			err = cfg.Validate(rs, amp.PresenceAuthorized)
			if c.kind == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, c.kind)
			}
		})
	}
}

func TestRuleSetElementRoundTrip(t *testing.T) {
	rs := &amp.RuleSet{PerHop: true, Rules: []amp.Rule{
		rule(amp.CondDeliver, amp.ActionNotify, "stored"),
		rule(amp.CondExpireAt, amp.ActionDrop, "2026-12-24T18:00:00Z"),
	}}
	msg := parseXML(t, `<message from='a@b/c' to='d@e' id='x'><body>hi</body></message>`)
	msg.AddChild(rs.Element())
	back, err := amp.Parse(parseXML(t, serialize(t, msg)))
	require.NoError(t, err)
	assert.Equal(t, rs, back)
}

func TestParseDateTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // RFC 3339 with nanoseconds; "" for an error
	}{
		{"2004-01-01T00:00:00Z", "2004-01-01T00:00:00Z"},
		{"2004-01-01T00:00:00+00:00", "2004-01-01T00:00:00Z"},
		{"2004-01-01T00:00:00.123Z", "2004-01-01T00:00:00.123Z"},
		{"2004-01-01T00:00:00.1234567891Z", "2004-01-01T00:00:00.123456789Z"},
		{"2004-02-29T23:59:59Z", "2004-02-29T23:59:59Z"},
		{"9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"},
		{"2003-02-29T00:00:00Z", ""},
		{"2004-01-01T00:00:60Z", ""},
		{"0000-01-01T00:00:00Z", ""},
		{"99999-01-01T00:00:00Z", ""},
		{"2004-01-01T00:00:00", ""},
		{"2004-01-01T00:00:00-00:00", ""},
		{"2004-01-01T00:00:00+01:00", ""},
		{"2004-01-01 00:00:00Z", ""},
		{"2004-01-01T00:00:00.Z", ""},
		{"2004-01-01T24:00:00Z", ""},
		{"2004-13-01T00:00:00Z", ""},
		{"２００４-01-01T00:00:00Z", ""},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := amp.ParseDateTime(c.in)
			if c.want == "" {
				assert.ErrorIs(t, err, amp.ErrDateTime)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got.Format(time.RFC3339Nano))
		})
	}
}

func TestNilAndZeroValues(t *testing.T) {
	var cfg *amp.Config
	msg := parseXML(t, `<message from='a@b/c' to='d@e' id='x'><body>hi</body></message>`)
	res := cfg.Evaluate(msg, nil, amp.Outcome{})
	assert.True(t, res.Deliver)
	assert.Same(t, msg, res.Message())
	assert.Empty(t, res.Replies(server))
	assert.Nil(t, res.Remaining())
	assert.NoError(t, cfg.Validate(nil, amp.PresenceDenied))
	var zero amp.Result
	assert.False(t, zero.Deliver)
	assert.Nil(t, zero.Message())
	assert.Empty(t, zero.Replies(server))
	_, ok := zero.Rule()
	assert.False(t, ok)
	assert.Nil(t, amp.ErrorReply(msg, server, nil))
	assert.Nil(t, amp.ParseEvent(msg))
	assert.Nil(t, amp.ParseEvent(nil))
}

func TestParseInto(t *testing.T) {
	var messages []*etree.Element
	for _, e := range examples {
		if strings.HasPrefix(strings.TrimSpace(e.Text), "<message") {
			messages = append(messages, parseXML(t, e.Text))
		}
	}
	for _, s := range []string{
		`<message from='a@b/c' to='d@e' id='x'><amp xmlns='http://jabber.org/protocol/amp' per-hop='true'><rule condition='deliver' action='drop' value='stored'/><rule condition='x' action='y' value='z'/></amp></message>`,
		`<message from='a@b/c' to='d@e'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='stored'/></amp></message>`,
		`<message to='d@e' id='x'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='stored'/></amp></message>`,
		`<message from='a@b/c' to='d@e' id='x'><amp xmlns='http://jabber.org/protocol/amp'>` + strings.Repeat(`<rule condition='deliver' action='notify' value='none'/>`, 40) + `</amp></message>`,
	} {
		messages = append(messages, parseXML(t, s))
	}
	// One RuleSet, reused for every message, as a server would.
	var rs amp.RuleSet
	for i, msg := range messages {
		want, wantErr := amp.Parse(msg)
		ok, err := amp.ParseInto(&rs, msg)
		assert.Equal(t, want != nil, ok, "message %d: found", i)
		assert.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(err), "message %d: error", i)
		if ok {
			assert.Equal(t, want.PerHop, rs.PerHop, "message %d: PerHop", i)
			assert.Equal(t, want.Rules, rs.Rules, "message %d: Rules", i)
		}
		var e *amp.Error
		if errors.As(wantErr, &e) {
			// The error keeps its own copy of the request: reusing rs
			// does not change the reply.
			reply := serialize(t, amp.ErrorReply(msg, server, err))
			_, _ = amp.ParseInto(&rs, messages[0])
			assert.Equal(t, serialize(t, amp.ErrorReply(msg, server, wantErr)), reply, "message %d: reply", i)
			assert.Equal(t, reply, serialize(t, amp.ErrorReply(msg, server, err)), "message %d: reply after reuse", i)
		}
	}
}
