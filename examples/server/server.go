package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

// Config is the server's configuration. main reads it from a JSON file.
type Config struct {
	// Domain is the server's domain and JID. Default: "localhost".
	Domain string `json:"domain"`
	// Accounts are the users, by the local part of their JID.
	Accounts map[string]Account `json:"accounts"`
	// AMP is the AMP configuration: the actions and conditions supported
	// and the limits. Default: everything XEP-0079 defines.
	AMP amp.Config `json:"amp"`
	// Now is the clock. Default: time.Now.
	Now func() time.Time `json:"-"`
	// Logf logs what the server does. Default: nothing is logged.
	Logf func(format string, args ...any) `json:"-"`
}

// Account is a user's password and roster.
type Account struct {
	Password string `json:"password"`
	// Roster maps a contact's bare JID to the subscription state of the
	// item: "none", "to", "from" or "both". "from" and "both" mean that
	// the contact may see this user's presence.
	Roster map[string]string `json:"roster"`
}

// Server is a small c2s XMPP server: plain TCP, SASL PLAIN, messages
// between its own users, offline storage in memory, and AMP.
type Server struct {
	cfg     Config
	mu      sync.Mutex
	online  map[string][]*client        // by bare JID, in the order they bound
	offline map[string][]*etree.Element // stored messages, by bare JID
	conns   map[net.Conn]struct{}       // open connections, closed by Close
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// client is one bound session. Stanzas routed to it go through out, which
// a single writer goroutine drains, so that two handlers sending to each
// other cannot deadlock.
type client struct {
	jid       jid.JID
	session   *xmpp.Session
	out       chan *etree.Element
	done      chan struct{}
	available bool // it has sent its initial presence
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Server{cfg: cfg, online: map[string][]*client{}, offline: map[string][]*etree.Element{}, conns: map[net.Conn]struct{}{}, ctx: ctx, stop: stop}
}

// Serve accepts connections on l until Close.
func (s *Server) Serve(l net.Listener) error {
	go func() { <-s.ctx.Done(); l.Close() }()
	for {
		conn, err := l.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			return err
		}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.handle(conn) }()
	}
}

// Close stops the server and waits for its sessions to end.
func (s *Server) Close() {
	s.stop()
	s.mu.Lock()
	for conn := range s.conns {
		conn.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// handle negotiates a c2s stream on conn and serves it.
func (s *Server) handle(conn net.Conn) {
	s.mu.Lock()
	s.conns[conn] = struct{}{}
	s.mu.Unlock()
	defer func() {
		conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()
	c := &client{out: make(chan *etree.Element, 64), done: make(chan struct{})}
	var user string
	// SASL is offered only on secure streams unless Necessary is cleared.
	auth := xmpp.SASLServer(func(n *sasl.Negotiator) bool {
		u, p, _ := n.Credentials()
		acct, ok := s.cfg.Accounts[string(u)]
		user = string(u)
		return ok && acct.Password == string(p)
	}, sasl.Plain)
	auth.Necessary = 0
	// Clients on plain TCP often send no from: bind the user SASL accepted.
	bind := xmpp.BindCustom(func(_ jid.JID, res string) (jid.JID, error) {
		j, err := jid.New(user, s.cfg.Domain, res)
		if err != nil {
			return j, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for res == "" || s.find(j) != nil {
			res = randomID()
			j, _ = jid.New(user, s.cfg.Domain, res)
		}
		c.jid = j
		s.online[j.Bare().String()] = append(s.online[j.Bare().String()], c)
		return j, nil
	})
	// AMP's stream feature is informational: listed, never negotiated.
	ampFeature := xmpp.StreamFeature{
		Name: xml.Name{Space: amp.NSFeature, Local: "amp"},
		List: func(_ context.Context, e xmlstream.TokenWriter, _ xml.StartElement) (bool, error) {
			_, err := xmlstream.Copy(e, amp.ElementTokens(amp.StreamFeature()))
			return false, err
		},
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	session, err := xmpp.ReceiveSession(ctx, conn, 0, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: []xmpp.StreamFeature{auth, bind, ampFeature}}
	}))
	cancel()
	defer s.unregister(c)
	if err != nil {
		s.cfg.Logf("negotiation: %v", err)
		return
	}
	c.session = session
	go c.write(s)
	s.cfg.Logf("%s bound", c.jid)
	err = session.Serve(xmpp.HandlerFunc(func(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		el, err := amp.ReadElement(t, start)
		if err != nil {
			return err
		}
		// Stamp the sender's full JID on everything it sends.
		setAttr(el, "from", c.jid.String())
		switch el.Tag {
		case "message":
			s.route(el)
		case "presence":
			s.presence(c, el)
		case "iq":
			if resp := s.iq(el); resp != nil {
				_, err = xmlstream.Copy(t, amp.ElementTokens(resp))
			}
		}
		return err
	}))
	if err != nil && s.ctx.Err() == nil {
		s.cfg.Logf("%s: %v", c.jid, err)
	}
}

// write sends the stanzas routed to c until c's session ends.
func (c *client) write(s *Server) {
	for {
		select {
		case el := <-c.out:
			ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
			err := c.session.Send(ctx, amp.ElementTokens(el))
			cancel()
			if err != nil {
				s.cfg.Logf("sending to %s: %v", c.jid, err)
				c.session.Conn().Close()
				return
			}
		case <-c.done:
			return
		}
	}
}

// push hands el to c's writer. It reports false, delivery failed, when
// c's session has ended or its queue is full.
func (c *client) push(el *etree.Element) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.out <- el:
		return true
	default:
		return false
	}
}

