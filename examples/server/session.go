package main

import (
	"sync"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

// session is one bound client stream, served by four goroutines, so that
// what one of them waits for never stops the others:
//
//   - the reader (stream.go) reads the client's elements; it handles the
//     client's XEP-0198 acknowledgements itself, so that they are read even
//     while the client's messages wait for room, and hands the rest to
//   - the router, through inbox, which routes them in order (routing.go);
//   - the writer (writer.go) writes what out holds, in batches;
//   - the confirmer (writer.go) finishes the delivery of what the client
//     acknowledged: store removals and held notify events.
//
// Every queue between them has a bound (README: Bounds).
type session struct {
	user *user
	jid  jid.JID
	xs   *xmpp.Session
	conn *conn

	inbox    chan inbound // from the reader to the router
	out      outbox       // to the writer
	in       handledCount // the client's stanzas handled: XEP-0198's h
	confirms chan []*item // delivered stanzas, to the confirmer

	dead        chan struct{} // closed by kill
	killOnce    sync.Once
	writerDone  chan struct{}
	confirmDone chan struct{}

	// Guarded by user.mu.
	available bool // it sent its initial presence: messages may go to it
	ended     bool // its undelivered stanzas were routed again

	sm smState // guarded by its own mutex
}

func newSession(s *Server, cn *conn) *session {
	c := &session{conn: cn, inbox: make(chan inbound, inboxSize), confirms: make(chan []*item, s.cfg.QueueSize),
		dead: make(chan struct{}), writerDone: make(chan struct{}), confirmDone: make(chan struct{})}
	c.out.init()
	c.in.init(func(h uint32) { s.pushNonza(c, &item{nonza: ackElement(h)}) })
	return c
}

// inbound is a stanza the reader read, and its number.
type inbound struct {
	el *etree.Element
	n  uint32
}

// inboxSize is how many elements the reader reads ahead of the router. A
// client whose messages wait is not read further than this, except for
// the stream management elements among them.
const inboxSize = 32

// item is a stanza on its way to one session, with what is needed to route
// it again if the session ends before acknowledging it, or an element of
// the stream itself.
type item struct {
	// msg is what the session writes.
	msg *etree.Element
	// orig is the message as it was received or stored, <amp/> included,
	// and res what amp made of this delivery: if the session ends first,
	// orig is routed again with res.Request(), since nothing of res has
	// fired. orig is nil for an IQ result, which is never sent again.
	orig *etree.Element
	res  amp.Result
	// held are the notify events of the delivery, sent to the sender
	// once the client acknowledges msg.
	held []*etree.Element
	// key is the message's place in the store when it was dispatched
	// from there, or 0.
	key uint64
	// after, when set, is closed once the replies of the dispatch that
	// delivered msg are sent: held waits for it.
	after chan struct{}
	// reply is a stanza the server made (an AMP reply, an IQ result): it
	// never waits for room, within the session's reply allowance.
	reply bool
	// nonza is a stream management element, written in turn and never
	// counted; enables says that writing it starts the count.
	nonza   *etree.Element
	enables bool
}

// outbox is what waits to be written to a session: at most QueueSize
// messages from users, whose senders wait for room, and at most
// QueueSize+OfflineQuota in all with the server's replies, which never wait.
type outbox struct {
	mu       sync.Mutex
	items    []*item
	messages int           // items that count against QueueSize
	taken    chan struct{} // closed and replaced when the writer takes items
	ready    chan struct{} // the writer may have something to do
}

func (o *outbox) init() {
	o.taken = make(chan struct{})
	o.ready = make(chan struct{}, 1)
}

// wake tells the writer to look again: something was queued, or the
// window of unacknowledged stanzas moved.
func (o *outbox) wake() {
	select {
	case o.ready <- struct{}{}:
	default:
	}
}

// take removes and returns the first items, with at most room stanzas
// among them.
func (o *outbox) take(room int) []*item {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, it := range o.items {
		if it.enables && n > 0 {
			break // what comes before <enabled/> is flushed first
		}
		if it.nonza == nil {
			if room == 0 {
				break
			}
			room--
			if !it.reply {
				o.messages--
			}
		}
		n++
	}
	if n == 0 {
		return nil
	}
	batch := o.items[:n:n]
	o.items = o.items[n:]
	if len(o.items) == 0 {
		o.items = nil // let the backing array go
	}
	close(o.taken)
	o.taken = make(chan struct{})
	return batch
}

// drain removes and returns everything queued.
func (o *outbox) drain() []*item {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.items
	o.items, o.messages = nil, 0
	return out
}

// kill ends the session's connection; the reader then ends the session.
func (c *session) kill() {
	c.killOnce.Do(func() {
		close(c.dead)
		c.conn.Close()
	})
}

// killed reports whether kill was called.
func (c *session) killed() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

// doPush hands it to c's writer. u.mu is held. A message from a user waits
// for room, up to the write timeout; a client that has not made room by
// then is a slow reader and is disconnected. A reply the server made never
// waits: a client that lets more than its allowance pile up is disconnected
// at once, and so is one a message would wait for while the server is
// closing. doPush reports false when c has died: the caller must then end
// c (routing its stanzas again) and route it anew.
func (s *Server) doPush(c *session, it *item) bool {
	o := &c.out
	var timer *time.Timer
	for {
		select {
		case <-c.dead:
			return false
		default:
		}
		o.mu.Lock()
		switch {
		case it.reply && len(o.items) < s.cfg.QueueSize+s.cfg.OfflineQuota,
			!it.reply && o.messages < s.cfg.QueueSize:
			o.items = append(o.items, it)
			if !it.reply {
				o.messages++
			}
			o.mu.Unlock()
			o.wake()
			return true
		case it.reply:
			o.mu.Unlock()
			s.cfg.Logf("%s lets its replies pile up: disconnecting", c.jid)
			c.kill()
			return false
		}
		taken := o.taken
		o.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(s.cfg.WriteTimeout)
			defer timer.Stop()
		}
		select {
		case <-c.dead:
			return false
		case <-s.ctx.Done():
			// Closing: the session ends now, as a slow reader does, and
			// the message goes to the store rather than wait for room
			// that the session may never make.
			c.kill()
			return false
		case <-taken:
		case <-timer.C:
			s.cfg.Logf("%s reads too slowly: disconnecting", c.jid)
			c.kill()
			return false
		}
	}
}

