package main

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	bolt "go.etcd.io/bbolt"
)

// wiringFaults are mistakes a server developer could make when wiring amp.
// The tests plant them from outside the production code: through the
// fields of Server that New sets (amp, push, forget, undeliverable), or
// through the configuration. The conformance kit's tests check that the
// kit catches each one, and TestWiringFaults that each changes what a
// client sees.
type wiringFaults struct {
	// noDispatchEval delivers stored messages at login without
	// evaluating their rules again.
	noDispatchEval bool
	// senderRoster reads the §9 presence authorization from the sender's
	// roster item for the recipient instead of the recipient's item for
	// the sender. It is planted by swapping the rosters' direction, which
	// shows only where the tests' subscriptions are one-way.
	senderRoster bool
	// keepAMP leaves the <amp/> on the message delivered to the recipient.
	keepAMP bool
	// noReplyID sends AMP replies without the original message's id.
	noReplyID bool
	// earlyDirect sends a deliver=direct notify event when the message is
	// handed to the session, before the recipient acknowledged it.
	earlyDirect bool
	// staleStore leaves in the store a message whose rules stopped its
	// delivery at dispatch: it is dispatched again at the next login.
	staleStore bool
	// bounceAnyway answers a message nobody receives with
	// service-unavailable even when a deliver=none alert, drop or error
	// rule decided its fate.
	bounceAnyway bool
	// wrongClock makes the server read the system clock instead of the
	// one it was given.
	wrongClock bool
}

// configure plants the mistakes that live in the configuration.
func (f wiringFaults) configure(cfg *Config) {
	if f.wrongClock {
		cfg.Now = time.Now
	}
	if f.senderRoster {
		// The recipient's roster now holds what the sender's roster says
		// of the recipient.
		swapped := map[string]Account{}
		for name, acct := range cfg.Accounts {
			acct.Roster = map[string]string{}
			swapped[name] = acct
		}
		for name, acct := range cfg.Accounts {
			for contact, sub := range acct.Roster {
				local, _, _ := strings.Cut(contact, "@")
				if other, ok := swapped[local]; ok {
					other.Roster[name+"@"+cfg.domainOrDefault()] = sub
				}
			}
		}
		cfg.Accounts = swapped
	}
}

// plant replaces the steps of srv that the mistakes get wrong.
func (f wiringFaults) plant(s *Server) {
	if f.noDispatchEval {
		s.amp = noDispatchEval{s.amp}
	}
	if f.keepAMP || f.noReplyID || f.earlyDirect {
		push := s.push
		s.push = func(c *session, it *item) bool {
			if f.keepAMP && it.orig != nil && it.orig != it.msg && findChild(it.orig, amp.NS, "amp") != nil {
				out := it.orig.Copy()
				setAttr(out, "id", attr(it.msg, "id"))
				it.msg = out
			}
			if f.noReplyID && it.msg.Tag == "message" && isServer(attr(it.msg, "from")) {
				it.msg = it.msg.Copy()
				it.msg.RemoveAttr("id")
			}
			if f.earlyDirect && len(it.held) > 0 {
				held := it.held
				it.held = nil
				// Not under the recipient's lock, which the caller holds.
				defer func() { go s.sendReplies(held) }()
			}
			return push(c, it)
		}
	}
	if f.staleStore {
		s.forget = func(u *user, key uint64) {
			if key != 0 {
				s.store.release(u.name, key)
			}
		}
	}
	if f.bounceAnyway {
		undeliverable := s.undeliverable
		s.undeliverable = func(msg *etree.Element, req amp.Request) []*etree.Element {
			replies := undeliverable(msg, req)
			for _, r := range replies {
				if attr(r, "type") == "error" && r.FindElement("error/service-unavailable") != nil {
					return replies
				}
			}
			if e := serviceUnavailable(msg); e != nil {
				replies = append(replies, e)
			}
			return replies
		}
	}
}

// noDispatchEval resumes a stored message as if it had no rules.
type noDispatchEval struct{ processor }

