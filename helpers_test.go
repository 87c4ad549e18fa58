package amp_test

// The one place for reading, writing and comparing XML in the tests, and
// for the XEP's examples in testdata/.

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	update   = flag.Bool("update", false, "with -spec: copy the XEP's examples into testdata/ again")
	specPath = flag.String("spec", "", "the path of xep-0079.xml, to check testdata/ against it (or copy from it with -update)")
)

// readXML parses one element as a server reads it: repeated attributes are
// kept, and a root that declares no namespace is in jabber:client, as on a
// client stream.
func readXML(t testing.TB, s string) *etree.Element {
	t.Helper()
	el, err := parseXML(s)
	require.NoError(t, err, "parsing %q", s)
	return el
}

// parseXML is readXML returning an error, for fuzz targets and helpers.
func parseXML(s string) (*etree.Element, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveDuplicateAttrs = true
	if err := doc.ReadFromString(s); err != nil {
		return nil, err
	}
	root := doc.Root()
	if root == nil {
		return nil, errors.New("no element")
	}
	if root.Space == "" && root.NamespaceURI() == "" {
		root.CreateAttr("xmlns", "jabber:client")
	}
	return root, nil
}

// writeXML writes el as compact XML with the namespaces it inherits; ""
// for nil.
func writeXML(el *etree.Element) string {
	if el == nil {
		return ""
	}
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	s, err := doc.WriteToString()
	if err != nil {
		panic(err)
	}
	return s
}

// canonical writes el for comparison: each element as {namespace}tag, its
// attributes sorted with namespace declarations left out, its non-blank
// text trimmed, its children in order. Written out and read back first, el
// must declare its namespaces itself.
func canonical(el *etree.Element) string {
	if el == nil {
		return "<nil>"
	}
	back, err := parseXML(writeXML(el))
	if err != nil {
		return "unreadable: " + err.Error()
	}
	var b strings.Builder
	writeCanonical(&b, back, 0)
	return b.String()
}

// canonicalInPlace is canonical for an element read in place, such as a
// stanza under its stream's element: its namespaces are resolved through
// its ancestors, where canonical would lose what they declare.
func canonicalInPlace(el *etree.Element) string {
	if el == nil {
		return "<nil>"
	}
	var b strings.Builder
	writeCanonical(&b, el, 0)
	return b.String()
}

func writeCanonical(b *strings.Builder, el *etree.Element, depth int) {
	b.WriteString(strings.Repeat("  ", depth) + "{" + el.NamespaceURI() + "}" + el.Tag)
	var attrs []string
	for _, a := range el.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		key := a.Key
		if a.Space != "" {
			key = "{" + a.NamespaceURI() + "}" + a.Key
		}
		attrs = append(attrs, fmt.Sprintf("%s=%q", key, a.Value))
	}
	sort.Strings(attrs)
	for _, a := range attrs {
		b.WriteString(" " + a)
	}
	b.WriteString("\n")
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			writeCanonical(b, t, depth+1)
		case *etree.CharData:
			if s := strings.TrimSpace(t.Data); s != "" {
				b.WriteString(strings.Repeat("  ", depth+1) + "text " + s + "\n")
			}
		}
	}
}

// assertXML checks that got is the element want, written as XML, as
// trees; want "" means got must be nil.
func assertXML(t testing.TB, want string, got *etree.Element, msgAndArgs ...any) {
	t.Helper()
	if want == "" {
		require.Nil(t, got, msgAndArgs...)
		return
	}
	require.Equal(t, canonical(readXML(t, want)), canonical(got), msgAndArgs...)
}

// assertXMLs is assertXML for a list of elements.
func assertXMLs(t testing.TB, want []string, got []*etree.Element, msgAndArgs ...any) {
	t.Helper()
	var w, g []string
	for _, s := range want {
		w = append(w, canonical(readXML(t, s)))
	}
	for _, el := range got {
		g = append(g, canonical(el))
	}
	require.Equal(t, w, g, msgAndArgs...)
}

// specExample is one example of XEP-0079, numbered as the XEP numbers them.
type specExample struct {
	Number  int
	Caption string
	Text    string
	sum     string // the SHA-256 that testdata/examples.txt records
}

// File is the name of the example's file in testdata/.
func (e specExample) File() string {
	slug := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(e.Caption), "-"), "-")
	return fmt.Sprintf("example-%02d-%s.xml", e.Number, slug)
}

// Name is how tests cite the example.
func (e specExample) Name() string {
	return fmt.Sprintf("Example %d: %s", e.Number, e.Caption)
}

