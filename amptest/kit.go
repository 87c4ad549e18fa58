package amptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// kit is one run of the scenarios against a server.
type kit struct {
	s Server
	// runID is unique to this run: it starts every id, body and resource
	// the kit uses, so that stanzas of other runs and scenarios are told
	// apart.
	runID string
	// sender and recipient are the first subscribed pair; outsider is an
	// account the recipient has not authorized, or "".
	sender, recipient, outsider string
	// oneWay is true when the recipient has not authorized the sender's
	// presence back: the first pair is a one-way subscription.
	oneWay    bool
	passwords map[string]string
	sup       support
	scenarios []scenario
	n         int // scenarios run so far

	// watch is a session that stays for the whole run: it asks the server
	// whether a closed session has ended (offline). silent is set once the
	// server did not say so in time: the kit waits Quiet instead from then
	// on, so that such a server costs one Timeout, not one a session.
	watch  *conn
	silent bool

	mu        sync.Mutex
	lastClose time.Time
}

// support is what the server advertises.
type support struct {
	root, node       []string // disco#info features
	rootErr, nodeErr string   // why a disco#info query failed, or ""
	// assumed is true when the node gave no list: every action and
	// condition of the XEP is then taken as supported (§2.1.1).
	assumed       bool
	streamFeature bool
	actions       map[amp.Action]bool
	conditions    map[amp.Condition]bool
	stanzas       []Stanza
	streams       []Stream
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
	for _, sc := range allScenarios() {
		if s.Select == nil || s.Select(sc.name) {
			k.scenarios = append(k.scenarios, sc)
		}
	}
	for _, a := range s.Accounts {
		k.passwords[a.User] = a.Password
	}
	k.sender, k.recipient = s.Subscribed[0].Sender, s.Subscribed[0].Recipient
	authorized := map[string]bool{}
	k.oneWay = true
	for _, p := range s.Subscribed {
		if p.Recipient == k.recipient {
			authorized[p.Sender] = true
		}
		if p.Sender == k.recipient && p.Recipient == k.sender {
			k.oneWay = false
		}
	}
	for _, a := range s.Accounts {
		if a.User != k.recipient && !authorized[a.User] {
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
	if err := k.rewatch(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// rewatch logs the watching session in, again after a restart: the
// outsider's account, or the sender's.
func (k *kit) rewatch(ctx context.Context) error {
	if k.watch != nil {
		k.watch.close(k.s.Timeout)
	}
	user := k.outsider
	if user == "" {
		user = k.sender
	}
	var err error
	k.watch, err = k.dial(ctx, Account{user, k.passwords[user]}, "amptest-"+k.runID+"-watch", &transcript{})
	if err != nil {
		return fmt.Errorf("amptest: %w", err)
	}
	return nil
}

// stop ends the run's own session.
func (k *kit) stop() {
	if k.watch != nil {
		k.watch.close(k.s.Timeout)
	}
}

// discover reads the server's support: the stream feature, and disco#info
// at the root and at the AMP node.
func (k *kit) discover(ctx context.Context) error {
	log := &transcript{}
	c, err := k.dial(ctx, Account{k.sender, k.passwords[k.sender]}, "amptest-"+k.runID+"-disco", log)
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
	// §2.1.1: "If the server does not provide information for this disco
	// node, the requesting entity MUST assume that all actions and
	// conditons are supported".
	if k.sup.nodeErr != "" || len(k.sup.actions)+len(k.sup.conditions) == 0 {
		k.sup.assumed = true
		for _, a := range xepActions {
			k.sup.actions[a] = true
		}
		for _, c := range xepConditions {
			k.sup.conditions[c] = true
		}
		log.note("no list at the node " + amp.NS + ": every action and condition of the XEP is assumed supported (§2.1.1)")
	}
	k.sup.stanzas, k.sup.streams = log.all()
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
		c, err := k.dial(ctx, a, "amptest-"+k.runID+"-drain", log)
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

// offline waits, at most Timeout, until the server says that c's session
// has ended: it answers an IQ to c's full JID with an error (RFC 6121
// §8.5.3.2.2), or sends the kit's watching session c's unavailable
// presence. c's stream is closed, so an IQ routed to the session gets no
// answer, and the kit asks again. It returns why it gave up, or "".
func (k *kit) offline(c *conn) string {
	if k.silent {
		time.Sleep(k.s.Quiet)
		return ""
	}
	w := k.watch
	full := c.jid.String()
	deadline := time.Now().Add(k.s.Timeout)
	for i := 0; time.Now().Before(deadline); i++ {
		id := fmt.Sprintf("amptest-%s-gone-%d", k.runID, i)
		if err := w.sendRaw(`<iq type='get' id='` + id + `' to='` + escape(full) + `'><ping xmlns='urn:xmpp:ping'/></iq>`); err != nil {
			return "the watching session failed: " + err.Error()
		}
		until := time.Now().Add(100 * time.Millisecond)
		for time.Now().Before(until) {
			for _, el := range w.take() {
				from := attrValue(el, "from")
				typ := attrValue(el, "type")
				if from == full && ((el.Tag == "iq" && typ == "error") || (el.Tag == "presence" && typ == "unavailable")) {
					return ""
				}
			}
			waitFor(w.notify, until)
		}
	}
	k.silent = true
	return fmt.Sprintf("the server did not say within %v that %s went offline (no error for an IQ to it, no unavailable presence): from now on the kit waits %v after closing a stream", k.s.Timeout, full, k.s.Quiet)
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
	start := time.Now()
	r = Result{Name: sc.name, Section: strings.SplitN(sc.name, "/", 2)[0], Level: sc.level, Requirement: sc.req, Doc: sc.doc}
	defer func() {
		r.Duration = time.Since(start)
		if k.s.Progress != nil {
			k.s.Progress(r, k.n, len(k.scenarios))
		}
	}()
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
		e.closeAll()
		if e.clockMoved && k.s.SetTime != nil {
			k.s.SetTime(time.Now())
		}
		r.Stanzas, r.Streams = e.log.all()
		r.Status, r.Problems = Pass, e.problems
		for _, p := range e.problems {
			if s := verdict(p.Level); s > r.Status {
				r.Status = s
			}
		}
		if len(e.problems) == 0 && e.skip != "" {
			r.Status, r.Reason = Skip, e.skip
		}
	}()
	defer func() {
		if v := recover(); v != nil && v != errStop {
			// A panic in a scenario is the kit's bug, not the server's:
			// the scenario is skipped with it, and the others go on.
			e.problems, e.skip = nil, fmt.Sprintf("the kit panicked (a bug of amptest): %v", v)
		}
	}()
	sc.run(e)
	return r
}

// unsupported says why the server's advertised support or the Server's
// description rules sc out, or "".
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
	switch {
	case sc.needs&needOutsider != 0 && k.outsider == "":
		return fmt.Sprintf("every account may see %s's presence: give an account without a subscription", k.recipient)
	case sc.needs&needOneWay != 0 && !k.oneWay:
		return fmt.Sprintf("%s and %s are subscribed both ways: give a one-way pair", k.sender, k.recipient)
	case sc.needs&needRestart != 0 && k.s.Restart == nil:
		return "no Restart hook: the kit cannot restart the server"
	case sc.needs&needClock != 0 && k.s.SetTime == nil:
		return "no SetTime hook: the kit cannot move the server's clock"
	case sc.needs&needMaxRules != 0 && k.s.MaxRules <= 0:
		return "the server's rule limit is not given (MaxRules, -max-rules)"
	}
	return ""
}

// errStop ends a scenario early.
var errStop = errors.New("amptest: scenario stopped")
