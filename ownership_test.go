package amp_test

// Issue 15: a Request, a Result and an *Error own what they read. Nothing
// the caller does to its element after Parse, Evaluate, Resume or a
// refusal changes what they say, byte for byte; and what they return is
// the caller's to change.

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// owEdit is something a caller may do to its element once a call returned.
type owEdit struct {
	name string
	edit func(msg *etree.Element)
}

// owFirstAMP returns the first <amp/> child of msg, or nil.
func owFirstAMP(msg *etree.Element) *etree.Element {
	for _, c := range msg.ChildElements() {
		if c.Tag == "amp" {
			return c
		}
	}
	return nil
}

// owEdits edit the message's body, addresses and id, add and remove
// children, strip the <amp/> or change its rules, and reuse the element
// for another message altogether.
var owEdits = []owEdit{
	{"body text", func(msg *etree.Element) {
		body := msg.SelectElement("body")
		if body == nil {
			body = msg.CreateElement("body")
		}
		body.SetText("changed")
	}},
	{"id", func(msg *etree.Element) { msg.CreateAttr("id", "other-id") }},
	{"to", func(msg *etree.Element) { msg.CreateAttr("to", "mallory@evil.lit/x") }},
	{"from", func(msg *etree.Element) { msg.CreateAttr("from", "mallory@evil.lit/y") }},
	{"remove id and from", func(msg *etree.Element) { msg.RemoveAttr("id"); msg.RemoveAttr("from") }},
	{"namespace", func(msg *etree.Element) { msg.CreateAttr("xmlns", "jabber:server") }},
	{"add a child", func(msg *etree.Element) { msg.CreateElement("extra").SetText("added") }},
	{"remove every child but amp", func(msg *etree.Element) {
		for _, c := range msg.ChildElements() {
			if c.Tag != "amp" {
				msg.RemoveChild(c)
			}
		}
	}},
	{"strip amp", func(msg *etree.Element) { msg.RemoveChild(owFirstAMP(msg)) }},
	{"add a rule", func(msg *etree.Element) {
		r := owFirstAMP(msg).CreateElement("rule")
		r.CreateAttr("condition", "deliver")
		r.CreateAttr("action", "alert")
		r.CreateAttr("value", "direct")
	}},
	{"change the rules", func(msg *etree.Element) {
		for _, r := range owFirstAMP(msg).ChildElements() {
			r.CreateAttr("action", "drop")
			r.CreateAttr("value", "none")
		}
	}},
	{"remove the rules", func(msg *etree.Element) {
		amp := owFirstAMP(msg)
		for _, r := range amp.ChildElements() {
			amp.RemoveChild(r)
		}
	}},
	{"per-hop and status", func(msg *etree.Element) {
		owFirstAMP(msg).CreateAttr("per-hop", "true")
		owFirstAMP(msg).CreateAttr("status", "alert")
	}},
	{"reuse for another message", func(msg *etree.Element) {
		other := mustReadXML(requestTo("nurse@capulet.lit/kitchen", "", rulesXML(rule(amp.ConditionDeliver, amp.ActionError, "direct"))))
		other.CreateAttr("id", "m2")
		msg.Attr = append(msg.Attr[:0], other.Attr...)
		msg.Child = msg.Child[:0]
		for _, c := range other.ChildElements() {
			msg.AddChild(c)
		}
	}},
}

// owRequest is a request whose every rule can fire: notify on direct and
// stored delivery and on a match of the resource, an expire-at alert.
func owRequest(t testing.TB) *etree.Element {
	return readXML(t, requestXML("", rulesXML(
		rule(amp.ConditionDeliver, amp.ActionNotify, "direct"),
		rule(amp.ConditionDeliver, amp.ActionNotify, "stored"),
		rule(amp.ConditionMatchResource, amp.ActionNotify, "exact"),
		rule(amp.ConditionExpireAt, amp.ActionAlert, "2026-12-01T00:00:00Z"))))
}

// owOutcomes are a direct delivery, storage, routing on to a server with
// and without AMP, before the alert's time and after it.
var owOutcomes = func() []amp.Outcome {
	var out []amp.Outcome
	for _, at := range []time.Time{mustTime("2026-11-30T00:00:00Z"), mustTime("2026-12-02T00:00:00Z")} {
		out = append(out,
			amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: at},
			amp.Outcome{Delivery: amp.DeliveryStored, Time: at},
			amp.Outcome{Delivery: amp.DeliveryDirect, Time: at, NextHop: amp.NextHopAMP},
			amp.Outcome{Delivery: amp.DeliveryDirect, Time: at, NextHop: amp.NextHopNoAMP})
	}
	return out
}()

// owSayResult is everything res says, written out: whether it proceeds,
// its replies and message, and what its request says for storage.
func owSayResult(t testing.TB, res amp.Result) string {
	again := mustEvaluate(t, res.Request(), amp.Outcome{Delivery: amp.DeliveryStored})
	return fmt.Sprintf("proceed %v\n%s%s\nagain, stored: %v\n%s%s\n", res.Proceed(),
		writeAll(res.Replies(domain)...), writeXML(res.Message()),
		again.Proceed(), writeAll(again.Replies(domain)...), writeXML(again.Message()))
}

