package amp_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/require"
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
	res, err := req.Evaluate(amp.Outcome{Delivery: amp.DeliveryStored, Time: time.Date(2003, 12, 31, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		panic(err)
	}
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

// When a stored message is dispatched, the server resumes its request and
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
		req, err := p.Resume(mustReadXML(stored), amp.PresenceAuthorized)
		if err != nil {
			panic(err)
		}
		res, err := req.Evaluate(amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "watch", Time: now})
		if err != nil {
			panic(err)
		}
		fmt.Printf("at %s: proceed %v\n", amp.FormatDateTime(now), res.Proceed())
		for _, reply := range res.Replies("hamlet.lit") {
			fmt.Println("send:", writeXML(reply))
		}
		if res.Proceed() {
			fmt.Println("deliver:", writeXML(res.Message()))
		}
	}
	// Output:
	// at 2003-12-31T23:00:00Z: proceed true
	// deliver: <message xmlns="jabber:client" from="bernardo@hamlet.lit/elsinore" to="francisco@hamlet.lit" id="chatty2"><body>Who&apos;s there?</body></message>
	// at 2004-01-02T08:00:00Z: proceed false
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
		ev := amp.ParseEvent(mustReadXML(in))
		switch {
		case ev == nil: // not an AMP reply
		case ev.Err != nil:
			fmt.Printf("%s refused: %v %v\n", ev.ID, ev.Err, ev.Err.Rules)
		default:
			fmt.Printf("%s: %s, to %s: %v\n", ev.ID, ev.Status, ev.To, ev.Rules)
		}
	}
	// Output:
	// <message xmlns="jabber:client" to="francisco@hamlet.lit" id="chatty3"><body>Long live the king!</body><amp xmlns="http://jabber.org/protocol/amp"><rule action="drop" condition="deliver" value="stored"/><rule action="notify" condition="match-resource" value="any"/><rule action="error" condition="expire-at" value="2026-12-24T17:00:00Z"/></amp></message>
	// chatty3: notify, to francisco@hamlet.lit: [{match-resource notify any}]
	// chatty4 refused: amp: unsupported action [{deliver alert stored}]
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
// hook, and prints what it does. Juliet is online at balcony, until her
// session closes while a message is on its way to her; the nurse has no
// account.
type exampleServer struct {
	resource   string           // Juliet's session, "" when she is offline
	closing    bool             // her session closes during the next delivery
	offline    []*etree.Element // stored messages
	subscribed map[string]bool  // senders Juliet lets see her presence
}

func (s *exampleServer) send(el *etree.Element) { fmt.Println("send:", writeXML(el)) }

func (s *exampleServer) now() time.Time { return time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC) }

// exampleSession is Juliet's session.
type exampleSession struct {
	s        *exampleServer
	resource string
}

// deliver writes msg to the session, and reports whether the client
// acknowledged it (XEP-0198).
func (c *exampleSession) deliver(msg *etree.Element) bool {
	if c.s.closing {
		c.s.closing, c.s.resource = false, ""
		fmt.Println("deliver: the session closed before the client acknowledged", attrOf(msg, "id"))
		return false
	}
	fmt.Println("deliver:", writeXML(msg))
	return true
}

// session returns the session a message to the JID to goes to, or nil.
func (s *exampleServer) session(to string) *exampleSession {
	if s.resource == "" || !strings.HasPrefix(to, "juliet@") {
		return nil
	}
	return &exampleSession{s, s.resource}
}

func (s *exampleServer) known(to string) bool { return strings.HasPrefix(to, "juliet@") }

func (s *exampleServer) store(msg *etree.Element) bool {
	fmt.Println("store:", writeXML(msg))
	s.offline = append(s.offline, msg)
	return true
}

// dispatch returns and forgets the stored messages, at Juliet's login.
func (s *exampleServer) dispatch(resource string) []*etree.Element {
	s.resource = resource
	out := s.offline
	s.offline = nil
	return out
}

// bounce answers a message to nobody with service-unavailable (RFC 6121).
func (s *exampleServer) bounce(msg *etree.Element) bool {
	fmt.Println("bounce: service-unavailable for", attrOf(msg, "id"))
	return true
}

