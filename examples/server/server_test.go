package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// serve starts a server with the test accounts, changed by edit, and
// returns it with its address.
func serve(t *testing.T, edit func(*Config)) (*testServer, string) {
	t.Helper()
	ts := start(t, serveConfig(t, edit))
	return ts, "127.0.0.1:" + ts.port
}

// serveConfig is the configuration serve uses.
func serveConfig(t *testing.T, edit func(*Config)) Config {
	cfg := testConfig(t, amp.Config{}, time.Now)
	cfg.Accounts["canA"] = Account{Password: "CanA-pw", Roster: map[string]string{"alice@localhost": "both"}}
	cfg.Accounts["alice"].Roster["cana@localhost"] = "both"
	cfg.Accounts["carol"].Roster["alice@localhost"] = "both"
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

func mustDial(t *testing.T, addr, user, resource string, sm, presence bool) *tclient {
	t.Helper()
	c, err := dial(addr, user, resource, sm, presence)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.abort)
	return c
}

// expectMessage reads stanzas until a message and returns it.
func expectMessage(t *testing.T, c *tclient) *etree.Element {
	t.Helper()
	for {
		el, err := c.next(5 * time.Second)
		if err != nil {
			t.Fatalf("%s: waiting for a message: %v", c.jid, err)
		}
		if el.Tag == "message" {
			return el
		}
	}
}

// expectNothing checks that c receives no message for a while.
func expectNothing(t *testing.T, c *tclient, d time.Duration) {
	t.Helper()
	if el, err := c.next(d); err == nil {
		t.Errorf("%s got %s, want nothing", c.jid, canon(el))
	}
}

// streamEnd waits for the server to end c's stream and returns the stream
// error condition it sent.
func streamEnd(t *testing.T, c *tclient, d time.Duration) string {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(d):
		t.Fatalf("%s: the server did not end the stream within %v", c.jid, d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streamErr
}

func TestStreamErrors(t *testing.T) {
	for _, tc := range []struct {
		name, send, want string
	}{
		{"not well-formed", `<message to='bob@localhost'><body>a</bod></message>`, "not-well-formed"},
		{"unbound prefix", `<x:message to='bob@localhost' id='m1'><body>hi</body></x:message>`, "not-well-formed"},
		{"unknown element", `<foo xmlns='urn:example'/>`, "unsupported-stanza-type"},
		{"too large", `<message to='bob@localhost' id='m1'><body>` + strings.Repeat("x", 20000) + `</body></message>`, "policy-violation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := serve(t, func(c *Config) { c.MaxStanza = 8 << 10 })
			b := mustDial(t, addr, "bob", "r1", false, true)
			a := mustDial(t, addr, "alice", "a1", false, true)
			a.send(tc.send)
			if got := streamEnd(t, a, 5*time.Second); got != tc.want {
				t.Errorf("stream error %q, want %q", got, tc.want)
			}
			// Nothing was routed.
			expectNothing(t, b, 200*time.Millisecond)
		})
	}
}

func TestTimeouts(t *testing.T) {
	_, addr := serve(t, func(c *Config) {
		c.NegotiationTimeout = 300 * time.Millisecond
		c.IdleTimeout = 500 * time.Millisecond
	})
	// A connection that never authenticates is closed.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	var netErr net.Error
	if _, err := io.ReadAll(conn); errors.As(err, &netErr) && netErr.Timeout() {
		t.Errorf("an unauthenticated connection was still open after 3s")
	}
	// A bound session that sends nothing gets connection-timeout.
	a := mustDial(t, addr, "alice", "a1", false, true)
	if got := streamEnd(t, a, 3*time.Second); got != "connection-timeout" {
		t.Errorf("idle session: stream error %q, want connection-timeout", got)
	}
}

// TestNormalizedAccounts: an account configured as canA is cana, whatever
// the case a client writes.
func TestNormalizedAccounts(t *testing.T) {
	_, addr := serve(t, nil)
	c := mustDial(t, addr, "CanA", "r", false, true)
	if c.jid != "cana@localhost/r" {
		t.Errorf("bound %q, want cana@localhost/r", c.jid)
	}
	a := mustDial(t, addr, "alice", "a1", false, true)
	a.send(message("CANA@LocalHost", "m1", "hi", rule("notify", "deliver", "direct")))
	if got := expectMessage(t, c); attr(got, "id") != "m1" {
		t.Errorf("cana got %s", canon(got))
	}
	if got := expectMessage(t, a); ampStatus(got) != "notify" {
		t.Errorf("alice got %s, want a notify event", canon(got))
	}
}

