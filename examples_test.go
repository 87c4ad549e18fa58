package amp_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// This file checks the library against every example of XEP-0079, each
// test named after the example's caption. The XEP's errata, as DESIGN.md
// settles them, are applied to the expected stanza by the named helpers.

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// swapAMPFromTo corrects the examples whose <amp/> has from and to the
// wrong way round: §4.1 says from is the original sender and to the
// original recipient.
func swapAMPFromTo(msg *etree.Element) *etree.Element {
	for _, el := range msg.ChildElements() {
		if el.Tag == "amp" {
			from, to := el.SelectAttrValue("from", ""), el.SelectAttrValue("to", "")
			el.CreateAttr("from", to)
			el.CreateAttr("to", from)
		}
	}
	return msg
}

// withRuleAction returns a copy of msg whose rules have action a.
func withRuleAction(msg *etree.Element, a amp.Action) *etree.Element {
	out := msg.Copy()
	out.CreateAttr("xmlns", "jabber:client")
	for _, el := range out.FindElements("amp/rule") {
		el.CreateAttr("action", string(a))
	}
	return out
}

// evaluate runs a request through Parse, Validate and Evaluate as a server
// does, and returns the result.
func evaluate(t *testing.T, cfg *amp.Config, msg *etree.Element, o amp.Outcome) amp.Result {
	t.Helper()
	rs, err := amp.Parse(msg)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if rs == nil {
		t.Fatal("Parse found no request")
	}
	if err := cfg.Validate(rs, o.Presence); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return cfg.Evaluate(msg, rs, o)
}

func onlyReply(t *testing.T, replies []*etree.Element) *etree.Element {
	t.Helper()
	if len(replies) != 1 {
		t.Fatalf("got %d replies, want 1", len(replies))
	}
	return replies[0]
}