// examples lists the XEP's examples as testdata/ holds them, from the
// index testdata/examples.txt: file, caption and SHA-256 of the text.
var examples = func() []specExample {
	b, err := os.ReadFile("testdata/examples.txt")
	if err != nil {
		panic(err)
	}
	var out []specExample
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		file, rest, _ := strings.Cut(line, "\t")
		caption, sum, _ := strings.Cut(rest, "\t")
		text, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			panic(err)
		}
		out = append(out, specExample{Number: i + 1, Caption: caption, Text: string(text), sum: sum})
	}
	return out
}()

// example returns the XEP's example number n, read as a server reads it,
// after checking that its caption is the one the test cites.
func example(t testing.TB, n int, caption string) *etree.Element {
	t.Helper()
	e := examples[n-1]
	require.Equal(t, caption, e.Caption, "example %d", n)
	return readXML(t, e.Text)
}

var exampleRE = regexp.MustCompile(`(?s)<example caption=(?:'([^']*)'|"([^"]*)")><!\[CDATA\[\n?(.*?)\]\]></example>`)

// TestSpecExamples checks that testdata/ holds the 26 examples of XEP-0079
// exactly as the specification writes them. Each file is checked against
// the SHA-256 its index records; with -spec PATH, against the
// specification itself, and with -spec PATH -update the files and the
// index are copied from it again.
func TestSpecExamples(t *testing.T) {
	require.Len(t, examples, 26)
	for _, e := range examples {
		require.Equal(t, e.sum, fmt.Sprintf("%x", sha256.Sum256([]byte(e.Text))), "%s: testdata/%s", e.Name(), e.File())
	}
	if *specPath == "" {
		return
	}
	b, err := os.ReadFile(*specPath)
	require.NoError(t, err)
	var want []specExample
	for i, m := range exampleRE.FindAllStringSubmatch(string(b), -1) {
		want = append(want, specExample{Number: i + 1, Caption: m[1] + m[2], Text: m[3]})
	}
	require.Len(t, want, 26, "examples in %s", *specPath)
	if *update {
		var index strings.Builder
		for _, e := range want {
			fmt.Fprintf(&index, "%s\t%s\t%x\n", e.File(), e.Caption, sha256.Sum256([]byte(e.Text)))
			require.NoError(t, os.WriteFile(filepath.Join("testdata", e.File()), []byte(e.Text), 0o644))
		}
		require.NoError(t, os.WriteFile("testdata/examples.txt", []byte(index.String()), 0o644))
		return
	}
	for i, w := range want {
		require.Equal(t, w.Caption, examples[i].Caption, w.Name())
		require.Equal(t, w.Text, examples[i].Text, "%s: testdata/%s differs from the XEP; run go test -run TestSpecExamples -spec PATH -update", w.Name(), w.File())
	}
}

// mustReadXML is readXML for Example functions, which have no testing.TB:
// it panics on XML that does not parse.
func mustReadXML(s string) *etree.Element {
	el, err := parseXML(s)
	if err != nil {
		panic(fmt.Sprintf("parsing %q: %v", s, err))
	}
	return el
}

// Builders of the tests' messages and rules, written as XML, and the
// drivers and checks more than one test uses.

// The parties of the tests' messages: the sender, the recipient as the
// sender addressed it, the processing server, and the messages' id.
const (
	sender    = "romeo@montague.lit/orchard"
	recipient = "juliet@capulet.lit/balcony"
	bare      = "juliet@capulet.lit"
	domain    = "capulet.lit"
	msgID     = "m1"
)

func rule(c amp.Condition, a amp.Action, v string) amp.Rule {
	return amp.Rule{Condition: c, Action: a, Value: v}
}

// rulesXML writes rules as <rule/> elements, leaving out empty attributes.
func rulesXML(rules ...amp.Rule) string {
	var b strings.Builder
	for _, r := range rules {
		b.WriteString("<rule")
		for _, kv := range [][2]string{{"condition", string(r.Condition)}, {"action", string(r.Action)}, {"value", r.Value}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, " %s='%s'", kv[0], kv[1])
			}
		}
		b.WriteString("/>")
	}
	return b.String()
}

// requestTo is a chat message from sender to to, with id msgID, a body
// and a thread around an <amp/> that carries ampAttrs (" per-hop='true'",
// say) and holds rules, written as XML. A reply must echo neither.
func requestTo(to, ampAttrs, rules string) string {
	return fmt.Sprintf(`<message xmlns='jabber:client' from='%s' to='%s' id='%s' type='chat'><body>secret</body><amp xmlns='%s'%s>%s</amp><thread>leak</thread></message>`,
		sender, to, msgID, amp.NS, ampAttrs, rules)
}

