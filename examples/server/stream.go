package main

import (
	"context"
	"crypto/subtle"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/ampxmpp/amp/etreexml"
	"github.com/beevik/etree"
	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

// session is one bound client stream. Stanzas routed to it wait in queue,
// which a single writer goroutine drains, so that two readers routing to
// each other never deadlock; what the writer wrote stays in unacked until
// the client acknowledges it (sm.go), or, without stream management, until
// it was written.
type session struct {
	user  *user
	jid   jid.JID
	xs    *xmpp.Session
	conn  *conn
	queue chan *item

	dead       chan struct{} // closed by kill
	killOnce   sync.Once
	writerDone chan struct{}

	// Guarded by user.mu.
	available bool // it sent its initial presence: messages may go to it
	ended     bool // its undelivered stanzas were routed again

	sm smState // guarded by its own mutex
}

// item is a stanza on its way to one session, with what is needed to route
// it again if the session ends before acknowledging it.
type item struct {
	// msg is what the session writes.
	msg *etree.Element
	// orig is the message as it was received or stored, <amp/> included,
	// and req its request: what is routed again. orig is nil for an IQ
	// result, which is never sent again.
	orig *etree.Element
	req  amp.Request
	// held are the notify events of the delivery, sent to the sender
	// once the client acknowledges msg.
	held []*etree.Element
	// key is the message's place in the store when it was dispatched
	// from there, or 0.
	key uint64
}

// kill ends the session's connection; handle then ends the session.
func (c *session) kill() {
	c.killOnce.Do(func() {
		close(c.dead)
		c.conn.Close()
	})
}

// conn is a client connection with the deadlines and the stanza size limit
// applied on every read and write. Deadlines on the connection, rather
// than contexts on each send, are what make a timeout end only the session
// that is stuck.
type conn struct {
	net.Conn
	idle, write time.Duration
	limit       int64
	ready       atomic.Bool  // negotiation is over: reads get the idle deadline
	read        atomic.Int64 // bytes read since the last stanza ended
	tooBig      atomic.Bool
}

var errTooBig = errors.New("stanza too large")

// Read reads at most what the stanza size limit leaves. The decoder reads
// ahead, so the limit is exact to within its buffer (4 KiB).
func (c *conn) Read(p []byte) (int, error) {
	if c.ready.Load() {
		c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	}
	left := c.limit - c.read.Load()
	if left <= 0 {
		c.tooBig.Store(true)
		return 0, errTooBig
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// Write gives every write the write timeout: a client that stops reading
// is disconnected after it, and its stanzas are routed again.
func (c *conn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.write))
	return c.Conn.Write(p)
}

// handle negotiates a c2s stream on nc and serves it until it ends.
func (s *Server) handle(nc net.Conn) {
	defer nc.Close()
	cn := &conn{Conn: nc, idle: s.cfg.IdleTimeout, write: s.cfg.WriteTimeout, limit: int64(s.cfg.MaxStanza)}
	// The whole negotiation, from the first byte to a bound resource, has
	// one deadline: a client that never authenticates holds nothing for
	// longer.
	nc.SetDeadline(time.Now().Add(s.cfg.NegotiationTimeout))
	c := &session{conn: cn, queue: make(chan *item, s.cfg.QueueSize), dead: make(chan struct{}), writerDone: make(chan struct{})}
	writing := false
	defer func() {
		// A bug in the server ends the stream it was serving, not the
		// server: the panic is logged, and what the session had not
		// acknowledged is routed again.
		if r := recover(); r != nil {
			s.cfg.Logf("panic serving %s (%v): %v\n%s", c.jid, nc.RemoteAddr(), r, debug.Stack())
			c.kill()
			if c.user != nil {
				if !writing {
					close(c.writerDone)
				}
				s.end(c)
			}
		}
	}()
	xs, err := xmpp.ReceiveSession(s.ctx, cn, 0, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: s.features(c)}
	}))
	if err != nil {
		// A stream error needs a stream: not for a client that never
		// sent a header in time.
		if cond := streamErrorFor(err, cn); cond != "" && cond != "connection-timeout" {
			cn.Write([]byte(`<stream:error><` + cond + ` xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`))
		}
		s.cfg.Logf("negotiation: %v", err)
		if c.user != nil {
			c.kill()
			close(c.writerDone)
			s.end(c)
		}
		return
	}
	c.xs = xs
	nc.SetDeadline(time.Time{})
	cn.read.Store(0)
	cn.ready.Store(true)
	writing = true
	go s.writeLoop(c)
	s.cfg.Logf("%s bound", c.jid)

	err = s.readLoop(c)
	if cond := streamErrorFor(err, cn); cond != "" {
		c.streamError(cond)
	}
	if err != nil && s.ctx.Err() == nil {
		s.cfg.Logf("%s: %v", c.jid, err)
	}
	xs.Close()
	c.kill()
	s.end(c)
}

