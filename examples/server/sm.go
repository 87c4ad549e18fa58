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

// smState counts the stanzas written to the client and what it
// acknowledged. Its methods are safe for concurrent use; the counts that
// must follow wire order change while the writer holds the output lock.
type smState struct {
	mu      sync.Mutex
	enabled bool
	out     uint32  // stanzas written since <enabled/>
	acked   uint32  // the last h the client sent
	unacked []*item // written, in order, not yet acknowledged
	asked   uint32  // out when the last <r/> was written
	// finishing counts stanzas acknowledged (or written, without stream
	// management) whose delivery the confirmer has not finished.
	finishing int
}

// enable starts counting: the next stanza written is number 1.
func (m *smState) enable() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.enabled, m.out, m.acked, m.asked = true, 0, 0, 0
}

// sent records the stanzas of batch as written, in order.
func (m *smState) sent(batch []*item) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, it := range batch {
		if it.nonza == nil {
			m.out++
			m.unacked = append(m.unacked, it)
		}
	}
}

// room is how many more stanzas the writer may write: window, less those
// written and not yet acknowledged or finished.
func (m *smState) room(window int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return max(0, window-len(m.unacked)-m.finishing)
}

// shouldRequest reports whether an <r/> is due after a batch: stream
// management is on, and stanzas were written since the last <r/>. One
// follows every batch, in the same write, so that a client answers it
// while it reads the batch, before whatever the batch makes it do.
func (m *smState) shouldRequest() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ask := m.enabled && m.asked != m.out && len(m.unacked) > 0
	if ask {
		m.asked = m.out
	}
	return ask
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
	n := h - m.acked // wraps around at 2^32, as XEP-0198 says
	if int64(n) > int64(len(m.unacked)) {
		return nil, errAckTooHigh
	}
	m.acked = h
	done := m.unacked[:n:n]
	m.unacked = m.unacked[n:]
	return done, nil
}

// confirming and confirmed count the stanzas the confirmer holds.
func (m *smState) confirming(n int) {
	m.mu.Lock()
	m.finishing += n
	m.mu.Unlock()
}

func (m *smState) confirmed(n int) {
	m.mu.Lock()
	m.finishing -= n
	m.mu.Unlock()
}

// waiting reports whether stream management is on and stanzas wait for
// the client's acknowledgement.
func (m *smState) waiting() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.enabled && len(m.unacked) > 0
}

// takeUnacked returns what was written and not acknowledged.
func (m *smState) takeUnacked() []*item {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.unacked
	m.unacked = nil
	return out
}

// handledCount counts the stanzas the client sent that the server has
// handled: XEP-0198's h, which tells the client which of its messages the
// server took responsibility for. A message is handled once it is in a
// session's queue, answered, or committed to the store; commits come later,
// so stanzas finish out of order, and h counts only those finished with
// every stanza before them. The reader numbers the stanzas as it reads
// them, and answers an <r/> once every stanza read before it is handled,
// without waiting for the router.
type handledCount struct {
	mu      sync.Mutex
	changed *sync.Cond
	read    uint32    // stanzas the reader read
	base    uint32    // stanzas read before <enable/>
	enabled bool      // <enable/> was read
	h       uint32    // stanzas finished, with all those before them
	open    []*ticket // the stanzas after h the router took
	sending sync.Mutex
	// replying counts the goroutines sending the replies of finished
	// stanzas, or waiting to.
	replying int
	asks     []ask // the <r/>s waiting, oldest first
	answer   func(h uint32)
}

// An ask is n <r/>s read after the same stanza, answered once the
// stanzas up to it are handled: one entry however many a client sends.
type ask struct {
	target uint32
	n      int
}

func (hc *handledCount) init(answer func(h uint32)) {
	hc.changed = sync.NewCond(&hc.mu)
	hc.answer = answer
}

// next numbers a stanza the reader read.
func (hc *handledCount) next() uint32 {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.read++
	return hc.read
}

// enable starts counting from here: it reports false if it already did.
func (hc *handledCount) enable() bool {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.enabled {
		return false
	}
	hc.enabled, hc.base = true, hc.read
	return true
}

// ask records the client's <r/>: it is answered once every stanza read
// before it is handled.
func (hc *handledCount) ask() {
	hc.mu.Lock()
	if !hc.enabled {
		hc.mu.Unlock()
		return
	}
	if hc.h < hc.read {
		if k := len(hc.asks) - 1; k >= 0 && hc.asks[k].target == hc.read {
			hc.asks[k].n++
		} else {
			hc.asks = append(hc.asks, ask{hc.read, 1})
		}
		hc.mu.Unlock()
		return
	}
	h := hc.h - hc.base
	hc.mu.Unlock()
	hc.answer(h)
}