// requestXML is requestTo the recipient.
func requestXML(ampAttrs, rules string) string { return requestTo(recipient, ampAttrs, rules) }

// message reads requestTo(to, ampAttrs, rules).
func message(t testing.TB, to, ampAttrs, rules string) *etree.Element {
	t.Helper()
	return readXML(t, requestTo(to, ampAttrs, rules))
}

func mustTime(s string) time.Time {
	t, err := amp.ParseDateTime(s)
	if err != nil {
		panic(err)
	}
	return t
}

// evaluate parses msg with p at hop for a sender with presence
// authorization, requires it to be acceptable, and evaluates it.
func evaluate(t testing.TB, p *amp.Processor, msg *etree.Element, hop amp.Hop, o amp.Outcome) amp.Result {
	t.Helper()
	req, err := p.Parse(msg, hop, amp.PresenceAuthorized)
	require.NoError(t, err)
	return mustEvaluate(t, req, o)
}

// mustEvaluate evaluates req under o, which must be an Outcome Evaluate
// accepts.
func mustEvaluate(t testing.TB, req amp.Request, o amp.Outcome) amp.Result {
	t.Helper()
	res, err := req.Evaluate(o)
	require.NoError(t, err, "Evaluate(%+v)", o)
	return res
}

const (
	dropRule   = `<rule condition='deliver' action='drop' value='stored'/>`
	alertRule  = `<rule condition='deliver' action='alert' value='stored'/>`
	notifyRule = `<rule condition='deliver' action='notify' value='direct'/>`
	bogusRule  = `<rule condition='deliver' action='bogus' value='none'/>`
)

// messageXML is a message from sender whose children are content.
func messageXML(attrs, content string) string {
	return fmt.Sprintf(`<message from='%s' id='%s'%s>%s</message>`, sender, msgID, attrs, content)
}

// refusalXML is the refusal domain sends to sender: the echo of the
// request (its <amp/> attributes and rules) and the <error/> of kind
// listing the rules listed.
func refusalXML(echoAttrs, echo string, kind error, listed string) string {
	return fmt.Sprintf(`<message xmlns='jabber:client' from='%s' to='%s' id='%s' type='error'><amp xmlns='http://jabber.org/protocol/amp'%s>%s</amp>%s</message>`, domain, sender, msgID, echoAttrs, echo, errorXML(kind, listed))
}

// errorXML is the <error/> of a refusal of kind, listing rules.
func errorXML(kind error, rules string) string {
	code, condition := "400", "bad-request"
	if kind == amp.ErrNotAcceptable {
		code, condition = "405", "not-acceptable"
	}
	e := fmt.Sprintf(`<error type='modify' code='%s'><%s xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>`, code, condition)
	if c := map[error]string{amp.ErrNotAcceptable: "invalid-rules", amp.ErrUnsupportedAction: "unsupported-actions", amp.ErrUnsupportedCondition: "unsupported-conditions"}[kind]; c != "" {
		e += fmt.Sprintf(`<%s xmlns='%s'>%s</%s>`, c, amp.NS, rules, c)
	}
	return e + `</error>`
}

// ruleXML writes one rule with all three attributes.
func ruleXML(condition, action, value string) string {
	return fmt.Sprintf(`<rule condition='%s' action='%s' value='%s'/>`, condition, action, value)
}

// repeatXML writes f(i) for i from first to last, both included.
func repeatXML(first, last int, f func(i int) string) string {
	var b strings.Builder
	for i := first; i <= last; i++ {
		b.WriteString(f(i))
	}
	return b.String()
}

// numberedRule is rule i of a request of many numbered rules.
func numberedRule(i int) string { return ruleXML("deliver", "drop", strconv.Itoa(i)) }

// deepXML is junk nested n levels deep.
func deepXML(n int) string {
	return strings.Repeat("<junk a='1'>", n) + "<body>leak</body>" + strings.Repeat("</junk>", n)
}

// replyEnvelope is the constant of the reply bound: the markup of a reply's
// <message/>, <amp/> and <error/>, outside the rules it carries and the
// message's attributes it copies.
const replyEnvelope = 1024

