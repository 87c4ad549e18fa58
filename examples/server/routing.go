package main

import (
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
//     by endLocked in session.go, and storeLocked).
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

// route processes a message a client sent, stamped with its full JID from,
// and returns the replies for the sender. t is the message's XEP-0198
// count: when the message goes to the store, the store's commit finishes
// it, and the replies of that delivery go then.
func (s *Server) route(msg *etree.Element, from jid.JID, t *ticket) []*etree.Element {
	to, err := jid.Parse(attr(msg, "to"))
	if err != nil || (to.Localpart() == "" && to.Domainpart() == s.cfg.Domain) {
		// To nobody, or to the server itself: nothing to route.
		return nil
	}
	u := s.lookup(to)
	if u != nil && u == s.lookup(from) {
		// To the sender itself: after the replies to its earlier
		// messages, which may wait for the store.
		t.settle()
	}
	// 1. On receipt: parse and validate the request for the recipient.
	req, err := s.amp.Parse(msg, amp.HopEdge, s.authorized(u, from))
	if err != nil {
		var refusal *amp.Error
		if errors.As(err, &refusal) {
			return []*etree.Element{refusal.Reply(s.cfg.Domain)}
		}
		return nil // ErrNoSender, ErrNotMessage: nobody to answer
	}
	if u == nil {
		// No s2s here: another domain, or an unknown user.
		return s.undeliverable(msg, req)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return s.deliverLocked(u, msg, to, req, 0, t)
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
	switch recipient.acct.Roster[sender.Bare().String()] {
	case "from", "both":
		return amp.PresenceAuthorized
	}
	return amp.PresenceDenied
}

// deliverLocked routes msg, addressed to to and whose request is req, to
// the local user u:
// to an available session, or to the store. key is the message's place in
// the store when it comes from there, or 0; t is its sender's count, or
// nil. u.mu is held. It returns the replies for the sender.
func (s *Server) deliverLocked(u *user, msg *etree.Element, to jid.JID, req amp.Request, key uint64, t *ticket) []*etree.Element {
	var replies []*etree.Element
	for {
		c := u.target(to)
		if c == nil {
			break
		}
		// 2. The routing decision: direct delivery to c.
		res, err := req.Evaluate(amp.Outcome{Delivery: amp.DeliveryDirect, Resource: c.jid.Resourcepart(), Time: s.cfg.Now()})
		if err != nil {
			return append(replies, s.unjudged(u, msg, key, err)...)
		}
		if !res.Proceed() {
			s.forget(u, key)
			return append(replies, res.Replies(s.cfg.Domain)...)
		}
		out := res.Message()
		// The id must not change if the stanza is written again.
		if attr(out, "id") == "" {
			out = out.Copy()
			setAttr(out, "id", randomID())
		}
		// The notify events wait for the client's acknowledgement.
		it := &item{msg: out, orig: msg, res: res, held: res.Replies(s.cfg.Domain), key: key, reply: attr(msg, "from") == s.cfg.Domain, after: u.dispatched}
		if s.push(c, it) {
			return replies
		}
		// 3. Direct delivery failed: c is gone. Its own undelivered
		// stanzas are routed first, then this one again.
		replies = append(replies, s.endLocked(c)...)
	}
	return append(replies, s.storeLocked(u, []pending{{msg, req, key}}, t)...)
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
		return s.storeLocked(u, msgs, nil)
	}
	for _, m := range msgs {
		replies = append(replies, s.deliverLocked(u, m.msg, toJID(m.msg), m.req, m.key, nil)...)
	}
	return replies
}

// storeLocked stores msgs for u, in order, as the rules of each allow. It
// returns the replies due now; those that are true only once the store has
// the messages (deliver=stored notify events) are sent after the commit,
// which also marks t, if any, handled. u.mu is held.
func (s *Server) storeLocked(u *user, msgs []pending, t *ticket) []*etree.Element {
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
			replies = append(replies, s.unjudged(u, m.msg, m.key, err)...)
			continue
		}
		if !res.Proceed() {
			s.forget(u, m.key)
			replies = append(replies, res.Replies(s.cfg.Domain)...)
			continue
		}
		entries = append(entries, entry{m.key, res.Message()})
		results = append(results, res)
		kept = append(kept, m)
	}
	if len(entries) == 0 {
		return replies
	}
	// The store's part of t is added before the write is queued: the
	// commit may come before put returns.
	t.wait()
	n := s.store.put(u.name, entries, func(n int, err error) {
		var after []*etree.Element
		for i, m := range kept[:n] {
			if err == nil {
				after = append(after, results[i].Replies(s.cfg.Domain)...)
				continue
			}
			// The store failed: the message is not delivered at all,
			// and the sender hears so. Nothing of the storage's result
			// has fired: its request is evaluated anew.
			s.cfg.Logf("storing for %s: %v", u.name, err)
			s.forget(u, m.key)
			after = append(after, s.undeliverable(m.msg, results[i].Request())...)
		}
		if t != nil {
			t.finish(s, after)
		} else {
			s.sendReplies(after)
		}
	})
	if n == 0 {
		t.finish(s, nil) // the part wait added: nothing was queued
	}
	// Over quota: not delivered at all.
	for i, m := range kept[n:] {
		s.forget(u, m.key)
		replies = append(replies, s.undeliverable(m.msg, results[n+i].Request())...)
	}
	return replies
}