// features are the stream features offered on c's connection: SASL PLAIN,
// resource binding that records the session, AMP's informational feature
// and stream management.
func (s *Server) features(c *session) []xmpp.StreamFeature {
	// SASL is offered only on secure streams unless Necessary is cleared.
	auth := xmpp.SASLServer(func(n *sasl.Negotiator) bool {
		name, pw, _ := n.Credentials()
		// Accounts are looked up by the normalized localpart.
		j, err := jid.New(string(name), s.cfg.Domain, "")
		if err != nil {
			return false
		}
		u := s.users[j.Localpart()]
		if u == nil || subtle.ConstantTimeCompare([]byte(u.acct.Password), pw) != 1 {
			return false
		}
		c.user = u
		return true
	}, sasl.Plain)
	auth.Necessary = 0
	// Clients on plain TCP often send no from: bind the user SASL accepted.
	bind := xmpp.BindCustom(func(_ jid.JID, res string) (jid.JID, error) {
		u := c.user
		u.mu.Lock()
		defer u.mu.Unlock()
		j, err := jid.New(u.name, s.cfg.Domain, res)
		for err == nil && (res == "" || u.find(j) != nil) {
			res = randomID()
			j, err = jid.New(u.name, s.cfg.Domain, res)
		}
		if err != nil {
			return j, err
		}
		c.jid = j
		u.sessions = append(u.sessions, c)
		return j, nil
	})
	// AMP's stream feature is informational: listed, never negotiated.
	ampFeature := xmpp.StreamFeature{
		Name: xml.Name{Space: amp.NSFeature, Local: "amp"},
		List: func(_ context.Context, e xmlstream.TokenWriter, _ xml.StartElement) (bool, error) {
			_, err := xmlstream.Copy(e, etreexml.ElementTokens(amp.StreamFeature()))
			return false, err
		},
	}
	return []xmpp.StreamFeature{auth, bind, ampFeature, smFeature}
}

// find returns the session bound to the full JID j, or nil. u.mu is held.
func (u *user) find(j jid.JID) *session {
	for _, c := range u.sessions {
		if c.jid.Equal(j) {
			return c
		}
	}
	return nil
}

// readLoop reads top-level elements until the stream ends. It returns nil
// when the client closed its stream.
func (s *Server) readLoop(c *session) error {
	r := c.xs.TokenReader()
	defer r.Close()
	for {
		tok, err := r.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue // whitespace keepalive; anything else is refused by the reader
		}
		el, err := etreexml.ReadElement(r, &start)
		if err != nil {
			return err
		}
		c.conn.read.Store(0)
		if err := s.element(c, start.Name, el); err != nil {
			return err
		}
	}
}

// errStanzaType and errUnboundPrefix end a stream that sent a top-level
// element this server does not know.
var (
	errStanzaType    = errors.New("unsupported top-level element")
	errUnboundPrefix = errors.New("element with an unbound prefix")
)

// element handles one top-level element from c.
func (s *Server) element(c *session, name xml.Name, el *etree.Element) error {
	switch name.Space {
	case "jabber:client":
	case nsSM:
		return s.smElement(c, el)
	default:
		// encoding/xml leaves an unbound prefix as the namespace;
		// namespace names are URIs, which have a colon.
		if !strings.Contains(name.Space, ":") {
			return fmt.Errorf("%w: <%s:%s>", errUnboundPrefix, name.Space, name.Local)
		}
		return fmt.Errorf("%w: {%s}%s", errStanzaType, name.Space, name.Local)
	}
	switch name.Local {
	case "message":
		c.sm.handled()
		// Stamp the sender's full JID on everything it sends.
		setAttr(el, "from", c.jid.String())
		s.sendReplies(s.route(el))
	case "presence":
		c.sm.handled()
		s.presence(c, el)
	case "iq":
		c.sm.handled()
		setAttr(el, "from", c.jid.String())
		if resp := s.iq(el); resp != nil {
			return c.writeNow(resp)
		}
	default:
		return fmt.Errorf("%w: %s", errStanzaType, name.Local)
	}
	return nil
}

