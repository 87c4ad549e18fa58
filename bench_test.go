package amp_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/ampxmpp/amp/etreexml"
	"github.com/beevik/etree"
)

// The benchmarks measure what AMP costs a server per message against
// BenchmarkParseStanza, etree reading the bytes of one chat message.
// Compare them within one run, as ratios of medians:
//
//	go test -run '^$' -bench . -benchmem -count 5 .

// benchOutcome is a direct delivery to the resource the chat message is
// addressed to, laptop.
var benchOutcome = amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "laptop", Time: time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)}

// benchProcessor is the server's Processor, made once at start-up.
var benchProcessor, _ = amp.NewProcessor(amp.Config{})

// Sinks keep the compiler from discarding the work measured.
var (
	sinkReq     amp.Request
	sinkRes     amp.Result
	sinkMsg     *etree.Element
	sinkReplies []*etree.Element
	sinkDoc     *etree.Document
)

// benchChat is testdata/bench-chat.xml: a 533-byte chat message with a
// body, a thread, a receipt request and three AMP rules.
func benchChat(b *testing.B) string {
	data, err := os.ReadFile("testdata/bench-chat.xml")
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}

// benchEvaluate is what a server does with the chat message up to the
// routing decision: Parse, then Evaluate for a direct delivery.
func benchEvaluate(b *testing.B, msg *etree.Element) amp.Result {
	req, err := benchProcessor.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
	if err != nil {
		b.Fatal(err)
	}
	res, err := req.Evaluate(benchOutcome)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// benchNotified reads the chat message and checks that only its third
// rule, notify, is met.
func benchNotified(b *testing.B) *etree.Element {
	msg := readXML(b, benchChat(b))
	res := benchEvaluate(b, msg)
	replies := res.Replies("example.net")
	if ev := amp.ParseEvent(replies[0]); !res.Proceed() || len(replies) != 1 || ev.Status != amp.ActionNotify || ev.Rules[0].Value != "direct" {
		b.Fatalf("Proceed %v, replies %d; want only the third rule, notify, met", res.Proceed(), len(replies))
	}
	b.ReportAllocs()
	b.ResetTimer()
	return msg
}

// BenchmarkParseStanza is the baseline: etree reading the chat message.
func BenchmarkParseStanza(b *testing.B) {
	data := []byte(benchChat(b))
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

// BenchmarkNoAMP is Parse of the chat message without its <amp/>.
func BenchmarkNoAMP(b *testing.B) {
	s := benchChat(b)
	msg := readXML(b, s[:strings.Index(s, "<amp ")]+s[strings.Index(s, "</amp>")+len("</amp>"):])
	b.ReportAllocs()
	b.ResetTimer()
	var req amp.Request
	var err error
	for i := 0; i < b.N; i++ {
		req, err = benchProcessor.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
	}
	if sinkReq = req; err != nil {
		b.Fatal(err)
	}
	if res, _ := req.Evaluate(benchOutcome); res.Message() != msg {
		b.Fatal("Parse found a request; want none")
	}
}

// BenchmarkEvaluate is Parse and Evaluate of the chat message's three
// rules for a direct delivery to laptop: only the third, notify, is met.
func BenchmarkEvaluate(b *testing.B) {
	msg := benchNotified(b)
	for i := 0; i < b.N; i++ {
		sinkRes = benchEvaluate(b, msg)
	}
}

// BenchmarkNotify is BenchmarkEvaluate plus the notify event.
func BenchmarkNotify(b *testing.B) {
	msg := benchNotified(b)
	for i := 0; i < b.N; i++ {
		sinkReplies = benchEvaluate(b, msg).Replies("example.net")
	}
}

// BenchmarkDeliver is what a server does with the chat message it
// delivers: BenchmarkEvaluate, then the message to deliver, without its
// <amp/> (Result.Message). Parse keeps a frozen copy of the message, which
// Message thaws.
func BenchmarkDeliver(b *testing.B) {
	msg := benchNotified(b)
	for i := 0; i < b.N; i++ {
		sinkMsg = benchEvaluate(b, msg).Message()
	}
}

// BenchmarkReplyBytes is BenchmarkNotify plus the event's XML, written by
// etreexml.AppendXML into a buffer the server reuses.
func BenchmarkReplyBytes(b *testing.B) {
	msg := benchNotified(b)
	buf := make([]byte, 0, 1024)
	for i := 0; i < b.N; i++ {
		buf = buf[:0]
		for _, r := range benchEvaluate(b, msg).Replies("example.net") {
			buf = etreexml.AppendXML(buf, r)
		}
	}
	if !strings.Contains(string(buf), `status="notify"`) {
		b.Fatalf("got %s, want a notify event", buf)
	}
}

// BenchmarkEvaluateRules is BenchmarkEvaluate for requests of 1 to 32
// rules (the default limit), none of them met: every rule is checked and
// evaluated.
func BenchmarkEvaluateRules(b *testing.B) {
	unmet := []string{ruleXML("deliver", "drop", "stored"), ruleXML("match-resource", "error", "other"), ruleXML("expire-at", "alert", "2100-01-01T00:00:00Z"), ruleXML("deliver", "notify", "none")}
	for _, n := range []int{1, 2, 4, 8, 16, 32} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			rules := repeatXML(0, n-1, func(i int) string { return unmet[i%len(unmet)] })
			msg := readXML(b, `<message xmlns='jabber:client' from='alice@example.com/phone' to='bob@example.net/laptop' id='m1' type='chat'><body>hi</body><amp xmlns='http://jabber.org/protocol/amp'>`+rules+`</amp></message>`)
			if res := benchEvaluate(b, msg); !res.Proceed() || res.Replies("example.net") != nil {
				b.Fatalf("Proceed %v, Replies %v; want no rule met", res.Proceed(), res.Replies("example.net"))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sinkRes = benchEvaluate(b, msg)
			}
		})
	}
}

// BenchmarkDepth is Parse, Evaluate, Message and Replies of the chat
// message with a payload nested n levels deep, or of n flat children, for
// two sizes four times apart: the time per byte (MB/s) must not depend on
// the size (issue 10). The third shape puts the flat message in a stream
// whose header declares n prefixes, as a server that keeps messages under
// their stream's element reads it.
func BenchmarkDepth(b *testing.B) {
	flat := func(msg *etree.Element, n int) {
		payload := msg.CreateElement("payload")
		payload.CreateAttr("xmlns", "urn:x")
		for range n {
			payload.CreateElement("junk").CreateAttr("a", "1")
		}
	}
	for _, shape := range []string{"deep", "flat", "prefixes"} {
		for _, n := range []int{1000, 4000} {
			b.Run(fmt.Sprintf("%s=%d", shape, n), func(b *testing.B) {
				msg := readXML(b, benchChat(b))
				input := msg
				switch shape {
				case "deep":
					deepen(msg, n)
				case "flat":
					flat(msg, n)
				case "prefixes":
					decls := repeatXML(1, n, func(i int) string { return fmt.Sprintf(" xmlns:p%d='urn:p%d'", i, i) })
					input = readXML(b, `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'`+decls+`>`+benchChat(b)+`</stream:stream>`)
					msg = input.ChildElements()[0]
					flat(msg, n)
				}
				b.SetBytes(int64(len(writeXML(input))))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					res := benchEvaluate(b, msg)
					sinkMsg = res.Message()
					sinkReplies = res.Replies("example.net")
				}
				if sinkMsg == nil || len(sinkReplies) != 1 {
					b.Fatal("the message was not delivered with one notify event")
				}
			})
		}
	}
}
