package amp_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// read parses a stanza as a server would have it.
func read(s string) *etree.Element {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		panic(err)
	}
	return doc.Root()
}

// write serializes a stanza as a server would send it.
func write(el *etree.Element) string {
	doc := etree.NewDocumentWithRoot(el)
	s, _ := doc.WriteToString()
	return s
}

// On receipt, a server parses and validates the request, and bounces it
// when the rules are not acceptable.
func Example_receipt() {
	msg := read(`<message xmlns='jabber:client' from='bernardo@hamlet.lit/elsinore' to='francisco@hamlet.lit' id='chatty2'>` +
		`<body>Who's there?</body>` +
		`<amp xmlns='http://jabber.org/protocol/amp'><rule action='alert' condition='expire-at' value='2004-01-01T00:00:00Z'/></amp></message>`)

	// This server runs without expire-at.
	cfg := amp.Config{Conditions: []amp.Condition{amp.CondDeliver, amp.CondMatchResource}}
	rs, err := amp.Parse(msg)
	if err == nil {
		err = cfg.Validate(rs, amp.PresenceAuthorized)
	}
	if err != nil {
		fmt.Println(errors.Is(err, amp.ErrUnsupportedCondition))
		fmt.Println(write(amp.ErrorReply(msg, "hamlet.lit", err)))
	}
	// Output:
	// true
	// <message xmlns="jabber:client" from="hamlet.lit" to="bernardo@hamlet.lit/elsinore" id="chatty2" type="error"><amp xmlns="http://jabber.org/protocol/amp"><rule action="alert" condition="expire-at" value="2004-01-01T00:00:00Z"/></amp><error type="modify" code="400"><bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><unsupported-conditions xmlns="http://jabber.org/protocol/amp"><rule action="alert" condition="expire-at" value="2004-01-01T00:00:00Z"/></unsupported-conditions></error></message>
}

// At the routing decision, a server states what it would do with the
// message, sends the events, and passes the message on, or not.
func Example_routing() {
	msg := read(`<message xmlns='jabber:client' from='bernardo@hamlet.lit/elsinore' to='francisco@hamlet.lit' id='chatty2'>` +
		`<body>Who's there?</body>` +
		`<amp xmlns='http://jabber.org/protocol/amp'>` +
		`<rule action='notify' condition='deliver' value='stored'/>` +
		`<rule action='alert' condition='expire-at' value='2004-01-01T00:00:00Z'/>` +
		`</amp></message>`)
	var cfg amp.Config // everything XEP-0079 defines
	rs, _ := amp.Parse(msg)

	// Francisco is offline: the message would be stored. Bernardo is
	// subscribed to his presence.
	res := cfg.Evaluate(msg, rs, amp.Outcome{
		Deliver:  amp.DeliverStored,
		Time:     time.Date(2003, 12, 31, 12, 0, 0, 0, time.UTC),
		Presence: amp.PresenceAuthorized,
	})
	for _, reply := range res.Replies("hamlet.lit") {
		fmt.Println(write(reply))
	}
	if res.Deliver {
		fmt.Println("store:", write(res.Message()))
	}
	// Output:
	// <message xmlns="jabber:client" from="hamlet.lit" to="bernardo@hamlet.lit/elsinore" id="chatty2"><amp xmlns="http://jabber.org/protocol/amp" status="notify" from="bernardo@hamlet.lit/elsinore" to="francisco@hamlet.lit"><rule action="notify" condition="deliver" value="stored"/></amp></message>
	// store: <message xmlns="jabber:client" from="bernardo@hamlet.lit/elsinore" to="francisco@hamlet.lit" id="chatty2"><body>Who&apos;s there?</body><amp xmlns="http://jabber.org/protocol/amp"><rule action="alert" condition="expire-at" value="2004-01-01T00:00:00Z"/></amp></message>
}

