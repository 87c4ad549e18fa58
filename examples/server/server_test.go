package main

import (
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"mellium.im/xmpp/jid"
)

// fakeClient is a bound session with no connection: what is pushed to it
// stays in its queue. A closed one fails every delivery.
func fakeClient(s *Server, full string, closed bool) *client {
	c := &client{jid: jid.MustParse(full), out: make(chan *etree.Element, 8), done: make(chan struct{})}
	if closed {
		close(c.done)
	}
	bare := c.jid.Bare().String()
	s.online[bare] = append(s.online[bare], c)
	return c
}

func drain(c *client) []string {
	var out []string
	for {
		select {
		case el := <-c.out:
			out = append(out, canon(el))
		default:
			return out
		}
	}
}

func mustElement(t *testing.T, s string) *etree.Element {
	t.Helper()
	return parse(t, s)
}

// TestDirectDeliveryFails checks the step after a failed direct delivery:
// the rules that have not fired are evaluated for storage, and the stored
// message keeps those still pending.
func TestDirectDeliveryFails(t *testing.T) {
	clk := &clock{t: epoch}
	s := New(testConfig(amp.Config{}, clk.Now))
	a := fakeClient(s, alice, false)
	fakeClient(s, bob+"/r1", true) // its session has just ended

	s.route(mustElement(t, `<message xmlns='jabber:client' from='`+alice+`' to='`+bob+`' id='m1'><body>hi</body>`+
		`<amp xmlns='`+amp.NS+`'>`+rule("notify", "deliver", "direct")+rule("notify", "deliver", "stored")+
		rule("alert", "expire-at", "2030-01-01T01:00:00Z")+`</amp></message>`))

	want := []string{
		canon(parse(t, event("notify", alice, bob, "m1", rule("notify", "deliver", "direct")))),
		canon(parse(t, event("notify", alice, bob, "m1", rule("notify", "deliver", "stored")))),
	}
	if got := drain(a); !equal(got, want) {
		t.Errorf("alice got\n%q\nwant\n%q", got, want)
	}
	stored := s.offline[bob]
	if len(stored) != 1 {
		t.Fatalf("got %d stored messages, want 1", len(stored))
	}
	wantStored := `<message xmlns='jabber:client' from='` + alice + `' to='` + bob + `' id='m1'><body>hi</body>` +
		`<amp xmlns='` + amp.NS + `'>` + rule("alert", "expire-at", "2030-01-01T01:00:00Z") + `</amp></message>`
	if g, w := canon(stored[0]), canon(parse(t, wantStored)); g != w {
		t.Errorf("stored\ngot  %s\nwant %s", g, w)
	}

	// bob logs in after the expiry: the stored rules are parsed again and
	// evaluated at dispatch time.
	s.online[bob] = nil
	clk.Set(epoch.Add(2 * time.Hour))
	b := fakeClient(s, bob+"/r2", false)
	s.presence(b, mustElement(t, `<presence xmlns='jabber:client'/>`))
	if got := drain(b); len(got) != 0 {
		t.Errorf("bob got %q, want nothing", got)
	}
	want = []string{canon(parse(t, event("alert", alice, bob, "m1", rule("alert", "expire-at", "2030-01-01T01:00:00Z"))))}
	if got := drain(a); !equal(got, want) {
		t.Errorf("alice got\n%q\nwant\n%q", got, want)
	}
	if n := len(s.offline[bob]); n != 0 {
		t.Errorf("%d messages still stored, want 0", n)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