// pushNonza queues a stream management element for c. It counts in the
// reply allowance: a client that asks for acknowledgements without
// reading the answers is disconnected.
func (s *Server) pushNonza(c *session, it *item) {
	c.out.mu.Lock()
	if len(c.out.items) >= s.cfg.QueueSize+s.cfg.OfflineQuota {
		c.out.mu.Unlock()
		s.cfg.Logf("%s lets its replies pile up: disconnecting", c.jid)
		c.kill()
		return
	}
	c.out.items = append(c.out.items, it)
	c.out.mu.Unlock()
	c.out.wake()
}

// end ends c: it forgets the session and routes again every stanza it did
// not acknowledge, in order, before any message routed later.
func (s *Server) end(c *session) {
	var replies []*etree.Element
	c.user.locked(func() { replies = s.endLocked(c) })
	s.sendReplies(replies)
}

// endLocked is end with c.user.mu held. It returns the replies to send.
func (s *Server) endLocked(c *session) []*etree.Element {
	u := c.user
	if c.ended {
		return nil
	}
	c.ended = true
	c.kill()
	<-c.writerDone
	for i, o := range u.sessions {
		if o == c {
			u.sessions = append(u.sessions[:i:i], u.sessions[i+1:]...)
			break
		}
	}
	undelivered := append(c.sm.takeUnacked(), c.out.drain()...)
	var again []pending
	for _, it := range undelivered {
		if it.orig != nil {
			again = append(again, pending{it.orig, it.res.Request(), it.key})
		}
	}
	replies := s.routeAllLocked(u, again)
	if len(again) > 0 {
		s.cfg.Logf("%s ended: %d stanzas routed again", c.jid, len(again))
	}
	return replies
}
