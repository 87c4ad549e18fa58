package amp_test

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/require"
)

// fzSeeds are the XEP's examples and hostile requests, as seeds.
func fzSeeds() []string {
	seeds := []string{
		`<message from='a@b/c' id='1' to='d@e/f/g'><body>secret</body><a:amp xmlns:a='http://jabber.org/protocol/amp' per-hop='true'><a:rule condition='match-resource' action='notify' value='exact'/><rule condition='deliver' action='drop' value='stored'/></a:amp></message>`,
		`<message xmlns='jabber:client' from='a@b/c' id='2' to='d@e'><amp xmlns='http://jabber.org/protocol/amp' per-hop='yes'><rule condition='deliver' action='alert' value='direct'/></amp></message>`,
		`<message from='a@b/c' id='3' to='d@e'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' action='alert' value='direct'/></amp></message>`,
		`<message from='a@b/c' id='4' to='d@e'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='expire-at' action='notify' value='2004-01-01T00:00:00.123456789123+00:00'><x><y>junk</y></x></rule></amp><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='error' value='none'/></amp></message>`,
		`<x:message xmlns:x='jabber:client' from='a@b/c' id='5' to='d@e/r'><body>hi</body><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='notify' value='stored'/><rule condition='match-resource' action='alert' value='other'/></amp></x:message>`,
		`<message from='a@b/c' to='d@e'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='none'/></amp></message>`,
		`<message from='a@b/c' id='6' to='d@e'><amp xmlns='http://jabber.org/protocol/amp' status='alert'><rule condition='deliver' action='drop' value='none'/></amp></message>`,
		`<message xmlns='urn:other' from='a@b/c' id='8' to='d@e'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='none'/></amp></message>`,
		`<message from='a@b/c' id='9' to='d@e'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='bogus' action='notify' value='x'/><rule condition='deliver' action='bogus' value='none'/><rule/><rule condition='' action='' value=''/></amp></message>`,
		`<message from='a@b/c' id='10' to='d@e'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='notify' value='a&amp;b&#9;&#10;&lt;'/><rule condition='deliver' action='notify' value='direct'/></amp></message>`,
	}
	for _, e := range examples {
		seeds = append(seeds, e.Text)
	}
	return seeds
}

// fzAttr is the first unprefixed attribute key of el.
func fzAttr(el *etree.Element, key string) string {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value
		}
	}
	return ""
}

// FuzzParse feeds any input to Parse, at each hop, for each presence:
// it never panics or modifies the message; an *Error has a reply to the
// sender within the bound of the limits, of the error's kind; nobody is
// answered only for what is not a message or has no sender; and an
// accepted request's rules, as the library echoes them, written with
// RuleSet.Element, parse back the same.
func FuzzParse(f *testing.F) {
	for _, s := range fzSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, inStream := range []bool{false, true} {
			msg := readStanza(data, inStream)
			if msg == nil {
				continue
			}
			before := writeXML(msg)
			for _, hop := range []amp.Hop{amp.HopEdge, amp.HopTransit} {
				for _, presence := range []amp.Presence{amp.PresenceDenied, amp.PresenceAuthorized} {
					fzCheckParse(t, msg, hop, presence)
					require.Equal(t, before, writeXML(msg), "Parse modified the message")
				}
			}
		}
	})
}

func fzCheckParse(t *testing.T, msg *etree.Element, hop amp.Hop, presence amp.Presence) {
	var p *amp.Processor
	req, err := p.Parse(msg, hop, presence)
	var e *amp.Error
	switch {
	case errors.As(err, &e):
		reply := e.Reply(domain)
		require.NotNil(t, reply, "no reply for %v", err)
		requireBounded(t, p, msg, reply)
		ev := amp.ParseEvent(reply)
		require.NotNil(t, ev, "the reply to %v is not an AMP error: %s", err, writeXML(reply))
		require.Equal(t, e.Kind, ev.Err.Kind, "the reply to %v: %s", err, writeXML(reply))
		require.Equal(t, []string{fzAttr(msg, "from"), fzAttr(msg, "id")}, []string{fzAttr(reply, "to"), fzAttr(reply, "id")})
	case errors.Is(err, amp.ErrNoSender):
		require.Empty(t, fzAttr(msg, "from"))
	case errors.Is(err, amp.ErrNotMessage):
		ns := msg.NamespaceURI()
		require.False(t, msg.Tag == "message" && (ns == "" && msg.Space == "" || ns == "jabber:client" || ns == "jabber:server" || ns == "jabber:component:accept"),
			"a message in %q is not a message", ns)
	default:
		require.NoError(t, err)
		if rs, ok := requestRules(t, req); ok && hop == amp.HopEdge {
			requireRoundTrip(t, p, rs, presence)
		}
	}
}

