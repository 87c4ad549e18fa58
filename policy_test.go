package amp_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/stretchr/testify/require"
)

// polValues are values of every condition: each deliver value, an
// expire-at in the past and one in the future, each match-resource value.
var polValues = map[amp.Condition][]string{
	amp.ConditionDeliver:       {"direct", "forward", "gateway", "none", "stored"},
	amp.ConditionExpireAt:      {"2004-01-01T00:00:00Z", "9999-12-31T23:59:59Z"},
	amp.ConditionMatchResource: {"any", "exact", "other"},
}

// polOutcomes are every delivery (and none, which Evaluate refuses), resources equal to the intended one
// (balcony) or not, times before and after 2004 and none, and every next
// hop.
var polOutcomes = func() []amp.Outcome {
	var out []amp.Outcome
	for _, d := range []amp.Delivery{"", amp.DeliveryDirect, amp.DeliveryForward, amp.DeliveryGateway, amp.DeliveryNone, amp.DeliveryStored} {
		for _, r := range []string{"", "balcony", "chamber"} {
			for _, at := range []time.Time{{}, time.Date(2003, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC)} {
				for _, n := range []amp.NextHop{amp.NextHopLocal, amp.NextHopAMP, amp.NextHopNoAMP} {
					out = append(out, amp.Outcome{Delivery: d, Resource: r, Time: at, NextHop: n})
				}
			}
		}
	}
	return out
}()

// polMet is the XEP's answer (§3.3, CONFORMANCE's hops) to whether rule r,
// addressed to recipient, is met at hop under o.
func polMet(r amp.Rule, hop amp.Hop, perHop bool, o amp.Outcome) bool {
	if hop == amp.HopTransit && !perHop {
		return false
	}
	switch r.Condition {
	case amp.ConditionDeliver:
		return string(o.Delivery) == r.Value
	case amp.ConditionExpireAt:
		return r.Value < "3" && !o.Time.IsZero() && o.Time.Year() >= 2004
	}
	if hop == amp.HopTransit || o.NextHop != amp.NextHopLocal {
		return false // only the server that delivers decides match-resource
	}
	direct := o.Delivery == amp.DeliveryDirect
	return r.Value == "any" && direct ||
		r.Value == "exact" && direct && o.Resource == "balcony" ||
		r.Value == "other" && direct && o.Resource != "balcony"
}

// TestPolicy is the §9 matrix: for every rule (each action, each value of
// each condition), with and without per-hop, at the edge and at a transit
// hop, for a sender who may see the recipient's presence and one who may
// not: what Parse accepts, and what Evaluate makes of every outcome.
func TestPolicy(t *testing.T) {
	fired := map[amp.Action]int{}
	for cond, values := range polValues {
		for _, value := range values {
			for _, action := range []amp.Action{amp.ActionAlert, amp.ActionDrop, amp.ActionError, amp.ActionNotify} {
				r := amp.Rule{Condition: cond, Action: action, Value: value}
				for _, perHop := range []bool{false, true} {
					for _, hop := range []amp.Hop{amp.HopEdge, amp.HopTransit} {
						for _, presence := range []amp.Presence{amp.PresenceDenied, amp.PresenceAuthorized} {
							name := fmt.Sprintf("%s=%s/%s/per-hop %v/hop %d/presence %v", cond, value, action, perHop, hop, presence)
							polCase(t, name, r, perHop, hop, presence, fired)
						}
					}
				}
			}
		}
	}
	// The matrix is not vacuous: each action fired somewhere.
	for _, a := range []amp.Action{amp.ActionAlert, amp.ActionDrop, amp.ActionError, amp.ActionNotify} {
		require.NotZero(t, fired[a], "no %s rule fired in the whole matrix", a)
	}
}

func polCase(t *testing.T, name string, r amp.Rule, perHop bool, hop amp.Hop, presence amp.Presence, fired map[amp.Action]int) {
	attrs := ""
	if perHop {
		attrs = ` per-hop='true'`
	}
	rule := ruleXML(string(r.Condition), string(r.Action), r.Value)
	msg := readXML(t, requestXML(attrs, rule))
	req, err := (*amp.Processor)(nil).Parse(msg, hop, presence)

	// Parse: a rule that does not apply at the hop is not checked; one that
	// does is refused when it could reveal presence to a sender who may not
	// see it.
	applies := hop == amp.HopEdge || perHop && r.Condition != amp.ConditionMatchResource
	if applies && presence == amp.PresenceDenied && r.Action != amp.ActionDrop {
		var e *amp.Error
		require.ErrorAs(t, err, &e, name)
		require.Equal(t, []amp.Rule{r}, e.Rules, name)
		assertXML(t, refusalXML(attrs, rule, amp.ErrNotAcceptable, rule), e.Reply(domain), name)
		return
	}
	require.NoError(t, err, name)
	require.Equal(t, amp.RuleSet{PerHop: perHop, Rules: []amp.Rule{r}}, mustRules(t, req), name)

	// Evaluate: the rule acts when met; a next hop without AMP is told
	// when the default behaviour stands.
	for _, o := range polOutcomes {
		res, err := req.Evaluate(o)
		if o.Delivery == "" {
			require.Error(t, err, "%s, %+v: Evaluate without a delivery", name, o)
			require.Equal(t, amp.Result{}, res, "%s, %+v", name, o)
			continue
		}
		require.NoError(t, err, "%s, %+v", name, o)
		met := polMet(r, hop, perHop, o)
		overrides := met && r.Action != amp.ActionNotify
		var want []amp.Action // the events sent, by status; "" for service-unavailable
		if met {
			fired[r.Action]++
		}
		if met && r.Action != amp.ActionDrop {
			want = append(want, r.Action)
		}
		if !overrides && o.NextHop == amp.NextHopNoAMP {
			want = append(want, "")
		}
		var got []amp.Action
		for _, reply := range res.Replies(domain) {
			ev := amp.ParseEvent(reply)
			require.NotNil(t, ev, "%s, %+v: %s is not an AMP reply", name, o, writeXML(reply))
			got = append(got, ev.Status)
			if ev.Status != "" {
				require.Equal(t, []amp.Rule{r}, ev.Rules, "%s, %+v", name, o)
			}
		}
		require.Equal(t, want, got, "%s, %+v", name, o)
		require.Equal(t, !overrides && o.NextHop != amp.NextHopNoAMP, res.Proceed(), "%s, %+v", name, o)
		if overrides {
			require.Equal(t, r.Action, effectOf(t, msg, res).Action, "%s, %+v", name, o)
		}
	}
}