// begin takes stanza n for the router, once fewer than limit stanzas wait
// for the store: a client storing faster than the disk syncs is read more
// slowly. The router finishes the ticket once it has routed the stanza.
func (hc *handledCount) begin(n uint32, limit int) *ticket {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	for len(hc.open) >= limit {
		hc.changed.Wait()
	}
	t := &ticket{hc: hc, n: n, parts: 1}
	hc.open = append(hc.open, t)
	return t
}

// A ticket is one stanza on its way through the router, and the replies
// for its sender. The router finishes its part; the store, when the
// stanza goes there, finishes another once committed. The replies of the
// client's stanzas go out in the order of the stanzas, so that a reply to
// a stored message still comes before anything caused by a later one.
type ticket struct {
	hc      *handledCount
	n       uint32
	parts   int // parts not finished
	replies []*etree.Element
}

// settle waits until every stanza before t is handled and its replies
// sent: what the router does next reaches the client after them.
func (t *ticket) settle() {
	hc := t.hc
	hc.mu.Lock()
	for hc.open[0] != t || hc.replying > 0 {
		hc.changed.Wait()
	}
	hc.mu.Unlock()
}

// wait adds a part that the store finishes.
func (t *ticket) wait() {
	if t == nil {
		return
	}
	t.hc.mu.Lock()
	t.parts++
	t.hc.mu.Unlock()
}

// finish finishes a part, with its replies. Once the stanza and those
// before it are finished, their replies are sent, in order.
func (t *ticket) finish(s *Server, replies []*etree.Element) {
	if t == nil {
		return
	}
	hc := t.hc
	hc.mu.Lock()
	t.replies = append(t.replies, replies...)
	t.parts--
	var out []*etree.Element
	var answers []uint32
	for len(hc.open) > 0 && hc.open[0].parts == 0 {
		out = append(out, hc.open[0].replies...)
		hc.open[0] = nil
		hc.open = hc.open[1:]
		hc.h++
		for len(hc.asks) > 0 && hc.asks[0].target <= hc.h {
			for range hc.asks[0].n {
				answers = append(answers, hc.h-hc.base)
			}
			hc.asks = hc.asks[1:]
		}
	}
	if len(hc.open) == 0 {
		hc.open = nil
	}
	if len(out) == 0 && len(answers) == 0 {
		hc.mu.Unlock()
		hc.changed.Broadcast()
		return
	}
	// Taken before mu is let go: two goroutines finishing tickets send
	// their replies in the order of the tickets.
	hc.replying++
	hc.sending.Lock()
	hc.mu.Unlock()
	s.sendReplies(out)
	for _, h := range answers {
		hc.answer(h)
	}
	hc.sending.Unlock()
	hc.mu.Lock()
	hc.replying--
	hc.mu.Unlock()
	hc.changed.Broadcast()
}

// ack handles the client's <a h/>, in the reader: the acknowledged
// stanzas go to the confirmer.
func (s *Server) ack(c *session, el *etree.Element) error {
	h, err := strconv.ParseUint(attr(el, "h"), 10, 32)
	if err != nil {
		return errAckTooHigh
	}
	done, err := c.sm.ack(uint32(h))
	if err != nil {
		return err
	}
	if len(done) > 0 {
		s.confirm(c, done)
	}
	// Stanzas written after the last <r/> wait for the next one.
	c.out.wake()
	return nil
}

// smElement answers a stream management element, in the reader.
func (s *Server) smElement(c *session, el *etree.Element) error {
	switch el.Tag {
	case "a":
		return s.ack(c, el)
	case "r":
		c.in.ask()
	case "enable":
		if !c.in.enable() {
			s.pushNonza(c, &item{nonza: smNonza("failed", "unexpected-request")})
			return nil
		}
		// The writer starts counting when it writes <enabled/>.
		s.pushNonza(c, &item{nonza: smNonza("enabled", ""), enables: true})
	case "resume":
		s.pushNonza(c, &item{nonza: smNonza("failed", "item-not-found")})
	}
	return nil
}

// smNonza is a stream management element, with an error condition child
// when cond is set.
func smNonza(name, cond string) *etree.Element {
	el := etree.NewElement(name)
	el.CreateAttr("xmlns", nsSM)
	if cond != "" {
		el.CreateElement(cond).CreateAttr("xmlns", "urn:ietf:params:xml:ns:xmpp-stanzas")
	}
	return el
}

func ackElement(h uint32) *etree.Element {
	el := smNonza("a", "")
	el.CreateAttr("h", strconv.FormatUint(uint64(h), 10))
	return el
}
