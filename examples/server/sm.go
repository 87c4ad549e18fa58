package main

import (
	"context"
	"encoding/xml"
	"errors"
	"strconv"
	"sync"

	"github.com/beevik/etree"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
)

// This file is the server side of XEP-0198 Stream Management: <enable/>
// and <enabled/>, <r/> and <a h/> in both directions. Resumption is not
// offered: <enabled/> carries no resume attribute, so a client reconnects
// with a new session, and what the old one did not acknowledge has already
// been routed again (to another session or to the store).
//
// Without stream management a stanza counts as delivered once it is
// written to the socket. What the kernel buffers, the network or the
// client then loses is lost without anyone knowing: the message is gone,
// and the sender may have had a notify event for deliver=direct. Clients
// that need their messages should enable stream management.

const nsSM = "urn:xmpp:sm:3"

// smFeature lists stream management after authentication. It has no
// Negotiate: <enable/> comes after binding, and the read loop answers it.
var smFeature = xmpp.StreamFeature{
	Name:      xml.Name{Space: nsSM, Local: "sm"},
	Necessary: xmpp.Authn,
	List: func(_ context.Context, e xmlstream.TokenWriter, start xml.StartElement) (bool, error) {
		_, err := xmlstream.Copy(e, xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: nsSM, Local: "sm"}}))
		return false, err
	},
}

// errAckTooHigh ends a stream whose client acknowledged stanzas never sent.
var errAckTooHigh = errors.New("acknowledgement of more stanzas than were sent")

// smState counts stanzas both ways. Its methods are safe for concurrent
// use; the counts that must follow wire order are changed while the
// session's output lock is held.
type smState struct {
	mu       sync.Mutex
	enabled  bool
	in       uint32  // stanzas handled from the client
	out      uint32  // stanzas written since <enabled/>
	acked    uint32  // the last h the client sent
	unacked  []*item // written, in order, not yet acknowledged
	rPending bool    // an <r/> is out and no <a/> came back yet
}

// handled counts a stanza received from the client.
func (m *smState) handled() {
	m.mu.Lock()
	m.in++
	m.mu.Unlock()
}

// sent records it as written. max bounds the unacknowledged stanzas of a
// client that never acknowledges; -1 means no bound.
func (m *smState) sent(it *item, max int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Recorded even when refused: the session then ends, and what it
	// holds is routed again, this stanza included.
	m.out++
	m.unacked = append(m.unacked, it)
	if max >= 0 && len(m.unacked) > max {
		return errors.New("too many unacknowledged stanzas")
	}
	return nil
}

// writtenWithoutSM returns the stanzas that count as delivered once
// written: all of them when stream management is off, none otherwise.
func (m *smState) writtenWithoutSM() []*item {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.enabled {
		return nil
	}
	done := m.unacked
	m.unacked = nil
	return done
}

// ack records the client's <a h/> and returns the stanzas it acknowledges.
func (m *smState) ack(h uint32) ([]*item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rPending = false
	n := h - m.acked // wraps around at 2^32, as XEP-0198 says
	if int64(n) > int64(len(m.unacked)) {
		return nil, errAckTooHigh
	}
	m.acked = h
	done := m.unacked[:n:n]
	m.unacked = m.unacked[n:]
	return done, nil
}

// takeUnacked returns what was written and not acknowledged.
func (m *smState) takeUnacked() []*item {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.unacked
	m.unacked = nil
	return out
}

// smElement answers a stream management element from the client.
func (s *Server) smElement(c *session, el *etree.Element) error {
	switch el.Tag {
	case "enable":
		// Under the output lock: the first stanza written after
		// <enabled/> is number 1.
		w := c.xs.TokenWriter()
		defer w.Close()
		c.sm.mu.Lock()
		already := c.sm.enabled
		c.sm.enabled, c.sm.in, c.sm.out, c.sm.acked = true, 0, 0, 0
		c.sm.mu.Unlock()
		if already {
			return writeNonza(w, "failed", nil, "unexpected-request")
		}
		return writeNonza(w, "enabled", nil, "")
	case "r":
		c.sm.mu.Lock()
		h := c.sm.in
		c.sm.mu.Unlock()
		w := c.xs.TokenWriter()
		defer w.Close()
		return writeNonza(w, "a", []xml.Attr{{Name: xml.Name{Local: "h"}, Value: strconv.FormatUint(uint64(h), 10)}}, "")
	case "a":
		h, err := strconv.ParseUint(attr(el, "h"), 10, 32)
		if err != nil {
			return errAckTooHigh
		}
		done, err := c.sm.ack(uint32(h))
		if err != nil {
			return err
		}
		// The reader holds no lock: the events go out now, before
		// anything else the client sends is routed.
		s.delivered(c, done)
		// Stanzas written after the last <r/> wait for the next one.
		return c.requestAck()
	case "resume":
		w := c.xs.TokenWriter()
		defer w.Close()
		return writeNonza(w, "failed", nil, "item-not-found")
	}
	return nil
}

// requestAck sends <r/> after a burst, unless one is already out, so that
// acknowledgements come back without waiting for the client to ask.
func (c *session) requestAck() error {
	c.sm.mu.Lock()
	ask := c.sm.enabled && !c.sm.rPending && len(c.sm.unacked) > 0
	if ask {
		c.sm.rPending = true
	}
	c.sm.mu.Unlock()
	if !ask {
		return nil
	}
	w := c.xs.TokenWriter()
	defer w.Close()
	return writeNonza(w, "r", nil, "")
}

// acknowledged finishes, on the server's later queue, the delivery of
// stanzas written to a client without stream management. The writer that
// calls it must never wait for a user's lock.
func (s *Server) acknowledged(c *session, done []*item) {
	for _, it := range done {
		if len(it.held) > 0 || it.key != 0 {
			s.later.add(func() { s.delivered(c, done) })
			return
		}
	}
}

// delivered finishes the delivery of stanzas to c.
func (s *Server) delivered(c *session, done []*item) {
	var keys []uint64
	for _, it := range done {
		if it.key != 0 {
			keys = append(keys, it.key)
		}
	}
	if len(keys) > 0 {
		if err := s.store.remove(c.user.name, keys...); err != nil {
			s.cfg.Logf("removing delivered messages of %s: %v", c.user.name, err)
		}
	}
	for _, it := range done {
		s.sendReplies(it.held)
	}
}

// writeNonza writes a stream management element, with an error condition
// child when cond is set, and flushes it.
func writeNonza(w xmlstream.TokenWriteFlushCloser, name string, attrs []xml.Attr, cond string) error {
	start := xml.StartElement{Name: xml.Name{Space: nsSM, Local: name}, Attr: attrs}
	var inner xml.TokenReader
	if cond != "" {
		inner = xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: "urn:ietf:params:xml:ns:xmpp-stanzas", Local: cond}})
	}
	if _, err := xmlstream.Copy(w, xmlstream.Wrap(inner, start)); err != nil {
		return err
	}
	return w.Flush()
}
