package amp_test

// Issue 15: no silent misconfiguration. The zero Processor is the default
// one; a limit too short for a supported condition, an unknown delivery,
// next hop or hop is an error; no method of a nil or zero value panics.

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cfSay is everything p says about msg at hop for presence: the refusal's
// text and reply, or what the request says under each of boundOutcomes.
func cfSay(t testing.TB, p *amp.Processor, msg *etree.Element, hop amp.Hop, presence amp.Presence) string {
	req, err := p.Parse(msg, hop, presence)
	var e *amp.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("refused: %v\n%s", err, writeXML(e.Reply(domain)))
	}
	if err != nil {
		return "error: " + err.Error()
	}
	s := ""
	for _, o := range boundOutcomes {
		res := mustEvaluate(t, req, o)
		s += fmt.Sprintf("%+v: %v\n%s%s\n", o, res.Proceed(), writeAll(res.Replies(domain)...), writeXML(res.Message()))
	}
	return s
}

// TestZeroProcessor checks that the zero Processor, as embedding one in a
// struct gives, and a nil *Processor behave as NewProcessor(Config{}).
func TestZeroProcessor(t *testing.T) {
	def, err := amp.NewProcessor(amp.Config{})
	require.NoError(t, err)
	var embedded struct{ amp.Processor }
	for _, c := range []struct {
		name string
		p    *amp.Processor
	}{
		{"zero", &amp.Processor{}},
		{"embedded", &embedded.Processor},
		{"nil", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, def.Config(), c.p.Config())
			assert.Equal(t, amp.Config{
				Actions:     []amp.Action{amp.ActionAlert, amp.ActionDrop, amp.ActionError, amp.ActionNotify},
				Conditions:  []amp.Condition{amp.ConditionDeliver, amp.ConditionExpireAt, amp.ConditionMatchResource},
				MaxRules:    32,
				MaxValueLen: 256,
			}, c.p.Config())
			for _, node := range []string{"", amp.NS, "urn:other"} {
				assert.Equal(t, writeXML(def.DiscoInfo(node)), writeXML(c.p.DiscoInfo(node)), "DiscoInfo(%q)", node)
			}
			assert.Len(t, features(c.p.DiscoInfo(amp.NS)), 8, "advertises every action and condition")
			for _, in := range purInputs(t) {
				if len(writeXML(in.msg)) > 64<<10 {
					continue
				}
				for _, hop := range []amp.Hop{amp.HopEdge, amp.HopTransit} {
					for _, presence := range []amp.Presence{amp.PresenceDenied, amp.PresenceAuthorized} {
						require.Equal(t, cfSay(t, def, in.msg, hop, presence), cfSay(t, c.p, in.msg, hop, presence), "%s at hop %d, presence %v", in.name, hop, presence)
					}
				}
			}
			// The symptom: a zero Processor refused every request
			// as "more than 0 rules".
			msg := message(t, recipient, "", notifyRule)
			req, err := c.p.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
			require.NoError(t, err)
			assert.Equal(t, effect{Proceed: true, Replies: []string{"notify"}},
				effectOf(t, msg, mustEvaluate(t, req, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony"})))
			stored := message(t, recipient, "", rulesXML(rule(amp.ConditionExpireAt, amp.ActionDrop, "2004-01-01T00:00:00Z")))
			resumed, err := c.p.Resume(stored, amp.PresenceAuthorized)
			require.NoError(t, err)
			assert.False(t, mustEvaluate(t, resumed, amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: mustTime("2005-01-01T00:00:00Z")}).Proceed())
		})
	}
}