// When a stored message is dispatched, the server evaluates the rules it
// kept again, at the time of dispatch.
func Example_dispatch() {
	stored := read(`<message xmlns='jabber:client' from='bernardo@hamlet.lit/elsinore' to='francisco@hamlet.lit' id='chatty2'>` +
		`<body>Who's there?</body>` +
		`<amp xmlns='http://jabber.org/protocol/amp'><rule action="alert" condition="expire-at" value="2004-01-01T00:00:00Z"/></amp></message>`)
	var cfg amp.Config
	rs, _ := amp.Parse(stored)
	res := cfg.Evaluate(stored, rs, amp.Outcome{
		Deliver:  amp.DeliverDirect,
		Resource: "watch",
		Time:     time.Date(2004, 1, 2, 8, 0, 0, 0, time.UTC),
		Presence: amp.PresenceAuthorized,
	})
	fmt.Println(res.Deliver, res.Action)
	for _, reply := range res.Replies("hamlet.lit") {
		fmt.Println(write(reply))
	}
	// Output:
	// false alert
	// <message xmlns="jabber:client" from="hamlet.lit" to="bernardo@hamlet.lit/elsinore" id="chatty2"><amp xmlns="http://jabber.org/protocol/amp" status="alert" from="bernardo@hamlet.lit/elsinore" to="francisco@hamlet.lit"><rule action="alert" condition="expire-at" value="2004-01-01T00:00:00Z"/></amp></message>
}

// A client asks for rules on an outgoing message and reads the events that
// come back.
func Example_client() {
	msg := read(`<message xmlns='jabber:client' to='francisco@hamlet.lit' id='chatty3'><body>Long live the king!</body></message>`)
	rules := amp.RuleSet{Rules: []amp.Rule{
		{Condition: amp.CondDeliver, Action: amp.ActionDrop, Value: string(amp.DeliverStored)},
		{Condition: amp.CondMatchResource, Action: amp.ActionNotify, Value: string(amp.MatchAny)},
	}}
	msg.AddChild(rules.Element())
	fmt.Println(write(msg))

	in := read(`<message from='hamlet.lit' to='bernardo@hamlet.lit/elsinore' id='chatty3'>` +
		`<amp xmlns='http://jabber.org/protocol/amp' status='notify' from='bernardo@hamlet.lit/elsinore' to='francisco@hamlet.lit'>` +
		`<rule action='notify' condition='match-resource' value='any'/></amp></message>`)
	if ev := amp.ParseEvent(in); ev != nil {
		fmt.Println(ev.ID, ev.Status, ev.To, ev.Rules[0].Condition, ev.Err)
	}
	// Output:
	// <message xmlns="jabber:client" to="francisco@hamlet.lit" id="chatty3"><body>Long live the king!</body><amp xmlns="http://jabber.org/protocol/amp"><rule action="drop" condition="deliver" value="stored"/><rule action="notify" condition="match-resource" value="any"/></amp></message>
	// chatty3 notify francisco@hamlet.lit match-resource <nil>
}

// A server answers service discovery for the AMP node, here with the
// actions and conditions MongooseIM supports.
func ExampleConfig_DiscoInfo() {
	cfg := amp.Config{
		Actions:    []amp.Action{amp.ActionDrop, amp.ActionError, amp.ActionNotify},
		Conditions: []amp.Condition{amp.CondDeliver, amp.CondMatchResource},
	}
	fmt.Println(write(cfg.DiscoInfo(amp.NS)))
	fmt.Println(write(amp.StreamFeature()))
	// Output:
	// <query xmlns="http://jabber.org/protocol/disco#info" node="http://jabber.org/protocol/amp"><identity category="server" type="im"/><feature var="http://jabber.org/protocol/amp"/><feature var="http://jabber.org/protocol/amp?action=drop"/><feature var="http://jabber.org/protocol/amp?action=error"/><feature var="http://jabber.org/protocol/amp?action=notify"/><feature var="http://jabber.org/protocol/amp?condition=deliver"/><feature var="http://jabber.org/protocol/amp?condition=match-resource"/></query>
	// <amp xmlns="http://jabber.org/features/amp"/>
}
