package amp_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
)

// hxPolicyValues are values of every condition: each deliver value, an
// expire-at in the past and one in the future, each match-resource value.
var hxPolicyValues = map[amp.Condition][]string{
	amp.CondDeliver:       {"direct", "forward", "gateway", "none", "stored"},
	amp.CondExpireAt:      {"2004-01-01T00:00:00Z", "9999-12-31T23:59:59Z"},
	amp.CondMatchResource: {"any", "exact", "other"},
}

var hxPolicyActions = []amp.Action{amp.ActionAlert, amp.ActionDrop, amp.ActionError, amp.ActionNotify}

// hxPolicyOutcomes are the outcomes the policy matrix evaluates: every
// deliver value, resources equal to the intended one or not, times before
// and after the expire-at value, every hop and next hop.
func hxPolicyOutcomes(p amp.Presence) []amp.Outcome {
	var out []amp.Outcome
	for _, d := range []amp.Deliver{"", amp.DeliverDirect, amp.DeliverForward, amp.DeliverGateway, amp.DeliverNone, amp.DeliverStored} {
		for _, r := range []string{"", "balcony", "chamber"} {
			for _, at := range []time.Time{{}, time.Date(2003, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC)} {
				for _, h := range []amp.Hop{amp.HopEdge, amp.HopTransit} {
					for _, n := range []amp.NextHop{amp.NextHopLocal, amp.NextHopAMP, amp.NextHopNoAMP} {
						out = append(out, amp.Outcome{Deliver: d, Resource: r, Time: at, Hop: h, NextHop: n, Presence: p})
					}
				}
			}
		}
	}
	return out
}

// TestPolicyPresence proves the §9 policy over every condition value and
// every action: a sender who may not see the recipient's presence has
// every alert, error and notify rule refused as not acceptable, never gets
// an event from Evaluate even when the server skips Validate, and gets
// nothing that depends on the recipient's state; drop works for it exactly
// as for an authorized sender.
func TestPolicyPresence(t *testing.T) {
	events := map[amp.Action]int{} // events an authorized sender gets, per action
	for cond, values := range hxPolicyValues {
		for _, value := range values {
			for _, action := range hxPolicyActions {
				for _, perHop := range []string{"", " per-hop='true'"} {
					rule := amp.Rule{Condition: cond, Action: action, Value: value}
					name := fmt.Sprintf("%s=%s/%s%s", cond, value, action, perHop)
					t.Run(name, func(t *testing.T) {
						hxPolicyCase(t, rule, perHop, events)
					})
				}
			}
		}
	}
	// The matrix is not empty: an authorized sender does get each event.
	for _, a := range []amp.Action{amp.ActionAlert, amp.ActionError, amp.ActionNotify} {
		if events[a] == 0 {
			t.Errorf("no %s event for an authorized sender in the whole matrix", a)
		}
	}
}

