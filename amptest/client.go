package amptest

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/ampxmpp/amp/etreexml"
	"github.com/beevik/etree"
	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

const nsBind = "urn:ietf:params:xml:ns:xmpp-bind"

// conn is one logged-in c2s session of the kit.
type conn struct {
	jid     jid.JID
	user    string
	label   string // the session as the transcript names it: user/resource
	session *xmpp.Session
	netConn net.Conn // the TCP connection, recorded
	rec     *recording
	log     *transcript
	// feature is true when the server listed the AMP stream feature, sm
	// when it listed stream management (XEP-0198).
	feature, sm bool

	mu      sync.Mutex
	queue   []*etree.Element
	notify  chan struct{} // has a value when queue grew
	done    chan struct{} // closed when Serve returns
	closed  bool
	onClose func() // called once the stream is closed
}

// Login attempts: a server may refuse a login transiently (jabberd2's
// c2s answers internal-server-error after <auth/> while its session
// manager still ends an earlier session on the same socket number).
const (
	loginAttempts = 3
	loginPause    = 300 * time.Millisecond
	// streamGap is the least time between closing one stream and opening
	// the next.
	streamGap = 50 * time.Millisecond
)

// dial logs a in with resource, retrying a login the server refuses
// transiently, and sends initial presence (a server dispatches stored
// messages at that point). Each attempt is bounded by the Timeout; one
// that times out is not tried again.
func (k *kit) dial(ctx context.Context, a Account, resource string, log *transcript) (*conn, error) {
	var err error
	for attempt := 1; ; attempt++ {
		k.gap()
		var c *conn
		c, err = k.login(ctx, a, resource, log)
		if err == nil {
			return c, nil
		}
		if attempt == loginAttempts || !transient(ctx, err) {
			break
		}
		log.note(fmt.Sprintf("login as %s refused (%v): trying again", a.User, err))
		select {
		case <-time.After(time.Duration(attempt) * loginPause):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return nil, err
}

// transient reports whether a failed login may succeed when tried again:
// not when the wait timed out, the run ended, the password was refused or
// the JID bound is wrong.
func transient(ctx context.Context, err error) bool {
	var ne net.Error
	var bad *boundError
	switch {
	case ctx.Err() != nil, errors.Is(err, errTimedOut), errors.As(err, &ne) && ne.Timeout(), errors.As(err, &bad):
		return false
	}
	return !strings.Contains(err.Error(), "not-authorized")
}

// errTimedOut is a wait the Timeout ended.
var errTimedOut = errors.New("timed out")

// gap waits until streamGap has passed since the kit last closed a
// stream.
func (k *kit) gap() {
	k.mu.Lock()
	wait := time.Until(k.lastClose.Add(streamGap))
	k.mu.Unlock()
	if wait > 0 {
		time.Sleep(wait)
	}
}

// boundError is a bound JID that is not the account's on the domain given.
type boundError struct{ bound, want string }

func (e *boundError) Error() string {
	return fmt.Sprintf("the server bound %s, want %s: is the domain right?", e.bound, e.want)
}

// login makes one attempt to log a in: TCP, STARTTLS when the Server asks
// for it, SASL with the best mechanism both sides know, resource binding,
// initial presence, and a disco#info round trip that shows the presence
// was handled.
func (k *kit) login(ctx context.Context, a Account, resource string, log *transcript) (*conn, error) {
	s := &k.s
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	origin, err := jid.New(a.User, s.Domain, "")
	if err != nil {
		return nil, err
	}
	location := origin.Domain()
	d := net.Dialer{}
	tcp, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, fmt.Errorf("logging in as %s: %w", origin, err)
	}
	deadline, _ := ctx.Deadline()
	tcp.SetDeadline(deadline)
	rec := &recording{label: a.User + "/" + resource}
	nc := &recConn{Conn: tcp, rec: rec}
	c := &conn{netConn: nc, rec: rec, user: a.User, log: log, notify: make(chan struct{}, 1), done: make(chan struct{})}
	c.onClose = func() {
		k.mu.Lock()
		k.lastClose = time.Now()
		k.mu.Unlock()
	}
	// The session ends when the context does: a server that accepts and
	// never answers is left at the deadline. mellium is given a context
	// without the deadline: at its end, it sets the connection's deadline
	// to the past and at once clears it, which races with a blocked read
	// and can leave it blocked for good.
	stop := context.AfterFunc(ctx, func() { tcp.SetDeadline(time.Now()) })
	defer stop()
	session, err := xmpp.NewSession(context.WithoutCancel(ctx), location, origin, nc, 0, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: k.features(a, resource, rec, &c.feature, &c.sm)}
	}))
	if err != nil {
		log.addStream(rec)
		tcp.Close()
		c.onClose()
		var ne net.Error
		if ctx.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("logging in as %s at %s: %w: no answer within %v (%v)", origin, s.Addr, errTimedOut, s.Timeout, err)
		}
		return nil, fmt.Errorf("logging in as %s at %s: %w", origin, s.Addr, err)
	}
	c.session, c.jid = session, session.LocalAddr()
	c.label = a.User + "/" + c.jid.Resourcepart()
	rec.label = c.label
	log.addStream(rec)
	if want := origin.Bare().String(); c.jid.Bare().String() != want {
		c.onClose()
		tcp.Close()
		return nil, &boundError{bound: c.jid.String(), want: want + "/" + resource}
	}
	go c.serve()
	if err := c.available(deadline); err != nil {
		c.close(s.Timeout)
		return nil, fmt.Errorf("logging in as %s: %w", c.jid, err)
	}
	tcp.SetDeadline(time.Time{})
	return c, nil
}

