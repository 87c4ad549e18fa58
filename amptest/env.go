package amptest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// env is what a scenario runs with: its sessions, its transcript and what
// it found.
type env struct {
	k     *kit
	ctx   context.Context
	token string // starts every id, body and resource of the scenario
	log   *transcript
	conns []*conn
	seq   int
	// clockMoved is true once the scenario set the server's clock.
	clockMoved bool

	problems []Problem
	skip     string
}

// problem records a problem of level l and goes on.
func (e *env) problem(l Level, format string, args ...any) {
	e.problems = append(e.problems, Problem{Level: l, Text: fmt.Sprintf(format, args...)})
}

// stop records a problem of level l and ends the scenario.
func (e *env) stop(l Level, format string, args ...any) {
	e.problem(l, format, args...)
	panic(errStop)
}

// skipf ends the scenario as skipped.
func (e *env) skipf(format string, args ...any) {
	e.skip = fmt.Sprintf(format, args...)
	panic(errStop)
}

// login logs user in with a resource named after the scenario and name.
// A login that fails (after the retries) ends the scenario as skipped
// with the error: it says nothing of the server's AMP.
func (e *env) login(user, name string) *conn {
	c, err := e.k.dial(e.ctx, Account{user, e.k.passwords[user]}, e.token+"-"+name, e.log)
	if err != nil {
		e.skipf("%v", err)
	}
	e.conns = append(e.conns, c)
	return c
}

// closeAll closes the scenario's sessions and waits until the server
// says each has ended, so that the next scenario finds the users offline.
func (e *env) closeAll() {
	for _, c := range e.conns {
		c.close(e.k.s.Timeout)
	}
	for _, c := range e.conns {
		if why := e.k.offline(c); why != "" {
			e.log.note(why)
		}
	}
}

// jid returns the bare JID of user.
func (e *env) jid(user string) string { return user + "@" + e.k.s.Domain }

// message returns a message to to with a fresh id and a body
// naming it, carrying rules when rs is not nil. Messages are built as
// trees and never as strings, so that attribute values are escaped.
func (e *env) message(to string, rs *amp.RuleSet) *etree.Element {
	e.seq++
	id := fmt.Sprintf("%s-m%d", e.token, e.seq)
	m := etree.NewElement("message")
	m.CreateAttr("to", to)
	m.CreateAttr("id", id)
	m.CreateElement("body").SetText("amptest " + id)
	if rs != nil {
		m.AddChild(rs.Element())
	}
	return m
}

// send sends msg from c.
func (e *env) send(c *conn, msg *etree.Element) {
	if err := c.send(msg); err != nil {
		e.skipf("sending from %s: %v", c.label, err)
	}
}

// A want is a stanza that must arrive on one of its sessions.
type want struct {
	to    []*conn
	desc  string
	level Level                             // of a want that does not arrive
	match func(el *etree.Element) bool      // whether el is the stanza wanted
	check func(el *etree.Element) []Problem // what is wrong with it
	got   *etree.Element                    // the stanza that matched
	on    *conn                             // where it arrived
	// optional wants may not arrive: they keep a stanza the scenario
	// allows from being counted as unexpected.
	optional bool
}

// exchange waits until every want has arrived, at most Timeout, and then
// Quiet more; it records as a problem each want that did not arrive, what
// is wrong with each that did, and every other message of the scenario
// that arrived on any session (a MUST problem, unless extra says
// otherwise).
func (e *env) exchange(wants ...*want) { e.exchangeExtra(nil, wants...) }

// exchangeExtra is exchange with the level of each unexpected message
// given by extra; a nil extra, or a message it returns false for, is a
// MUST problem.
func (e *env) exchangeExtra(extra func(el *etree.Element) (Level, bool), wants ...*want) {
	start := time.Now()
	deadline := start.Add(e.k.s.Timeout)
	var extras []Problem
	quietUntil := time.Time{}
	for {
		for _, c := range e.conns {
			for _, el := range e.incoming(c) {
				if w := firstMatch(wants, c, el); w != nil {
					w.got, w.on = el, c
					continue
				}
				p := Problem{Must, fmt.Sprintf("unexpected: %s received %s", c.label, describe(el))}
				if extra != nil {
					if l, ok := extra(el); ok {
						p.Level = l
					}
				}
				extras = append(extras, p)
				// The scenario fails already: what is still missing
				// gets Quiet more, not the whole Timeout.
				if d := time.Now().Add(e.k.s.Quiet); d.Before(deadline) {
					deadline = d
				}
			}
		}
		pending := 0
		for _, w := range wants {
			if w.got == nil && !w.optional {
				pending++
			}
		}
		now := time.Now()
		if pending == 0 && quietUntil.IsZero() {
			quietUntil = now.Add(e.k.s.Quiet)
		}
		if (pending == 0 && !now.Before(quietUntil)) || (pending > 0 && !now.Before(deadline)) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, w := range wants {
		switch {
		case w.got == nil && !w.optional:
			e.problem(w.level, "%s: nothing arrived within %v", w.desc, time.Since(start).Round(time.Millisecond))
		case w.got != nil && w.check != nil:
			for _, p := range w.check(w.got) {
				e.problem(p.Level, "%s: %s", w.desc, p.Text)
			}
		}
	}
	e.problems = append(e.problems, extras...)
}

// quiet waits Quiet and records every message of the scenario that
// arrives on any session as a problem.
func (e *env) quiet() { e.exchange() }

// incoming returns the messages c received that belong to this scenario,
// and records everything c received in the transcript.
func (e *env) incoming(c *conn) []*etree.Element {
	var out []*etree.Element
	for _, el := range c.take() {
		s := serialize(el)
		if el.Tag != "message" || (strings.Contains(s, "amptest-") && !strings.Contains(s, e.token)) {
			// Presence, IQs, and messages of another scenario or run.
			if el.Tag == "message" {
				c.log.ignored(c.label, s)
			}
			continue
		}
		c.log.add(c.label, false, s)
		if d := crossCheck(el); d != "" {
			c.log.note(d + " (the kit judges by its own reading)")
		}
		out = append(out, el)
	}
	return out
}

func firstMatch(wants []*want, c *conn, el *etree.Element) *want {
	for _, w := range wants {
		if w.got != nil {
			continue
		}
		for _, to := range w.to {
			if to == c && w.match(el) {
				return w
			}
		}
	}
	return nil
}

// describe names a stanza that arrived, for a problem.
func describe(el *etree.Element) string {
	r := readReply(el)
	what := "a message"
	switch {
	case r.hasStatus && r.typ == "error":
		what = fmt.Sprintf("an AMP error of status %s for %s", r.status, rulesString(r.rules))
	case r.hasStatus:
		what = fmt.Sprintf("an AMP %s event for %s", r.status, rulesString(r.rules))
	case r.typ == "error" && r.amp != nil:
		what = fmt.Sprintf("an AMP refusal (%s)", orNone(r.condition))
	case r.typ == "error":
		what = fmt.Sprintf("an error (%s)", orNone(r.condition))
	case bodyText(el) != "":
		what = "the message " + attrValue(el, "id")
	}
	return what + ": " + serialize(el)
}

// orNone returns condition, or "no condition" when it is empty.
func orNone(condition string) string {
	if condition == "" {
		return "no condition"
	}
	return condition
}

// rulesString writes rules as they would be written in XML.
func rulesString(rules []amp.Rule) string {
	var b strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&b, "<rule action='%s' condition='%s' value='%s'/>", r.Action, r.Condition, r.Value)
	}
	if b.Len() == 0 {
		return "no rule"
	}
	return b.String()
}