// replyBound is the most bytes a reply to msg may take as XML under the
// limits of p: 2*MaxRules rules, each of 64 bytes of markup and at most
// 3*MaxValueLen bytes of attributes, escaped (6 bytes for a byte at worst),
// plus replyEnvelope and the message's attributes (from, to and id are
// copied, from twice), escaped.
func replyBound(p *amp.Processor, msg *etree.Element) int {
	c := p.Config()
	attrs := 0
	for _, a := range msg.Attr {
		attrs += len(a.Value)
	}
	return replyEnvelope + 2*6*attrs + 2*c.MaxRules*(64+6*3*c.MaxValueLen)
}

// requireBounded checks that every reply to msg is within replyBound.
func requireBounded(t testing.TB, p *amp.Processor, msg *etree.Element, replies ...*etree.Element) {
	t.Helper()
	for _, r := range replies {
		n, bound := len(writeXML(r)), replyBound(p, msg)
		require.LessOrEqual(t, n, bound, "a reply of %d bytes, over the bound %d", n, bound)
	}
}

// deepen adds to msg, as its first child, a payload n levels deep.
func deepen(msg *etree.Element, n int) *etree.Element {
	if n > 0 {
		el := etree.NewElement("payload")
		el.CreateAttr("xmlns", "urn:x")
		msg.InsertChildAt(0, el)
		for range n {
			el = el.CreateElement("junk")
			el.CreateAttr("a", "1")
		}
		el.CreateElement("body").SetText("leak")
	}
	return msg
}

// boundOutcomes are the outcomes under which the hostile table evaluates the
// requests it accepts, so that every reply they can give is bounded.
var boundOutcomes = func() []amp.Outcome {
	var out []amp.Outcome
	for _, d := range []amp.Delivery{amp.DeliveryDirect, amp.DeliveryForward, amp.DeliveryGateway, amp.DeliveryNone, amp.DeliveryStored} {
		for _, n := range []amp.NextHop{amp.NextHopLocal, amp.NextHopNoAMP} {
			out = append(out, amp.Outcome{Delivery: d, Resource: "balcony", Time: time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC), NextHop: n})
		}
	}
	return out
}()