// unregister forgets c once its session ends. Stanzas still in its queue
// are lost; a production server would store them again.
func (s *Server) unregister(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(c.done)
	bare := c.jid.Bare().String()
	cs := s.online[bare]
	for i, o := range cs {
		if o == c {
			s.online[bare] = append(cs[:i:i], cs[i+1:]...)
		}
	}
	if len(s.online[bare]) == 0 {
		delete(s.online, bare)
	}
}

// find returns the session bound to the full JID j, or nil. s.mu is held.
func (s *Server) find(j jid.JID) *client {
	for _, c := range s.online[j.Bare().String()] {
		if c.jid.Equal(j) {
			return c
		}
	}
	return nil
}

// authorized reports whether sender may see the presence of the local
// user recipient (XEP-0079 §9): the recipient's roster item for the
// sender has a subscription of from or both.
func (s *Server) authorized(recipient, sender jid.JID) amp.Presence {
	acct, ok := s.cfg.Accounts[recipient.Localpart()]
	if !ok || recipient.Domainpart() != s.cfg.Domain {
		return amp.PresenceDenied
	}
	switch acct.Roster[sender.Bare().String()] {
	case "from", "both":
		return amp.PresenceAuthorized
	}
	return amp.PresenceDenied
}

// route processes a message a client sent: AMP on receipt, then the
// routing decision.
func (s *Server) route(msg *etree.Element) {
	// On receipt: parse the request; bounce a malformed one.
	rs, err := amp.Parse(msg)
	if err != nil {
		s.sendLocal(amp.ErrorReply(msg, s.cfg.Domain, err))
		return
	}
	from, _ := jid.Parse(attr(msg, "from"))
	to, err := jid.Parse(attr(msg, "to"))
	if err != nil || to.Localpart() == "" {
		return // To the server or to nobody: nothing to route.
	}
	p := s.authorized(to, from)
	if err := s.cfg.AMP.Validate(rs, p); err != nil {
		s.sendLocal(amp.ErrorReply(msg, s.cfg.Domain, err))
		return
	}
	// The routing decision. There is no s2s here: a message to another
	// domain or to an unknown user is not deliverable (deliver = none), nor
	// is one for an offline user that is not stored (RFC 6121 §8.5.2.2:
	// only normal and chat messages are).
	_, known := s.cfg.Accounts[to.Localpart()]
	target := s.target(to)
	typ := attr(msg, "type")
	storable := typ == "" || typ == "normal" || typ == "chat"
	if to.Domainpart() != s.cfg.Domain || !known || (target == nil && !storable) {
		res := s.cfg.AMP.Evaluate(msg, rs, amp.Outcome{Deliver: amp.DeliverNone, Time: s.cfg.Now(), Presence: p})
		s.sendReplies(res)
		return
	}
	s.deliver(msg, rs, p, to.Bare().String(), target)
}

// target picks the session a message to the local JID to goes to, or nil
// to store it. A full JID whose resource is online gets it. A bare JID, or
// a full JID whose resource is offline while others are online, goes to
// the session that bound first (RFC 6121 §8.5.3.2.1 allows treating the
// latter as addressed to the bare JID; this server has no presence
// priorities to choose by). With no session online the message is stored.
func (s *Server) target(to jid.JID) *client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.find(to); c != nil {
		return c
	}
	if cs := s.online[to.Bare().String()]; len(cs) > 0 {
		return cs[0]
	}
	return nil
}