// requireRoundTrip checks that rs, written with RuleSet.Element in a
// message, parse back the same at an edge.
func requireRoundTrip(t *testing.T, p *amp.Processor, rs amp.RuleSet, presence amp.Presence) *etree.Element {
	if len(rs.Rules) == 0 {
		return nil
	}
	back := readXML(t, `<message from='a@b/c' id='1'/>`)
	back.AddChild(rs.Element())
	again, err := p.Parse(back, amp.HopEdge, presence)
	require.NoError(t, err, "%v written as %s", rs, writeXML(back))
	require.Equal(t, rs, mustRules(t, again))
	return back
}

// fzProcessor builds a configuration from fuzzed bits: the actions and
// conditions listed (none: all), one that XEP-0079 does not define, and
// limits from -1 up. It returns nil when NewProcessor refuses it, after
// checking that it had to: an unknown name, a negative limit, or a
// MaxValueLen too short for a supported condition's values.
func fzProcessor(t *testing.T, acts, conds, maxRules, maxValueLen uint8) *amp.Processor {
	c := amp.Config{MaxRules: int(maxRules%8) - 1, MaxValueLen: int(maxValueLen%64) - 1}
	for i, a := range []amp.Action{amp.ActionAlert, amp.ActionDrop, amp.ActionError, amp.ActionNotify, "bogus"} {
		if acts&(1<<i) != 0 {
			c.Actions = append(c.Actions, a)
		}
	}
	for i, cond := range []amp.Condition{amp.ConditionDeliver, amp.ConditionExpireAt, amp.ConditionMatchResource, "bogus"} {
		if conds&(1<<i) != 0 {
			c.Conditions = append(c.Conditions, cond)
		}
	}
	p, err := amp.NewProcessor(c)
	bad := acts&0x10 != 0 || conds&0x08 != 0 || c.MaxRules < 0 || c.MaxValueLen < 0
	supported := c.Conditions
	if supported == nil {
		supported = []amp.Condition{amp.ConditionDeliver, amp.ConditionExpireAt, amp.ConditionMatchResource}
	}
	for _, cond := range supported {
		bad = bad || c.MaxValueLen > 0 && c.MaxValueLen < valueRoom[cond]
	}
	require.Equal(t, bad, err != nil, "NewProcessor(%+v) = %v", c, err)
	return p
}

// fzDeliveries are the deliveries FuzzEvaluate chooses from: none, the
// XEP's five, and one it does not define. Evaluate refuses the first and
// the last.
var fzDeliveries = []amp.Delivery{"", amp.DeliveryDirect, amp.DeliveryForward, amp.DeliveryGateway, amp.DeliveryNone, amp.DeliveryStored, "bogus"}

