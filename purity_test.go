package amp_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// hxPurityInput is a message the purity tests run every call on.
type hxPurityInput struct {
	name string
	msg  *etree.Element
}

// hxPurityInputs are the XEP's examples, the hostile requests, and the fuzz
// seeds, read as etree reads them, with and without repeated attributes.
func hxPurityInputs(t testing.TB) []hxPurityInput {
	var out []hxPurityInput
	for _, e := range examples {
		msg, err := hxRead([]byte(e.Text), false)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		out = append(out, hxPurityInput{e.Name(), msg})
	}
	for _, tc := range hxHostileCases() {
		msg, err := hxRead([]byte(tc.in), tc.dupAttrs)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		out = append(out, hxPurityInput{tc.name, msg})
	}
	for i, s := range hxSeedMessages {
		for _, dup := range []bool{false, true} {
			msg, err := hxRead([]byte(s), dup)
			if err != nil {
				t.Fatalf("seed %d: %v", i, err)
			}
			out = append(out, hxPurityInput{fmt.Sprintf("seed %d, PreserveDuplicateAttrs %v", i, dup), msg})
		}
		msg, err := hxReadInStream([]byte(s))
		if err != nil {
			t.Fatalf("seed %d in a stream: %v", i, err)
		}
		out = append(out, hxPurityInput{fmt.Sprintf("seed %d in a stream", i), msg})
	}
	return out
}

// hxPurityOutcomes is a spread of outcomes for both presences.
func hxPurityOutcomes() []amp.Outcome {
	var out []amp.Outcome
	for _, p := range []amp.Presence{amp.PresenceDenied, amp.PresenceAuthorized} {
		for i, o := range hxPolicyOutcomes(p) {
			if i%11 == 0 {
				out = append(out, o)
			}
		}
	}
	return out
}

// hxPurityConfigs are the configurations the purity tests use.
var hxPurityConfigs = []*amp.Config{
	nil,
	{MaxRules: 2, MaxValueLen: 8},
	{Actions: []amp.Action{amp.ActionNotify, amp.ActionDrop}, Conditions: []amp.Condition{amp.CondDeliver}},
}

// TestPurity serializes the caller's element before and after every call
// and checks it is byte for byte the same; and that changing what the
// calls return changes neither the caller's element nor later answers.
func TestPurity(t *testing.T) {
	outcomes := hxPurityOutcomes()
	for _, in := range hxPurityInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			msg := in.msg
			before := hxWrite(msg)
			same := func(call string) {
				t.Helper()
				if after := hxWrite(msg); after != before {
					t.Fatalf("%s modified the message:\nbefore %s\nafter  %s", call, before, after)
				}
			}
			rs, err := amp.Parse(msg)
			same("Parse")
			amp.ParseEvent(msg)
			same("ParseEvent")
			if err != nil {
				first := hxWrite(amp.ErrorReply(msg, hxServer, err))
				same("ErrorReply")
				hxScribble(amp.ErrorReply(msg, hxServer, err))
				same("changing the ErrorReply")
				if again := hxWrite(amp.ErrorReply(msg, hxServer, err)); again != first {
					t.Fatalf("ErrorReply changed after its reply was changed:\n%s\n%s", first, again)
				}
				return
			}
			rsBefore := fmt.Sprintf("%#v", rs)
			outcomes := outcomes
			if rs != nil && len(rs.Rules) > 100 {
				outcomes = outcomes[:len(outcomes)/10]
			}
			for _, c := range hxPurityConfigs {
				for _, p := range []amp.Presence{amp.PresenceDenied, amp.PresenceAuthorized} {
					verr := c.Validate(rs, p)
					same("Validate")
					if verr != nil {
						first := hxWrite(amp.ErrorReply(msg, hxServer, verr))
						same("ErrorReply")
						hxScribble(amp.ErrorReply(msg, hxServer, verr))
						same("changing the ErrorReply")
						if again := hxWrite(amp.ErrorReply(msg, hxServer, verr)); again != first {
							t.Fatalf("ErrorReply changed after its reply was changed:\n%s\n%s", first, again)
						}
					}
				}
				for _, o := range outcomes {
					res := c.Evaluate(msg, rs, o)
					same("Evaluate")
					replies := hxWriteAll(res.Replies(hxServer))
					same("Replies")
					for _, r := range res.Replies(hxServer) {
						hxScribble(r)
					}
					same("changing the Replies")
					if again := hxWriteAll(res.Replies(hxServer)); again != replies {
						t.Fatalf("Replies changed after its replies were changed:\n%s\n%s", replies, again)
					}
					out := res.Message()
					same("Message")
					if out != nil && out != msg {
						first := hxWrite(out)
						hxScribble(out)
						same("changing the Message")
						if again := hxWrite(res.Message()); again != first {
							t.Fatalf("Message changed after it was changed:\n%s\n%s", first, again)
						}
					}
					if rest := res.Remaining(); rest != nil {
						same("Remaining")
						rest.Element()
						for i := range rest.Rules {
							rest.Rules[i].Value = "scribbled"
						}
						rest.PerHop = !rest.PerHop
						res.Rule()
						res.Notified()
					}
				}
				if got := fmt.Sprintf("%#v", rs); got != rsBefore {
					t.Fatalf("the rule set changed:\nbefore %s\nafter  %s", rsBefore, got)
				}
			}
			if rs != nil {
				rs.Element()
				same("RuleSet.Element")
			}
		})
	}
}

