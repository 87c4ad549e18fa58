package amp_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// On receipt, a server parses and validates the request, and answers a
// refusal with the error stanza of Error.Reply.
func Example_receipt() {
	// This server runs without expire-at.
	p, err := amp.NewProcessor(amp.Config{Conditions: []amp.Condition{amp.ConditionDeliver, amp.ConditionMatchResource}})
	if err != nil {
		panic(err)
	}
	msg := mustReadXML(`<message xmlns='jabber:client' from='bernardo@hamlet.lit/elsinore' to='francisco@hamlet.lit' id='chatty2'>` +
		`<body>Who's there?</body>` +
		`<amp xmlns='http://jabber.org/protocol/amp'><rule action='alert' condition='expire-at' value='2004-01-01T00:00:00Z'/></amp></message>`)

	_, err = p.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
	var refusal *amp.Error
	if errors.As(err, &refusal) {
		fmt.Println(err)
		fmt.Println(writeXML(refusal.Reply("hamlet.lit")))
	}
	// Output:
	// amp: unsupported condition: rule 1: condition "expire-at"
	// <message xmlns="jabber:client" from="hamlet.lit" to="bernardo@hamlet.lit/elsinore" id="chatty2" type="error"><amp xmlns="http://jabber.org/protocol/amp"><rule action="alert" condition="expire-at" value="2004-01-01T00:00:00Z"/></amp><error type="modify" code="400"><bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><unsupported-conditions xmlns="http://jabber.org/protocol/amp"><rule action="alert" condition="expire-at" value="2004-01-01T00:00:00Z"/></unsupported-conditions></error></message>
}

// At the routing decision, a server states what it would do with the
// message, sends the replies, and passes the message on, or not.
func Example_routing() {
	msg := mustReadXML(`<message xmlns='jabber:client' from='bernardo@hamlet.lit/elsinore' to='francisco@hamlet.lit' id='chatty2'>` +
		`<body>Who's there?</body>` +
		`<amp xmlns='http://jabber.org/protocol/amp'>` +
		`<rule action='notify' condition='deliver' value='stored'/>` +
		`<rule action='alert' condition='expire-at' value='2004-01-01T00:00:00Z'/>` +
		`</amp></message>`)
	var p *amp.Processor // the default: everything XEP-0079 defines
	// Bernardo is subscribed to Francisco's presence.
	req, err := p.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
	if err != nil {
		panic(err)
	}

	// Francisco is offline: the message would be stored.
	res := req.Evaluate(amp.Outcome{Delivery: amp.DeliveryStored, Time: time.Date(2003, 12, 31, 12, 0, 0, 0, time.UTC)})
	for _, reply := range res.Replies("hamlet.lit") {
		fmt.Println("send:", writeXML(reply))
	}
	if res.Proceed() {
		fmt.Println("store:", writeXML(res.Message()))
	}
	// Output:
	// send: <message xmlns="jabber:client" from="hamlet.lit" to="bernardo@hamlet.lit/elsinore" id="chatty2"><amp xmlns="http://jabber.org/protocol/amp" status="notify" from="bernardo@hamlet.lit/elsinore" to="francisco@hamlet.lit"><rule action="notify" condition="deliver" value="stored"/></amp></message>
	// store: <message xmlns="jabber:client" from="bernardo@hamlet.lit/elsinore" to="francisco@hamlet.lit" id="chatty2"><body>Who&apos;s there?</body><amp xmlns="http://jabber.org/protocol/amp"><rule action="alert" condition="expire-at" value="2004-01-01T00:00:00Z"/></amp></message>
}

// When a stored message is dispatched, the server parses it again and
// evaluates the rules it kept at the time of dispatch.
func Example_dispatch() {
	stored := `<message xmlns='jabber:client' from='bernardo@hamlet.lit/elsinore' to='francisco@hamlet.lit' id='chatty2'>` +
		`<body>Who's there?</body>` +
		`<amp xmlns='http://jabber.org/protocol/amp'><rule action='alert' condition='expire-at' value='2004-01-01T00:00:00Z'/></amp></message>`
	var p *amp.Processor
	for _, now := range []time.Time{
		time.Date(2003, 12, 31, 23, 0, 0, 0, time.UTC),
		time.Date(2004, 1, 2, 8, 0, 0, 0, time.UTC),
	} {
		msg := mustReadXML(stored)
		req, err := p.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
		if err != nil {
			panic(err)
		}
		res := req.Evaluate(amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "watch", Time: now})
		fmt.Printf("at %s: proceed %v, action %q\n", amp.FormatDateTime(now), res.Proceed(), res.Action())
		for _, reply := range res.Replies("hamlet.lit") {
			fmt.Println("send:", writeXML(reply))
		}
		if res.Proceed() {
			fmt.Println("deliver:", writeXML(res.Message()))
		}
	}
	// Output:
	// at 2003-12-31T23:00:00Z: proceed true, action ""
	// deliver: <message xmlns="jabber:client" from="bernardo@hamlet.lit/elsinore" to="francisco@hamlet.lit" id="chatty2"><body>Who&apos;s there?</body></message>
	// at 2004-01-02T08:00:00Z: proceed false, action "alert"
	// send: <message xmlns="jabber:client" from="hamlet.lit" to="bernardo@hamlet.lit/elsinore" id="chatty2"><amp xmlns="http://jabber.org/protocol/amp" status="alert" from="bernardo@hamlet.lit/elsinore" to="francisco@hamlet.lit"><rule action="alert" condition="expire-at" value="2004-01-01T00:00:00Z"/></amp></message>
}