// FuzzEvaluate processes a fuzzed message under a fuzzed configuration,
// hop, presence and outcome, and checks the invariants of a Result.
func FuzzEvaluate(f *testing.F) {
	for i, s := range fzSeeds() {
		for j := range 4 {
			k := uint8(i*4 + j)
			f.Add([]byte(s), k, "r", int64(1072915200+int(k)-8), k/3, k/5, j%2 == 0, k%16, k/2%8, k/7, k)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, delivery uint8, resource string, unix int64, hop, next uint8, presence bool, acts, conds, maxRules, maxValueLen uint8) {
		msg := readStanza(data, conds&0x80 != 0)
		p := fzProcessor(t, acts, conds, maxRules, maxValueLen)
		if msg == nil || p == nil {
			return
		}
		before := writeXML(msg)
		o := amp.Outcome{Delivery: fzDeliveries[int(delivery)%len(fzDeliveries)], Resource: resource, NextHop: amp.NextHop(next % 3)}
		if unix != 0 {
			o.Time = time.Unix(unix, 0).UTC()
		}
		req, err := p.Parse(msg, amp.Hop(hop%2), amp.Presence(presence))
		if err != nil {
			return // FuzzParse checks refusals
		}
		fzCheckResult(t, p, msg, req, amp.Hop(hop%2), o, amp.Presence(presence))
		require.Equal(t, before, writeXML(msg), "processing modified the message")
		if conds&0x80 == 0 {
			fzCheckLinear(t, p, msg, amp.Hop(hop%2), amp.Presence(presence), o)
		}
	})
}

func fzCheckResult(t *testing.T, p *amp.Processor, msg *etree.Element, req amp.Request, hop amp.Hop, o amp.Outcome, presence amp.Presence) {
	res, err := req.Evaluate(o)
	if !slices.Contains(allDeliveries, o.Delivery) {
		require.Error(t, err, "Evaluate with Delivery %q", o.Delivery)
		require.Equal(t, amp.Result{}, res)
		return
	}
	require.NoError(t, err)
	replies := res.Replies(domain)
	requireBounded(t, p, msg, replies...)
	probe := mustEvaluate(t, req, amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopNoAMP})
	noRequest := probe.Proceed() // only a message without a request goes on to a next hop without AMP

	// Notify events, each echoing its rule, then at most one alert, error
	// or service-unavailable, last.
	var notified []amp.Rule
	last := ""
	for i, reply := range replies {
		ev := amp.ParseEvent(reply)
		require.NotNil(t, ev, "not an AMP reply: %s", writeXML(reply))
		kind := string(ev.Status)
		if kind == "" {
			require.NotNil(t, ev.Err, writeXML(reply))
			require.Equal(t, amp.ErrServiceUnavailable, ev.Err.Kind, writeXML(reply))
			kind = "service-unavailable"
		}
		if kind == string(amp.ActionNotify) {
			require.Len(t, ev.Rules, 1, writeXML(reply))
			notified = append(notified, ev.Rules[0])
			continue
		}
		require.Equal(t, len(replies)-1, i, "a reply after the one that ends processing: %s", writeAll(replies...))
		require.Contains(t, []string{string(amp.ActionAlert), string(amp.ActionError), "service-unavailable"}, kind)
		last = kind
	}
	switch {
	case noRequest:
		require.True(t, res.Proceed(), "a message without a request")
		require.Empty(t, replies, "replies for a message without a request")
		require.Same(t, msg, res.Message(), "a message without a request is passed on as given")
		return
	case last != "":
		require.False(t, res.Proceed(), "Proceed after %s", last)
	}
	if last == "service-unavailable" {
		require.Equal(t, amp.NextHopNoAMP, o.NextHop, "service-unavailable for a next hop with AMP")
	}
	if o.NextHop == amp.NextHopNoAMP {
		require.False(t, res.Proceed(), "a request goes on to a next hop without AMP")
	}
	if presence == amp.PresenceDenied {
		require.Empty(t, notified, "events for a sender who may not see presence")
		require.NotContains(t, []string{string(amp.ActionAlert), string(amp.ActionError)}, last)
	}
	rs, known := requestRules(t, req)
	if !res.Proceed() && last == "" && known {
		require.True(t, slices.ContainsFunc(rs.Rules, func(r amp.Rule) bool { return r.Action == amp.ActionDrop }),
			"dropped without a drop rule: %v", rs)
	}

	// Result.Request evaluates the same again: nothing of res has fired.
	again := mustEvaluate(t, res.Request(), o)
	require.Equal(t, writeAll(replies...)+writeXML(res.Message()), writeAll(again.Replies(domain)...)+writeXML(again.Message()))

	// The message passed on: nil unless Proceed; unchanged when routed on
	// or at a transit hop; without <amp/> when delivered here; with the
	// rules that did not fire when stored.
	out := res.Message()
	require.Equal(t, res.Proceed(), out != nil)
	if out == nil {
		return
	}
	require.NotSame(t, msg, out, "a message with a request is passed on as a copy")
	if hop == amp.HopTransit || o.NextHop != amp.NextHopLocal {
		require.Equal(t, canonicalInPlace(msg), canonical(out), "a message routed on is passed on unchanged")
		return
	}
	if o.Delivery != amp.DeliveryStored {
		require.Equal(t, amp.RuleSet{}, ampOf(out), "a delivered message keeps <amp/>: %s", writeXML(out))
		return
	}
	if !known {
		return
	}
	rest := slices.Clone(rs.Rules)
	for _, r := range notified {
		i := slices.Index(rest, r)
		require.GreaterOrEqual(t, i, 0, "notified rule %v is not a rule of the request", r)
		rest = slices.Delete(rest, i, i+1)
	}
	if len(rest) == 0 {
		rest = nil
	}
	require.Equal(t, rest, ampOf(out).Rules, "the rules stored: %s", writeXML(out))
}

