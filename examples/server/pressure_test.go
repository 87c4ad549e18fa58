package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// TestStalledRecipient: at the default limits, a recipient with stream
// management stops reading and never acknowledges, while a sender sends as
// fast as the server acknowledges and answers every <r/>. The sender is
// never cut off, and every message the server acknowledged has exactly one
// outcome: read once the recipient is back (and read twice only if the
// stalled session read it first), alerted, or answered with
// service-unavailable past the quota.
func TestStalledRecipient(t *testing.T) {
	const n = 2500
	ts := start(t, serveConfig(t, nil))
	addr := "127.0.0.1:" + ts.port
	b := mustDial(t, addr, "bob", "r1", true, true)
	b.autoAck = false
	b.stopReading()
	a := mustDial(t, addr, "alice", "a1", true, true)

	// The sender keeps up to 64 messages unacknowledged, asking for an
	// acknowledgement every 16; a reads its replies in the background.
	replies := make(chan *etree.Element, 4*n)
	go func() {
		for el := range a.in {
			replies <- el
		}
		close(replies)
	}()
	acked := func() int {
		a.mu.Lock()
		defer a.mu.Unlock()
		return int(a.serverH) - 1 // the presence was stanza 1
	}
	kindOf := map[string]int{}
	deadline := time.Now().Add(90 * time.Second)
	for i := 0; i < n; i++ {
		for i-acked() > 64 {
			if time.Now().After(deadline) {
				t.Fatalf("the server acknowledged %d of %d messages", acked(), i)
			}
			select {
			case <-a.done:
				t.Fatalf("the sender was cut off after %d messages, %d acknowledged", i, acked())
			case <-time.After(time.Millisecond):
			}
		}
		id := fmt.Sprint("m", i)
		var rules []string
		switch kindOf[id] = i % kinds; kindOf[id] {
		case kindAlert:
			rules = []string{rule("alert", "deliver", "stored")}
		case kindNotify:
			rules = []string{rule("notify", "deliver", "direct"), rule("notify", "deliver", "stored")}
		}
		if msg := message("bob@localhost", id, "hi", rules...); i%16 == 15 || i == n-1 {
			a.sendAndRequest(msg)
		} else {
			a.send(msg)
		}
	}
	for acked() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the server acknowledged %d of %d messages", acked(), n)
		}
		select {
		case <-a.done:
			t.Fatalf("the sender was cut off, %d of %d acknowledged", acked(), n)
		case <-time.After(10 * time.Millisecond):
			a.sendAndRequest("")
		}
	}
	stalled := b.unconfirmed()
	b.abort()
	b2 := mustDial(t, addr, "bob", "r2", true, true)
	reads := map[string]int{}
	for _, id := range stalled {
		reads[id]++
	}
	for {
		el, err := b2.next(time.Second)
		if err != nil {
			break
		}
		if el.Tag == "message" {
			reads[attr(el, "id")]++
		}
	}
	// Everything b2 read is acknowledged: its deliver=direct events follow.
	b2.confirmAll(t)
	alerts, errors, direct := map[string]int{}, map[string]int{}, map[string]int{}
	for quiet := false; !quiet; {
		var el *etree.Element
		select {
		case el = <-replies:
		case <-time.After(time.Second):
			quiet = true
			continue
		}
		id := attr(el, "id")
		switch {
		case attr(el, "type") == "error" && el.FindElement("error/service-unavailable") != nil:
			errors[id]++
		case ampStatus(el) == "alert":
			alerts[id]++
		case ampStatus(el) == "notify":
			if r := el.FindElement("amp/rule"); r != nil && attr(r, "value") == "direct" {
				direct[id]++
			}
		}
	}
	if !isOpen(a) {
		t.Fatalf("the sender was cut off")
	}
	var read, alerted, refused int
	stalledSet := map[string]bool{}
	for _, id := range stalled {
		stalledSet[id] = true
	}
	for i := range n {
		id := fmt.Sprint("m", i)
		r, al, er := reads[id], alerts[id], errors[id]
		allowed := 1
		if stalledSet[id] {
			allowed = 2
		}
		switch {
		case r > 0 && al+er == 0 && r <= allowed:
			read++
			if kindOf[id] == kindNotify && direct[id] != 1 {
				t.Errorf("%s: read and acknowledged, %d deliver=direct events, want 1", id, direct[id])
			}
		case r == 0 && al == 1 && er == 0 && kindOf[id] == kindAlert:
			alerted++
		case r == 0 && al == 0 && er == 1:
			refused++
		default:
			t.Errorf("%s (kind %d): read %d times, %d alerts, %d errors; want exactly one outcome", id, kindOf[id], r, al, er)
		}
	}
	t.Logf("%d messages: %d read (%d read first by the stalled session), %d alerted, %d refused past the quota", n, read, len(stalled), alerted, refused)
	if read == 0 || refused == 0 {
		t.Errorf("want messages both stored and refused past the quota")
	}
}

