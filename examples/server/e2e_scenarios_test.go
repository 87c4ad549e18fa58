package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
)

// Expected stanzas, written as XML.

func rule(action, condition, value string) string {
	return fmt.Sprintf(`<rule action='%s' condition='%s' value='%s'/>`, action, condition, value)
}

func chat(from, to, id, body string) string {
	return fmt.Sprintf(`<message xmlns='jabber:client' from='%s' to='%s' id='%s'><body>%s</body></message>`, from, to, id, body)
}

func repeat(n int, f func(int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func sentinel(jid, id string) string { return chat(jid, jid, id, "sentinel") }

// event is an alert or notify event from the server (§3.4).
func event(status, sender, to, id, r string) string {
	return fmt.Sprintf(`<message xmlns='jabber:client' from='localhost' to='%s' id='%s'>`+
		`<amp xmlns='%s' status='%s' from='%s' to='%s'>%s</amp></message>`, sender, id, amp.NS, status, sender, to, r)
}

// failed is the error of the error action (§3.4.3).
func failed(sender, to, id, r string) string {
	return fmt.Sprintf(`<message xmlns='jabber:client' from='localhost' to='%s' id='%s' type='error'>`+
		`<amp xmlns='%s' status='error' from='%s' to='%s'>%s</amp>`+
		`<error type='modify' code='500'><undefined-condition xmlns='%s'/><failed-rules xmlns='%s'>%s</failed-rules></error></message>`,
		sender, id, amp.NS, sender, to, r, amp.NSStanzas, amp.NSErrors, r)
}

// refusal is a validation error (§7): the request's rules echoed, and the
// failing ones in container.
func refusal(sender, id, condition, code, container string, echo, failing []string) string {
	return fmt.Sprintf(`<message xmlns='jabber:client' from='localhost' to='%s' id='%s' type='error'>`+
		`<amp xmlns='%s'>%s</amp>`+
		`<error type='modify' code='%s'><%s xmlns='%s'/><%s xmlns='%s'>%s</%s></error></message>`,
		sender, id, amp.NS, strings.Join(echo, ""), code, condition, amp.NSStanzas, container, amp.NS, strings.Join(failing, ""), container)
}

type scenario struct {
	name string
	amp  amp.Config
	// step sets the clock at a "STEP name" of the script.
	step func(c *clock, ts *testServer, name string)
	// extra checks what the script reports beside the stanzas.
	extra func(t *testing.T, out output)
	// want lists the messages each party receives, in order.
	want map[string][]string
}

var scenarios = []scenario{
	{
		name: "notify_direct",
		want: map[string][]string{
			"alice": {event("notify", alice, bob, "m1", rule("notify", "deliver", "direct")), sentinel(alice, "sentinel")},
			"bob":   {chat(alice, bob, "m1", "hello")},
		},
	},
	{
		name: "notify_stored",
		want: map[string][]string{
			"alice": {event("notify", alice, bob, "m1", rule("notify", "deliver", "stored")), sentinel(alice, "sentinel")},
			"bob":   {chat(alice, bob, "m1", "hello")},
		},
	},
	{
		name: "error_stored",
		want: map[string][]string{
			"alice": {failed(alice, bob, "m1", rule("error", "deliver", "stored")), sentinel(alice, "sentinel")},
			"bob":   {chat(alice, bob, "m2", "after")},
		},
	},
	{
		name: "drop_stored",
		want: map[string][]string{
			"alice": {sentinel(alice, "sentinel")},
			"bob":   {chat(alice, bob, "m2", "after")},
		},
	},
	{
		name: "alert_expired",
		step: func(c *clock, _ *testServer, name string) {
			if name == "advance" {
				c.Set(epoch.Add(2 * time.Hour))
			}
		},
		want: map[string][]string{
			"alice_stored": {event("notify", alice, bob, "m1", rule("notify", "deliver", "stored")), sentinel(alice, "sentinel1")},
			"alice":        {event("alert", alice, bob, "m1", rule("alert", "expire-at", "2030-01-01T01:00:00Z")), sentinel(alice, "sentinel2")},
			"bob":          {chat(alice, bob, "m0", "fresh"), chat(alice, bob, "m2", "after")},
		},
	},
	{
		// Both clients enable XEP-0198. A deliver=direct event waits for
		// the recipient's acknowledgement, so seven events prove seven
		// acknowledged messages; the sender's own stanzas are all
		// acknowledged by the server.
		name: "sm_acks",
		want: map[string][]string{
			"alice": append(repeat(7, func(i int) string {
				return event("notify", alice, bob, fmt.Sprintf("s%d", i), rule("notify", "deliver", "direct"))
			}), sentinel(alice, "sentinel")),
			"bob": repeat(7, func(i int) string { return chat(alice, bob, fmt.Sprintf("s%d", i), fmt.Sprintf("n%d", i)) }),
		},
		extra: func(t *testing.T, out output) {
			var sm struct {
				AliceEnabled bool `json:"alice_enabled"`
				BobEnabled   bool `json:"bob_enabled"`
				AliceUnacked int  `json:"alice_unacked"`
				BobHandled   int  `json:"bob_handled"`
			}
			if err := json.Unmarshal(out.Result["sm"], &sm); err != nil {
				t.Fatal(err)
			}
			if !sm.AliceEnabled || !sm.BobEnabled {
				t.Errorf("stream management enabled: alice %v, bob %v; want both", sm.AliceEnabled, sm.BobEnabled)
			}
			if sm.AliceUnacked != 0 {
				t.Errorf("alice has %d stanzas the server did not acknowledge", sm.AliceUnacked)
			}
			if sm.BobHandled < 7 {
				t.Errorf("bob handled %d stanzas, want at least the 7 messages", sm.BobHandled)
			}
		},
	},
	{
		// Two messages stored before a restart keep their pending rules in
		// the store; after it, at 02:00, the first has expired and the
		// second is delivered, which its notify rule reports once bob has
		// acknowledged it.
		name: "restart",
		step: func(c *clock, ts *testServer, name string) {
			if name == "restart" {
				c.Set(epoch.Add(2 * time.Hour))
				ts.restart()
			}
		},
		want: map[string][]string{
			"alice_stored": {event("notify", alice, bob, "m1", rule("notify", "deliver", "stored")), sentinel(alice, "sentinel1")},
			"alice": {
				event("alert", alice, bob, "m1", rule("alert", "expire-at", "2030-01-01T01:00:00Z")),
				event("notify", alice, bob, "m2", rule("notify", "deliver", "direct")),
				sentinel(alice, "sentinel2"),
			},
			"bob": {chat(alice, bob, "m2", "fresh")},
		},
	},
	{
		name: "match_resource",
		want: map[string][]string{
			"alice": {
				event("notify", alice, bob+"/r1", "m1", rule("notify", "match-resource", "exact")),
				event("notify", alice, bob+"/gone", "m3", rule("notify", "match-resource", "other")),
				sentinel(alice, "sentinel"),
			},
			"r1": {chat(alice, bob+"/r1", "m1", "to r1"), chat(alice, bob+"/gone", "m3", "to gone")},
			"r2": {chat(alice, bob+"/r2", "m2", "to r2")},
		},
	},
	{
		name: "unsupported_action",
		amp:  mongoose,
		want: map[string][]string{
			"sender": {
				refusal(alice, "m1", "bad-request", "400", "unsupported-actions",
					[]string{rule("notify", "deliver", "direct"), rule("alert", "deliver", "direct")},
					[]string{rule("alert", "deliver", "direct")}),
				sentinel(alice, "sentinel"),
			},
			"bob": {chat(alice, bob, "m2", "after")},
		},
	},
	{
		name: "unsupported_condition",
		amp:  mongoose,
		want: map[string][]string{
			"sender": {
				refusal(alice, "m1", "bad-request", "400", "unsupported-conditions",
					[]string{rule("notify", "expire-at", "2030-01-01T00:00:00Z"), rule("notify", "deliver", "direct")},
					[]string{rule("notify", "expire-at", "2030-01-01T00:00:00Z")}),
				sentinel(alice, "sentinel"),
			},
			"bob": {chat(alice, bob, "m2", "after")},
		},
	},
	{
		name: "not_acceptable",
		want: map[string][]string{
			"sender": {
				refusal(alice, "m1", "not-acceptable", "405", "invalid-rules",
					[]string{rule("notify", "deliver", "bogus"), rule("drop", "match-resource", "any")},
					[]string{rule("notify", "deliver", "bogus")}),
				sentinel(alice, "sentinel"),
			},
			"bob": {chat(alice, bob, "m2", "after")},
		},
	},
	{
		// bob's roster item for carol is "to": carol may not see bob's
		// presence, so her notify rule is refused (§9).
		name: "no_subscription",
		want: map[string][]string{
			"sender": {
				refusal(carol, "m1", "not-acceptable", "405", "invalid-rules",
					[]string{rule("notify", "deliver", "direct")}, []string{rule("notify", "deliver", "direct")}),
				sentinel(carol, "sentinel"),
			},
			"bob": {chat(carol, bob, "m2", "after")},
		},
	},
}
