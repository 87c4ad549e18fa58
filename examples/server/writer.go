package main

import (
	"runtime/debug"

	"github.com/ampxmpp/amp/etreexml"
	"mellium.im/xmlstream"
)

// flushEvery is the most stanzas written without a flush and an <r/>
// while the queue never empties.
const flushEvery = 64

// writeLoop writes what is queued for c until c dies. It writes in
// batches and flushes when the queue is empty (or after flushEvery
// stanzas), so that a busy session costs one write syscall per batch, not
// per stanza. With stream management it stops once QueueSize stanzas wait
// for the client's acknowledgement, until they are acknowledged.
func (s *Server) writeLoop(c *session) {
	defer close(c.writerDone)
	defer func() {
		if r := recover(); r != nil {
			s.cfg.Logf("panic writing to %s: %v\n%s", c.jid, r, debug.Stack())
			c.kill()
		}
	}()
	var w xmlstream.TokenWriteFlushCloser // open while a batch is unflushed
	unflushed := 0
	// flush flushes the batch, with an <r/> when ask.
	flush := func(ask bool) error {
		if ask {
			if _, err := xmlstream.Copy(w, etreexml.ElementTokens(smNonza("r", ""))); err != nil {
				return err
			}
		}
		err := w.Close()
		w, unflushed = nil, 0
		if err != nil {
			return err
		}
		// Without stream management, written is all the server can know.
		if done := c.sm.writtenWithoutSM(); len(done) > 0 {
			s.confirm(c, done)
		}
		return nil
	}
	for {
		batch := c.out.take(c.sm.room(s.cfg.QueueSize))
		if len(batch) == 0 {
			if ask := c.sm.shouldRequest(); w != nil || ask {
				if w == nil {
					w = c.xs.TokenWriter()
				}
				if err := flush(ask); err != nil {
					s.cfg.Logf("writing to %s: %v", c.jid, err)
					c.kill()
					return
				}
				continue
			}
			select {
			case <-c.out.ready:
				continue
			case <-c.dead:
				return
			}
		}
		if batch[0].enables && w != nil {
			// Without stream management, what is written before
			// <enabled/> counts as delivered once flushed.
			if err := flush(false); err != nil {
				s.cfg.Logf("writing to %s: %v", c.jid, err)
				c.kill()
				return
			}
		}
		// Recorded before they are written: should a write fail, the
		// session's end routes again every stanza of the batch.
		c.sm.sent(batch)
		if w == nil {
			w = c.xs.TokenWriter()
		}
		for _, it := range batch {
			if err := s.write(c, w, it); err != nil {
				w.Close()
				s.cfg.Logf("writing to %s: %v", c.jid, err)
				c.kill()
				return
			}
			if it.nonza == nil {
				unflushed++
			}
		}
		if unflushed >= flushEvery {
			if err := flush(c.sm.shouldRequest()); err != nil {
				s.cfg.Logf("writing to %s: %v", c.jid, err)
				c.kill()
				return
			}
		}
	}
}

// write writes it to c. The writer holds the output lock, so the stanzas
// recorded for acknowledgement follow the order on the wire.
func (s *Server) write(c *session, w xmlstream.TokenWriter, it *item) error {
	if it.nonza != nil {
		if it.enables {
			c.sm.enable()
		}
		_, err := xmlstream.Copy(w, etreexml.ElementTokens(it.nonza))
		return err
	}
	_, err := xmlstream.Copy(w, etreexml.ElementTokens(it.msg))
	return err
}

// confirm hands stanzas the client received to the confirmer, when any of
// them has something left to do: a store removal, or events. The channel
// never fills: it holds at most QueueSize stanzas (smState.room).
func (s *Server) confirm(c *session, done []*item) {
	for _, it := range done {
		if it.key != 0 || len(it.held) > 0 {
			c.sm.confirming(len(done))
			c.confirms <- done
			return
		}
	}
}

// confirmLoop finishes the delivery of what c received, until the reader
// and writer are done and closed c.confirms.
func (s *Server) confirmLoop(c *session) {
	defer close(c.confirmDone)
	for done := range c.confirms {
		s.delivered(c, done)
		c.sm.confirmed(len(done))
		c.out.wake()
	}
}

// delivered finishes the delivery of stanzas to c: the stored ones leave
// the store, and the notify events held for them go to their senders.
func (s *Server) delivered(c *session, done []*item) {
	defer func() {
		if r := recover(); r != nil {
			s.cfg.Logf("panic confirming to %s: %v\n%s", c.jid, r, debug.Stack())
			c.kill()
		}
	}()
	var keys []uint64
	for _, it := range done {
		if it.key != 0 {
			keys = append(keys, it.key)
		}
	}
	if len(keys) > 0 {
		s.store.remove(c.user.name, keys)
	}
	for _, it := range done {
		if len(it.held) == 0 {
			continue
		}
		if it.after != nil {
			select {
			case <-it.after:
			default:
				// Not under the dispatch's lock: a goroutine waits.
				go func() { <-it.after; s.sendReplies(it.held) }()
				continue
			}
		}
		s.sendReplies(it.held)
	}
}