// unjudged answers a message whose outcome amp cannot judge, which only a
// mistake in this server can cause: it is logged and not delivered, and
// the sender hears so.
func (s *Server) unjudged(u *user, msg *etree.Element, key uint64, err error) []*etree.Element {
	s.cfg.Logf("evaluating a message for %s: %v", u.name, err)
	s.forget(u, key)
	if e := serviceUnavailable(msg); e != nil {
		return []*etree.Element{e}
	}
	return nil
}

// doUndeliverable evaluates the rules of msg for deliver=none and returns the
// replies: the rules' events, then XEP-0160's service-unavailable unless a
// rule decided the message's fate.
func (s *Server) doUndeliverable(msg *etree.Element, req amp.Request) []*etree.Element {
	res, err := req.Evaluate(amp.Outcome{Delivery: amp.DeliveryNone, Time: s.cfg.Now()})
	if err != nil {
		s.cfg.Logf("evaluating an undeliverable message: %v", err)
		return nil
	}
	replies := res.Replies(s.cfg.Domain)
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
	var replies []*etree.Element
	dispatched := make(chan struct{})
	u.locked(func() {
		u.dispatched = dispatched
		replies = s.dispatchLocked(c)
		u.dispatched = nil
	})
	s.sendReplies(replies)
	close(dispatched)
}

// dispatchLocked makes c available, if it is not yet, and routes to it
// the stored messages of its user. u.mu is held.
func (s *Server) dispatchLocked(c *session) []*etree.Element {
	u := c.user
	if c.available || c.ended {
		return nil
	}
	c.available = true
	var replies []*etree.Element
	// A chunk at a time, so that what is read from the store at once is
	// bounded whatever the store holds. A session that was killed stops
	// the dispatch between chunks, and so does a server that is closing,
	// which kills the session so that no later message overtakes what is
	// left. What is left stays stored, rather than each message being read
	// only to fail its delivery and be kept again, which delayed Close by
	// seconds for a user with thousands of stored messages.
	for after := uint64(0); !c.ended && !c.killed(); {
		if s.ctx.Err() != nil {
			c.kill()
			break
		}
		stored, err := s.store.dispatch(u.name, after, s.cfg.QueueSize)
		if err != nil {
			s.cfg.Logf("dispatching to %s: %v", c.jid, err)
		}
		if len(stored) == 0 {
			break
		}
		after = stored[len(stored)-1].key
		for _, m := range stored {
			// 4. Dispatch: resume the request the message was stored
			// with, with the presence authorization of now (§9: a sender
			// who may no longer see it hears nothing); deliverLocked
			// evaluates its remaining rules at the time of dispatch.
			from, _ := jid.Parse(attr(m.msg, "from"))
			req, err := s.amp.Resume(m.msg, s.authorized(u, from))
			if err != nil {
				// Not a message this server stored: it cannot be delivered.
				s.cfg.Logf("dispatching to %s: %v", c.jid, err)
				s.forget(u, m.key)
				continue
			}
			replies = append(replies, s.deliverLocked(u, m.msg, toJID(m.msg), req, m.key, nil)...)
		}
	}
	return replies
}

// doForget removes the stored message key, if any, whose delivery is over.
func (s *Server) doForget(u *user, key uint64) {
	if key == 0 {
		return
	}
	s.store.remove(u.name, []uint64{key})
}

// toJID is the JID msg is addressed to, or the zero JID.
func toJID(msg *etree.Element) jid.JID {
	to, _ := jid.Parse(attr(msg, "to"))
	return to
}

// locked runs fn with u.mu held, and releases it even if fn panics.
func (u *user) locked(fn func()) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fn()
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
		var more []*etree.Element
		u.locked(func() { more = s.deliverLocked(u, r, to, req, 0, nil) })
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
