package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// TestLoadAndFaults drives pairs of clients, with and without AMP rules,
// first undisturbed (the figures of the README), then while receivers drop
// their connections, stop reading and come back, senders drop theirs, and
// the server restarts on the same store. Then it checks that every message
// the server accepted is accounted for: read, or answered as its rules
// asked, and read twice only when the first copy was never acknowledged.
//
// AMP_LOAD_PAIRS (default 20) and AMP_LOAD_SECONDS (default 8, the length
// of each phase) change the load; AMP_LOAD_REPORT names a file for the
// figures. The test takes about three phases and a few seconds.
func TestLoadAndFaults(t *testing.T) {
	pairs := envInt("AMP_LOAD_PAIRS", 20)
	phase := time.Duration(envInt("AMP_LOAD_SECONDS", 8)) * time.Second
	cfg := testConfig(t, amp.Config{}, time.Now)
	cfg.QueueSize = 64
	cfg.WriteTimeout = 400 * time.Millisecond
	cfg.OfflineQuota = 1 << 20
	cfg.OfflineQuotaBytes = 1 << 30
	cfg.Accounts = map[string]Account{}
	for i := range pairs {
		cfg.Accounts[fmt.Sprint("s", i)] = Account{Password: fmt.Sprint("s", i, "-pw"), Roster: map[string]string{fmt.Sprint("r", i, "@localhost"): "both"}}
		cfg.Accounts[fmt.Sprint("r", i)] = Account{Password: fmt.Sprint("r", i, "-pw"), Roster: map[string]string{fmt.Sprint("s", i, "@localhost"): "both"}}
	}
	ts := start(t, cfg)
	l := &ledger{sent: map[string]msgInfo{}, reads: map[string]int{}, allowed: map[string]int{}, replyDups: map[string]int{}, confirmed: map[string]bool{},
		alerts: map[string]int{}, direct: map[string]int{}, others: map[string]int{}, firstReads: map[int][]firstRead{}}
	addr := "127.0.0.1:" + ts.port

	var faults atomic.Bool
	var pace atomic.Int64           // the time between two messages of a sender, or 0
	stop := make(chan struct{})     // the faults are over
	finished := make(chan struct{}) // the test is done waiting
	var wg sync.WaitGroup
	var settled sync.WaitGroup // senders that recorded their last acknowledgement
	settled.Add(pairs)
	receivers := make([]*receiver, pairs)
	for i := range pairs {
		receivers[i] = &receiver{l: l, addr: addr, pair: i, rng: rand.New(rand.NewPCG(uint64(i), 7))}
		wg.Add(2)
		go func() { defer wg.Done(); receivers[i].run(stop, finished, &faults) }()
		go func() {
			defer wg.Done()
			(&sender{l: l, addr: addr, pair: i, rng: rand.New(rand.NewPCG(uint64(i), 11)), pace: &pace, settled: &settled}).run(stop, finished, &faults)
		}()
	}

	// Phase 1: no faults. The figures of the README come from here: first
	// with each sender paced to one message every 20ms, then as fast as
	// the server acknowledges them.
	time.Sleep(time.Second) // logins
	measure := func(name string) string {
		l.mu.Lock()
		l.measure, l.latencies, l.counted = true, [kinds][]time.Duration{}, [kinds]int{}
		l.mu.Unlock()
		begin := time.Now()
		time.Sleep(phase / 2)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.measure = false
		return name + ": " + l.report(time.Since(begin))
	}
	pace.Store(int64(20 * time.Millisecond))
	time.Sleep(200 * time.Millisecond)
	bench := measure("paced")
	pace.Store(0)
	time.Sleep(200 * time.Millisecond)
	bench += "\n" + measure("unpaced")
	t.Log(bench)
	if f, ok := os.LookupEnv("AMP_LOAD_REPORT"); ok {
		os.WriteFile(f, []byte(bench+"\n"), 0o644)
	}

	// Phase 2: faults, and a restart half way.
	faults.Store(true)
	time.Sleep(phase / 2)
	ts.restart()
	time.Sleep(phase / 2)
	faults.Store(false)

	// Phase 3: everyone connected and reading, until all is accounted
	// for, events included.
	close(stop)
	settled.Wait()
	deadline := time.Now().Add(max(phase, 20*time.Second))
	var problems []string
	for {
		time.Sleep(500 * time.Millisecond)
		l.mu.Lock()
		problems = l.check(false)
		l.mu.Unlock()
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
	}
	close(finished)
	wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	problems = l.check(true)
	t.Logf("sent %d, accepted %d, read %d times (%d allowed duplicates), alerts %d, faults: %d aborts, %d stalls, %d restarts",
		len(l.sent), l.accepted, sum(l.reads), sum(l.allowed), sum(l.alerts), l.aborts.Load(), l.stalls.Load(), 1)
	stored := 0
	for i := range pairs {
		stored += ts.srv.store.count(fmt.Sprint("r", i))
	}
	t.Logf("left in the store: %d", stored)
	for i, p := range problems {
		if i == 20 {
			t.Errorf("... and %d more", len(problems)-20)
			break
		}
		t.Error(p)
	}
}

