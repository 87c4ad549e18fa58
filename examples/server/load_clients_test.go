package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

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
					// Until the test is finished, a session the
					// server ended is followed by another.
					for k := session + 1; r.drain(c, finished); k++ {
						if c = connect(r.addr, user, fmt.Sprint("x", k), finished); c == nil {
							return
						}
					}
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
//
// It reports whether the server ended the session before the test was
// finished.
func (r *receiver) drain(c *tclient, finished chan struct{}) (ended bool) {
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
				return true
			}
			r.read(el)
		case <-time.After(500 * time.Millisecond):
			r.confirm(c)
		case <-finished:
			return false
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
