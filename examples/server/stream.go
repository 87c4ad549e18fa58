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
	"time"

	"github.com/ampxmpp/amp"
	"github.com/ampxmpp/amp/etreexml"
	"github.com/beevik/etree"
	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

// handle negotiates a c2s stream on nc and serves it until it ends.
func (s *Server) handle(nc net.Conn) {
	defer nc.Close()
	cn := &conn{Conn: nc, idle: s.cfg.IdleTimeout, write: s.cfg.WriteTimeout, limit: int64(s.cfg.MaxStanza)}
	// The whole negotiation, from the first byte to a bound resource, has
	// one deadline: a client that never authenticates holds nothing for
	// longer.
	nc.SetDeadline(time.Now().Add(s.cfg.NegotiationTimeout))
	c := newSession(s, cn)
	var routed chan struct{} // closed when the router is done, once serving
	defer func() {
		// A bug in the server ends the stream it was serving, not the
		// server: the panic is logged, and what the session had not
		// acknowledged is routed again.
		if r := recover(); r != nil {
			s.cfg.Logf("panic serving %s (%v): %v\n%s", c.jid, nc.RemoteAddr(), r, debug.Stack())
			c.kill()
			if routed != nil {
				close(c.inbox)
				<-routed
				s.endSession(c)
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
			// Bound, then failed: nothing was routed to it yet.
			c.kill()
			close(c.writerDone)
			close(c.inbox)
			close(c.confirms)
			s.end(c)
		}
		return
	}
	c.xs = xs
	nc.SetDeadline(time.Time{})
	cn.read.Store(0)
	cn.ready.Store(true)
	go s.writeLoop(c)
	go s.confirmLoop(c)
	routedNow := make(chan struct{})
	routed = routedNow
	go func() { defer close(routedNow); s.routeLoop(c) }()
	s.cfg.Logf("%s bound", c.jid)

	err = s.readLoop(c)
	routed = nil // from here on, a panic has nothing to close
	close(c.inbox)
	if cond := streamErrorFor(err, cn); cond != "" {
		c.streamError(cond)
	}
	if err != nil && s.ctx.Err() == nil {
		s.cfg.Logf("%s: %v", c.jid, err)
	}
	// What the client sent before the end is routed: without stream
	// management it thinks it sent it.
	<-routedNow
	xs.Close()
	s.endSession(c)
}

// endSession ends c once its reader and router are done: it routes again
// what c did not acknowledge, and waits for the confirmer to finish what
// c did.
func (s *Server) endSession(c *session) {
	c.kill()
	s.end(c)
	close(c.confirms)
	<-c.confirmDone
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

// readLoop reads top-level elements until the stream ends and hands them
// to the router, but for the client's acknowledgements, which it handles
// itself: they must be read even while the client's messages wait for
// room. It returns nil when the client closed its stream.
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
		switch start.Name.Space {
		case "jabber:client":
			switch start.Name.Local {
			case "message", "presence", "iq":
			default:
				return fmt.Errorf("%w: %s", errStanzaType, start.Name.Local)
			}
		case nsSM:
			if err := s.smElement(c, el); err != nil {
				return err
			}
			continue
		default:
			// encoding/xml leaves an unbound prefix as the namespace;
			// namespace names are URIs, which have a colon.
			if !strings.Contains(start.Name.Space, ":") {
				return fmt.Errorf("%w: <%s:%s>", errUnboundPrefix, start.Name.Space, start.Name.Local)
			}
			return fmt.Errorf("%w: {%s}%s", errStanzaType, start.Name.Space, start.Name.Local)
		}
		c.inbox <- inbound{el, c.in.next()}
	}
}

// errStanzaType and errUnboundPrefix end a stream that sent a top-level
// element this server does not know.
var (
	errStanzaType    = errors.New("unsupported top-level element")
	errUnboundPrefix = errors.New("element with an unbound prefix")
)

// routeLoop handles, in order, what the reader hands it, until the reader
// is done.
func (s *Server) routeLoop(c *session) {
	defer func() {
		if r := recover(); r != nil {
			s.cfg.Logf("panic routing for %s: %v\n%s", c.jid, r, debug.Stack())
			c.kill()
			for range c.inbox {
				// The reader ends once the connection is closed.
			}
		}
	}()
	for in := range c.inbox {
		el := in.el
		t := c.in.begin(in.n, s.cfg.QueueSize)
		if el.Tag != "message" {
			// What goes to the client itself waits for the replies to
			// its earlier messages, which may wait for the store.
			t.settle()
		}
		var replies []*etree.Element
		switch el.Tag {
		case "message":
			// Stamp the sender's full JID on everything it sends.
			setAttr(el, "from", c.jid.String())
			replies = s.route(el, c.jid, t)
		case "presence":
			s.presence(c, el)
		case "iq":
			setAttr(el, "from", c.jid.String())
			if resp := s.iq(el); resp != nil {
				s.push(c, &item{msg: resp, reply: true})
			}
		}
		t.finish(s, replies)
	}
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
// flushes it. It waits for the writer's batch, or for the write timeout.
func (c *session) streamError(cond string) {
	w := c.xs.TokenWriter()
	defer w.Close()
	c.conn.Write([]byte(`<stream:error><` + cond + ` xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`))
}