func hxPolicyCase(t *testing.T, rule amp.Rule, perHop string, events map[amp.Action]int) {
	in := fmt.Sprintf(`<message xmlns='jabber:client' from='%s' id='%s' to='juliet@capulet.lit/balcony'><body>secret</body><amp xmlns='http://jabber.org/protocol/amp'%s><rule condition='%s' action='%s' value='%s'/></amp></message>`,
		hxSender, hxID, perHop, rule.Condition, rule.Action, rule.Value)
	msg := hxMustRead(in)
	rs, err := amp.Parse(msg)
	if err != nil || len(rs.Rules) != 1 || rs.Rules[0] != rule {
		t.Fatalf("Parse = %v, %v", rs, err)
	}
	var c *amp.Config

	// Validate.
	if err := c.Validate(rs, amp.PresenceAuthorized); err != nil {
		t.Fatalf("authorized: Validate = %v, want nil", err)
	}
	err = c.Validate(rs, amp.PresenceDenied)
	if rule.Action == amp.ActionDrop {
		if err != nil {
			t.Fatalf("denied: Validate of a drop rule = %v, want nil", err)
		}
	} else {
		var e *amp.Error
		if !errors.As(err, &e) || e.Kind != amp.ErrNotAcceptable || e.Index != 0 || len(e.Rules) != 1 || e.Rules[0] != rule {
			t.Fatalf("denied: Validate = %#v, want not acceptable listing the rule", err)
		}
		reply := amp.ErrorReply(msg, hxServer, err)
		if err := hxCheckRefusal(msg, reply, hxServer, amp.ErrNotAcceptable, rs.Rules, rs.Rules, perHop != ""); err != nil {
			t.Fatalf("denied: refusal %s: %v", hxWrite(reply), err)
		}
	}

	// Evaluate, also for a server that skipped Validate.
	for _, o := range hxPolicyOutcomes(amp.PresenceDenied) {
		res := c.Evaluate(msg, rs, o)
		replies := res.Replies(hxServer)
		if n := res.Notified(); len(n) != 0 || (res.Action != "" && res.Action != amp.ActionDrop) {
			t.Fatalf("denied, %+v: notified %v, action %q", o, n, res.Action)
		}
		for _, r := range replies {
			if a := hxChild(r, "amp"); a != nil {
				if _, ok := hxAttr(a, "status"); ok {
					t.Fatalf("denied, %+v: an event: %s", o, hxWrite(r))
				}
			}
			if err := hxCheckRefusal(msg, r, hxServer, amp.ErrServiceUnavailable, nil, rs.Rules, perHop != ""); err != nil {
				t.Fatalf("denied, %+v: reply %s: %v", o, hxWrite(r), err)
			}
		}
		// Only routing, never the recipient's state, can give a reply.
		if o.NextHop == amp.NextHopLocal && len(replies) != 0 {
			t.Fatalf("denied, %+v: %d replies where the server itself delivers", o, len(replies))
		}

		// Drop works as for an authorized sender.
		auth := o
		auth.Presence = amp.PresenceAuthorized
		ares := c.Evaluate(msg, rs, auth)
		areplies := ares.Replies(hxServer)
		if rule.Action == amp.ActionDrop {
			if res.Deliver != ares.Deliver || res.Action != ares.Action || res.Err != ares.Err || hxWriteAll(replies) != hxWriteAll(areplies) || hxWrite(res.Message()) != hxWrite(ares.Message()) {
				t.Fatalf("%+v: a drop rule acts differently for an unauthorized sender: %v %q vs %v %q", o, res.Deliver, res.Action, ares.Deliver, ares.Action)
			}
		} else if ares.Action == rule.Action || len(ares.Notified()) != 0 {
			events[rule.Action]++
			if len(areplies) == 0 {
				t.Fatalf("authorized, %+v: a %s rule was met and sent nothing", o, rule.Action)
			}
		}
	}
}

// TestPolicyMixedRequest checks a request mixing drop rules with the
// others: without authorization every alert, error and notify rule is
// listed, the drop rules are not, and a server that evaluates it anyway
// only drops.
func TestPolicyMixedRequest(t *testing.T) {
	msg := hxMustRead(hxRequest("", `<rule condition='deliver' action='notify' value='direct'/><rule condition='deliver' action='drop' value='forward'/><rule condition='match-resource' action='alert' value='other'/><rule condition='expire-at' action='error' value='2004-01-01T00:00:00Z'/><rule condition='deliver' action='drop' value='direct'/>`))
	rs, err := amp.Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	want := hxMustRead(hxRefusal("", `<rule condition='deliver' action='notify' value='direct'/><rule condition='deliver' action='drop' value='forward'/><rule condition='match-resource' action='alert' value='other'/><rule condition='expire-at' action='error' value='2004-01-01T00:00:00Z'/><rule condition='deliver' action='drop' value='direct'/>`,
		hxNotAcceptable(`<rule condition='deliver' action='notify' value='direct'/><rule condition='match-resource' action='alert' value='other'/><rule condition='expire-at' action='error' value='2004-01-01T00:00:00Z'/>`)))
	err = (&amp.Config{}).Validate(rs, amp.PresenceDenied)
	if d := hxTreeDiff(amp.ErrorReply(msg, hxServer, err), want); d != "" {
		t.Fatalf("Validate = %v: %s", err, d)
	}
	o := amp.Outcome{Deliver: amp.DeliverDirect, Resource: "chamber", Time: time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC)}
	res := (&amp.Config{}).Evaluate(msg, rs, o)
	if got, ok := res.Rule(); !ok || res.Action != amp.ActionDrop || got != rs.Rules[4] || len(res.Replies(hxServer)) != 0 || res.Deliver {
		t.Fatalf("denied: got rule %v action %q, %d replies; want the last drop rule, silently", got, res.Action, len(res.Replies(hxServer)))
	}
	o.Presence = amp.PresenceAuthorized
	res = (&amp.Config{}).Evaluate(msg, rs, o)
	if got, ok := res.Rule(); !ok || res.Action != amp.ActionAlert || got != rs.Rules[2] || len(res.Replies(hxServer)) != 2 {
		t.Fatalf("authorized: got rule %v action %q, %d replies; want the notify event and the alert", got, res.Action, len(res.Replies(hxServer)))
	}
}