func (p noDispatchEval) Resume(stored *etree.Element, presence amp.Presence) (amp.Request, error) {
	plain := stored.Copy()
	if a := findChild(plain, amp.NS, "amp"); a != nil {
		plain.RemoveChild(a)
	}
	return p.Parse(plain, amp.HopEdge, presence)
}

// release marks the stored message key no longer in flight, without
// removing it: the next login dispatches it again.
func (st *store) release(user string, key uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.inflight[user], key)
}

func (cfg Config) domainOrDefault() string {
	if cfg.Domain == "" {
		return "localhost"
	}
	return cfg.Domain
}

// TestWiringFaults: each mistake the tests can plant changes what a client
// sees, and the server as it is does not make it.
func TestWiringFaults(t *testing.T) {
	clk := &clock{t: epoch}
	keepAMP := func(t *testing.T, _ *testServer, addr string) bool {
		b := mustDial(t, addr, "bob", "r1", false, true)
		a := mustDial(t, addr, "alice", "a1", false, true)
		a.send(message("bob@localhost", "m1", "hi", rule("notify", "deliver", "direct")))
		return findChild(expectMessage(t, b), amp.NS, "amp") != nil
	}
	noReplyID := func(t *testing.T, _ *testServer, addr string) bool {
		a := mustDial(t, addr, "alice", "a1", false, true)
		a.send(message("bob@localhost", "m1", "hi", rule("notify", "deliver", "stored")))
		return attr(expectMessage(t, a), "id") != "m1"
	}
	// carol has alice as "both" in her roster, but alice does not have
	// carol: read from the recipient's roster, carol's notify rule is
	// refused (§9).
	senderRoster := func(t *testing.T, _ *testServer, addr string) bool {
		c := mustDial(t, addr, "carol", "c1", false, true)
		c.send(message("alice@localhost", "m1", "hi", rule("notify", "deliver", "stored")))
		return attr(expectMessage(t, c), "type") != "error"
	}
	noDispatchEval := func(t *testing.T, _ *testServer, addr string) bool {
		a := mustDial(t, addr, "alice", "a1", false, true)
		a.send(message("bob@localhost", "m1", "hi", rule("drop", "expire-at", amp.FormatDateTime(epoch.Add(time.Minute)))))
		a.send(message(a.jid, "sync", "sync"))
		expectMessage(t, a)
		clk.Set(epoch.Add(2 * time.Minute))
		b := mustDial(t, addr, "bob", "r1", false, true)
		_, err := b.next(300 * time.Millisecond)
		return err == nil
	}
	// bob reads without acknowledging: the deliver=direct event must wait.
	earlyDirect := func(t *testing.T, _ *testServer, addr string) bool {
		b := mustDial(t, addr, "bob", "r1", true, true)
		b.autoAck = false
		a := mustDial(t, addr, "alice", "a1", false, true)
		a.send(message("bob@localhost", "m1", "hi", rule("notify", "deliver", "direct")))
		expectMessage(t, b)
		_, err := a.next(300 * time.Millisecond)
		return err == nil
	}
	// A stored message alerted at dispatch leaves the store.
	staleStore := func(t *testing.T, ts *testServer, addr string) bool {
		a := mustDial(t, addr, "alice", "a1", false, true)
		a.send(message("bob@localhost", "m1", "hi", rule("alert", "expire-at", amp.FormatDateTime(epoch.Add(time.Minute)))))
		a.send(message(a.jid, "sync", "sync"))
		expectMessage(t, a)
		clk.Set(epoch.Add(2 * time.Minute))
		mustDial(t, addr, "bob", "r1", false, true)
		if got := expectMessage(t, a); ampStatus(got) != "alert" {
			t.Fatalf("alice got %s, want the alert", canon(got))
		}
		ts.srv.store.drain()
		return ts.srv.store.count("bob") != 0
	}
	bounceAnyway := func(t *testing.T, _ *testServer, addr string) bool {
		a := mustDial(t, addr, "alice", "a1", false, true)
		a.send(message("nobody@localhost", "m1", "hi", rule("alert", "deliver", "none")))
		if got := expectMessage(t, a); ampStatus(got) != "alert" {
			t.Fatalf("alice got %s, want the alert", canon(got))
		}
		_, err := a.next(300 * time.Millisecond)
		return err == nil
	}
	// The server's clock says 2030: a message that expired in 2029 is
	// dropped, whatever the system clock says.
	wrongClock := func(t *testing.T, _ *testServer, addr string) bool {
		b := mustDial(t, addr, "bob", "r1", false, true)
		a := mustDial(t, addr, "alice", "a1", false, true)
		a.send(message("bob@localhost", "m1", "hi", rule("drop", "expire-at", amp.FormatDateTime(epoch.Add(-time.Hour)))))
		_, err := b.next(300 * time.Millisecond)
		return err == nil
	}
	for name, tc := range map[string]struct {
		f        wiringFaults
		scenario func(*testing.T, *testServer, string) bool
	}{
		"keepAMP":        {wiringFaults{keepAMP: true}, keepAMP},
		"noReplyID":      {wiringFaults{noReplyID: true}, noReplyID},
		"senderRoster":   {wiringFaults{senderRoster: true}, senderRoster},
		"noDispatchEval": {wiringFaults{noDispatchEval: true}, noDispatchEval},
		"earlyDirect":    {wiringFaults{earlyDirect: true}, earlyDirect},
		"staleStore":     {wiringFaults{staleStore: true}, staleStore},
		"bounceAnyway":   {wiringFaults{bounceAnyway: true}, bounceAnyway},
		"wrongClock":     {wiringFaults{wrongClock: true}, wrongClock},
	} {
		t.Run(name, func(t *testing.T) {
			for _, f := range []wiringFaults{{}, tc.f} {
				planted := f != wiringFaults{}
				t.Run(map[bool]string{false: "off", true: "on"}[planted], func(t *testing.T) {
					clk.Set(epoch)
					cfg := serveConfig(t, func(c *Config) { c.Now = clk.Now })
					ts := startFaulty(t, cfg, f)
					if got := tc.scenario(t, ts, "127.0.0.1:"+ts.port); got != planted {
						t.Errorf("mistake observed: %v, want %v", got, planted)
					}
				})
			}
		})
	}
}