// A client puts rules on an outgoing message and reads the replies that
// come back.
func Example_client() {
	msg := mustReadXML(`<message xmlns='jabber:client' to='francisco@hamlet.lit' id='chatty3'><body>Long live the king!</body></message>`)
	// Not worth reading after six in the evening, Elsinore time.
	elsinore := time.FixedZone("CET", 3600)
	rules := amp.RuleSet{Rules: []amp.Rule{
		{Condition: amp.ConditionDeliver, Action: amp.ActionDrop, Value: string(amp.DeliveryStored)},
		{Condition: amp.ConditionMatchResource, Action: amp.ActionNotify, Value: string(amp.MatchResourceAny)},
		{Condition: amp.ConditionExpireAt, Action: amp.ActionError, Value: amp.FormatDateTime(time.Date(2026, 12, 24, 18, 0, 0, 0, elsinore))},
	}}
	msg.AddChild(rules.Element())
	fmt.Println(writeXML(msg))

	for _, in := range []string{
		`<message from='hamlet.lit' to='bernardo@hamlet.lit/elsinore' id='chatty3'>` +
			`<amp xmlns='http://jabber.org/protocol/amp' status='notify' from='bernardo@hamlet.lit/elsinore' to='francisco@hamlet.lit'>` +
			`<rule action='notify' condition='match-resource' value='any'/></amp></message>`,
		`<message from='hamlet.lit' to='bernardo@hamlet.lit/elsinore' id='chatty4' type='error'>` +
			`<amp xmlns='http://jabber.org/protocol/amp'><rule action='alert' condition='deliver' value='stored'/></amp>` +
			`<error type='modify' code='400'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>` +
			`<unsupported-actions xmlns='http://jabber.org/protocol/amp'><rule action='alert' condition='deliver' value='stored'/></unsupported-actions></error></message>`,
	} {
		if ev := amp.ParseEvent(mustReadXML(in)); ev != nil {
			fmt.Println(ev.ID, ev.Status, ev.To, ev.Rules)
			if ev.Err != nil {
				fmt.Println(ev.Err, ev.Err.Rules)
			}
		}
	}
	// Output:
	// <message xmlns="jabber:client" to="francisco@hamlet.lit" id="chatty3"><body>Long live the king!</body><amp xmlns="http://jabber.org/protocol/amp"><rule action="drop" condition="deliver" value="stored"/><rule action="notify" condition="match-resource" value="any"/><rule action="error" condition="expire-at" value="2026-12-24T17:00:00Z"/></amp></message>
	// chatty3 notify francisco@hamlet.lit [{match-resource notify any}]
	// chatty4   [{deliver alert stored}]
	// amp: unsupported action [{deliver alert stored}]
}