// TestUnknownUser: deliver=none rules are evaluated, then
// service-unavailable, unless a rule answered.
func TestUnknownUser(t *testing.T) {
	_, addr := serve(t, nil)
	a := mustDial(t, addr, "alice", "a1", false, true)
	a.send(message("nobody@localhost", "m1", "hi", rule("notify", "deliver", "none")))
	if got := expectMessage(t, a); ampStatus(got) != "notify" {
		t.Errorf("first reply %s, want the notify event", canon(got))
	}
	if got := expectMessage(t, a); attr(got, "type") != "error" || got.FindElement("error/service-unavailable") == nil {
		t.Errorf("second reply %s, want service-unavailable", canon(got))
	}
	a.send(message("nobody@localhost", "m2", "hi", rule("alert", "deliver", "none")))
	if got := expectMessage(t, a); ampStatus(got) != "alert" {
		t.Errorf("reply %s, want the alert event", canon(got))
	}
	expectNothing(t, a, 200*time.Millisecond)
}

// TestQuota: a message past the quota is not stored; its deliver=none
// rules are evaluated, and service-unavailable follows.
func TestQuota(t *testing.T) {
	_, addr := serve(t, func(c *Config) { c.OfflineQuota = 2 })
	a := mustDial(t, addr, "alice", "a1", false, true)
	for i := range 2 {
		a.send(message("bob@localhost", fmt.Sprint("m", i), "stored"))
	}
	a.send(message("bob@localhost", "m2", "over", rule("notify", "deliver", "stored"), rule("notify", "deliver", "none")))
	got := expectMessage(t, a)
	if r := got.FindElement("amp/rule"); r == nil || attr(r, "value") != "none" {
		t.Errorf("first reply %s, want notify for deliver=none", canon(got))
	}
	if got := expectMessage(t, a); got.FindElement("error/service-unavailable") == nil || attr(got, "id") != "m2" {
		t.Errorf("second reply %s, want service-unavailable for m2", canon(got))
	}
	b := mustDial(t, addr, "bob", "r1", false, true)
	for i := range 2 {
		if got := expectMessage(t, b); attr(got, "id") != fmt.Sprint("m", i) {
			t.Errorf("bob got %s, want m%d", canon(got), i)
		}
	}
	expectNothing(t, b, 200*time.Millisecond)
}

// TestStoreAcrossRestart: stored messages survive a restart, come out in
// order at one login, and leave the store only once acknowledged.
func TestStoreAcrossRestart(t *testing.T) {
	const n = 300
	ts, addr := serve(t, nil)
	a := mustDial(t, addr, "alice", "a1", false, true)
	for i := range n {
		a.send(message("bob@localhost", fmt.Sprint("m", i), "hi"))
	}
	a.send(message(a.jid, "sync", "sync"))
	expectMessage(t, a)
	ts.restart()
	b := mustDial(t, addr, "bob", "r1", true, true)
	for i := range n {
		if got := expectMessage(t, b); attr(got, "id") != fmt.Sprint("m", i) {
			t.Fatalf("message %d: got %s", i, canon(got))
		}
	}
	// Once bob acknowledges them, they are gone from the store.
	deadline := time.Now().Add(5 * time.Second)
	for ts.srv.store.count("bob") > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c := ts.srv.store.count("bob"); c != 0 {
		t.Errorf("%d messages still stored after bob acknowledged them", c)
	}
}

// TestUnacknowledgedRouted: a session that ends without acknowledging
// stanzas gives them back to routing: they are stored, the sender hears
// deliver=stored, never deliver=direct, and the next login gets them.
func TestUnacknowledgedRouted(t *testing.T) {
	_, addr := serve(t, nil)
	b := mustDial(t, addr, "bob", "r1", true, true)
	b.autoAck = false
	a := mustDial(t, addr, "alice", "a1", false, true)
	a.send(message("bob@localhost", "m1", "hi", rule("notify", "deliver", "direct"), rule("notify", "deliver", "stored")))
	expectMessage(t, b)
	b.abort()
	got := expectMessage(t, a)
	if r := got.FindElement("amp/rule"); r == nil || attr(r, "value") != "stored" {
		t.Errorf("alice got %s, want notify deliver=stored", canon(got))
	}
	b2 := mustDial(t, addr, "bob", "r2", true, true)
	if got := expectMessage(t, b2); attr(got, "id") != "m1" || findChild(got, amp.NS, "amp") != nil {
		t.Errorf("bob got %s, want m1 without <amp/>", canon(got))
	}
	// Delivered and acknowledged at last: now deliver=direct is true.
	got = expectMessage(t, a)
	if r := got.FindElement("amp/rule"); r == nil || attr(r, "value") != "direct" {
		t.Errorf("alice got %s, want notify deliver=direct", canon(got))
	}
}