// TestPanicEndsOneStream: a panic while routing a stanza ends that
// client's stream, and the server goes on serving the others.
func TestPanicEndsOneStream(t *testing.T) {
	cfg := serveConfig(t, nil)
	ts := start(t, cfg)
	ts.srv.amp = panicky{ts.srv.amp}
	addr := "127.0.0.1:" + ts.port
	b := mustDial(t, addr, "bob", "r1", false, true)
	a := mustDial(t, addr, "alice", "a1", false, true)
	a.send(message("bob@localhost", "boom", "hi"))
	streamEnd(t, a, 5*time.Second)
	a2 := mustDial(t, addr, "alice", "a2", false, true)
	a2.send(message("bob@localhost", "m1", "hi"))
	if got := expectMessage(t, b); attr(got, "id") != "m1" {
		t.Errorf("bob got %s, want m1", canon(got))
	}
}

// panicky panics on a message whose id is "boom".
type panicky struct{ processor }

func (p panicky) Parse(msg *etree.Element, hop amp.Hop, presence amp.Presence) (amp.Request, error) {
	if attr(msg, "id") == "boom" {
		panic("boom")
	}
	return p.processor.Parse(msg, hop, presence)
}

// ampStatus is the status of msg's <amp/>, or "" when it has none.
func ampStatus(msg *etree.Element) string {
	if a := findChild(msg, amp.NS, "amp"); a != nil {
		return attr(a, "status")
	}
	return ""
}

// whereIs says, for each message id in the store, its user, its key and
// whether it is in flight: what a test reports about a lost message.
func (st *store) whereIs() map[string]string {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]string{}
	st.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				doc := etree.NewDocument()
				if doc.ReadFromBytes(v) != nil || doc.Root() == nil {
					return nil
				}
				key := binary.BigEndian.Uint64(k)
				_, flying := st.inflight[string(name)][key]
				out[attr(doc.Root(), "id")] = fmt.Sprintf("stored for %s, key %d, in flight %v", name, key, flying)
				return nil
			})
		})
	})
	return out
}