// streamErrorFor returns the RFC 6120 stream error condition that answers
// err, or "" when the stream ended cleanly or the connection is gone.
func streamErrorFor(err error, cn *conn) string {
	var syntax *xml.SyntaxError
	var netErr net.Error
	switch {
	case err == nil:
		return ""
	case cn.tooBig.Load():
		return "policy-violation"
	case errors.As(err, &syntax), errors.Is(err, errUnboundPrefix):
		return "not-well-formed"
	case errors.Is(err, errStanzaType):
		return "unsupported-stanza-type"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "connection-timeout"
	case errors.Is(err, errAckTooHigh):
		return "undefined-condition"
	}
	return ""
}

// streamError writes a stream error; the caller then closes the stream.
// It is written by hand: mellium buffers the one it would write and never
// flushes it.
func (c *session) streamError(cond string) {
	w := c.xs.TokenWriter()
	defer w.Close()
	c.conn.Write([]byte(`<stream:error><` + cond + ` xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`))
}

// writeLoop writes what is routed to c until c dies.
func (s *Server) writeLoop(c *session) {
	defer close(c.writerDone)
	defer func() {
		if r := recover(); r != nil {
			s.cfg.Logf("panic writing to %s: %v\n%s", c.jid, r, debug.Stack())
			c.kill()
		}
	}()
	var n int
	for {
		select {
		case <-c.dead:
			return
		default:
		}
		select {
		case it := <-c.queue:
			if err := s.write(c, it); err != nil {
				s.cfg.Logf("writing to %s: %v", c.jid, err)
				c.kill()
				return
			}
			// Ask for an acknowledgement after a burst, and every 32
			// stanzas during a long one, so that what waits for an
			// acknowledgement stays short.
			if n++; len(c.queue) == 0 || n%32 == 0 {
				if err := c.requestAck(); err != nil {
					c.kill()
					return
				}
			}
		case <-c.dead:
			return
		}
	}
}

// write writes it to c and records it for acknowledgement, holding the
// output lock so that the count of stanzas follows the order on the wire.
func (s *Server) write(c *session, it *item) error {
	w := c.xs.TokenWriter()
	defer w.Close()
	if err := c.sm.sent(it, s.cfg.QueueSize+s.cfg.OfflineQuota); err != nil {
		return err
	}
	if _, err := xmlstream.Copy(w, etreexml.ElementTokens(it.msg)); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	// Without stream management, written is all the server can know.
	if done := c.sm.writtenWithoutSM(); done != nil {
		s.acknowledged(c, done)
	}
	return nil
}

// writeNow writes el, a reply the reader itself makes (an IQ result), ahead
// of the queue. It is counted for stream management but never sent again.
func (c *session) writeNow(el *etree.Element) error {
	w := c.xs.TokenWriter()
	defer w.Close()
	if err := c.sm.sent(&item{msg: el}, -1); err != nil {
		return err
	}
	if _, err := xmlstream.Copy(w, etreexml.ElementTokens(el)); err != nil {
		return err
	}
	c.sm.writtenWithoutSM()
	return w.Flush()
}

// doPush hands it to c's writer. u.mu is held. A full queue makes the caller
// wait, up to the write timeout; a client that has not made room by then is
// a slow reader and is disconnected. push reports false when c has died: the
// caller must then end c (routing its stanzas again) and route it anew.
func (s *Server) doPush(c *session, it *item) bool {
	select {
	case <-c.dead:
		return false
	case c.queue <- it:
		return true
	default:
	}
	t := time.NewTimer(s.cfg.WriteTimeout)
	defer t.Stop()
	select {
	case <-c.dead:
		return false
	case c.queue <- it:
		return true
	case <-t.C:
		s.cfg.Logf("%s reads too slowly: disconnecting", c.jid)
		c.kill()
		return false
	}
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
	undelivered := c.sm.takeUnacked()
	for {
		select {
		case it := <-c.queue:
			undelivered = append(undelivered, it)
			continue
		default:
		}
		break
	}
	var again []pending
	for _, it := range undelivered {
		if it.orig != nil {
			again = append(again, pending{it.orig, it.req, it.key})
		}
	}
	replies := s.routeAllLocked(u, again)
	if len(undelivered) > 0 {
		s.cfg.Logf("%s ended: %d stanzas routed again", c.jid, len(undelivered))
	}
	return replies
}