// The kinds of message a sender sends, in turn.
const (
	kindPlain  = iota // no rules: must be read
	kindAlert         // alert on deliver=stored: read, or alerted
	kindNotify        // notify on deliver=direct and stored: read, and notified direct once acknowledged
	kinds
)

var kindNames = [kinds]string{"plain", "alert deliver=stored", "notify deliver=direct,stored"}

// firstRead is a message read for the first time: its sequence number and
// the sender's stream that sent it.
type firstRead struct{ seq, stream int }

type msgInfo struct {
	kind     int
	stream   int // the sender's session
	sent     time.Time
	accepted bool
}

// ledger is what the clients saw.
type ledger struct {
	mu        sync.Mutex
	sent      map[string]msgInfo
	accepted  int
	reads     map[string]int
	allowed   map[string]int  // reads that a session never acknowledged
	replyDups map[string]int  // replies a sender's session never acknowledged
	confirmed map[string]bool // read and acknowledged, as the server confirmed
	alerts    map[string]int
	direct    map[string]int // notify events for deliver=direct
	others    map[string]int // any other reply: none is expected
	// firstReads are, by pair, the sequence numbers read for the first
	// time, in order.
	firstReads map[int][]firstRead
	// Phase 1 measurements.
	measure   bool
	latencies [kinds][]time.Duration
	counted   [kinds]int
	aborts    atomic.Int64
	stalls    atomic.Int64
}

func (l *ledger) report(d time.Duration) string {
	var b strings.Builder
	total := 0
	for k := range kinds {
		total += l.counted[k]
	}
	fmt.Fprintf(&b, "%d messages read in %.1fs: %.0f messages/s", total, d.Seconds(), float64(total)/d.Seconds())
	for k := range kinds {
		lat := l.latencies[k]
		slices.Sort(lat)
		if len(lat) == 0 {
			continue
		}
		fmt.Fprintf(&b, "; %s: %d, p50 %v, p99 %v", kindNames[k], len(lat), lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond))
	}
	return b.String()
}

// check returns what is not accounted for. With final it also checks the
// order in which receivers read.
func (l *ledger) check(final bool) []string {
	var problems []string
	for id, m := range l.sent {
		reads, alerts := l.reads[id], l.alerts[id]
		if !m.accepted && reads+alerts == 0 {
			continue // the server never acknowledged it: it may be lost
		}
		switch {
		case m.kind == kindAlert && reads+alerts == 0, m.kind != kindAlert && reads == 0:
			problems = append(problems, fmt.Sprintf("%s (%s): lost: never read nor answered", id, kindNames[m.kind]))
		case reads+alerts > 1+l.allowed[id]+l.replyDups[id]:
			problems = append(problems, fmt.Sprintf("%s (%s): read %d times, alerted %d times, only %d+%d unacknowledged copies", id, kindNames[m.kind], reads, alerts, l.allowed[id], l.replyDups[id]))
		case m.kind == kindNotify && l.direct[id] > 0 && reads == 0:
			problems = append(problems, fmt.Sprintf("%s: a deliver=direct event, but never read", id))
		case m.kind == kindNotify && l.direct[id] > 1+l.allowed[id]+l.replyDups[id]:
			problems = append(problems, fmt.Sprintf("%s: %d deliver=direct events, only %d+%d unacknowledged copies", id, l.direct[id], l.allowed[id], l.replyDups[id]))
		case m.kind == kindNotify && l.confirmed[id] && l.direct[id] == 0:
			problems = append(problems, fmt.Sprintf("%s: read and acknowledged, but no deliver=direct event", id))
		case m.kind != kindAlert && alerts > 0:
			problems = append(problems, fmt.Sprintf("%s (%s): an alert", id, kindNames[m.kind]))
		}
		if l.others[id] > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d unexpected replies", id, l.others[id]))
		}
	}
	if final {
		// XMPP orders the stanzas of one stream (RFC 6120 §10.1): a
		// sender's messages, stream by stream, arrive in order. The tail
		// of a stream the sender dropped may be routed after the start of
		// its next stream.
		for pair, reads := range l.firstReads {
			last := map[int]int{}
			for _, r := range reads {
				if prev, ok := last[r.stream]; ok && r.seq < prev {
					problems = append(problems, fmt.Sprintf("pair %d: message %d read after %d, from the same stream", pair, r.seq, prev))
					break
				}
				last[r.stream] = r.seq
			}
		}
	}
	return problems
}

