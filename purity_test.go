package amp_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/require"
)

// purInput is a message the purity tests run every call on.
type purInput struct {
	name string
	msg  *etree.Element
}

// purInputs are the XEP's examples and the hostile inputs that are
// messages, read as a server reads them, and each of them also as the
// first child of a stream that declares the namespaces it inherits.
func purInputs(t testing.TB) []purInput {
	var out []purInput
	for _, e := range examples {
		out = append(out, purInput{e.Name(), readXML(t, e.Text)})
	}
	for _, tc := range hxCases() {
		// 100,000 rules are 10,000 rules ten times over; writing them
		// after every call would take seconds.
		if tc.nobody == nil && len(tc.in) < 2<<20 {
			out = append(out, purInput{tc.name, tc.message(t)})
		}
	}
	for _, e := range examples[4:6] {
		out = append(out, purInput{e.Name() + ", in a stream", readStanza([]byte(e.Text), true)})
	}
	return out
}

// purProcessors are the configurations the purity tests use.
var purProcessors = func() []*amp.Processor {
	var out []*amp.Processor
	for _, c := range []amp.Config{{}, {MaxRules: 2, MaxValueLen: 8, Conditions: []amp.Condition{amp.ConditionDeliver, amp.ConditionMatchResource}}, {Actions: []amp.Action{amp.ActionNotify, amp.ActionDrop}, Conditions: []amp.Condition{amp.ConditionDeliver}}} {
		p, err := amp.NewProcessor(c)
		if err != nil {
			panic(err)
		}
		out = append(out, p)
	}
	return append(out, nil)
}()

// purOutcomes are a direct delivery, a next hop without AMP and storage.
var purOutcomes = []amp.Outcome{boundOutcomes[0], boundOutcomes[7], boundOutcomes[8]}

// purScribble changes el and everything in it, as a caller may change
// what it was given.
func purScribble(el *etree.Element) {
	el.CreateAttr("scribbled", "yes")
	for i := range el.Attr {
		el.Attr[i].Value += "!"
	}
	for _, c := range el.ChildElements() {
		purScribble(c)
	}
	el.CreateElement("scribble").SetText("x")
}

// TestPurity writes the caller's element before and after every call and
// checks it is byte for byte the same, and that changing what a call
// returned changes neither the caller's element nor what the call returns
// next.
func TestPurity(t *testing.T) {
	for _, in := range purInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			msg := in.msg
			before := writeXML(msg)
			same := func(call string) {
				t.Helper()
				require.Equal(t, before, writeXML(msg), "%s modified the message", call)
			}
			// owned checks that the elements get returns are the caller's:
			// changing them changes neither msg nor the next ones.
			owned := func(call string, get func() []*etree.Element) {
				t.Helper()
				first := get()
				same(call)
				want := writeAll(first...)
				for _, el := range first {
					if el != nil && el != msg {
						purScribble(el)
					}
				}
				same("changing what " + call + " returned")
				require.Equal(t, want, writeAll(get()...), "%s after what it returned was changed", call)
			}
			amp.ParseEvent(msg)
			same("ParseEvent")
			processors, presences, outcomes := purProcessors, []amp.Presence{amp.PresenceDenied, amp.PresenceAuthorized}, purOutcomes
			if len(before) > 64<<10 {
				// Writing the message after every call is what costs here:
				// one processor, presence and outcome for the largest ones.
				processors, presences, outcomes = processors[:1], presences[1:], purOutcomes[2:]
			}
			for _, p := range processors {
				for _, hop := range []amp.Hop{amp.HopEdge, amp.HopTransit} {
					for _, presence := range presences {
						req, err := p.Parse(msg, hop, presence)
						same("Parse")
						var e *amp.Error
						if errors.As(err, &e) {
							owned("Error.Reply", func() []*etree.Element { return []*etree.Element{e.Reply(domain)} })
							continue
						}
						for _, o := range outcomes {
							res := mustEvaluate(t, req, o)
							same("Evaluate")
							owned("Replies", func() []*etree.Element { return res.Replies(domain) })
							owned("Message", func() []*etree.Element { return []*etree.Element{res.Message()} })
							rest := mustEvaluate(t, res.Request(), amp.Outcome{Delivery: amp.DeliveryStored})
							owned("Request", func() []*etree.Element { return append(rest.Replies(domain), rest.Message()) })
							if stored := rest.Message(); hop == amp.HopEdge && stored != nil && stored != msg {
								back, err := p.Resume(stored, amp.PresenceAuthorized)
								require.NoError(t, err, "Resume of %s", writeXML(stored))
								resumed := mustEvaluate(t, back, o)
								owned("Resume", func() []*etree.Element { return append(resumed.Replies(domain), resumed.Message()) })
							}
						}
					}
				}
			}
		})
	}
}