// fzScale returns msg with its children, and the children of its first
// <amp/>, repeated four times: an input about four times as large.
func fzScale(msg *etree.Element) *etree.Element {
	out := msg.Copy()
	var amp *etree.Element
	for _, c := range out.ChildElements() {
		if c.Tag == "amp" && amp == nil {
			amp = c
		}
	}
	for _, el := range []*etree.Element{amp, out} {
		if el == nil {
			continue
		}
		kids := slices.Clone(el.Child)
		for range 3 {
			for _, k := range kids {
				if c, ok := k.(*etree.Element); ok && c != amp {
					el.AddChild(c.Copy())
				}
			}
		}
	}
	return out
}

// fzCheckLinear checks that the allocations of processing a message four
// times as large grow at most about four times, plus a constant for the
// replies and refusals a larger request may switch to.
func fzCheckLinear(t *testing.T, p *amp.Processor, msg *etree.Element, hop amp.Hop, presence amp.Presence, o amp.Outcome) {
	small, large := linAllocs(p, msg, hop, presence, o, 1), linAllocs(p, fzScale(msg), hop, presence, o, 1)
	require.LessOrEqual(t, large, 4.5*small+64, "allocations: %v for the message, %v for it four times over", small, large)
}

// linProcess is every call a server makes for one message.
func linProcess(p *amp.Processor, msg *etree.Element, hop amp.Hop, presence amp.Presence, o amp.Outcome) {
	res, e := process(p, msg, hop, presence, o)
	e.Reply(domain)
	res.Replies(domain)
	res.Message()
	again, _ := res.Request().Evaluate(amp.Outcome{Delivery: amp.DeliveryStored})
	again.Message()
}

// process is Parse and, unless it refuses the request, Evaluate: the
// Result, or the zero Result and the *Error to send.
func process(p *amp.Processor, msg *etree.Element, hop amp.Hop, presence amp.Presence, o amp.Outcome) (amp.Result, *amp.Error) {
	req, err := p.Parse(msg, hop, presence)
	var e *amp.Error
	if errors.As(err, &e) {
		return amp.Result{}, e
	}
	res, _ := req.Evaluate(o)
	return res, nil
}

// linAllocs is the allocations of linProcess, per run.
func linAllocs(p *amp.Processor, msg *etree.Element, hop amp.Hop, presence amp.Presence, o amp.Outcome, runs int) float64 {
	return testing.AllocsPerRun(runs, func() { linProcess(p, msg, hop, presence, o) })
}

// linBytes is the bytes linProcess allocates, per run.
func linBytes(p *amp.Processor, msg *etree.Element, o amp.Outcome, runs int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		linProcess(p, msg, amp.HopEdge, amp.PresenceAuthorized, o)
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(runs)
}