// senderEnded records the replies a sender's session may get again.
func (l *ledger) senderEnded(c *tclient) {
	for _, id := range c.unconfirmed() {
		l.mu.Lock()
		l.replyDups[id]++
		l.mu.Unlock()
	}
}

// sessionEnded records what a receiver's session read.
func (l *ledger) sessionEnded(c *tclient) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, id := range c.ids {
		if i < c.confirmed {
			l.confirmed[id] = true
		} else {
			l.allowed[id]++
		}
	}
}

type receiver struct {
	l    *ledger
	addr string
	pair int
	rng  *rand.Rand
}

func (r *receiver) run(stop, finished chan struct{}, faults *atomic.Bool) {
	user := fmt.Sprint("r", r.pair)
	for session := 0; ; session++ {
		c := connect(r.addr, user, fmt.Sprint("x", session), finished)
		if c == nil {
			return
		}
		next := time.After(time.Duration(300+r.rng.IntN(1500)) * time.Millisecond)
	read:
		for {
			select {
			case el, ok := <-c.in:
				if !ok {
					break read // the server ended the session
				}
				r.read(el)
			case <-next:
				if !faults.Load() {
					next = time.After(100 * time.Millisecond)
					continue
				}
				if r.rng.IntN(2) == 0 {
					// Stop reading until the server gives up on us.
					r.l.stalls.Add(1)
					c.stopReading()
					time.Sleep(1200 * time.Millisecond)
				} else {
					r.l.aborts.Add(1)
				}
				c.abort()
				for el := range c.in {
					r.read(el)
				}
				break read
			case <-stop:
				if !faults.Load() {
					r.drain(c, finished)
					return
				}
			}
		}
		<-c.done
		r.l.sessionEnded(c)
	}
}

// drain reads until the test is finished. Whenever nothing comes for a
// while it acknowledges what it read and waits for the server to confirm
// it, so that the test knows which messages the server must report as
// delivered.
func (r *receiver) drain(c *tclient, finished chan struct{}) {
	defer func() {
		c.abort()
		for el := range c.in {
			r.read(el)
		}
		r.l.sessionEnded(c)
	}()
	for {
		select {
		case el, ok := <-c.in:
			if !ok {
				return
			}
			r.read(el)
		case <-time.After(500 * time.Millisecond):
			r.confirm(c)
		case <-finished:
			return
		}
	}
}

// confirm acknowledges everything c read and, once the server confirms it,
// records those messages as delivered.
func (r *receiver) confirm(c *tclient) {
	n := c.ack()
	for wait := time.Now().Add(2 * time.Second); time.Now().Before(wait); time.Sleep(10 * time.Millisecond) {
		c.mu.Lock()
		ok := c.confirmed >= n
		ids := c.ids[:c.confirmed]
		c.mu.Unlock()
		if ok {
			r.l.mu.Lock()
			for _, id := range ids {
				r.l.confirmed[id] = true
			}
			r.l.mu.Unlock()
			return
		}
	}
}

func (r *receiver) read(el *etree.Element) {
	if el.Tag != "message" {
		return
	}
	id := attr(el, "id")
	now := time.Now()
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	m, ok := r.l.sent[id]
	if !ok {
		return
	}
	if r.l.reads[id]+r.l.alerts[id] == 0 {
		seq, _ := strconv.Atoi(id[strings.IndexByte(id, '-')+1:])
		r.l.firstReads[r.pair] = append(r.l.firstReads[r.pair], firstRead{seq, m.stream})
	}
	r.l.reads[id]++
	if r.l.measure {
		r.l.counted[m.kind]++
		r.l.latencies[m.kind] = append(r.l.latencies[m.kind], now.Sub(m.sent))
	}
}

