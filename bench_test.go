package amp_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// The benchmarks measure what AMP costs a server per message, against the
// baseline of BenchmarkParseStanza: etree reading the bytes of one chat
// message. Compare them within one run:
//
//	go test -run '^$' -bench . -benchmem -count 10

// benchServer is the processing server's JID.
const benchServer = "example.net"

// benchOutcome is a direct delivery to the resource the message is
// addressed to.
var benchOutcome = amp.Outcome{
	Deliver:  amp.DeliverDirect,
	Resource: "laptop",
	Time:     time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC),
	Presence: amp.PresenceAuthorized,
}

// Sinks keep the compiler from discarding the work measured.
var (
	sinkDeliver bool
	sinkMsg     *etree.Element
	sinkReplies []*etree.Element
	sinkBytes   []byte
	sinkDoc     *etree.Document
)

// benchChat returns the bytes of testdata/bench-chat.xml: a chat message
// with a body, a thread, a receipt request and three AMP rules.
func benchChat(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/bench-chat.xml")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// benchChatNoAMP returns the chat message without its <amp/>.
func benchChatNoAMP(tb testing.TB) []byte {
	tb.Helper()
	s := string(benchChat(tb))
	i, j := strings.Index(s, "<amp "), strings.Index(s, "</amp>")
	if i < 0 || j < i {
		tb.Fatal("testdata/bench-chat.xml has no <amp/>")
	}
	return []byte(s[:i] + s[j+len("</amp>"):])
}

// parseRoot reads b into a document and returns its root element.
func parseRoot(tb testing.TB, b []byte) *etree.Element {
	tb.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		tb.Fatal(err)
	}
	if doc.Root() == nil {
		tb.Fatal("no root element")
	}
	return doc.Root()
}

// BenchmarkParseStanza is the baseline: etree reading one chat message.
func BenchmarkParseStanza(b *testing.B) {
	data := benchChat(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(data); err != nil {
			b.Fatal(err)
		}
		sinkDoc = doc
	}
}

// noAMP is what a server does for a message without a request: Parse
// returns nil, and the server delivers the message as it is.
func noAMP(b *testing.B, msg *etree.Element) {
	for i := 0; i < b.N; i++ {
		rs, err := amp.Parse(msg)
		if err != nil {
			b.Fatal(err)
		}
		if rs == nil {
			sinkMsg = msg
		}
	}
	if sinkMsg != msg {
		b.Fatal("a message without a request was not passed on as it is")
	}
}

// noAMPAllCalls is every call the package documentation lists, made for a
// message without a request by a server that does not skip them when
// Parse returns nil: Parse, Validate, Evaluate, Replies and Message.
func noAMPAllCalls(b *testing.B, msg *etree.Element) {
	var cfg amp.Config
	for i := 0; i < b.N; i++ {
		rs, err := amp.Parse(msg)
		if err != nil {
			b.Fatal(err)
		}
		if err := cfg.Validate(rs, benchOutcome.Presence); err != nil {
			b.Fatal(err)
		}
		res := cfg.Evaluate(msg, rs, benchOutcome)
		sinkReplies = res.Replies(benchServer)
		sinkMsg = res.Message()
	}
	if sinkMsg != msg || sinkReplies != nil {
		b.Fatal("a message without a request was not passed on as it is")
	}
}

// BenchmarkNoAMP is the cost of AMP for the chat message without <amp/>.
func BenchmarkNoAMP(b *testing.B) {
	msg := parseRoot(b, benchChatNoAMP(b))
	b.ReportAllocs()
	b.ResetTimer()
	noAMP(b, msg)
}

// BenchmarkNoAMPAllCalls is BenchmarkNoAMP for a server that makes every
// call anyway.
func BenchmarkNoAMPAllCalls(b *testing.B) {
	msg := parseRoot(b, benchChatNoAMP(b))
	b.ReportAllocs()
	b.ResetTimer()
	noAMPAllCalls(b, msg)
}

// manyChildren returns a message with a body, 50 payload elements and no
// <amp/>.
func manyChildren(b *testing.B) *etree.Element {
	var sb strings.Builder
	sb.WriteString(`<message xmlns='jabber:client' from='alice@example.com/phone' to='bob@example.net/laptop' id='m1' type='chat'><body>hi</body>`)
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&sb, `<x%d xmlns='urn:example:payload:%d' n='%d'><y/></x%d>`, i, i, i, i)
	}
	sb.WriteString(`</message>`)
	msg := parseRoot(b, []byte(sb.String()))
	if n := len(msg.ChildElements()); n != 51 {
		b.Fatalf("got %d children, want 51", n)
	}
	return msg
}

// BenchmarkNoAMPManyChildren is the cost of AMP for a message with 50
// payload elements and no <amp/>: Parse looks at every child.
func BenchmarkNoAMPManyChildren(b *testing.B) {
	msg := manyChildren(b)
	b.ReportAllocs()
	b.ResetTimer()
	noAMP(b, msg)
}

// BenchmarkNoAMPManyChildrenAllCalls is BenchmarkNoAMPManyChildren for a
// server that makes every call anyway.
func BenchmarkNoAMPManyChildrenAllCalls(b *testing.B) {
	msg := manyChildren(b)
	b.ReportAllocs()
	b.ResetTimer()
	noAMPAllCalls(b, msg)
}

// BenchmarkParseStanzaManyChildren is etree reading the message of
// BenchmarkNoAMPManyChildren, its own baseline.
func BenchmarkParseStanzaManyChildren(b *testing.B) {
	var buf bytes.Buffer
	manyChildren(b).WriteTo(&buf, &etree.WriteSettings{})
	data := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(data); err != nil {
			b.Fatal(err)
		}
		sinkDoc = doc
	}
}