// TestSlowReader: a client that stops reading is disconnected instead of
// making its queue overflow, and nothing routed to it is lost.
func TestSlowReader(t *testing.T) {
	const n = 400
	_, addr := serve(t, func(c *Config) {
		c.QueueSize = 8
		c.WriteTimeout = 300 * time.Millisecond
	})
	b := mustDial(t, addr, "bob", "r1", true, true)
	b.conn.(*net.TCPConn).SetReadBuffer(4096)
	b.stopReading()
	a := mustDial(t, addr, "alice", "a1", false, true)
	body := strings.Repeat("x", 2000)
	for i := range n {
		a.send(message("bob@localhost", fmt.Sprint("m", i), body))
	}
	a.send(message(a.jid, "sync", "sync"))
	expectMessage(t, a)
	b.abort()
	seen := map[string]bool{}
	for _, id := range b.ids {
		seen[id] = true
	}
	b2 := mustDial(t, addr, "bob", "r2", true, true)
	for len(seen) < n {
		got := expectMessage(t, b2)
		seen[attr(got, "id")] = true
	}
	expectNothing(t, b2, 200*time.Millisecond)
}

// TestAcceptRetried: accept errors do not stop the server.
func TestAcceptRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &failingListener{Listener: l}
	fl.fail.Store(3)
	srv, err := New(testConfig(t, amp.Config{}, time.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go srv.Serve(fl)
	c, err := dial(l.Addr().String(), "alice", "a1", false, true)
	if err != nil {
		t.Fatalf("after accept errors: %v", err)
	}
	c.close()
	if fl.fail.Load() > 0 {
		t.Errorf("the listener still had errors to return")
	}
}

type failingListener struct {
	net.Listener
	fail atomic.Int32
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.fail.Add(-1) >= 0 {
		return nil, errors.New("accept: too many open files")
	}
	return l.Listener.Accept()
}

// TestUnacknowledgedBound: a client that reads but never acknowledges
// gets QueueSize stanzas written, and no more; once its queue is full too,
// the sender's wait ends it after WriteTimeout, and everything routed to it
// is routed again: stored up to the quota, read at the next login, and the
// rest answered with service-unavailable.
func TestUnacknowledgedBound(t *testing.T) {
	const quota, n = 25, 30
	_, addr := serve(t, func(c *Config) {
		c.QueueSize = 2
		c.OfflineQuota = quota
		c.WriteTimeout = 300 * time.Millisecond
	})
	b := mustDial(t, addr, "bob", "r1", true, true)
	b.autoAck = false
	a := mustDial(t, addr, "alice", "a1", false, true)
	for i := range n {
		a.send(message("bob@localhost", fmt.Sprint("m", i), "hi"))
	}
	streamEnd(t, b, 5*time.Second)
	b.mu.Lock()
	if len(b.ids) != 2 {
		t.Errorf("bob read %d messages before the server ended the stream, want 2", len(b.ids))
	}
	b.mu.Unlock()
	for i := quota; i < n; i++ {
		if got := expectMessage(t, a); attr(got, "id") != fmt.Sprint("m", i) || got.FindElement("error/service-unavailable") == nil {
			t.Errorf("alice got %s, want service-unavailable for m%d", canon(got), i)
		}
	}
	b2 := mustDial(t, addr, "bob", "r2", true, true)
	for i := range quota {
		if got := expectMessage(t, b2); attr(got, "id") != fmt.Sprint("m", i) {
			t.Fatalf("message %d: got %s", i, canon(got))
		}
	}
	expectNothing(t, b2, 200*time.Millisecond)
}

// TestCloseDuringDispatch: Close, while the stored messages of a session
// that acknowledges nothing are dispatched and the dispatch waits for room
// in its queue, returns at once rather than after the write timeout, and
// every message reaches the next session after the restart.
func TestCloseDuringDispatch(t *testing.T) {
	const n, queue = 300, 16
	ts, addr := serve(t, func(c *Config) { c.QueueSize = queue })
	a := mustDial(t, addr, "alice", "a1", false, true)
	for i := range n {
		a.send(message("bob@localhost", fmt.Sprint("m", i), "hi"))
	}
	a.send(message(a.jid, "sync", "sync"))
	expectMessage(t, a)
	b := mustDial(t, addr, "bob", "r1", true, false)
	b.autoAck = false
	b.send(`<presence/>`)
	read := map[string]bool{}
	for range queue {
		read[attr(expectMessage(t, b), "id")] = true
	}
	begin := time.Now()
	ts.restart()
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("Close took %v during a dispatch, want it at once, not after the write timeout", took)
	}
	b2 := mustDial(t, addr, "bob", "r2", true, true)
	for i := 0; len(read) < n; i++ {
		if i == n {
			t.Fatalf("the next session got no more messages; %d of %d read", len(read), n)
		}
		read[attr(expectMessage(t, b2), "id")] = true
	}
}