// A server answers service discovery for the AMP node, here with the
// actions and conditions MongooseIM supports, and lists the stream
// feature.
func ExampleProcessor_DiscoInfo() {
	p, err := amp.NewProcessor(amp.Config{
		Actions:    []amp.Action{amp.ActionDrop, amp.ActionError, amp.ActionNotify},
		Conditions: []amp.Condition{amp.ConditionDeliver, amp.ConditionMatchResource},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(writeXML(p.DiscoInfo("")))
	fmt.Println(writeXML(p.DiscoInfo(amp.NS)))
	fmt.Println(writeXML(amp.StreamFeature()))
	// Output:
	// <query xmlns="http://jabber.org/protocol/disco#info"><feature var="http://jabber.org/protocol/amp"/></query>
	// <query xmlns="http://jabber.org/protocol/disco#info" node="http://jabber.org/protocol/amp"><identity category="server" type="im"/><feature var="http://jabber.org/protocol/amp"/><feature var="http://jabber.org/protocol/amp?action=drop"/><feature var="http://jabber.org/protocol/amp?action=error"/><feature var="http://jabber.org/protocol/amp?action=notify"/><feature var="http://jabber.org/protocol/amp?condition=deliver"/><feature var="http://jabber.org/protocol/amp?condition=match-resource"/></query>
	// <amp xmlns="http://jabber.org/features/amp"/>
}

// exampleServer stands for the code of an XMPP server around its routing
// hook; it prints what it does.
type exampleServer struct {
	domain  string
	inbox   *etree.Element
	online  bool             // whether the recipient's session is still there
	offline []*etree.Element // stored messages
}

// receive returns the next message, its from stamped with the sender's
// full JID.
func (s *exampleServer) receive() *etree.Element { return s.inbox }

// presence says whether the sender may see the recipient's presence: the
// recipient's roster has a subscription of from or both for the sender.
func (s *exampleServer) presence(*etree.Element) amp.Presence { return amp.PresenceAuthorized }

// session returns the resource of the recipient's session.
func (s *exampleServer) session(*etree.Element) (resource string, ok bool) { return "balcony", true }

func (s *exampleServer) send(stanzas ...*etree.Element) {
	for _, el := range stanzas {
		fmt.Println("send:", writeXML(el))
	}
}

// deliver hands msg to the recipient's session at resource; the first
// time, that session has just closed.
func (s *exampleServer) deliver(msg *etree.Element, resource string) bool {
	if !s.online {
		fmt.Println("deliver: failed, the session has just closed")
		s.online = true
		return false
	}
	fmt.Printf("deliver to %s: %s\n", resource, writeXML(msg))
	return true
}

func (s *exampleServer) store(msg *etree.Element) {
	fmt.Println("store:", writeXML(msg))
	s.offline = append(s.offline, msg)
}

func newExampleServer() *exampleServer {
	return &exampleServer{domain: "capulet.lit", inbox: mustReadXML(`<message xmlns='jabber:client' from='romeo@montague.lit/orchard' to='juliet@capulet.lit/balcony' id='r1'>` +
		`<body>Wherefore art thou?</body><amp xmlns='http://jabber.org/protocol/amp'>` +
		`<rule condition='deliver' action='notify' value='direct'/><rule condition='deliver' action='notify' value='stored'/>` +
		`<rule condition='match-resource' action='drop' value='other'/></amp></message>`)}
}

// A server's routing hook: receipt, routing decision, storage when direct
// delivery fails, and dispatch of a stored message.
func Example_server() {
	s := newExampleServer()         // the server's own code: sessions, storage, sending
	var ampProcessor *amp.Processor // made once by amp.NewProcessor(config); nil is the default
	msg := s.receive()

	// 1. On receipt: read and validate the request.
	req, err := ampProcessor.Parse(msg, amp.HopEdge, s.presence(msg))
	var refusal *amp.Error
	switch {
	case errors.As(err, &refusal):
		s.send(refusal.Reply(s.domain))
		return
	case err != nil: // amp.ErrNoSender or amp.ErrNotMessage: nobody to answer
		return
	}

	// 2. At the routing decision: the recipient has a session.
	resource, _ := s.session(msg)
	res := req.Evaluate(amp.Outcome{Delivery: amp.DeliveryDirect, Resource: resource, Time: time.Now()})
	s.send(res.Replies(s.domain)...)
	if !res.Proceed() {
		return // dropped, or refused: the replies say so
	}
	if s.deliver(res.Message(), resource) {
		return
	}

	// 3. Direct delivery failed: store the message instead, with the rules
	//    that have not fired.
	res = res.Remaining().Evaluate(amp.Outcome{Delivery: amp.DeliveryStored, Time: time.Now()})
	s.send(res.Replies(s.domain)...)
	if res.Proceed() {
		s.store(res.Message())
	}

	// 4. Later, when the recipient is back: dispatch what was stored.
	for _, stored := range s.offline {
		req, err := ampProcessor.Parse(stored, amp.HopEdge, s.presence(stored))
		if errors.As(err, &refusal) {
			s.send(refusal.Reply(s.domain))
		}
		if err != nil {
			continue
		}
		resource, _ := s.session(stored)
		res := req.Evaluate(amp.Outcome{Delivery: amp.DeliveryDirect, Resource: resource, Time: time.Now()})
		s.send(res.Replies(s.domain)...)
		if res.Proceed() {
			s.deliver(res.Message(), resource)
		}
	}
	// Output:
	// send: <message xmlns="jabber:client" from="capulet.lit" to="romeo@montague.lit/orchard" id="r1"><amp xmlns="http://jabber.org/protocol/amp" status="notify" from="romeo@montague.lit/orchard" to="juliet@capulet.lit/balcony"><rule action="notify" condition="deliver" value="direct"/></amp></message>
	// deliver: failed, the session has just closed
	// send: <message xmlns="jabber:client" from="capulet.lit" to="romeo@montague.lit/orchard" id="r1"><amp xmlns="http://jabber.org/protocol/amp" status="notify" from="romeo@montague.lit/orchard" to="juliet@capulet.lit/balcony"><rule action="notify" condition="deliver" value="stored"/></amp></message>
	// store: <message xmlns="jabber:client" from="romeo@montague.lit/orchard" to="juliet@capulet.lit/balcony" id="r1"><body>Wherefore art thou?</body><amp xmlns="http://jabber.org/protocol/amp"><rule action="drop" condition="match-resource" value="other"/></amp></message>
	// deliver to balcony: <message xmlns="jabber:client" from="romeo@montague.lit/orchard" to="juliet@capulet.lit/balcony" id="r1"><body>Wherefore art thou?</body></message>
}