// owSayRequest is everything req says under each of owOutcomes.
func owSayRequest(t testing.TB, req amp.Request) string {
	s := ""
	for _, o := range owOutcomes {
		s += fmt.Sprintf("%+v:\n%s", o, owSayResult(t, mustEvaluate(t, req, o)))
	}
	return s
}

// owSayError is everything e says: its text, kind, rules and reply.
func owSayError(e *amp.Error) string {
	return fmt.Sprintf("%v\n%v %v\n%s", e, e.Kind, e.Rules, writeXML(e.Reply(domain)))
}

// owRefused is a request refused as an unsupported action, whose reply
// echoes its rules and the sender's address and id.
func owRefused(t testing.TB) *etree.Element {
	return readXML(t, requestXML(" per-hop='true'", rulesXML(rule(amp.ConditionDeliver, amp.ActionNotify, "direct"), rule(amp.ConditionDeliver, "bounce", "none"))))
}

// owStored is the message the server stored for owRequest: evaluated for
// storage before the alert's time, it keeps the rules that did not fire.
func owStored(t testing.TB) *etree.Element {
	res := evaluate(t, nil, owRequest(t), amp.HopEdge, amp.Outcome{Delivery: amp.DeliveryStored, Time: mustTime("2026-11-30T00:00:00Z")})
	require.NotNil(t, res.Message())
	return readXML(t, writeXML(res.Message()))
}

// TestOwnershipAfterEdits edits the caller's element after each call and
// checks that what the call returned says, byte for byte, what it said
// before the edit.
func TestOwnershipAfterEdits(t *testing.T) {
	var p *amp.Processor
	for _, ed := range owEdits {
		t.Run(ed.name, func(t *testing.T) {
			t.Run("after Parse", func(t *testing.T) {
				// The request of an untouched copy is what the edited one's
				// must say.
				req, err := p.Parse(owRequest(t), amp.HopEdge, amp.PresenceAuthorized)
				require.NoError(t, err)
				want := owSayRequest(t, req)
				for _, hop := range []amp.Hop{amp.HopEdge, amp.HopTransit} {
					msg := owRequest(t)
					req, err := p.Parse(msg, hop, amp.PresenceAuthorized)
					require.NoError(t, err)
					if hop == amp.HopEdge {
						ed.edit(msg)
						require.Equal(t, want, owSayRequest(t, req), "after %s", ed.name)
						continue
					}
					before := owSayRequest(t, req)
					ed.edit(msg)
					require.Equal(t, before, owSayRequest(t, req), "at a transit hop, after %s", ed.name)
				}
			})
			t.Run("after Evaluate", func(t *testing.T) {
				msg := owRequest(t)
				req, err := p.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
				require.NoError(t, err)
				var results []amp.Result
				var before []string
				for _, o := range owOutcomes {
					res := mustEvaluate(t, req, o)
					results = append(results, res)
					before = append(before, owSayResult(t, res))
				}
				ed.edit(msg)
				for i, res := range results {
					require.Equal(t, before[i], owSayResult(t, res), "%+v, after %s", owOutcomes[i], ed.name)
				}
			})
			t.Run("after a refusal", func(t *testing.T) {
				msg := owRefused(t)
				_, err := p.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
				var e *amp.Error
				require.ErrorAs(t, err, &e)
				before := owSayError(e)
				require.Contains(t, before, sender, "the reply goes to the sender")
				ed.edit(msg)
				require.Equal(t, before, owSayError(e), "after %s", ed.name)
			})
			t.Run("after Resume", func(t *testing.T) {
				req, err := p.Resume(owStored(t), amp.PresenceAuthorized)
				require.NoError(t, err)
				want := owSayRequest(t, req)
				stored := owStored(t)
				req, err = p.Resume(stored, amp.PresenceAuthorized)
				require.NoError(t, err)
				ed.edit(stored)
				require.Equal(t, want, owSayRequest(t, req), "after %s", ed.name)
			})
		})
	}
}