// linShapes are inputs of size n of each shape whose cost could grow
// faster than its size, with the processor and outcome they run under.
var linShapes = []struct {
	name string
	cfg  amp.Config
	make func(n int) *etree.Element
}{
	{"rules, refused", amp.Config{}, func(n int) *etree.Element {
		return mustReadXML(requestXML("", strings.Repeat(notifyRule, n)))
	}},
	{"rules, each met", amp.Config{MaxRules: 1 << 20}, func(n int) *etree.Element {
		return mustReadXML(requestXML("", strings.Repeat(notifyRule, n)))
	}},
	{"deep payload", amp.Config{}, func(n int) *etree.Element {
		return deepen(mustReadXML(requestXML("", notifyRule+dropRule)), n)
	}},
	{"children", amp.Config{}, func(n int) *etree.Element {
		return mustReadXML(requestXML("", notifyRule+strings.Repeat(`</amp><x xmlns='urn:x' a='1'>t</x><amp xmlns='urn:y'>`, n)))
	}},
	{"long value, met", amp.Config{MaxValueLen: 1 << 30}, func(n int) *etree.Element {
		return mustReadXML(requestXML("", ruleXML("expire-at", "notify", "2004-01-01T00:00:00."+strings.Repeat("1", n)+"Z")))
	}},
	{"long value, refused", amp.Config{}, func(n int) *etree.Element {
		return mustReadXML(requestXML("", ruleXML("deliver", "notify", strings.Repeat("é", n))+notifyRule))
	}},
}

// TestLinearCost builds inputs of each shape of size n and 4n and checks
// that the allocations, and the bytes allocated, of every call a server
// makes grow at most 4.5 times (issue 10). It measures no time.
func TestLinearCost(t *testing.T) {
	o := amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony", Time: time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC)}
	const n = 1000
	for _, s := range linShapes {
		t.Run(s.name, func(t *testing.T) {
			p, err := amp.NewProcessor(s.cfg)
			require.NoError(t, err)
			small, large := s.make(n), s.make(4*n)
			a1, a4 := linAllocs(p, small, amp.HopEdge, amp.PresenceAuthorized, o, 5), linAllocs(p, large, amp.HopEdge, amp.PresenceAuthorized, o, 5)
			require.LessOrEqual(t, a4, 4.5*a1, "allocations: %v at size n, %v at 4n", a1, a4)
			b1, b4 := linBytes(p, small, o, 5), linBytes(p, large, o, 5)
			require.LessOrEqual(t, b4, 4.5*b1, "bytes allocated: %v at size n, %v at 4n", b1, b4)
		})
	}
}

// FuzzRoundTrip parses a message and writes its request's rules, as the
// library echoes them, with RuleSet.Element, and parses them again: the
// same rules come back, in memory, and through XML when no value holds a
// tab or a line end (which XML normalizes unless written as references).
// It also stores the message, writes the stored copy and resumes it: the
// rules Resume reads are the rules the copy keeps.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range fzSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return // many rules add nothing here, and slow minimization down
		}
		p, err := amp.NewProcessor(amp.Config{MaxRules: 1 << 10})
		require.NoError(t, err)
		msg := readStanza(data, false)
		if msg == nil {
			return
		}
		req, err := p.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
		if err != nil {
			return // FuzzParse checks refusals
		}
		rs, ok := requestRules(t, req)
		if !ok {
			return
		}
		back := requireRoundTrip(t, p, rs, amp.PresenceAuthorized)
		if back == nil || strings.ContainsAny(fmt.Sprint(rs.Rules), "\t\n\r") {
			return
		}
		wire, err := parseXML(writeXML(back))
		require.NoError(t, err)
		again, err := p.Parse(wire, amp.HopEdge, amp.PresenceAuthorized)
		require.NoError(t, err, writeXML(back))
		require.Equal(t, rs, mustRules(t, again))

		res := mustEvaluate(t, req, amp.Outcome{Delivery: amp.DeliveryStored})
		stored := res.Message()
		if stored == nil {
			return
		}
		read, err := parseXML(writeXML(stored))
		require.NoError(t, err, writeXML(stored))
		require.Equal(t, canonical(stored), canonical(read))
		resumed, err := p.Resume(read, amp.PresenceAuthorized)
		require.NoError(t, err, "Resume of %s", writeXML(stored))
		if got, ok := requestRules(t, resumed); ok {
			require.Equal(t, ampOf(stored), got, "the rules resumed from %s", writeXML(stored))
		}
	})
}