// isOpen reports whether c's stream is still open.
func isOpen(c *tclient) bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// confirmAll acknowledges everything c read and waits until the server
// confirms it processed the acknowledgement.
func (c *tclient) confirmAll(t *testing.T) {
	t.Helper()
	n := c.ack()
	for wait := time.Now().Add(5 * time.Second); time.Now().Before(wait); time.Sleep(10 * time.Millisecond) {
		c.mu.Lock()
		ok := c.confirmed >= n
		c.mu.Unlock()
		if ok {
			return
		}
	}
	t.Fatalf("%s: the server did not confirm the acknowledgement of %d messages", c.jid, n)
}

// TestUnthrottled: pairs of clients without stream management, the
// senders writing messages with three notify rules as fast as the server
// reads them. The heap stays under a bound while they run, and returns
// once they leave. AMP_PRESSURE_PAIRS (default 10) and
// AMP_PRESSURE_SECONDS (default 3) change the load, and
// AMP_PRESSURE_RULES=none leaves the rules out.
func TestUnthrottled(t *testing.T) {
	pairs := envInt("AMP_PRESSURE_PAIRS", 10)
	d := time.Duration(envInt("AMP_PRESSURE_SECONDS", 3)) * time.Second
	cfg := testConfig(t, amp.Config{}, time.Now)
	cfg.Accounts = pairAccounts(pairs)
	ts := start(t, cfg)
	runtime.GC()
	base := heapInUse()
	rules := notifyRules
	if os.Getenv("AMP_PRESSURE_RULES") == "none" {
		rules = nil
	}
	res := blast(t, "127.0.0.1:"+ts.port, pairs, d, heapInUse, rules...)
	t.Logf("%d pairs, %v: %d messages read (%.0f/s), %d replies; heap in use: %d MiB before, %d MiB at most",
		pairs, d, res.read, float64(res.read)/d.Seconds(), res.replies, base>>20, res.peak>>20)
	if res.read == 0 {
		t.Fatalf("no message read")
	}
	const bound = 256 << 20
	if res.peak > bound {
		t.Errorf("heap in use reached %d MiB, over %d MiB", res.peak>>20, bound>>20)
	}
	// Once the clients are gone, what the server held for them goes.
	var after uint64
	for wait := time.Now().Add(10 * time.Second); time.Now().Before(wait); time.Sleep(100 * time.Millisecond) {
		runtime.GC()
		if after = heapInUse(); after < base+32<<20 {
			break
		}
	}
	t.Logf("heap in use after the clients left: %d MiB", after>>20)
	if after >= base+32<<20 {
		t.Errorf("heap in use %d MiB after the clients left, %d MiB before they came", after>>20, base>>20)
	}
}

// notifyRules are the three rules of the unthrottled runs: notify, on
// every delivery a session or the store can make.
var notifyRules = []string{rule("notify", "deliver", "direct"), rule("notify", "deliver", "stored"), rule("notify", "deliver", "forward")}