// hxScribble changes el and everything in it, as a caller may change what
// it was given.
func hxScribble(el *etree.Element) {
	if el == nil {
		return
	}
	el.CreateAttr("scribbled", "yes")
	for i := range el.Attr {
		el.Attr[i].Value += "!"
	}
	for _, c := range el.ChildElements() {
		hxScribble(c)
	}
	el.CreateElement("scribble").SetText("x")
}

// hxAnswerAll is every answer the package gives about msg, serialized.
func hxAnswerAll(c *amp.Config, msg *etree.Element, rs *amp.RuleSet, o amp.Outcome) string {
	var b strings.Builder
	got, err := amp.Parse(msg)
	fmt.Fprintf(&b, "parse %#v %v\n", got, err)
	if ev := amp.ParseEvent(msg); ev != nil {
		fmt.Fprintf(&b, "event %+v\n", *ev)
	}
	if err != nil {
		b.WriteString(hxWrite(amp.ErrorReply(msg, hxServer, err)))
		return b.String()
	}
	if rs == nil {
		return b.String()
	}
	b.WriteString(hxWrite(rs.Element()))
	if err := c.Validate(rs, o.Presence); err != nil {
		fmt.Fprintf(&b, "validate %v\n%s\n", err, hxWrite(amp.ErrorReply(msg, hxServer, err)))
	}
	res := c.Evaluate(msg, rs, o)
	rule, ok := res.Rule()
	fmt.Fprintf(&b, "deliver %v action %q err %v rule %v %v notified %v\n", res.Deliver, res.Action, res.Err, rule, ok, res.Notified())
	b.WriteString(hxWriteAll(res.Replies(hxServer)))
	b.WriteString(hxWrite(res.Message()))
	b.WriteString(hxWrite(res.Remaining().Element()))
	return b.String()
}

// TestPurityConcurrent runs many goroutines on shared messages, rule sets
// and configurations and checks they get the answers sequential use gets.
// Run it with -race.
func TestPurityConcurrent(t *testing.T) {
	type job struct {
		c   *amp.Config
		msg *etree.Element
		rs  *amp.RuleSet
		o   amp.Outcome
	}
	var jobs []job
	outcomes := hxPurityOutcomes()
	for i, in := range hxPurityInputs(t) {
		rs, err := amp.Parse(in.msg)
		if err != nil {
			rs = nil
		}
		jobs = append(jobs, job{hxPurityConfigs[i%len(hxPurityConfigs)], in.msg, rs, outcomes[i%len(outcomes)]})
	}
	want := make([]string, len(jobs))
	for i, j := range jobs {
		want[i] = hxAnswerAll(j.c, j.msg, j.rs, j.o)
	}
	const goroutines, iterations = 16, 200
	var wg sync.WaitGroup
	errs := make(chan string, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range iterations {
				i := (g*iterations + k*7) % len(jobs)
				j := jobs[i]
				if got := hxAnswerAll(j.c, j.msg, j.rs, j.o); got != want[i] {
					errs <- fmt.Sprintf("goroutine %d, job %d: got\n%s\nwant\n%s", g, i, got, want[i])
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