// TestMaxValueLenRoom checks that NewProcessor refuses a MaxValueLen too
// short for the values of a supported condition, and accepts it when the
// conditions that need more are left out.
func TestMaxValueLenRoom(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  amp.Config
		ok   bool
	}{
		{"10, all conditions", amp.Config{MaxValueLen: 10}, false},
		{"10, deliver and match-resource", amp.Config{MaxValueLen: 10, Conditions: []amp.Condition{amp.ConditionDeliver, amp.ConditionMatchResource}}, true},
		{"10, expire-at", amp.Config{MaxValueLen: 10, Conditions: []amp.Condition{amp.ConditionExpireAt}}, false},
		{"19, all conditions", amp.Config{MaxValueLen: 19}, false},
		{"20, all conditions", amp.Config{MaxValueLen: 20}, true},
		{"6, deliver", amp.Config{MaxValueLen: 6, Conditions: []amp.Condition{amp.ConditionDeliver}}, false},
		{"7, deliver", amp.Config{MaxValueLen: 7, Conditions: []amp.Condition{amp.ConditionDeliver}}, true},
		{"4, match-resource", amp.Config{MaxValueLen: 4, Conditions: []amp.Condition{amp.ConditionMatchResource}}, false},
		{"5, match-resource", amp.Config{MaxValueLen: 5, Conditions: []amp.Condition{amp.ConditionMatchResource}}, true},
		{"1, match-resource, fewer actions", amp.Config{MaxValueLen: 1, Conditions: []amp.Condition{amp.ConditionMatchResource}, Actions: []amp.Action{amp.ActionDrop}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := amp.NewProcessor(c.cfg)
			if !c.ok {
				require.Error(t, err)
				assert.Contains(t, err.Error(), fmt.Sprintf("MaxValueLen is %d", c.cfg.MaxValueLen))
				assert.Nil(t, p)
				return
			}
			require.NoError(t, err)
			// Every value of every condition it advertises is accepted.
			for _, cond := range p.Config().Conditions {
				for _, v := range polValues[cond] {
					msg := message(t, recipient, "", ruleXML(string(cond), "drop", v))
					_, err := p.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
					assert.NoError(t, err, "%s=%s", cond, v)
				}
			}
		})
	}
}

// TestOutcomeChecked checks that Evaluate reports an Outcome it cannot
// judge the rules by, rather than skipping every deliver and
// match-resource rule.
func TestOutcomeChecked(t *testing.T) {
	drop := message(t, recipient, "", rulesXML(rule(amp.ConditionDeliver, amp.ActionDrop, "stored"), rule(amp.ConditionMatchResource, amp.ActionDrop, "other")))
	req, err := (*amp.Processor)(nil).Parse(drop, amp.HopEdge, amp.PresenceAuthorized)
	require.NoError(t, err)
	plain, err := (*amp.Processor)(nil).Parse(readXML(t, messageXML("", "<body>hi</body>")), amp.HopEdge, amp.PresenceAuthorized)
	require.NoError(t, err)
	for _, c := range []struct {
		name string
		o    amp.Outcome
		text string // "" when Evaluate accepts o
	}{
		{"stord", amp.Outcome{Delivery: "stord"}, `amp: Outcome.Delivery "stord" is not direct, forward, gateway, none or stored`},
		{"Direct", amp.Outcome{Delivery: "Direct", Resource: "balcony"}, `amp: Outcome.Delivery "Direct" is not direct, forward, gateway, none or stored`},
		{"empty", amp.Outcome{Resource: "balcony"}, `amp: Outcome.Delivery "" is not direct, forward, gateway, none or stored`},
		{"with-space", amp.Outcome{Delivery: "stored "}, `amp: Outcome.Delivery "stored " is not direct, forward, gateway, none or stored`},
		{"next-hop-3", amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: 3}, "amp: Outcome.NextHop 3 is not NextHopLocal, NextHopAMP or NextHopNoAMP"},
		{"next-hop-7", amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: 7}, "amp: Outcome.NextHop 7 is not NextHopLocal, NextHopAMP or NextHopNoAMP"},
		{"stored", amp.Outcome{Delivery: amp.DeliveryStored}, ""},
		{"no-amp", amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopNoAMP}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range []struct {
				name string
				req  amp.Request
			}{{"request", req}, {"no request", plain}, {"zero Request", amp.Request{}}} {
				res, err := r.req.Evaluate(c.o)
				if c.text == "" {
					require.NoError(t, err, r.name)
					continue
				}
				require.EqualError(t, err, c.text, r.name)
				require.Equal(t, amp.Result{}, res, r.name)
			}
		})
	}
	t.Run("a long delivery is cut in the error", func(t *testing.T) {
		_, err := req.Evaluate(amp.Outcome{Delivery: amp.Delivery(fmt.Sprintf("%0200d", 1))})
		require.Error(t, err)
		assert.Less(t, len(err.Error()), 200)
	})
}

