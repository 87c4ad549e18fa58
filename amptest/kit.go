package amptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// kit is one run of the scenarios against a server.
type kit struct {
	s Server
	// run is unique to this run: it starts every id, body and resource the
	// kit uses, so that stanzas of other runs and scenarios are told apart.
	runID string
	// sender and recipient are the first subscribed pair; outsider is an
	// account the recipient has not subscribed, or "".
	sender, recipient, outsider string
	passwords                   map[string]string
	sup                         support
	n                           int // scenarios run so far
}

// support is what the server advertises.
type support struct {
	root, node       []string // disco#info features
	rootErr, nodeErr string   // why a disco#info query failed, or ""
	streamFeature    bool
	actions          map[amp.Action]bool
	conditions       map[amp.Condition]bool
	stanzas          []Stanza
}

// scenario is one check of the kit.
type scenario struct {
	name string // starts with the XEP section: "§3.3.1/deliver=direct/notify"
	doc  string
	// actions and conditions are what the scenario needs the server to
	// support; it is skipped otherwise.
	actions    []amp.Action
	conditions []amp.Condition
	outsider   bool // needs an account without a subscription
	run        func(e *env)
}

func newKit(ctx context.Context, s Server) (*kit, error) {
	s, err := s.withDefaults()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	k := &kit{s: s, runID: hex.EncodeToString(b), passwords: map[string]string{}}
	for _, a := range s.Accounts {
		k.passwords[a.User] = a.Password
	}
	k.sender, k.recipient = s.Subscribed[0].Sender, s.Subscribed[0].Recipient
	subscribed := map[string]bool{}
	for _, p := range s.Subscribed {
		if p.Recipient == k.recipient {
			subscribed[p.Sender] = true
		}
	}
	for _, a := range s.Accounts {
		if a.User != k.recipient && !subscribed[a.User] {
			k.outsider = a.User
			break
		}
	}
	if err := k.discover(ctx); err != nil {
		return nil, err
	}
	if err := k.drain(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// discover reads the server's support: the stream feature, and disco#info
// at the root and at the AMP node.
func (k *kit) discover(ctx context.Context) error {
	log := &transcript{}
	c, err := dial(ctx, &k.s, Account{k.sender, k.passwords[k.sender]}, "amptest-"+k.runID+"-disco", log)
	if err != nil {
		return fmt.Errorf("amptest: %w", err)
	}
	defer c.close(k.s.Timeout)
	k.sup.streamFeature = c.feature
	k.sup.actions, k.sup.conditions = map[amp.Action]bool{}, map[amp.Condition]bool{}
	k.sup.root, k.sup.rootErr = k.discoInfo(c, "")
	k.sup.node, k.sup.nodeErr = k.discoInfo(c, amp.NS)
	for _, f := range k.sup.node {
		if a, ok := strings.CutPrefix(f, amp.NS+"?action="); ok {
			k.sup.actions[amp.Action(a)] = true
		}
		if cond, ok := strings.CutPrefix(f, amp.NS+"?condition="); ok {
			k.sup.conditions[amp.Condition(cond)] = true
		}
	}
	k.sup.stanzas = log.all()
	return nil
}

// discoInfo asks the server for its disco#info features at node. It
// returns them, or why there are none.
func (k *kit) discoInfo(c *conn, node string) ([]string, string) {
	const nsDisco = "http://jabber.org/protocol/disco#info"
	id := fmt.Sprintf("amptest-%s-disco-%d", k.runID, len(node))
	iq := etree.NewElement("iq")
	iq.CreateAttr("type", "get")
	iq.CreateAttr("id", id)
	iq.CreateAttr("to", k.s.Domain)
	q := iq.CreateElement("query")
	q.CreateAttr("xmlns", nsDisco)
	if node != "" {
		q.CreateAttr("node", node)
	}
	if err := c.send(iq); err != nil {
		return nil, err.Error()
	}
	el := c.awaitIQ(id, time.Now().Add(k.s.Timeout))
	if el == nil {
		return nil, fmt.Sprintf("no answer within %v", k.s.Timeout)
	}
	c.log.add(c.label, false, serialize(el))
	if t := attrValue(el, "type"); t != "result" {
		return nil, fmt.Sprintf("the server answered type %q", t)
	}
	var out []string
	for _, q := range children(el, nsDisco, "query") {
		for _, f := range children(q, nsDisco, "feature") {
			out = append(out, attrValue(f, "var"))
		}
	}
	return out, ""
}

// drain logs every account in with initial presence and waits until
// nothing more arrives, so that messages stored by earlier runs are out of
// the way.
func (k *kit) drain(ctx context.Context) error {
	log := &transcript{}
	for _, a := range k.s.Accounts {
		c, err := dial(ctx, &k.s, a, "amptest-"+k.runID+"-drain", log)
		if err != nil {
			return fmt.Errorf("amptest: %w", err)
		}
		for {
			t := time.NewTimer(k.s.Quiet)
			select {
			case <-c.notify:
				t.Stop()
				c.take()
				continue
			case <-t.C:
			}
			break
		}
		c.close(k.s.Timeout)
	}
	return nil
}

// waitFor waits until ch has a value or deadline passes.
func waitFor(ch <-chan struct{}, deadline time.Time) {
	d := time.Until(deadline)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// run runs sc and returns its result.
func (k *kit) run(ctx context.Context, sc scenario) (r Result) {
	k.n++
	r = Result{Name: sc.name, Section: strings.SplitN(sc.name, "/", 2)[0], Doc: sc.doc}
	if err := ctx.Err(); err != nil {
		r.Status, r.Reason = Skip, "the run ended before this scenario: "+err.Error()
		return r
	}
	if why := k.unsupported(sc); why != "" {
		r.Status, r.Reason = Skip, why
		return r
	}
	e := &env{k: k, ctx: ctx, token: fmt.Sprintf("amptest-%s-%03d", k.runID, k.n), log: &transcript{}}
	defer func() {
		for _, c := range e.conns {
			c.close(k.s.Timeout)
		}
		if len(e.conns) > 0 {
			// A server may close its side of a stream before it counts the
			// user offline: give it a moment, so that the next scenario's
			// message for the user is stored and not sent to a session
			// that is going away.
			time.Sleep(k.s.Quiet / 4)
		}
		r.Stanzas = e.log.all()
		switch {
		case len(e.problems) > 0:
			r.Status, r.Problems = Fail, e.problems
		case e.skip != "":
			r.Status, r.Reason = Skip, e.skip
		default:
			r.Status = Pass
		}
	}()
	defer func() {
		if v := recover(); v != nil && v != errStop {
			panic(v)
		}
	}()
	sc.run(e)
	return r
}

// unsupported says why the server's advertised support rules sc out, or "".
func (k *kit) unsupported(sc scenario) string {
	for _, a := range sc.actions {
		if !k.sup.actions[a] {
			return fmt.Sprintf("the server does not advertise %s?action=%s", amp.NS, a)
		}
	}
	for _, c := range sc.conditions {
		if !k.sup.conditions[c] {
			return fmt.Sprintf("the server does not advertise %s?condition=%s", amp.NS, c)
		}
	}
	if sc.outsider && k.outsider == "" {
		return fmt.Sprintf("every account may see %s's presence: give an account without a subscription", k.recipient)
	}
	return ""
}

// errStop ends a scenario early.
var errStop = errors.New("amptest: scenario stopped")