// presence says whether the recipient lets the sender see its presence.
func (s *exampleServer) presence(msg *etree.Element) amp.Presence {
	return amp.Presence(s.subscribed[attrOf(msg, "from")])
}

func attrOf(el *etree.Element, key string) string { return el.SelectAttrValue(key, "") }

// A server's routing hook: the code of the README's Usage. Romeo asks to
// hear whether his messages are delivered or stored; the first reaches
// Juliet, the second is stored when her session closes before she
// acknowledged it, the third, to her bare JID, is stored while she is
// offline, and both are delivered when she logs in again. Benvolio's
// message to the nurse, who has no account, is dropped as his rule asks,
// without the service-unavailable the server would otherwise send.
func Example_server() {
	s := &exampleServer{resource: "balcony", subscribed: map[string]bool{"romeo@montague.lit/orchard": true}}
	send, now, domain := s.send, s.now, "capulet.lit"

	// At start-up. A mistake in the configuration (an unknown action, say)
	// is an error here, never a silent change of what the server supports.
	proc, err := amp.NewProcessor(amp.Config{}) // the zero Config supports everything XEP-0079 defines
	if err != nil {
		log.Fatal(err)
	}

	// route takes a message's request from the routing decision to the end of
	// its delivery.
	route := func(req amp.Request, to string) {
		for {
			// The routing decision: what the server is about to do.
			o := amp.Outcome{Delivery: amp.DeliveryNone, Time: now()} // nobody to deliver to
			session := s.session(to)
			switch {
			case session != nil:
				o.Delivery, o.Resource = amp.DeliveryDirect, session.resource
			case s.known(to):
				o.Delivery = amp.DeliveryStored
			}
			res, err := req.Evaluate(o)
			if err != nil {
				log.Print(err) // the server stated an outcome amp does not know
				return
			}
			if !res.Proceed() {
				for _, r := range res.Replies(domain) {
					send(r) // notify events, then an alert, an error or service-unavailable
				}
				return // alert, drop, error, or service-unavailable
			}
			// The delivery. Its notify events are true only once it has
			// happened: acknowledged by the client, or committed to storage.
			var done bool
			switch o.Delivery {
			case amp.DeliveryDirect:
				done = session.deliver(res.Message()) // without its <amp/>
			case amp.DeliveryStored:
				done = s.store(res.Message()) // keeps the rules that have not fired
			default:
				done = s.bounce(res.Message())
			}
			if done {
				for _, r := range res.Replies(domain) {
					send(r)
				}
				return
			}
			// The delivery failed (the session is gone, the store is full):
			// no rule of res has fired. Decide again, as things are now.
			req = res.Request()
		}
	}

	// On receipt, once the server has set from to the sender's full JID:
	// read and validate the request. presence is amp.PresenceAuthorized
	// when the recipient's roster lets the sender see its presence (§9).
	receive := func(msg *etree.Element) {
		req, err := proc.Parse(msg, amp.HopEdge, s.presence(msg))
		var refusal *amp.Error
		switch {
		case errors.As(err, &refusal):
			send(refusal.Reply(domain)) // the XEP's error stanza
		case err == nil:
			route(req, msg.SelectAttrValue("to", ""))
		} // otherwise amp.ErrNoSender or amp.ErrNotMessage: nobody to answer
	}

	// At login, each stored message is resumed, not validated again, with
	// the presence authorization and the time of dispatch.
	login := func(resource string) {
		for _, msg := range s.dispatch(resource) {
			req, err := proc.Resume(msg, s.presence(msg))
			if err != nil {
				log.Printf("a stored message amp did not write: %v", err)
				continue
			}
			route(req, msg.SelectAttrValue("to", ""))
		}
	}

	rules := `<amp xmlns='http://jabber.org/protocol/amp'>` +
		`<rule condition='deliver' action='notify' value='direct'/><rule condition='deliver' action='notify' value='stored'/></amp>`
	receive(mustReadXML(`<message xmlns='jabber:client' from='romeo@montague.lit/orchard' to='juliet@capulet.lit/balcony' id='r1'>` +
		`<body>Wherefore art thou?</body>` + rules + `</message>`))
	s.closing = true
	receive(mustReadXML(`<message xmlns='jabber:client' from='romeo@montague.lit/orchard' to='juliet@capulet.lit/balcony' id='r2'>` +
		`<body>Deny thy father.</body>` + rules + `</message>`))
	receive(mustReadXML(`<message xmlns='jabber:client' from='romeo@montague.lit/orchard' to='juliet@capulet.lit' id='r3'>` +
		`<body>Call me but love.</body>` + rules + `</message>`))
	receive(mustReadXML(`<message xmlns='jabber:client' from='benvolio@montague.lit/street' to='nurse@capulet.lit' id='b1'>` +
		`<body>Where is Romeo?</body><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='none'/></amp></message>`))
	login("balcony")
	// Output:
	// deliver: <message xmlns="jabber:client" from="romeo@montague.lit/orchard" to="juliet@capulet.lit/balcony" id="r1"><body>Wherefore art thou?</body></message>
	// send: <message xmlns="jabber:client" from="capulet.lit" to="romeo@montague.lit/orchard" id="r1"><amp xmlns="http://jabber.org/protocol/amp" status="notify" from="romeo@montague.lit/orchard" to="juliet@capulet.lit/balcony"><rule action="notify" condition="deliver" value="direct"/></amp></message>
	// deliver: the session closed before the client acknowledged r2
	// store: <message xmlns="jabber:client" from="romeo@montague.lit/orchard" to="juliet@capulet.lit/balcony" id="r2"><body>Deny thy father.</body><amp xmlns="http://jabber.org/protocol/amp"><rule action="notify" condition="deliver" value="direct"/></amp></message>
	// send: <message xmlns="jabber:client" from="capulet.lit" to="romeo@montague.lit/orchard" id="r2"><amp xmlns="http://jabber.org/protocol/amp" status="notify" from="romeo@montague.lit/orchard" to="juliet@capulet.lit/balcony"><rule action="notify" condition="deliver" value="stored"/></amp></message>
	// store: <message xmlns="jabber:client" from="romeo@montague.lit/orchard" to="juliet@capulet.lit" id="r3"><body>Call me but love.</body><amp xmlns="http://jabber.org/protocol/amp"><rule action="notify" condition="deliver" value="direct"/></amp></message>
	// send: <message xmlns="jabber:client" from="capulet.lit" to="romeo@montague.lit/orchard" id="r3"><amp xmlns="http://jabber.org/protocol/amp" status="notify" from="romeo@montague.lit/orchard" to="juliet@capulet.lit"><rule action="notify" condition="deliver" value="stored"/></amp></message>
	// deliver: <message xmlns="jabber:client" from="romeo@montague.lit/orchard" to="juliet@capulet.lit/balcony" id="r2"><body>Deny thy father.</body></message>
	// send: <message xmlns="jabber:client" from="capulet.lit" to="romeo@montague.lit/orchard" id="r2"><amp xmlns="http://jabber.org/protocol/amp" status="notify" from="romeo@montague.lit/orchard" to="juliet@capulet.lit/balcony"><rule action="notify" condition="deliver" value="direct"/></amp></message>
	// deliver: <message xmlns="jabber:client" from="romeo@montague.lit/orchard" to="juliet@capulet.lit" id="r3"><body>Call me but love.</body></message>
	// send: <message xmlns="jabber:client" from="capulet.lit" to="romeo@montague.lit/orchard" id="r3"><amp xmlns="http://jabber.org/protocol/amp" status="notify" from="romeo@montague.lit/orchard" to="juliet@capulet.lit"><rule action="notify" condition="deliver" value="direct"/></amp></message>
}

// TestREADMEUsage checks that the code of the README's Usage section is
// the body of Example_server, line for line, so that it compiles and does
// what the example's output shows.
func TestREADMEUsage(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	source, err := os.ReadFile("example_test.go")
	require.NoError(t, err)
	_, usage, ok := strings.Cut(string(readme), "## Usage")
	require.True(t, ok, "README.md has no Usage section")
	_, code, ok := strings.Cut(usage, "```go\n")
	require.True(t, ok, "the Usage section has no Go code")
	code, _, _ = strings.Cut(code, "```")
	trimmed := func(text string) []string {
		var lines []string
		for _, l := range strings.Split(text, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "import ") {
				lines = append(lines, l)
			}
		}
		return lines
	}
	want := strings.Join(trimmed(code), "\n")
	require.Contains(t, strings.Join(trimmed(string(source)), "\n"), want)
}