// evaluate is what a server does with a request before building replies,
// as the benchmarks do it in their loops.
func benchEvaluate(b *testing.B, cfg *amp.Config, msg *etree.Element) amp.Result {
	rs, err := amp.Parse(msg)
	if err != nil || rs == nil {
		b.Fatalf("Parse: %v, %v", rs, err)
	}
	if err := cfg.Validate(rs, benchOutcome.Presence); err != nil {
		b.Fatal(err)
	}
	return cfg.Evaluate(msg, rs, benchOutcome)
}

// hotPath is what a server does with a request on its hot path, before
// building replies: ParseInto a RuleSet it reuses, Validate, Evaluate.
func hotPath(b *testing.B, cfg *amp.Config, rs *amp.RuleSet, msg *etree.Element) amp.Result {
	if ok, err := amp.ParseInto(rs, msg); !ok || err != nil {
		b.Fatal(ok, err)
	}
	if err := cfg.Validate(rs, benchOutcome.Presence); err != nil {
		b.Fatal(err)
	}
	return cfg.Evaluate(msg, rs, benchOutcome)
}

// checkNotify checks that only the third rule of the chat message is met.
func checkNotify(b *testing.B, res amp.Result) {
	if n := res.Notified(); !res.Deliver || res.Action != "" || len(n) != 1 || n[0].Value != "direct" {
		b.Fatalf("got Deliver %v, Action %q, Notified %v, want only the third rule met", res.Deliver, res.Action, n)
	}
}

// BenchmarkEvaluate recognizes, parses, validates and evaluates the three
// rules of the chat message for a direct delivery to its resource: only the
// third rule, notify, is met. It parses with ParseInto into a RuleSet it
// reuses, as a server on its hot path does; BenchmarkEvaluateParse uses
// Parse.
func BenchmarkEvaluate(b *testing.B) {
	msg := parseRoot(b, benchChat(b))
	var cfg amp.Config
	checkNotify(b, benchEvaluate(b, &cfg, msg))
	var rs amp.RuleSet // reused, as a server keeps one per connection
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := hotPath(b, &cfg, &rs, msg)
		sinkDeliver = res.Deliver
	}
}

// BenchmarkNotify is BenchmarkEvaluate plus building the notify event.
func BenchmarkNotify(b *testing.B) {
	msg := parseRoot(b, benchChat(b))
	var cfg amp.Config
	checkNotify(b, benchEvaluate(b, &cfg, msg))
	var rs amp.RuleSet // reused, as a server keeps one per connection
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := hotPath(b, &cfg, &rs, msg)
		sinkReplies = res.Replies(benchServer)
	}
	if len(sinkReplies) != 1 {
		b.Fatalf("got %d replies, want 1", len(sinkReplies))
	}
}

// BenchmarkReplyBytes is BenchmarkNotify plus serializing the event into a
// buffer the server reuses.
func BenchmarkReplyBytes(b *testing.B) {
	msg := parseRoot(b, benchChat(b))
	var cfg amp.Config
	checkNotify(b, benchEvaluate(b, &cfg, msg))
	var rs amp.RuleSet // reused, as a server keeps one per connection
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := hotPath(b, &cfg, &rs, msg)
		buf = buf[:0]
		for _, r := range res.Replies(benchServer) {
			buf = amp.AppendXML(buf, r)
		}
		sinkBytes = buf
	}
	if !bytes.Contains(sinkBytes, []byte(`status="notify"`)) {
		b.Fatalf("got %s, want a notify event", sinkBytes)
	}
}

// BenchmarkEvaluateRules is BenchmarkEvaluate for requests of 1 to 32
// rules, the default limit, none of them met: every rule is parsed,
// validated and evaluated.
func BenchmarkEvaluateRules(b *testing.B) {
	unmet := []string{
		`<rule condition='deliver' action='drop' value='stored'/>`,
		`<rule condition='match-resource' action='error' value='other'/>`,
		`<rule condition='expire-at' action='alert' value='2100-01-01T00:00:00Z'/>`,
		`<rule condition='deliver' action='notify' value='none'/>`,
	}
	for _, n := range []int{1, 2, 4, 8, 16, 32} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			var sb strings.Builder
			sb.WriteString(`<message xmlns='jabber:client' from='alice@example.com/phone' to='bob@example.net/laptop' id='m1' type='chat'><body>hi</body><amp xmlns='http://jabber.org/protocol/amp'>`)
			for i := 0; i < n; i++ {
				sb.WriteString(unmet[i%len(unmet)])
			}
			sb.WriteString(`</amp></message>`)
			msg := parseRoot(b, []byte(sb.String()))
			var cfg amp.Config
			if res := benchEvaluate(b, &cfg, msg); !res.Deliver || res.Action != "" || res.Notified() != nil {
				b.Fatalf("got Deliver %v, Action %q, Notified %v, want no rule met", res.Deliver, res.Action, res.Notified())
			}
			var rs amp.RuleSet
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res := hotPath(b, &cfg, &rs, msg)
				sinkDeliver = res.Deliver
			}
		})
	}
}

// BenchmarkEvaluateParse is BenchmarkEvaluate with Parse, which allocates
// the RuleSet it returns.
func BenchmarkEvaluateParse(b *testing.B) {
	msg := parseRoot(b, benchChat(b))
	var cfg amp.Config
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rs, err := amp.Parse(msg)
		if rs == nil || err != nil {
			b.Fatal(rs, err)
		}
		if err := cfg.Validate(rs, benchOutcome.Presence); err != nil {
			b.Fatal(err)
		}
		res := cfg.Evaluate(msg, rs, benchOutcome)
		sinkDeliver = res.Deliver
	}
}
