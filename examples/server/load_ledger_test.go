package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

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