// TestHopChecked checks that Parse refuses a Hop it does not define, with
// an error that is not a refusal to answer.
func TestHopChecked(t *testing.T) {
	for _, hop := range []amp.Hop{2, 5, 255} {
		t.Run(fmt.Sprint(hop), func(t *testing.T) {
			for _, in := range []*etree.Element{message(t, recipient, "", notifyRule), readXML(t, messageXML("", "<body>hi</body>")), nil} {
				req, err := (*amp.Processor)(nil).Parse(in, hop, amp.PresenceAuthorized)
				require.EqualError(t, err, fmt.Sprintf("amp: Hop %d is neither HopEdge nor HopTransit", hop))
				var e *amp.Error
				require.False(t, errors.As(err, &e), "an *Error to answer")
				require.Equal(t, amp.Request{}, req)
			}
		})
	}
}

// TestNilError calls every method of a typed-nil *Error, directly and
// through the error interface.
func TestNilError(t *testing.T) {
	var e *amp.Error
	var err error = e
	require.NotPanics(t, func() {
		assert.Equal(t, "amp: <nil>", e.Error())
		assert.Equal(t, "amp: <nil>", err.Error())
		assert.Nil(t, e.Unwrap())
		assert.Nil(t, e.Reply(domain))
		assert.False(t, errors.Is(err, amp.ErrBadRequest))
		var target *amp.Error
		assert.True(t, errors.As(err, &target))
		assert.Nil(t, target)
	})
	// A zero Error, which a caller may build, says at least its package.
	var zero amp.Error
	require.NotPanics(t, func() {
		assert.Equal(t, "amp: AMP error", zero.Error())
		assert.Nil(t, zero.Unwrap())
		assert.Nil(t, zero.Reply(domain))
	})
}

// TestZeroValuesDoNotPanic calls every method of the zero Request, Result
// and Processor.
func TestZeroValuesDoNotPanic(t *testing.T) {
	require.NotPanics(t, func() {
		var req amp.Request
		for _, o := range boundOutcomes {
			res, err := req.Evaluate(o)
			require.NoError(t, err)
			assert.True(t, res.Proceed())
			assert.Nil(t, res.Replies(domain))
			assert.Nil(t, res.Message())
			assert.Equal(t, req, res.Request())
		}
		var res amp.Result
		assert.True(t, res.Proceed())
		assert.Nil(t, res.Replies(domain))
		assert.Nil(t, res.Message())
		again, err := res.Request().Evaluate(amp.Outcome{Delivery: amp.DeliveryStored})
		require.NoError(t, err)
		assert.True(t, again.Proceed())
		for _, p := range []*amp.Processor{{}, nil} {
			assert.NotEmpty(t, p.Config().Actions)
			assert.NotNil(t, p.DiscoInfo(""))
			_, err := p.Parse(nil, amp.HopEdge, amp.PresenceAuthorized)
			assert.ErrorIs(t, err, amp.ErrNotMessage)
			_, err = p.Resume(nil, amp.PresenceDenied)
			assert.ErrorIs(t, err, amp.ErrNotMessage)
		}
		assert.Nil(t, amp.ParseEvent(nil))
		assert.NotNil(t, amp.RuleSet{}.Element())
	})
}