// TestOwnershipOfReturns changes what the calls returned, and checks that
// the next call returns the same as before and the caller's element is
// untouched.
func TestOwnershipOfReturns(t *testing.T) {
	msg := owRequest(t)
	original := writeXML(msg)
	req, err := (*amp.Processor)(nil).Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
	require.NoError(t, err)
	for _, o := range owOutcomes {
		t.Run(fmt.Sprintf("%s-%v-%s", o.Delivery, o.NextHop, amp.FormatDateTime(o.Time)), func(t *testing.T) {
			res := mustEvaluate(t, req, o)
			want := owSayResult(t, res)
			if m := res.Message(); m != nil {
				require.NotSame(t, msg, m, "Message of a request is a copy")
				purScribble(m)
				if a := owFirstAMP(m); a != nil {
					m.RemoveChild(a)
				}
				m.Child = append(m.Child, etree.NewText("appended"))
			}
			for _, r := range res.Replies(domain) {
				purScribble(r)
			}
			require.Equal(t, want, owSayResult(t, res))
			require.Equal(t, original, writeXML(msg), "the caller's element")
		})
	}
	t.Run("Error.Reply", func(t *testing.T) {
		refused := owRefused(t)
		_, err := (*amp.Processor)(nil).Parse(refused, amp.HopEdge, amp.PresenceAuthorized)
		var e *amp.Error
		require.ErrorAs(t, err, &e)
		want := owSayError(e)
		purScribble(e.Reply(domain))
		require.Equal(t, want, owSayError(e))
	})
	t.Run("message without a request", func(t *testing.T) {
		// The documented exception: the caller's own element.
		plain := readXML(t, messageXML("", "<body>hi</body>"))
		req, err := (*amp.Processor)(nil).Parse(plain, amp.HopEdge, amp.PresenceAuthorized)
		require.NoError(t, err)
		require.Same(t, plain, mustEvaluate(t, req, amp.Outcome{Delivery: amp.DeliveryDirect}).Message())
	})
}

// TestOwnershipConcurrent edits the caller's elements in one goroutine,
// once Parse has returned, while others read the Requests, Results and
// *Errors made from them: what they say never changes, and under -race
// no read of the caller's element is found.
func TestOwnershipConcurrent(t *testing.T) {
	var p *amp.Processor
	msg, refused, stored := owRequest(t), owRefused(t), owStored(t)
	req, err := p.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
	require.NoError(t, err)
	_, err = p.Parse(refused, amp.HopEdge, amp.PresenceAuthorized)
	var e *amp.Error
	require.ErrorAs(t, err, &e)
	resumed, err := p.Resume(stored, amp.PresenceAuthorized)
	require.NoError(t, err)
	res := mustEvaluate(t, req, owOutcomes[0])
	wantReq, wantErr, wantResumed, wantRes := owSayRequest(t, req), owSayError(e), owSayRequest(t, resumed), owSayResult(t, res)

	const readers, rounds = 4, 20
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range rounds {
			for _, el := range []*etree.Element{msg, refused, stored} {
				owEdits[i%len(owEdits)].edit(el)
				if owFirstAMP(el) == nil {
					el.AddChild(amp.RuleSet{Rules: []amp.Rule{rule(amp.ConditionDeliver, amp.ActionDrop, "direct")}}.Element())
				}
				el.CreateAttr("round", fmt.Sprint(i))
			}
		}
	}()
	for g := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				for _, c := range []struct{ got, want string }{
					{owSayRequest(t, req), wantReq},
					{owSayError(e), wantErr},
					{owSayRequest(t, resumed), wantResumed},
					{owSayResult(t, res), wantRes},
				} {
					if c.got != c.want {
						errs <- fmt.Errorf("reader %d, round %d: got %s, want %s", g, i, c.got, c.want)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestOwnershipAttrNamespace reads the namespace of a prefixed attribute
// of the message passed on, after the caller changed the declaration of
// its prefix on its own element. etree resolves an attribute's prefix
// through the element the attribute says it belongs to (Attr.Element): a
// copy whose attributes still pointed to the caller's elements (as
// etree's Copy makes them) would read the caller's element late, and
// change with it.
func TestOwnershipAttrNamespace(t *testing.T) {
	for _, o := range []amp.Outcome{
		{Delivery: amp.DeliveryDirect, Resource: "balcony"},
		{Delivery: amp.DeliveryStored},
		{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopAMP},
	} {
		t.Run(fmt.Sprintf("%s-%v", o.Delivery, o.NextHop), func(t *testing.T) {
			msg := readXML(t, `<message xmlns='jabber:client' xmlns:x='urn:x' from='`+sender+`' to='`+recipient+`' id='m1'>`+
				`<body x:lang='en'>hi</body><amp xmlns='http://jabber.org/protocol/amp'>`+notifyRule+ruleXML("expire-at", "drop", "2100-01-01T00:00:00Z")+`</amp></message>`)
			res := evaluate(t, nil, msg, amp.HopEdge, o)
			out := res.Message()
			require.NotNil(t, out)
			body := out.SelectElement("body")
			require.NotNil(t, body)
			attr := body.SelectAttr("x:lang")
			require.NotNil(t, attr)
			require.Equal(t, "urn:x", attr.NamespaceURI(), "before the caller's edit")

			msg.CreateAttr("xmlns:x", "urn:changed")
			out = res.Message()
			attr = out.SelectElement("body").SelectAttr("x:lang")
			assert.Equal(t, "urn:x", attr.NamespaceURI(), "got %q, want the namespace the message had when it was read", attr.NamespaceURI())
			assert.Same(t, out.SelectElement("body"), attr.Element(), "the attribute of the copy belongs to the copy")
		})
	}
}
