package amptest

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
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
	label   string // the session as the transcript names it: user/resource
	session *xmpp.Session
	netConn net.Conn
	log     *transcript
	// feature is true when the server listed the AMP stream feature.
	feature bool

	mu     sync.Mutex
	queue  []*etree.Element
	notify chan struct{} // has a value when queue grew
	done   chan struct{} // closed when Serve returns
}

// dial logs user in over plain TCP with SASL PLAIN, binds resource and,
// when available is set, sends initial presence (a server dispatches
// stored messages at that point).
func dial(ctx context.Context, s *Server, a Account, resource string, log *transcript) (*conn, error) {
	d := net.Dialer{Timeout: s.Timeout}
	nc, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, err
	}
	origin, err := jid.New(a.User, s.Domain, "")
	if err != nil {
		nc.Close()
		return nil, err
	}
	location, err := jid.New("", s.Domain, "")
	if err != nil {
		nc.Close()
		return nil, err
	}
	// SASL is only used on a secure stream unless Necessary is cleared; the
	// kit talks to test servers on plain TCP.
	auth := xmpp.SASL("", a.Password, sasl.Plain)
	auth.Necessary = 0
	listed := false
	ampFeature := xmpp.StreamFeature{
		Name: xml.Name{Space: amp.NSFeature, Local: "amp"},
		Parse: func(_ context.Context, d *xml.Decoder, start *xml.StartElement) (bool, interface{}, error) {
			listed = true
			return false, nil, d.Skip()
		},
	}
	c := &conn{netConn: nc, log: log, notify: make(chan struct{}, 1), done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	if deadline, ok := ctx.Deadline(); ok {
		nc.SetDeadline(deadline)
	}
	session, err := xmpp.NewSession(ctx, location, origin, nc, 0, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: []xmpp.StreamFeature{auth, bindResource(resource), ampFeature}}
	}))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("logging in as %s: %w", origin, err)
	}
	nc.SetDeadline(time.Time{})
	c.session, c.jid, c.feature = session, session.LocalAddr(), listed
	c.label = a.User + "/" + c.jid.Resourcepart()
	go c.serve()
	if err := c.sendRaw(`<presence/>`); err != nil {
		c.close(s.Timeout)
		return nil, err
	}
	// A server handles a stream's stanzas in order: once it has answered
	// an IQ sent after the presence, the session is available, and a
	// message sent to it next is not stored instead.
	id := c.jid.Resourcepart() + "-available"
	if err := c.sendRaw(`<iq type='get' id='` + id + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`); err != nil {
		c.close(s.Timeout)
		return nil, err
	}
	if c.awaitIQ(id, time.Now().Add(s.Timeout)) == nil {
		c.close(s.Timeout)
		return nil, fmt.Errorf("logging in as %s: no answer to disco#info within %v", c.jid, s.Timeout)
	}
	return c, nil
}

// awaitIQ waits until deadline for the IQ answering id and removes it from
// c's queue, leaving the rest. It returns nil when none arrived.
func (c *conn) awaitIQ(id string, deadline time.Time) *etree.Element {
	for {
		c.mu.Lock()
		for i, el := range c.queue {
			if el.Tag == "iq" && attrValue(el, "id") == id {
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
	c.netConn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	defer c.netConn.SetWriteDeadline(time.Time{})
	_, err := io.WriteString(c.netConn, raw)
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
// closed its side, so that the server counts the user offline by the time
// the next step runs.
func (c *conn) close(timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		c.session.Close()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	select {
	case <-c.done:
	case <-t.C:
	}
	c.netConn.Close()
	<-c.done
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