func TestXEPExamples(t *testing.T) {
	ex := func(n int, caption string) *etree.Element {
		t.Helper()
		return parseXML(t, example(t, n, caption))
	}
	authorized := amp.PresenceAuthorized

	t.Run("Example 1: Initial Service Discovery information request", func(t *testing.T) {
		q := ex(1, "Initial Service Discovery information request").SelectElement("query")
		node := q.SelectAttrValue("node", "")
		var cfg amp.Config
		assertXMLEqual(t, cfg.DiscoInfo(node), parseXML(t,
			`<query xmlns='http://jabber.org/protocol/disco#info'><feature var='http://jabber.org/protocol/amp'/></query>`))
	})

	t.Run("Example 2: Service Discovery information response", func(t *testing.T) {
		text := example(t, 2, "Service Discovery information response")
		want := featureVars(t, text)
		var cfg amp.Config
		for _, f := range want {
			if f == amp.NS && !contains(cfg.Features(""), f) {
				t.Errorf("root features %q lack %q", cfg.Features(""), f)
			}
		}
	})

	t.Run("Example 3: Request for information about individual actions and conditions", func(t *testing.T) {
		q := ex(3, "Request for information about individual actions and conditions").SelectElement("query")
		if node := q.SelectAttrValue("node", ""); node != amp.NS {
			t.Fatalf("node %q", node)
		}
		if got := (&amp.Config{}).DiscoInfo(amp.NS); got == nil {
			t.Fatal("no answer for the AMP node")
		}
	})

	t.Run("Example 4: Response for individual actions and conditions", func(t *testing.T) {
		// The example's server supports drop, error and notify, and the three
		// conditions.
		want := featureVars(t, example(t, 4, "Response for individual actions and conditions"))
		cfg := amp.Config{Actions: []amp.Action{amp.ActionDrop, amp.ActionError, amp.ActionNotify}}
		if got := cfg.Features(amp.NS); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("got %q, want %q", got, want)
		}
		q := cfg.DiscoInfo(amp.NS)
		id := q.SelectElement("identity")
		// Erratum: the example's identity has category im and type server;
		// the XEP-0030 registry defines category server, type im.
		if id == nil || id.SelectAttrValue("category", "") != "server" || id.SelectAttrValue("type", "") != "im" {
			t.Errorf("identity: got %v, want category server, type im", id)
		}
	})

	for _, c := range []struct {
		n       int
		caption string
	}{{5, "A message with AMP semantics"}, {6, "Another message with AMP semantics"}} {
		t.Run("Example "+itoa(c.n)+": "+c.caption, func(t *testing.T) {
			msg := ex(c.n, c.caption)
			perHop := c.n == 6
			// Before 2004-01-01 the message is delivered, without its <amp/>.
			res := evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, Time: mustTime("2003-12-31T23:59:59Z"), Presence: authorized})
			if !res.Deliver || len(res.Replies("royalty.england.lit")) != 0 {
				t.Fatalf("before expiry: Deliver %v, replies %d", res.Deliver, len(res.Replies("")))
			}
			if res.Message().SelectElement("amp") != nil || res.Message().SelectElement("body") == nil {
				t.Errorf("delivered message: %s", serialize(t, res.Message()))
			}
			// From 2004-01-01 it is dropped, silently.
			res = evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, Time: mustTime("2004-01-01T00:00:00Z"), Presence: authorized})
			if res.Deliver || res.Action != amp.ActionDrop || len(res.Replies("royalty.england.lit")) != 0 || res.Message() != nil {
				t.Errorf("at expiry: Deliver %v, Action %q", res.Deliver, res.Action)
			}
			// At a transit hop the rule applies only with per-hop='true'.
			res = evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, Time: mustTime("2005-01-01T00:00:00Z"), Hop: amp.HopTransit, NextHop: amp.NextHopAMP, Presence: authorized})
			if res.Deliver == perHop {
				t.Errorf("transit hop, per-hop %v: Deliver %v", perHop, res.Deliver)
			}
			if !perHop && res.Message() != msg {
				t.Error("transit hop: the message is not passed on unchanged")
			}
		})
	}

	// Examples 7 to 9 answer the request of example 14 (id chatty2) with the
	// rule's action set to alert, error and notify.
	request14 := ex(14, "Sending a transient message (requesting alert)")
	stored := amp.Outcome{Deliver: amp.DeliverStored, Presence: authorized}
	for _, c := range []struct {
		n       int
		caption string
		action  amp.Action
		errata  func(*etree.Element) *etree.Element
	}{
		{7, "Alert Response", amp.ActionAlert, nil},
		{8, "Error Response", amp.ActionError, swapAMPFromTo},
		{9, "Notify Response", amp.ActionNotify, swapAMPFromTo},
	} {
		t.Run("Example "+itoa(c.n)+": "+c.caption, func(t *testing.T) {
			want := ex(c.n, c.caption)
			if c.errata != nil {
				want = c.errata(want)
			}
			res := evaluate(t, nil, withRuleAction(request14, c.action), stored)
			assertXMLEqual(t, onlyReply(t, res.Replies("hamlet.lit")), want)
			if res.Deliver != (c.action == amp.ActionNotify) {
				t.Errorf("Deliver %v", res.Deliver)
			}
			// A client reads the event back.
			ev := amp.ParseEvent(want)
			if ev == nil || ev.Status != c.action || ev.ID != "chatty2" || ev.From != "bernardo@hamlet.lit/elsinore" || ev.To != "francisco@hamlet.lit" {
				t.Errorf("ParseEvent: %+v", ev)
			}
			if (c.action == amp.ActionError) != errors.Is(ev.Err, amp.ErrFailedRules) {
				t.Errorf("ParseEvent error: %v", ev.Err)
			}
		})
	}

	t.Run("Example 10: Sending a message for reliable data transport", func(t *testing.T) {
		msg := ex(10, "Sending a message for reliable data transport")
		before := mustTime("2004-09-10T08:00:00Z")
		res := evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, Resource: "pda", Time: before, Presence: authorized})
		if !res.Deliver || res.Message().SelectElement("data") == nil || res.Message().SelectElement("amp") != nil {
			t.Errorf("to pda before the deadline: Deliver %v", res.Deliver)
		}
		res = evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, Resource: "pda", Time: mustTime("2004-09-10T08:33:14Z"), Presence: authorized})
		if rule, _ := res.Rule(); res.Action != amp.ActionError || rule.Condition != amp.CondExpireAt {
			t.Errorf("at the deadline: Action %q, rule %+v", res.Action, rule)
		}
		// A transit hop honours per-hop='true' for expire-at but ignores
		// match-resource.
		res = evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, Time: before, Hop: amp.HopTransit, NextHop: amp.NextHopAMP, Presence: authorized})
		if !res.Deliver || res.Message() != msg {
			t.Errorf("transit hop: Deliver %v", res.Deliver)
		}
	})

	t.Run("Example 11: Failed reliable data transport message", func(t *testing.T) {
		// Erratum: the error of the error action has type='error' and its
		// <amp/> has status='error' (§3.4.3, §4.1).
		want := ex(11, "Failed reliable data transport message")
		want.CreateAttr("type", "error")
		want.SelectElement("amp").CreateAttr("status", "error")
		msg := ex(10, "Sending a message for reliable data transport")
		res := evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, Resource: "laptop", Time: mustTime("2004-09-10T08:00:00Z"), Presence: authorized})
		assertXMLEqual(t, onlyReply(t, res.Replies("hamlet.lit")), want)
	})

	t.Run("Example 12: Sending a time-sensitive message", func(t *testing.T) {
		msg := ex(12, "Sending a time-sensitive message")
		for _, c := range []struct {
			at      string
			deliver bool
		}{{"2003-06-23T22:59:59Z", true}, {"2003-06-23T23:00:00Z", false}, {"2003-06-24T08:00:00Z", false}} {
			res := evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, Time: mustTime(c.at), Presence: amp.PresenceDenied})
			if res.Deliver != c.deliver || len(res.Replies("outer-planes.net")) != 0 {
				t.Errorf("at %s: Deliver %v, want %v", c.at, res.Deliver, c.deliver)
			}
		}
	})

	t.Run("Example 13: Sending a transient message", func(t *testing.T) {
		msg := ex(13, "Sending a transient message")
		res := evaluate(t, nil, msg, stored)
		if res.Deliver || res.Action != amp.ActionDrop || len(res.Replies("hamlet.lit")) != 0 {
			t.Errorf("stored: Deliver %v, Action %q", res.Deliver, res.Action)
		}
		res = evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, Resource: "balcony", Presence: authorized})
		if !res.Deliver {
			t.Error("direct: not delivered")
		}
	})

	t.Run("Example 14: Sending a transient message (requesting alert)", func(t *testing.T) {
		res := evaluate(t, nil, request14, stored)
		if res.Deliver || res.Action != amp.ActionAlert {
			t.Errorf("Deliver %v, Action %q", res.Deliver, res.Action)
		}
	})

	t.Run("Example 15: Sender alerted regarding transient message", func(t *testing.T) {
		want := ex(15, "Sender alerted regarding transient message")
		res := evaluate(t, nil, request14, stored)
		assertXMLEqual(t, onlyReply(t, res.Replies("hamlet.lit")), want)
		if rs, err := amp.Parse(want); rs != nil || err != nil {
			t.Errorf("an event is processed again: %v, %v", rs, err)
		}
	})

	refusals := []struct {
		n       int
		caption string
		reqN    int
		reqCap  string
		cfg     *amp.Config
		kind    error
		fix     func(*etree.Element) // errata of the request
	}{
		{17, "Server does not support action", 16, "A message with AMP semantics",
			&amp.Config{Actions: []amp.Action{amp.ActionAlert, amp.ActionError, amp.ActionNotify}}, amp.ErrUnsupportedAction, nil},
		// Erratum: example 18's from is the server; the reply in example 19
		// goes to northumberland@shakespeare.lit, the sender of the other
		// examples.
		{19, "Server does not support condition", 18, "A message with AMP semantics",
			&amp.Config{Conditions: []amp.Condition{amp.CondDeliver, amp.CondMatchResource}}, amp.ErrUnsupportedCondition,
			func(m *etree.Element) { m.CreateAttr("from", "northumberland@shakespeare.lit") }},
		// The server refuses values longer than 16 bytes.
		{21, "The rule is not acceptable to the server", 20, "A message with AMP semantics",
			&amp.Config{MaxValueLen: 16}, amp.ErrNotAcceptable, nil},
	}
	for _, c := range refusals {
		t.Run("Example "+itoa(c.n)+": "+c.caption, func(t *testing.T) {
			msg := ex(c.reqN, c.reqCap)
			if c.fix != nil {
				c.fix(msg)
			}
			rs, err := amp.Parse(msg)
			if err != nil {
				t.Fatal(err)
			}
			err = c.cfg.Validate(rs, authorized)
			if !errors.Is(err, c.kind) {
				t.Fatalf("got %v, want %v", err, c.kind)
			}
			assertXMLEqual(t, amp.ErrorReply(msg, "shakespeare.lit", err), ex(c.n, c.caption))
			ev := amp.ParseEvent(ex(c.n, c.caption))
			if ev == nil || !errors.Is(ev.Err, c.kind) || len(ev.Rules) != 1 {
				t.Errorf("ParseEvent: %+v", ev)
			}
		})
		t.Run("Example "+itoa(c.reqN)+": "+c.reqCap, func(t *testing.T) {
			msg := ex(c.reqN, c.reqCap)
			if c.fix != nil {
				c.fix(msg)
			}
			evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, Presence: authorized})
		})
	}

	t.Run("Example 22: A message with AMP semantics", func(t *testing.T) {
		res := evaluate(t, nil, ex(22, "A message with AMP semantics"), amp.Outcome{Deliver: amp.DeliverDirect, NextHop: amp.NextHopAMP, Time: mustTime("2003-01-01T00:00:00Z"), Presence: authorized})
		if !res.Deliver || res.Message().SelectElement("amp") == nil {
			t.Error("a message routed to a server with AMP is not passed on with its rules")
		}
	})

	t.Run("Example 23: AMP service is unavailable", func(t *testing.T) {
		msg := ex(22, "A message with AMP semantics")
		res := evaluate(t, nil, msg, amp.Outcome{Deliver: amp.DeliverDirect, NextHop: amp.NextHopNoAMP, Time: mustTime("2003-01-01T00:00:00Z"), Presence: authorized})
		if res.Deliver || !errors.Is(res.Err, amp.ErrServiceUnavailable) {
			t.Fatalf("Deliver %v, Err %v", res.Deliver, res.Err)
		}
		assertXMLEqual(t, onlyReply(t, res.Replies("royalty.england.lit")), ex(23, "AMP service is unavailable"))
	})

	t.Run("Example 24: A message with AMP semantics", func(t *testing.T) {
		// The example is an event (its <amp/> has a status): never processed
		// as a request.
		msg := ex(24, "A message with AMP semantics")
		if rs, err := amp.Parse(msg); rs != nil || err != nil {
			t.Errorf("got %v, %v; want no request", rs, err)
		}
		if ev := amp.ParseEvent(msg); ev == nil || ev.Status != amp.ActionError {
			t.Errorf("ParseEvent: %+v", ev)
		}
	})

	t.Run("Example 25: Failed rules", func(t *testing.T) {
		// The request of example 13 with action error, as in example 24;
		// erratum: from and to of <amp/> swapped.
		want := swapAMPFromTo(ex(25, "Failed rules"))
		req := withRuleAction(ex(13, "Sending a transient message"), amp.ActionError)
		req.CreateAttr("id", "chatty2")
		res := evaluate(t, nil, req, stored)
		assertXMLEqual(t, onlyReply(t, res.Replies("hamlet.lit")), want)
	})

	t.Run("Example 26: Advertising Advanced Message Processing as a stream feature", func(t *testing.T) {
		features := parseXML(t, strings.Replace(example(t, 26, "Advertising Advanced Message Processing as a stream feature"),
			"<stream:features>", "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>", 1))
		assertXMLEqual(t, amp.StreamFeature(), features.ChildElements()[0])
	})
}

// featureVars returns the feature vars of a disco#info example, leaving
// out its "..." lines.
func featureVars(t *testing.T, text string) []string {
	t.Helper()
	el := parseXML(t, strings.ReplaceAll(text, "...", ""))
	var out []string
	for _, f := range el.FindElements("query/feature") {
		out = append(out, f.SelectAttrValue("var", ""))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func itoa(n int) string { return strconv.Itoa(n) }
