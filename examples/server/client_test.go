package main

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/ampxmpp/amp/etreexml"
	"github.com/beevik/etree"
)

// tclient is a raw XMPP client for the tests: it writes XML by hand and
// reads elements with the server's own reader, so that a test can do what
// a library would not: close the socket abruptly, stop reading, leave
// stanzas unacknowledged.
type tclient struct {
	conn net.Conn
	dec  *xml.Decoder
	jid  string

	wmu sync.Mutex // serializes writes

	mu        sync.Mutex
	h         uint32   // stanzas received since <enabled/>
	ids       []string // ids of the messages received, in order
	confirmed int      // len(ids) when the server last confirmed our <a/>
	acking    []int    // len(ids) at each <a/> sent with an <r/>, oldest first
	serverH   uint32   // the last h the server sent
	streamErr string   // the condition of a stream error received

	// autoAck answers the server's <r/>, then asks <r/> back so that the
	// server's answer confirms it processed our <a/>.
	autoAck bool
	pause   chan struct{} // while not nil and open, the reader does not read
	in      chan *etree.Element
	done    chan struct{} // closed when the reader stops
}

// dial logs in as user/resource on addr. With sm it enables stream
// management; with presence it sends initial presence, which dispatches
// stored messages.
func dial(addr, user, resource string, sm, presence bool) (*tclient, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &tclient{conn: conn, autoAck: sm, in: make(chan *etree.Element, 100000), done: make(chan struct{})}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := c.negotiate(user, resource, sm); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s/%s: %w", user, resource, err)
	}
	conn.SetDeadline(time.Time{})
	go c.readLoop()
	if presence {
		c.send(`<presence/>`)
	}
	return c, nil
}

const streamHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`

func (c *tclient) negotiate(user, resource string, sm bool) error {
	c.dec = xml.NewDecoder(c.conn)
	c.send(streamHeader)
	if _, err := c.expect("features"); err != nil {
		return err
	}
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+user+"-pw")) + `</auth>`)
	if _, err := c.expect("success"); err != nil {
		return err
	}
	// The server sends nothing more until the new header: a new decoder
	// loses nothing.
	c.dec = xml.NewDecoder(c.conn)
	c.send(streamHeader)
	if _, err := c.expect("features"); err != nil {
		return err
	}
	c.send(`<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>` + resource + `</resource></bind></iq>`)
	iq, err := c.expect("iq")
	if err != nil {
		return err
	}
	if j := iq.FindElement("bind/jid"); j != nil {
		c.jid = j.Text()
	}
	if sm {
		c.send(`<enable xmlns='urn:xmpp:sm:3'/>`)
		if _, err := c.expect("enabled"); err != nil {
			return err
		}
	}
	return nil
}

// expect reads the next top-level element, skipping the stream header.
func (c *tclient) expect(tag string) (*etree.Element, error) {
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return nil, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name.Local == "stream" {
			continue
		}
		el, err := etreexml.ReadElement(c.dec, &start)
		if err != nil {
			return nil, err
		}
		if el.Tag != tag {
			return nil, fmt.Errorf("got <%s/>, want <%s/>", el.Tag, tag)
		}
		return el, nil
	}
}

// send writes raw XML. Errors show up as the reader ending.
func (c *tclient) send(raw string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.conn.Write([]byte(raw))
}

func (c *tclient) readLoop() {
	defer close(c.done)
	defer close(c.in)
	for {
		c.mu.Lock()
		p := c.pause
		c.mu.Unlock()
		if p != nil {
			<-p
		}
		tok, err := c.dec.Token()
		if err != nil {
			return
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		el, err := etreexml.ReadElement(c.dec, &start)
		if err != nil {
			return
		}
		switch {
		case start.Name.Space == nsSM && el.Tag == "r":
			if c.autoAck {
				c.ack()
			}
		case start.Name.Space == nsSM && el.Tag == "a":
			h, _ := strconv.ParseUint(attr(el, "h"), 10, 32)
			c.mu.Lock()
			c.serverH = uint32(h)
			if len(c.acking) > 0 {
				// The server answered the <r/> that followed one of our
				// <a/>: it has processed that <a/>.
				c.confirmed = max(c.confirmed, c.acking[0]) // -1: an <r/> alone
				c.acking = c.acking[1:]
			}
			c.mu.Unlock()
		case el.Tag == "error" && start.Name.Space == "http://etherx.jabber.org/streams":
			c.mu.Lock()
			if ch := el.ChildElements(); len(ch) > 0 {
				c.streamErr = ch[0].Tag
			}
			c.mu.Unlock()
		case el.Tag == "message" || el.Tag == "presence" || el.Tag == "iq":
			c.mu.Lock()
			c.h++
			if el.Tag == "message" {
				c.ids = append(c.ids, attr(el, "id"))
			}
			c.mu.Unlock()
			c.in <- el
		}
	}
}

// ack acknowledges every stanza received, and asks <r/> so that the
// server's answer confirms it processed the acknowledgement. It returns
// the number of messages the acknowledgement covers.
func (c *tclient) ack() int {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	h, n := c.h, len(c.ids)
	c.acking = append(c.acking, n)
	c.mu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.conn.Write([]byte(`<a xmlns='urn:xmpp:sm:3' h='` + strconv.FormatUint(uint64(h), 10) + `'/><r xmlns='urn:xmpp:sm:3'/>`))
	return n
}

// sendAndRequest writes raw, then <r/>, whose answer confirms nothing
// about our acknowledgements.
func (c *tclient) sendAndRequest(raw string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	c.acking = append(c.acking, -1)
	c.mu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.conn.Write([]byte(raw + `<r xmlns='urn:xmpp:sm:3'/>`))
}

// next returns the next stanza received, or an error after d.
func (c *tclient) next(d time.Duration) (*etree.Element, error) {
	select {
	case el, ok := <-c.in:
		if !ok {
			return nil, io.EOF
		}
		return el, nil
	case <-time.After(d):
		return nil, errors.New("timeout")
	}
}

// stopReading makes the reader stop reading from the socket.
func (c *tclient) stopReading() {
	c.mu.Lock()
	c.pause = make(chan struct{})
	c.mu.Unlock()
}

// abort closes the socket without closing the stream.
func (c *tclient) abort() {
	c.mu.Lock()
	if c.pause != nil {
		close(c.pause)
		c.pause = nil
	}
	c.mu.Unlock()
	c.conn.Close()
	<-c.done
}

// close ends the stream cleanly.
func (c *tclient) close() {
	c.send(`</stream:stream>`)
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	c.conn.Close()
	<-c.done
}

// unconfirmed returns the ids of the messages received after the last
// acknowledgement the server confirmed: the ones it may send again.
func (c *tclient) unconfirmed() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ids[c.confirmed:]...)
}

// message is a chat message in raw XML, with rules when any are given.
func message(to, id, body string, rules ...string) string {
	var amp string
	if len(rules) > 0 {
		amp = `<amp xmlns='http://jabber.org/protocol/amp'>`
		for _, r := range rules {
			amp += r
		}
		amp += `</amp>`
	}
	return `<message to='` + to + `' id='` + id + `' type='chat'><body>` + body + `</body>` + amp + `</message>`
}