// pairAccounts are the accounts of pairs of senders s<i> and receivers
// r<i>, each in the other's roster.
func pairAccounts(pairs int) map[string]Account {
	accts := map[string]Account{}
	for i := range pairs {
		accts[fmt.Sprint("s", i)] = Account{Password: fmt.Sprint("s", i, "-pw"), Roster: map[string]string{fmt.Sprint("r", i, "@localhost"): "both"}}
		accts[fmt.Sprint("r", i)] = Account{Password: fmt.Sprint("r", i, "-pw"), Roster: map[string]string{fmt.Sprint("s", i, "@localhost"): "both"}}
	}
	return accts
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// blastResult is what blast measured.
type blastResult struct {
	read, replies int
	peak          uint64 // the largest value of the probe, sampled every 50ms
}

// blast runs pairs of clients without stream management against the
// server at addr for d: each sender writes messages with rules to its
// receiver as fast as the server reads them, and reads its
// replies; each receiver reads. probe is sampled during the run.
func blast(t *testing.T, addr string, pairs int, d time.Duration, probe func() uint64, rules ...string) blastResult {
	t.Helper()
	var mu sync.Mutex
	var res blastResult
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var clients []*tclient
	count := func(c *tclient, n *int) {
		defer wg.Done()
		for range c.in {
			mu.Lock()
			*n++
			mu.Unlock()
		}
	}
	for i := range pairs {
		r, err := dial(addr, fmt.Sprint("r", i), "r", false, true)
		if err != nil {
			t.Log(err) // not Fatal: blast may run on another goroutine
			continue
		}
		s, err := dial(addr, fmt.Sprint("s", i), "s", false, true)
		if err != nil {
			t.Log(err)
			r.abort()
			continue
		}
		clients = append(clients, r, s)
		wg.Add(3)
		go count(r, &res.read)
		go count(s, &res.replies)
		go func() {
			defer wg.Done()
			to := fmt.Sprint("r", i, "@localhost")
			var b strings.Builder
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-s.done:
					return
				default:
				}
				// Sixteen messages a write.
				b.Reset()
				for k := range 16 {
					b.WriteString(message(to, fmt.Sprintf("b%d-%d", n, k), "hello", rules...))
				}
				s.send(b.String())
			}
		}()
	}
	// Counted from here: the dialing is not part of the run.
	mu.Lock()
	before := res
	mu.Unlock()
	tick := time.NewTicker(50 * time.Millisecond)
	for end := time.After(d); ; {
		select {
		case <-tick.C:
			res.peak = max(res.peak, probe())
			continue
		case <-end:
		}
		break
	}
	tick.Stop()
	close(stop)
	mu.Lock()
	out := res
	mu.Unlock()
	out.read -= before.read
	out.replies -= before.replies
	for _, c := range clients {
		c.abort()
	}
	wg.Wait()
	return out
}

// TestRequestFlood: a client that asks for acknowledgements without
// reading the answers is disconnected once they pass its allowance,
// instead of making the server hold them all.
func TestRequestFlood(t *testing.T) {
	// The write timeout is out of reach: only the allowance can end it.
	ts, addr := serve(t, func(c *Config) { c.QueueSize, c.OfflineQuota, c.WriteTimeout = 8, 8, time.Minute })
	a := mustDial(t, addr, "alice", "a1", true, true)
	a.conn.(*net.TCPConn).SetReadBuffer(4096)
	a.stopReading()
	// Past what the socket buffers hold: 10 MB of <r/>, each answered.
	flood := strings.Repeat(`<r xmlns='urn:xmpp:sm:3'/>`, 1000)
	for range 400 {
		a.send(flood)
	}
	alice := ts.srv.users["alice"]
	for wait := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int
		alice.locked(func() { n = len(alice.sessions) })
		if n == 0 {
			return
		}
		if time.Now().After(wait) {
			t.Fatal("the server did not end the stream of a client flooding it with <r/>")
		}
	}
}