// readStanza reads data as a server reads a stanza: on its own, or as the
// first child of a client stream that declares the prefixes x (jabber:client)
// and a (AMP).
func readStanza(data []byte, inStream bool) *etree.Element {
	if !inStream {
		msg, _ := parseXML(string(data))
		return msg
	}
	root, err := parseXML(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xmlns:x='jabber:client' xmlns:a='http://jabber.org/protocol/amp'>` + string(data) + `</stream:stream>`)
	if err != nil || len(root.ChildElements()) == 0 {
		return nil
	}
	return root.ChildElements()[0]
}

// writeAll writes els, one a line.
func writeAll(els ...*etree.Element) string {
	var b strings.Builder
	for _, el := range els {
		b.WriteString(writeXML(el) + "\n")
	}
	return b.String()
}

var (
	allDeliveries = []amp.Delivery{amp.DeliveryDirect, amp.DeliveryForward, amp.DeliveryGateway, amp.DeliveryNone, amp.DeliveryStored}
	allActions    = []amp.Action{amp.ActionAlert, amp.ActionDrop, amp.ActionError, amp.ActionNotify}
)

// effect is what a Result does: whether the server goes on, the action
// that overrode it, and what each reply is: its status, or
// "service-unavailable".
type effect struct {
	Proceed bool
	Action  amp.Action
	Replies []string
}

var goesOn = effect{Proceed: true}

// metRule is the effect of one met rule with action a.
func metRule(a amp.Action) effect {
	switch a {
	case amp.ActionNotify:
		return effect{Proceed: true, Replies: []string{"notify"}}
	case amp.ActionDrop:
		return effect{Action: a}
	}
	return effect{Action: a, Replies: []string{string(a)}}
}

// effectOf returns what res does for msg, after checking what every reply
// must be: from the server to the sender, with the message's id, without
// its body, and readable by ParseEvent. The overriding action is read from
// the replies: an alert or an error event says so, and a Result that does
// not proceed with nothing but notify events was dropped.
func effectOf(t testing.TB, msg *etree.Element, res amp.Result) effect {
	t.Helper()
	e := effect{Proceed: res.Proceed()}
	for _, reply := range res.Replies(domain) {
		ev := amp.ParseEvent(reply)
		require.NotNil(t, ev, "reply is not an AMP event: %s", writeXML(reply))
		assert.Equal(t, [3]string{domain, msg.SelectAttrValue("from", ""), msg.SelectAttrValue("id", "")},
			[3]string{reply.SelectAttrValue("from", ""), reply.SelectAttrValue("to", ""), ev.ID}, "reply from, to, id")
		assert.Nil(t, reply.SelectElement("body"), "a reply carries the body: %s", writeXML(reply))
		switch {
		case ev.Status != "":
			e.Replies = append(e.Replies, string(ev.Status))
		case ev.Err != nil && ev.Err.Kind == amp.ErrServiceUnavailable:
			e.Replies = append(e.Replies, "service-unavailable")
		default:
			t.Fatalf("unexpected reply %s", writeXML(reply))
		}
	}
	if !e.Proceed {
		e.Action = amp.ActionDrop
		if n := len(e.Replies); n > 0 {
			switch last := e.Replies[n-1]; last {
			case string(amp.ActionAlert), string(amp.ActionError):
				e.Action = amp.Action(last)
			case "service-unavailable":
				e.Action = ""
			}
		}
		assert.Nil(t, res.Message(), "Message when the server does not go on")
	}
	return e
}

// firedRules returns the rules the replies of res report: the rule of each
// notify event, then of the alert or the error of the error action.
func firedRules(t testing.TB, res amp.Result) []amp.Rule {
	t.Helper()
	var out []amp.Rule
	for _, reply := range res.Replies(domain) {
		ev := amp.ParseEvent(reply)
		require.NotNil(t, ev, "reply is not an AMP event: %s", writeXML(reply))
		if ev.Status != "" {
			require.Len(t, ev.Rules, 1, "an event carries one rule: %s", writeXML(reply))
			out = append(out, ev.Rules...)
		}
	}
	return out
}

// ampOf returns the request <amp/> of el as written, read by the test
// itself: the first child named amp in the AMP namespace, its per-hop and
// its <rule/> children in that namespace; the zero RuleSet when el carries
// none.
func ampOf(el *etree.Element) amp.RuleSet {
	var rs amp.RuleSet
	if el == nil {
		return rs
	}
	for _, c := range el.ChildElements() {
		if c.Tag != "amp" || c.NamespaceURI() != amp.NS {
			continue
		}
		rs.PerHop = fzAttr(c, "per-hop") == "true"
		for _, r := range c.ChildElements() {
			if r.Tag == "rule" && r.NamespaceURI() == amp.NS {
				rs.Rules = append(rs.Rules, amp.Rule{Condition: amp.Condition(fzAttr(r, "condition")), Action: amp.Action(fzAttr(r, "action")), Value: fzAttr(r, "value")})
			}
		}
		return rs
	}
	return rs
}

// kept returns the <amp/> of a message passed on, as written; the zero
// RuleSet for none.
func kept(t testing.TB, msg *etree.Element) amp.RuleSet {
	t.Helper()
	require.NotNil(t, msg, "no message to pass on")
	return ampOf(msg)
}

// requestRules returns the rules of req as the library read them, as the
// service-unavailable it answers to a next hop without AMP echoes them
// (unchecked, at most MaxRules, cut to MaxValueLen), and whether it could
// tell: evaluated for each delivery in turn at a time that meets no
// expire-at, until one meets no rule that stops the message. A Request
// without rules echoes nothing.
func requestRules(t testing.TB, req amp.Request) (amp.RuleSet, bool) {
	t.Helper()
	for _, d := range allDeliveries {
		res := mustEvaluate(t, req, amp.Outcome{Delivery: d, NextHop: amp.NextHopNoAMP})
		replies := res.Replies(domain)
		if res.Proceed() {
			require.Empty(t, replies, "a Result that proceeds to a next hop without AMP")
			return amp.RuleSet{}, true
		}
		if len(replies) == 0 {
			continue
		}
		ev := amp.ParseEvent(replies[len(replies)-1])
		require.NotNil(t, ev)
		if ev.Err != nil && ev.Err.Kind == amp.ErrServiceUnavailable {
			return amp.RuleSet{PerHop: ev.PerHop, Rules: ev.Rules}, true
		}
	}
	return amp.RuleSet{}, false
}

// mustRules is requestRules for a request that can tell.
func mustRules(t testing.TB, req amp.Request) amp.RuleSet {
	t.Helper()
	rs, ok := requestRules(t, req)
	require.True(t, ok, "the request's rules stop the message whatever the delivery")
	return rs
}

// valueRoom is the shortest MaxValueLen NewProcessor accepts for each
// condition: the room its values need.
var valueRoom = map[amp.Condition]int{amp.ConditionDeliver: 7, amp.ConditionExpireAt: 20, amp.ConditionMatchResource: 5}