type sender struct {
	settled *sync.WaitGroup
	pace    *atomic.Int64
	l       *ledger
	addr    string
	pair    int
	rng     *rand.Rand
	n       int
}

func (s *sender) run(stop, finished chan struct{}, faults *atomic.Bool) {
	// Until the last acknowledgement is recorded, the test cannot tell a
	// lost message from one the server never accepted.
	var once sync.Once
	defer once.Do(s.settled.Done)
	user := fmt.Sprint("s", s.pair)
	to := fmt.Sprint("r", s.pair, "@localhost")
	for session := 0; ; session++ {
		c := connect(s.addr, user, fmt.Sprint("x", session), finished)
		if c == nil {
			return
		}
		// The server counts our presence: stanza 1.
		out := []string{""}
		cursor := 0
		done := make(chan struct{})
		go func() {
			defer close(done)
			for el := range c.in {
				s.reply(el)
			}
		}()
		abortAt := time.Now().Add(time.Duration(2000+s.rng.IntN(4000)) * time.Millisecond)
	send:
		for {
			select {
			case <-stop:
				break send
			case <-c.done:
				break send
			default:
			}
			if faults.Load() && time.Now().After(abortAt) {
				s.l.aborts.Add(1)
				break send
			}
			c.mu.Lock()
			acked := int(c.serverH)
			c.mu.Unlock()
			s.accept(out, acked, &cursor)
			if len(out)-acked > 64 {
				time.Sleep(time.Millisecond)
				continue
			}
			if d := s.pace.Load(); d > 0 {
				time.Sleep(time.Duration(d))
			}
			id := fmt.Sprintf("p%d-%d", s.pair, s.n)
			kind := s.n % kinds
			s.n++
			var rules []string
			switch kind {
			case kindAlert:
				rules = []string{rule("alert", "deliver", "stored")}
			case kindNotify:
				rules = []string{rule("notify", "deliver", "direct"), rule("notify", "deliver", "stored")}
			}
			s.l.mu.Lock()
			s.l.sent[id] = msgInfo{kind: kind, stream: session, sent: time.Now()}
			s.l.mu.Unlock()
			out = append(out, id)
			if msg := message(to, id, id, rules...); len(out)%16 == 0 {
				c.sendAndRequest(msg)
			} else {
				c.send(msg)
			}
		}
		select {
		case <-stop:
			// Get the last acknowledgement, and the replies, before
			// leaving.
			c.sendAndRequest("")
			time.Sleep(2 * time.Second)
			c.mu.Lock()
			acked := int(c.serverH)
			c.mu.Unlock()
			s.accept(out, acked, &cursor)
			once.Do(s.settled.Done)
			<-finished
			c.abort()
			<-done
			s.l.senderEnded(c)
			return
		default:
		}
		c.mu.Lock()
		acked := int(c.serverH)
		c.mu.Unlock()
		s.accept(out, acked, &cursor)
		c.abort()
		<-done
		s.l.senderEnded(c)
	}
}

// accept marks the messages the server acknowledged since the last call:
// out[k] is stanza k+1, so h stanzas handled cover out[:h]. cursor is how
// many of out were marked already.
func (s *sender) accept(out []string, acked int, cursor *int) {
	end := max(1, min(acked, len(out)))
	if end <= *cursor {
		return
	}
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	for _, id := range out[max(1, *cursor):end] {
		m := s.l.sent[id]
		m.accepted = true
		s.l.sent[id] = m
		s.l.accepted++
	}
	*cursor = end
}

func (s *sender) reply(el *etree.Element) {
	if el.Tag != "message" {
		return
	}
	id := attr(el, "id")
	a := findChild(el, amp.NS, "amp")
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	switch {
	case a != nil && attr(a, "status") == "alert":
		s.l.alerts[id]++
	case a != nil && attr(a, "status") == "notify":
		if r := a.FindElement("rule"); r != nil && attr(r, "value") == "direct" {
			s.l.direct[id]++
		}
	default:
		s.l.others[id]++
	}
}

// connect logs in, retrying while the server restarts, until stop.
func connect(addr, user, resource string, stop chan struct{}) *tclient {
	var last error
	for {
		c, err := dial(addr, user, resource, true, true)
		if err == nil {
			return c
		}
		last = err
		select {
		case <-stop:
			fmt.Fprintf(os.Stderr, "%s/%s gives up connecting: %v\n", user, resource, last)
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