// available sends initial presence and waits until deadline for the
// answer to an IQ sent after it: a server handles a stream's stanzas in
// order, so once it has answered, the session is available, and a message
// sent to it next is not stored instead.
func (c *conn) available(deadline time.Time) error {
	if err := c.sendRaw(`<presence/>`); err != nil {
		return err
	}
	id := c.jid.Resourcepart() + "-available"
	if err := c.sendRaw(`<iq type='get' id='` + escape(id) + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`); err != nil {
		return err
	}
	if c.awaitIQ(id, deadline) == nil {
		return fmt.Errorf("%w: no answer to the disco#info sent after initial presence", errTimedOut)
	}
	return nil
}

// features are the stream features the kit negotiates as a: STARTTLS when
// the Server asks for it, SASL (SCRAM-SHA-256, SCRAM-SHA-1, PLAIN: the
// first the server offers), resource binding, and two it only notes: the
// AMP feature sets listed, stream management sets sm.
func (k *kit) features(a Account, resource string, rec *recording, listed, sm *bool) []xmpp.StreamFeature {
	var out []xmpp.StreamFeature
	if k.s.TLS != nil {
		cfg := k.s.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = k.s.Domain
		}
		tlsFeature := xmpp.StartTLS(cfg)
		negotiate := tlsFeature.Negotiate
		tlsFeature.Negotiate = func(ctx context.Context, s *xmpp.Session, data interface{}) (xmpp.SessionState, io.ReadWriter, error) {
			mask, rw, err := negotiate(ctx, s, data)
			if tc, ok := rw.(*tls.Conn); ok {
				rw = rec.insideTLS(tc)
			}
			return mask, rw, err
		}
		out = append(out, tlsFeature)
	}
	// SASL is only used on a secure stream unless Necessary is cleared; a
	// test server often speaks plain TCP.
	auth := xmpp.SASL("", a.Password, sasl.ScramSha256, sasl.ScramSha1, sasl.Plain)
	auth.Necessary = 0
	return append(out, auth, bindResource(resource), noted(amp.NSFeature, "amp", listed), noted("urn:xmpp:sm:3", "sm", sm))
}

// noted is a stream feature the kit does not negotiate but notes in seen
// when the server lists it.
func noted(space, local string, seen *bool) xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name: xml.Name{Space: space, Local: local},
		Parse: func(_ context.Context, d *xml.Decoder, start *xml.StartElement) (bool, interface{}, error) {
			*seen = true
			return false, nil, d.Skip()
		},
	}
}

// awaitTag waits until deadline for a top-level element named tag and
// removes it from c's queue. It returns nil when none arrived.
func (c *conn) awaitTag(tag string, deadline time.Time) *etree.Element {
	return c.await(func(el *etree.Element) bool { return el.Tag == tag }, deadline)
}

// awaitIQ waits until deadline for the IQ answering id and removes it from
// c's queue, leaving the rest. It returns nil when none arrived.
func (c *conn) awaitIQ(id string, deadline time.Time) *etree.Element {
	return c.await(func(el *etree.Element) bool { return el.Tag == "iq" && attrValue(el, "id") == id }, deadline)
}

// await waits until deadline for an element match accepts and removes it
// from c's queue, leaving the rest. It returns nil when none arrived.
func (c *conn) await(match func(*etree.Element) bool, deadline time.Time) *etree.Element {
	for {
		c.mu.Lock()
		for i, el := range c.queue {
			if match(el) {
				c.queue = append(c.queue[:i:i], c.queue[i+1:]...)
				c.mu.Unlock()
				return el
			}
		}
		c.mu.Unlock()
		if !time.Now().Before(deadline) {
			return nil
		}
		waitFor(c.notify, deadline)
	}
}

// serve reads every stanza the server sends into c's queue.
func (c *conn) serve() {
	defer close(c.done)
	c.session.Serve(xmpp.HandlerFunc(func(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		el, err := etreexml.ReadElement(t, start)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.queue = append(c.queue, el)
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
		return nil
	}))
}

// sendRaw writes raw XML on c's stream as it is: no id is added, which
// the requests without one need.
func (c *conn) sendRaw(raw string) error {
	w := c.session.TokenWriter()
	defer w.Close()
	if err := w.Flush(); err != nil {
		return err
	}
	// The session's connection is the TLS one after STARTTLS.
	nc := c.session.Conn()
	nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	defer nc.SetWriteDeadline(time.Time{})
	_, err := io.WriteString(nc, raw)
	return err
}

// send writes el on c's stream and records it.
func (c *conn) send(el *etree.Element) error {
	s := serialize(el)
	c.log.add(c.label, true, s)
	return c.sendRaw(s)
}

// take removes and returns the stanzas received so far.
func (c *conn) take() []*etree.Element {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	return q
}

// close ends c's stream and waits, at most timeout, until the server has
// closed its side. That the server closed the stream does not yet mean
// that it counts the user offline: see kit.offline.
func (c *conn) close(timeout time.Duration) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	go func() {
		// A server that never reads leaves the closing write blocked: the
		// deadline ends it.
		c.netConn.SetWriteDeadline(time.Now().Add(timeout))
		c.session.Close()
	}()
	select {
	case <-c.done:
	case <-t.C:
	}
	c.netConn.Close()
	<-c.done
	if c.onClose != nil {
		c.onClose()
	}
}

// drop ends c's connection abruptly, as a client that loses its network:
// no closing of the stream.
func (c *conn) drop() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.netConn.Close()
	<-c.done
	if c.onClose != nil {
		c.onClose()
	}
}

// bindResource is resource binding that asks for resource: mellium's
// BindResource sends an empty <resource/> (v0.22.0), and the scenarios need
// to know the resources they address.
func bindResource(resource string) xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: nsBind, Local: "bind"},
		Necessary:  xmpp.Authn,
		Prohibited: xmpp.Ready,
		Parse: func(_ context.Context, d *xml.Decoder, start *xml.StartElement) (bool, interface{}, error) {
			return true, nil, d.Skip()
		},
		Negotiate: func(_ context.Context, session *xmpp.Session, _ interface{}) (xmpp.SessionState, io.ReadWriter, error) {
			w := session.TokenWriter()
			defer w.Close()
			r := session.TokenReader()
			defer r.Close()
			const id = "amptest-bind"
			iq := xml.StartElement{Name: xml.Name{Space: "jabber:client", Local: "iq"}, Attr: []xml.Attr{
				{Name: xml.Name{Local: "type"}, Value: "set"}, {Name: xml.Name{Local: "id"}, Value: id}}}
			bind := xml.StartElement{Name: xml.Name{Space: nsBind, Local: "bind"}}
			res := xml.StartElement{Name: xml.Name{Space: nsBind, Local: "resource"}}
			for _, t := range []xml.Token{iq, bind, res, xml.CharData(resource), res.End(), bind.End(), iq.End()} {
				if err := w.EncodeToken(t); err != nil {
					return 0, nil, err
				}
			}
			if err := w.Flush(); err != nil {
				return 0, nil, err
			}
			d := xml.NewTokenDecoder(r)
			var resp struct {
				ID   string `xml:"id,attr"`
				Type string `xml:"type,attr"`
				JID  string `xml:"urn:ietf:params:xml:ns:xmpp-bind bind>jid"`
			}
			for {
				tok, err := d.Token()
				if err != nil {
					return 0, nil, err
				}
				if start, ok := tok.(xml.StartElement); ok {
					if err := d.DecodeElement(&resp, &start); err != nil {
						return 0, nil, err
					}
					break
				}
			}
			if resp.ID != id || resp.Type != "result" {
				return 0, nil, fmt.Errorf("binding resource %q: the server answered type %q", resource, resp.Type)
			}
			j, err := jid.Parse(resp.JID)
			if err != nil {
				return 0, nil, fmt.Errorf("binding resource %q: %w", resource, err)
			}
			session.UpdateAddr(j)
			return xmpp.Ready, nil, nil
		},
	}
}
