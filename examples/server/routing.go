package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"mellium.im/xmpp/jid"
)

// This file routes messages, and holds every call the server makes to amp:
//
//  1. On receipt, Processor.Parse reads and validates the request; a
//     refusal is answered with Error.Reply (route).
//  2. At the routing decision, Request.Evaluate says what the rules make of
//     the delivery the server is about to make: direct to a session, stored,
//     or none (deliverLocked, undeliverable).
//  3. When a delivery fails, its Result's request is routed again from the
//     start: to another session, or to the store (routeAllLocked, called
//     by endLocked in stream.go, and storeLocked).
//  4. When a stored message is dispatched, Processor.Resume reads the rules
//     it was stored with, not validated again, and they are evaluated at
//     the time of dispatch (presence).
//
// When the server sends deliver=direct events: a notify event for a
// delivery to a session is held until the client acknowledges the message
// (XEP-0198), or, without stream management, until it is written to the
// socket. If the session ends first, the event is never sent, and the
// message is routed again with Result.Request, the request as it was: the
// sender learns where it really went (stored, or another resource), never
// "direct" for a message that was not delivered, and no rule is lost.
// Alert, drop and error act at once, since they stop the delivery.

// route processes a message a client sent, stamped with its full JID, and
// returns the replies for the sender.
func (s *Server) route(msg *etree.Element) []*etree.Element {
	from, err := jid.Parse(attr(msg, "from"))
	if err != nil {
		return nil
	}
	to, err := jid.Parse(attr(msg, "to"))
	if err != nil || (to.Localpart() == "" && to.Domainpart() == s.cfg.Domain) {
		// To nobody, or to the server itself: nothing to route.
		return nil
	}
	u := s.lookup(to)
	// 1. On receipt: parse and validate the request for the recipient.
	req, err := s.amp.Parse(msg, amp.HopEdge, s.authorized(u, from))
	if err != nil {
		var refusal *amp.Error
		if errors.As(err, &refusal) {
			return []*etree.Element{s.reply(refusal.Reply(s.cfg.Domain))}
		}
		return nil // ErrNoSender, ErrNotMessage: nobody to answer
	}
	if u == nil {
		// No s2s here: another domain, or an unknown user.
		return s.undeliverable(msg, req)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return s.deliverLocked(u, msg, req, 0)
}

// authorized reports whether sender may see the presence of the local user
// recipient (XEP-0079 §9): the recipient's roster item for the sender has a
// subscription of from or both. A nil recipient is not a local user: it
// has no presence to protect, and the service-unavailable that answers the
// message says as much, so its deliver=none rules may all be evaluated.
func (s *Server) authorized(recipient *user, sender jid.JID) amp.Presence {
	if recipient == nil {
		return amp.PresenceAuthorized
	}
	roster, contact := recipient.acct.Roster, sender.Bare().String()
	if s.cfg.faults.senderRoster { // FAULT: the sender's roster item for the recipient
		roster, contact = s.lookup(sender).acct.Roster, recipient.name+"@"+s.cfg.Domain
	}
	switch roster[contact] {
	case "from", "both":
		return amp.PresenceAuthorized
	}
	return amp.PresenceDenied
}

// deliverLocked routes msg, whose request is req, to the local user u:
// to an available session, or to the store. key is the message's place in
// the store when it comes from there, or 0. u.mu is held. It returns the
// replies for the sender.
func (s *Server) deliverLocked(u *user, msg *etree.Element, req amp.Request, key uint64) []*etree.Element {
	var replies []*etree.Element
	to, _ := jid.Parse(attr(msg, "to"))
	for {
		c := u.target(to)
		if c == nil {
			break
		}
		// 2. The routing decision: direct delivery to c.
		res, err := req.Evaluate(amp.Outcome{Delivery: amp.DeliveryDirect, Resource: c.jid.Resourcepart(), Time: s.cfg.Now()})
		if err != nil {
			s.cfg.Logf("evaluating for %s: %v", c.jid, err)
			return replies
		}
		if !res.Proceed() {
			s.forget(u, key)
			return append(replies, s.replies(res)...)
		}
		out := res.Message()
		if s.cfg.faults.keepAMP { // FAULT: the recipient sees the request
			out = msg
		}
		// The id must not change if the stanza is written again.
		if attr(out, "id") == "" {
			out = out.Copy()
			setAttr(out, "id", randomID())
		}
		// The notify events wait for the client's acknowledgement.
		if s.push(c, &item{msg: out, orig: msg, req: req, held: s.replies(res), key: key}) {
			return replies
		}
		// 3. Direct delivery failed: c is gone. Its own undelivered
		// stanzas are routed first, then this one again.
		replies = append(replies, s.endLocked(c)...)
	}
	return append(replies, s.storeLocked(u, []pending{{msg, req, key}})...)
}

// pending is a message routed again, with its request and its place in the
// store, if any.
type pending struct {
	msg *etree.Element
	req amp.Request
	key uint64
}

// routeAllLocked routes again the messages of a session that ended, in
// order. With no session to take them they are stored in one transaction.
// u.mu is held.
func (s *Server) routeAllLocked(u *user, msgs []pending) []*etree.Element {
	var replies []*etree.Element
	if u.target(jid.JID{}) == nil {
		return s.storeLocked(u, msgs)
	}
	for _, m := range msgs {
		replies = append(replies, s.deliverLocked(u, m.msg, m.req, m.key)...)
	}
	return replies
}

// storeLocked stores msgs for u, in order, as the rules of each allow, and
// returns the replies. u.mu is held.
func (s *Server) storeLocked(u *user, msgs []pending) []*etree.Element {
	var replies []*etree.Element
	var entries []entry
	var results []amp.Result
	var kept []pending
	now := s.cfg.Now()
	for _, m := range msgs {
		if !storable(m.msg) {
			s.forget(u, m.key)
			replies = append(replies, s.undeliverable(m.msg, m.req)...)
			continue
		}
		// 2. The routing decision: storage.
		res, err := m.req.Evaluate(amp.Outcome{Delivery: amp.DeliveryStored, Time: now})
		if err != nil {
			s.cfg.Logf("evaluating for storage: %v", err)
			continue
		}
		if !res.Proceed() {
			s.forget(u, m.key)
			replies = append(replies, s.replies(res)...)
			continue
		}
		entries = append(entries, entry{m.key, res.Message()})
		results = append(results, res)
		kept = append(kept, m)
	}
	n, err := s.store.putMany(u.name, entries)
	if err != nil {
		s.cfg.Logf("storing for %s: %v", u.name, err)
	}
	for i, m := range kept {
		if i < n {
			// The notify events for storage are true once the store has it.
			replies = append(replies, s.replies(results[i])...)
			continue
		}
		// Over quota, or the store failed: the message is not delivered
		// at all, and the sender hears so.
		s.forget(u, m.key)
		replies = append(replies, s.undeliverable(m.msg, m.req)...)
	}
	return replies
}

// undeliverable evaluates the rules of msg for deliver=none and returns the
// replies: the rules' events, then XEP-0160's service-unavailable unless a
// rule decided the message's fate.
func (s *Server) undeliverable(msg *etree.Element, req amp.Request) []*etree.Element {
	res, err := req.Evaluate(amp.Outcome{Delivery: amp.DeliveryNone, Time: s.cfg.Now()})
	if err != nil {
		s.cfg.Logf("evaluating an undeliverable message: %v", err)
		return nil
	}
	replies := s.replies(res)
	if res.Proceed() {
		if e := serviceUnavailable(msg); e != nil {
			replies = append(replies, e)
		}
	}
	return replies
}

// presence handles a presence from c. Its initial presence makes it
// available, and dispatches every stored message to it, in the order they
// were stored.
func (s *Server) presence(c *session, el *etree.Element) {
	if attr(el, "to") != "" || attr(el, "type") != "" {
		return // presence is not otherwise routed by this server
	}
	u := c.user
	u.mu.Lock()
	if c.available || c.ended {
		u.mu.Unlock()
		return
	}
	c.available = true
	stored, err := s.store.dispatch(u.name)
	if err != nil {
		s.cfg.Logf("dispatching to %s: %v", c.jid, err)
	}
	var replies []*etree.Element
	for _, m := range stored {
		if s.cfg.faults.noDispatchEval { // FAULT: the stored rules are not evaluated
			s.push(c, &item{msg: m.msg, orig: m.msg, key: m.key})
			continue
		}
		// 4. Dispatch: resume the request the message was stored with,
		// with the presence authorization of now (§9: a sender who may no
		// longer see it hears nothing); deliverLocked evaluates its
		// remaining rules at the time of dispatch.
		from, _ := jid.Parse(attr(m.msg, "from"))
		req, err := s.amp.Resume(m.msg, s.authorized(u, from))
		if err != nil {
			// Not a message this server stored: it cannot be delivered.
			s.cfg.Logf("dispatching to %s: %v", c.jid, err)
			s.forget(u, m.key)
			continue
		}
		replies = append(replies, s.deliverLocked(u, m.msg, req, m.key)...)
	}
	u.mu.Unlock()
	s.sendReplies(replies)
}

// forget removes the stored message key, if any, whose delivery is over.
func (s *Server) forget(u *user, key uint64) {
	if key == 0 {
		return
	}
	if err := s.store.remove(u.name, key); err != nil {
		s.cfg.Logf("removing a stored message of %s: %v", u.name, err)
	}
}

// target picks the session a message to the local JID to goes to, or nil
// to store it. Only a session that sent its initial presence is a target.
// A full JID whose resource is available gets it. A bare JID, or a full
// JID whose resource is not available while another is, goes to the
// session that bound first (RFC 6121 §8.5.3.2.1 allows treating the latter
// as addressed to the bare JID; this server has no presence priorities to
// choose by). u.mu is held.
func (u *user) target(to jid.JID) *session {
	var first *session
	for _, c := range u.sessions {
		if !c.available {
			continue
		}
		if c.jid.Equal(to) {
			return c
		}
		if first == nil {
			first = c
		}
	}
	return first
}

// replies returns the stanzas res sends to the sender.
func (s *Server) replies(res amp.Result) []*etree.Element {
	out := res.Replies(s.cfg.Domain)
	for _, r := range out {
		s.reply(r)
	}
	return out
}

// reply is the last look at a reply before it leaves.
func (s *Server) reply(r *etree.Element) *etree.Element {
	if s.cfg.faults.noReplyID { // FAULT: the sender cannot tell which message
		r.RemoveAttr("id")
	}
	return r
}

// sendReplies routes replies the server generated to their recipients,
// local users, like any message: to a session, or to the store when the
// sender is offline, so that the answer is not lost.
func (s *Server) sendReplies(replies []*etree.Element) {
	for _, r := range replies {
		to, err := jid.Parse(attr(r, "to"))
		u := s.lookup(to)
		if err != nil || u == nil {
			continue
		}
		// A reply carries no request: Parse only wraps it.
		req, _ := s.amp.Parse(r, amp.HopEdge, amp.PresenceDenied)
		u.mu.Lock()
		more := s.deliverLocked(u, r, req, 0)
		u.mu.Unlock()
		s.sendReplies(more)
	}
}

// storable reports whether msg may be stored for an offline user. RFC
// 6121 §8.5.2.2 stores normal and chat messages; this server also stores
// the replies it generates (type error included), since for the sender
// they are the only news of its message.
func storable(msg *etree.Element) bool {
	switch attr(msg, "type") {
	case "", "normal", "chat":
		return true
	case "error":
		return isServer(attr(msg, "from"))
	}
	return false
}

func isServer(from string) bool {
	j, err := jid.Parse(from)
	return err == nil && j.Localpart() == ""
}

// serviceUnavailable is the error that answers a message no one will
// receive (XEP-0160, RFC 6121 §8.5.2.2), or nil when none is due: to an
// error, a headline, or a stanza the server generated.
func serviceUnavailable(msg *etree.Element) *etree.Element {
	typ := attr(msg, "type")
	if typ == "error" || typ == "headline" || isServer(attr(msg, "from")) {
		return nil
	}
	e := etree.NewElement("message")
	e.CreateAttr("xmlns", "jabber:client")
	e.CreateAttr("from", attr(msg, "to"))
	e.CreateAttr("to", attr(msg, "from"))
	if id := attr(msg, "id"); id != "" {
		e.CreateAttr("id", id)
	}
	e.CreateAttr("type", "error")
	er := e.CreateElement("error")
	er.CreateAttr("type", "cancel")
	er.CreateElement("service-unavailable").CreateAttr("xmlns", amp.NSStanzas)
	return e
}

// iq answers an IQ the client sent: disco#info to the server, at the root
// and at the AMP node, and an error for any other get or set. It returns
// nil for a result or error, which needs no answer.
func (s *Server) iq(el *etree.Element) *etree.Element {
	typ := attr(el, "type")
	if typ != "get" && typ != "set" {
		return nil
	}
	resp := etree.NewElement("iq")
	resp.CreateAttr("xmlns", "jabber:client")
	to := attr(el, "to")
	if to == "" {
		to = s.cfg.Domain
	}
	resp.CreateAttr("from", to)
	resp.CreateAttr("to", attr(el, "from"))
	resp.CreateAttr("id", attr(el, "id"))
	var query *etree.Element
	for _, ch := range el.ChildElements() {
		if ch.Tag == "query" && ch.NamespaceURI() == "http://jabber.org/protocol/disco#info" {
			query = ch
		}
	}
	if typ != "get" || to != s.cfg.Domain || query == nil {
		return iqError(resp, "cancel", "service-unavailable")
	}
	node := attr(query, "node")
	info := s.amp.DiscoInfo(node)
	switch {
	case info == nil:
		return iqError(resp, "cancel", "item-not-found")
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

func iqError(resp *etree.Element, typ, cond string) *etree.Element {
	resp.CreateAttr("type", "error")
	e := resp.CreateElement("error")
	e.CreateAttr("type", typ)
	e.CreateElement(cond).CreateAttr("xmlns", amp.NSStanzas)
	return resp
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