// purKept is what a server keeps of one message while it processes the
// next ones: the Result or the *Error, and what they said when returned.
type purKept struct {
	msg  *etree.Element
	res  amp.Result
	err  *amp.Error
	said string
}

// purSay is everything a Result or an *Error says.
func purSay(res amp.Result, e *amp.Error) string {
	if e != nil {
		return writeXML(e.Reply(domain))
	}
	again, err := res.Request().Evaluate(amp.Outcome{Delivery: amp.DeliveryStored})
	return fmt.Sprintf("%v %v\n%s%s\nstored: %v\n%s%s", res.Proceed(), err,
		writeAll(res.Replies(domain)...), writeXML(res.Message()),
		again.Proceed(), writeAll(again.Replies(domain)...), writeXML(again.Message()))
}

// purProcess is what a server does with one message, as the README
// recommends: Parse, then Evaluate and the replies, or the refusal.
func purProcess(p *amp.Processor, msg *etree.Element, o amp.Outcome) purKept {
	res, e := process(p, msg, amp.HopEdge, amp.PresenceAuthorized, o)
	return purKept{msg: msg, res: res, err: e, said: purSay(res, e)}
}

// purMeddle does to a kept message what a caller may do later: evaluate
// its request again, and edit the rules, slices and elements it was given.
func purMeddle(k purKept) {
	if k.err != nil {
		for i := range k.err.Rules {
			k.err.Rules[i] = amp.Rule{Condition: "edited", Action: "edited", Value: "edited"}
		}
		k.err.Rules = append(k.err.Rules, amp.Rule{})
		return
	}
	again, _ := k.res.Request().Evaluate(amp.Outcome{Delivery: amp.DeliveryStored, Time: time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC)})
	for _, el := range append(again.Replies(domain), k.res.Replies(domain)...) {
		purScribble(el)
	}
	if m := k.res.Message(); m != nil && m != k.msg {
		purScribble(m) // a copy: only a message without a request is the caller's
	}
}

// TestOwnership runs one Processor shared by goroutines, each processing
// every message as the README recommends and keeping the results while it
// processes the next ones and meddles with the earlier ones: a Result and
// an *Error say, at the end, what they said when returned, and what a
// sequential run says. Run it with -race.
func TestOwnership(t *testing.T) {
	p, err := amp.NewProcessor(amp.Config{MaxRules: 8})
	require.NoError(t, err)
	var msgs []*etree.Element
	for _, in := range purInputs(t) {
		if len(writeXML(in.msg)) < 4096 {
			msgs = append(msgs, in.msg)
		}
	}
	outcome := func(i int) amp.Outcome { return boundOutcomes[i%len(boundOutcomes)] }
	want := make([]string, len(msgs))
	for i, msg := range msgs {
		want[i] = purProcess(p, msg, outcome(i)).said
	}
	const goroutines = 8
	var wg sync.WaitGroup
	errs := make(chan string, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kept := make([]purKept, len(msgs))
			for k := range msgs {
				i := (k + g*7) % len(msgs)
				kept[i] = purProcess(p, msgs[i], outcome(i))
				if k > 0 {
					purMeddle(kept[(i+len(msgs)-1)%len(msgs)])
				}
			}
			for i, k := range kept {
				if now := purSay(k.res, k.err); now != k.said || now != want[i] {
					errs <- fmt.Sprintf("goroutine %d, message %d:\nwhen returned: %s\nnow: %s\nsequential: %s", g, i, k.said, now, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