// deliver evaluates the rules of msg at the routing decision and carries
// it out: direct delivery to target, or storage for bare when target is
// nil. When direct delivery fails the rules that have not fired are
// evaluated again for storage.
func (s *Server) deliver(msg *etree.Element, rs *amp.RuleSet, p amp.Presence, bare string, target *client) {
	o := amp.Outcome{Deliver: amp.DeliverStored, Time: s.cfg.Now(), Presence: p}
	if target != nil {
		o.Deliver, o.Resource = amp.DeliverDirect, target.jid.Resourcepart()
	}
	res := s.cfg.AMP.Evaluate(msg, rs, o)
	s.sendReplies(res)
	if !res.Deliver {
		return
	}
	if target != nil {
		if target.push(res.Message()) {
			return
		}
		s.cfg.Logf("delivery to %s failed: storing", target.jid)
		res = s.cfg.AMP.Evaluate(msg, res.Remaining(), amp.Outcome{Deliver: amp.DeliverStored, Time: s.cfg.Now(), Presence: p})
		s.sendReplies(res)
		if !res.Deliver {
			return
		}
	}
	s.mu.Lock()
	s.offline[bare] = append(s.offline[bare], res.Message())
	s.mu.Unlock()
}

// presence dispatches stored messages when a client sends its initial
// presence. Presence is not otherwise routed by this server.
func (s *Server) presence(c *client, el *etree.Element) {
	if attr(el, "to") != "" || attr(el, "type") != "" {
		return
	}
	s.mu.Lock()
	if c.available {
		s.mu.Unlock()
		return
	}
	c.available = true
	bare := c.jid.Bare().String()
	stored := s.offline[bare]
	delete(s.offline, bare)
	s.mu.Unlock()
	for _, msg := range stored {
		// At dispatch: the stored message keeps the rules that have not
		// fired; evaluate them for direct delivery at the present time,
		// which is when expire-at is checked.
		rs, err := amp.Parse(msg)
		if err != nil {
			s.cfg.Logf("stored message: %v", err)
			continue
		}
		from, _ := jid.Parse(attr(msg, "from"))
		s.deliver(msg, rs, s.authorized(c.jid, from), bare, c)
	}
}

// iq answers disco#info requests to the server, at the root and at the
// AMP node, and returns nil for any other IQ (mellium then answers
// service-unavailable).
func (s *Server) iq(el *etree.Element) *etree.Element {
	to := attr(el, "to")
	if attr(el, "type") != "get" || (to != "" && to != s.cfg.Domain) {
		return nil
	}
	var query *etree.Element
	for _, ch := range el.ChildElements() {
		if ch.Tag == "query" && ch.NamespaceURI() == "http://jabber.org/protocol/disco#info" {
			query = ch
		}
	}
	if query == nil {
		return nil
	}
	resp := etree.NewElement("iq")
	resp.CreateAttr("xmlns", "jabber:client")
	resp.CreateAttr("from", s.cfg.Domain)
	resp.CreateAttr("to", attr(el, "from"))
	resp.CreateAttr("id", attr(el, "id"))
	node := attr(query, "node")
	info := s.cfg.AMP.DiscoInfo(node)
	switch {
	case info == nil:
		resp.CreateAttr("type", "error")
		e := resp.CreateElement("error")
		e.CreateAttr("type", "cancel")
		e.CreateElement("item-not-found").CreateAttr("xmlns", "urn:ietf:params:xml:ns:xmpp-stanzas")
	case node == "":
		// The root: the server's own identity and features, plus AMP's.
		resp.CreateAttr("type", "result")
		q := resp.CreateElement("query")
		q.CreateAttr("xmlns", "http://jabber.org/protocol/disco#info")
		id := q.CreateElement("identity")
		id.CreateAttr("category", "server")
		id.CreateAttr("type", "im")
		q.CreateElement("feature").CreateAttr("var", "http://jabber.org/protocol/disco#info")
		for _, f := range info.ChildElements() {
			q.AddChild(f)
		}
	default:
		resp.CreateAttr("type", "result")
		resp.AddChild(info)
	}
	return resp
}

// sendReplies sends the AMP events and errors of res to their recipient.
func (s *Server) sendReplies(res amp.Result) {
	for _, r := range res.Replies(s.cfg.Domain) {
		s.sendLocal(r)
	}
}

// sendLocal sends a stanza the server itself generated to the local full
// JID it is addressed to, or to another session of the same user; with no
// session online it is dropped.
func (s *Server) sendLocal(el *etree.Element) {
	if el == nil {
		return
	}
	to, err := jid.Parse(attr(el, "to"))
	if err != nil {
		return
	}
	s.mu.Lock()
	c := s.find(to)
	if cs := s.online[to.Bare().String()]; c == nil && len(cs) > 0 {
		c = cs[0]
	}
	s.mu.Unlock()
	if c == nil || !c.push(el) {
		s.cfg.Logf("reply to %s dropped", to)
	}
}

func randomID() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("no randomness: " + err.Error()))
	}
	return hex.EncodeToString(b)
}

// attr returns the value of el's attribute key, in no namespace.
func attr(el *etree.Element, key string) string {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value
		}
	}
	return ""
}

// setAttr sets el's attribute key, in no namespace, to value.
func setAttr(el *etree.Element, key, value string) {
	for i, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			el.Attr[i].Value = value
			return
		}
	}
	el.CreateAttr(key, value)
}
