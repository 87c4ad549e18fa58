package amp_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/require"
)

// The sender, recipient and id of the hostile requests, and the server
// that answers them.
const (
	hxServer = "shakespeare.lit"
	hxSender = "romeo@montague.lit/orchard"
	hxTo     = "juliet@capulet.lit/balcony"
	hxID     = "h1"
)

const (
	hxDrop   = `<rule condition='deliver' action='drop' value='stored'/>`
	hxAlert  = `<rule condition='deliver' action='alert' value='stored'/>`
	hxNotify = `<rule condition='deliver' action='notify' value='direct'/>`
	hxBogus  = `<rule condition='deliver' action='bogus' value='none'/>`
)

// hxRequest is a message from hxSender with a body, a thread and an <amp/>
// with the given attributes and content.
func hxRequest(ampAttrs, content string) string {
	return fmt.Sprintf(`<message xmlns='jabber:client' from='%s' id='%s' to='%s'><body>secret</body><amp xmlns='http://jabber.org/protocol/amp'%s>%s</amp><thread>leak</thread></message>`, hxSender, hxID, hxTo, ampAttrs, content)
}

// hxMessage is a message from hxSender whose children are content.
func hxMessage(attrs, content string) string {
	return fmt.Sprintf(`<message from='%s' id='%s'%s>%s</message>`, hxSender, hxID, attrs, content)
}

// hxRefusal is the refusal hxServer sends to hxSender: the echo of the
// request (its <amp/> attributes and rules) and the <error/> of kind
// listing the rules listed.
func hxRefusal(echoAttrs, echo string, kind error, listed string) string {
	return fmt.Sprintf(`<message xmlns='jabber:client' from='%s' to='%s' id='%s' type='error'><amp xmlns='http://jabber.org/protocol/amp'%s>%s</amp>%s</message>`, hxServer, hxSender, hxID, echoAttrs, echo, hxError(kind, listed))
}

// hxError is the <error/> of a refusal of kind, listing rules.
func hxError(kind error, rules string) string {
	const stanzas = `xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>`
	container := map[error]string{amp.ErrNotAcceptable: "invalid-rules", amp.ErrUnsupportedAction: "unsupported-actions", amp.ErrUnsupportedCondition: "unsupported-conditions"}[kind]
	if container == "" {
		return `<error type='modify' code='400'><bad-request ` + stanzas + `</error>`
	}
	head := `<error type='modify' code='400'><bad-request ` + stanzas
	if kind == amp.ErrNotAcceptable {
		head = `<error type='modify' code='405'><not-acceptable ` + stanzas
	}
	return fmt.Sprintf(`%s<%s xmlns='http://jabber.org/protocol/amp'>%s</%s></error>`, head, container, rules, container)
}

func hxRule(condition, action, value string) string {
	return fmt.Sprintf(`<rule condition='%s' action='%s' value='%s'/>`, condition, action, value)
}

// hxRepeat writes f(i) for i from first to last, both included.
func hxRepeat(first, last int, f func(i int) string) string {
	var b strings.Builder
	for i := first; i <= last; i++ {
		b.WriteString(f(i))
	}
	return b.String()
}

// hxNumbered is rule i of a request of many numbered rules.
func hxNumbered(i int) string { return hxRule("deliver", "drop", strconv.Itoa(i)) }

// hxDeep is junk nested n levels deep.
func hxDeep(n int) string {
	return strings.Repeat("<junk a='1'>", n) + "<body>leak</body>" + strings.Repeat("</junk>", n)
}

// hxEnvelope is the constant of the reply bound: the markup of a reply's
// <message/>, <amp/> and <error/>, outside the rules it carries and the
// message's attributes it copies.
const hxEnvelope = 1024

// hxReplyBound is the most bytes a reply to msg may take as XML under the
// limits of p: 2*MaxRules rules, each of 64 bytes of markup and at most
// 3*MaxValueLen bytes of attributes, escaped (6 bytes for a byte at worst),
// plus hxEnvelope and the message's attributes (from, to and id are
// copied, from twice), escaped.
func hxReplyBound(p *amp.Processor, msg *etree.Element) int {
	c := p.Config()
	attrs := 0
	for _, a := range msg.Attr {
		attrs += len(a.Value)
	}
	return hxEnvelope + 2*6*attrs + 2*c.MaxRules*(64+6*3*c.MaxValueLen)
}

// requireBounded checks that every reply to msg is within hxReplyBound.
func requireBounded(t testing.TB, p *amp.Processor, msg *etree.Element, replies ...*etree.Element) {
	t.Helper()
	for _, r := range replies {
		n, bound := len(writeXML(r)), hxReplyBound(p, msg)
		require.LessOrEqual(t, n, bound, "a reply of %d bytes, over the bound %d", n, bound)
	}
}

// hxCase is a hostile or malformed input and the exact answer to it.
type hxCase struct {
	name   string
	in     string
	cfg    amp.Config
	denied bool // the sender may not see the recipient's presence
	hop    amp.Hop
	// For a refusal: its kind, Index, exact reply, and what its message
	// says when it matters.
	kind  error
	index int
	want  string
	why   string
	// dateTime: the refusal is of an expire-at value that is no XEP-0082 time.
	dateTime bool
	// For an accepted message: the request's rules, nil for no request.
	rules []amp.Rule
	// For nobody to answer: ErrNotMessage or ErrNoSender.
	nobody error
	// deep is the depth of a payload added to the message as its first
	// child, deeper than etree reads (1,024 levels).
	deep int
}

// message reads the message of tc; nil for no input.
func (tc hxCase) message(t testing.TB) *etree.Element {
	t.Helper()
	if tc.in == "" {
		return nil
	}
	return hxDeepen(readXML(t, tc.in), tc.deep)
}

// because is tc whose error text contains why.
func (tc hxCase) because(why string) hxCase {
	tc.why = why
	return tc
}

// hxDeepen adds to msg, as its first child, a payload n levels deep.
func hxDeepen(msg *etree.Element, n int) *etree.Element {
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

// hxRefused is a refusal by the default configuration of the request with
// the rules in, listing listed, with the first failing rule at index. The
// reply echoes in, or echo when given.
func hxRefused(name, in string, kind error, index int, listed string, echo ...string) hxCase {
	echo = append(echo, in)
	return hxCase{name: name, in: hxRequest("", in), kind: kind, index: index, want: hxRefusal("", echo[0], kind, listed)}
}

func hxDeliverDrop(v string) []amp.Rule {
	return []amp.Rule{{Condition: amp.ConditionDeliver, Action: amp.ActionDrop, Value: v}}
}

// hxCases are the hostile and malformed inputs. Unless a case says
// otherwise, the sender may see the recipient's presence, the server is at
// the edge and the configuration is the zero one.
func hxCases() []hxCase {
	long := "a" + strings.Repeat("é", 200) // 401 bytes
	cut := "a" + strings.Repeat("é", 127)  // cut to 256 bytes at the start of a character: 255
	huge := "a" + strings.Repeat("é", 1<<19)
	bogus, na, ua, uc, bad := `<rule condition='bogus' action='bogus' value='x'/>`, amp.ErrNotAcceptable, amp.ErrUnsupportedAction, amp.ErrUnsupportedCondition, amp.ErrBadRequest
	rule := func(attrs string) string { return "<rule " + attrs + "/>" }
	mixed := hxAlert + hxRule("match-resource", "notify", "other") + hxRule("expire-at", "error", "2004-01-01T00:00:00Z")
	cases := []hxCase{
		// Attributes: missing, empty, repeated, prefixed, unknown.
		hxRefused("missing condition", rule(`action='drop' value='none'`), na, 0, rule(`action='drop' value='none'`)).because("amp: rule not acceptable: rule 1: missing or empty condition"),
		hxRefused("missing action", rule(`condition='deliver' value='none'`), na, 0, rule(`condition='deliver' value='none'`)).because("amp: rule not acceptable: rule 1: missing or empty action"),
		hxRefused("missing action before an unknown condition", rule(`condition='x-when' value='v'`), na, 0, rule(`condition='x-when' value='v'`)),
		hxRefused("missing value", rule(`condition='deliver' action='drop'`), na, 0, rule(`condition='deliver' action='drop'`)),
		hxRefused("no attributes", `<rule/>`, na, 0, `<rule/>`),
		hxRefused("empty attributes stay empty in the echo", rule(`condition='' action='' value=''`)+hxDrop, na, 0, rule(`condition='' action='' value=''`)),
		hxRefused("empty value", rule(`condition='deliver' action='drop' value=''`), na, 0, rule(`condition='deliver' action='drop' value=''`)),
		{name: "a missing attribute before an unsupported action decides the kind", in: hxRequest("", `<rule action='drop'/>`+hxBogus+rule(`condition='deliver' value='none'`)), kind: na,
			want: hxRefusal("", `<rule action='drop'/>`+hxBogus+rule(`condition='deliver' value='none'`), na, `<rule action='drop'/>`+rule(`condition='deliver' value='none'`))},
		{name: "repeated action: the last is echoed", in: hxRequest("", hxDrop+rule(`condition='deliver' action='drop' action='alert' value='none'`)), kind: na, index: 1,
			want: hxRefusal("", hxDrop+rule(`condition='deliver' action='alert' value='none'`), na, rule(`condition='deliver' action='alert' value='none'`))},
		{name: "repeated value with the same text", in: hxRequest("", rule(`condition='deliver' action='drop' value='none' value='none'`)), kind: na, why: "amp: rule not acceptable: rule 1: repeated attribute",
			want: hxRefusal("", rule(`condition='deliver' action='drop' value='none'`), na, rule(`condition='deliver' action='drop' value='none'`))},
		{name: "repeated condition before an unsupported action", in: hxRequest("", rule(`condition='bogus' condition='deliver' action='bogus' value='none'`)), kind: na,
			want: hxRefusal("", hxBogus, na, hxBogus)},
		{name: "prefixed attributes do not count", in: hxRequest("", rule(`xmlns:x='urn:x' x:condition='deliver' action='drop' x:value='none' value='stored'`)), kind: na,
			want: hxRefusal("", rule(`action='drop' value='stored'`), na, rule(`action='drop' value='stored'`))},
		{name: "unknown attributes are not echoed", in: hxRequest("", rule(`condition='deliver' action='bogus' value='none' secret='s3cr3t' xml:lang='en'`)), kind: ua,
			want: hxRefusal("", hxBogus, ua, hxBogus)},

		// Unknown and unsupported conditions and actions, bad values.
		hxRefused("unknown condition", hxDrop+rule(`condition='bogus' action='drop' value='x'`), uc, 1, rule(`condition='bogus' action='drop' value='x'`)).because(`amp: unsupported condition: rule 2: condition "bogus"`),
		hxRefused("unknown action", rule(`condition='deliver' action='bounce' value='none'`)+hxDrop, ua, 0, rule(`condition='deliver' action='bounce' value='none'`)).because(`amp: unsupported action: rule 1: action "bounce"`),
		{name: "an unknown action before presence", denied: true, in: hxRequest("", hxRule("deliver", "x-do", "stored")+hxRule("deliver", "notify", "stored")), kind: ua,
			want: hxRefusal("", hxRule("deliver", "x-do", "stored")+hxRule("deliver", "notify", "stored"), ua, hxRule("deliver", "x-do", "stored"))},
		hxRefused("unknown action and condition: the action first", bogus, ua, 0, bogus),
		hxRefused("the first failing rule decides the kind, all of it listed", hxRule("c1", "drop", "x")+hxRule("deliver", "a1", "none")+hxRule("c2", "drop", "y")+hxRule("deliver", "drop", "never"),
			uc, 0, hxRule("c1", "drop", "x")+hxRule("c2", "drop", "y")),
		hxRefused("case matters", hxRule("Deliver", "DROP", "None"), ua, 0, hxRule("Deliver", "DROP", "None")),
		{name: "an action the server does not list", in: hxRequest("", hxAlert+hxDrop), cfg: amp.Config{Actions: []amp.Action{amp.ActionAlert}}, kind: ua, index: 1,
			want: hxRefusal("", hxAlert+hxDrop, ua, hxDrop)},
		{name: "a condition the server does not list, before its value", in: hxRequest("", hxRule("expire-at", "drop", "garbage")), cfg: amp.Config{Conditions: []amp.Condition{amp.ConditionDeliver}}, kind: uc,
			want: hxRefusal("", hxRule("expire-at", "drop", "garbage"), uc, hxRule("expire-at", "drop", "garbage"))},
		hxRefused("a deliver value the XEP does not define", hxRule("deliver", "drop", "later"), na, 0, hxRule("deliver", "drop", "later")),
		hxRefused("a match-resource value the XEP does not define", hxRule("match-resource", "drop", "balcony"), na, 0, hxRule("match-resource", "drop", "balcony")),
		hxRefused("a value with surrounding space", hxRule("deliver", "drop", " none"), na, 0, hxRule("deliver", "drop", " none")),
		hxRefused("a non-ASCII value", hxRule("deliver", "drop", "störed"), na, 0, hxRule("deliver", "drop", "störed")),
		hxRefused("escaped characters are echoed as read", hxRule("a&amp;b&lt;c", "drop", "&quot;&apos;&#9;&#10;&#13;"), uc, 0, hxRule("a&amp;b&lt;c", "drop", "&quot;&apos;&#9;&#10;&#13;")),

		// Stanzas: only a <message/> in a stanza namespace is one.
		{name: "message in another namespace", in: `<message xmlns='urn:other' from='a@b/c' id='h1'><amp xmlns='http://jabber.org/protocol/amp'>` + bogus + `</amp></message>`, nobody: amp.ErrNotMessage},
		{name: "prefixed message in another namespace", in: `<x:message xmlns:x='urn:other' from='a@b/c' id='h1'/>`, nobody: amp.ErrNotMessage},
		{name: "message with an unbound prefix", in: `<x:message from='a@b/c' id='h1'/>`, nobody: amp.ErrNotMessage},
		{name: "not a message", in: `<iq type='set' from='a@b/c' id='h1'><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp></iq>`, nobody: amp.ErrNotMessage},
		{name: "no from", in: `<message id='h1'><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp></message>`, nobody: amp.ErrNoSender},
		{name: "nil", nobody: amp.ErrNotMessage},
		{name: "empty from", in: `<message from='' id='h1'><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp></message>`, nobody: amp.ErrNoSender},
		{name: "no amp", in: hxMessage("", `<body>hi</body>`)},
		{name: "no from, no amp", in: `<message id='h1'><body>hi</body></message>`},
		{name: "jabber:server", in: hxMessage(` xmlns='jabber:server'`, `<amp xmlns='http://jabber.org/protocol/amp'>`+hxDrop+`</amp>`), rules: hxDeliverDrop("stored")},
		{name: "jabber:component:accept", in: hxMessage(` xmlns='jabber:component:accept'`, `<amp xmlns='http://jabber.org/protocol/amp'>`+hxDrop+`</amp>`), rules: hxDeliverDrop("stored")},
		{name: "prefixed message", in: `<x:message xmlns:x='jabber:client' from='a@b/c' id='h1'><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp></x:message>`, rules: hxDeliverDrop("stored")},

		// Namespaces and prefixes of <amp/> and <rule/>.
		{name: "prefixed amp and rules", in: hxMessage("", `<a:amp xmlns:a='http://jabber.org/protocol/amp' per-hop='true'><a:rule condition='deliver' action='drop' value='none'/></a:amp>`), rules: hxDeliverDrop("none")},
		{name: "prefixed amp, refused", in: hxMessage("", `<a:amp xmlns:a='http://jabber.org/protocol/amp' per-hop='true'><a:rule condition='deliver' action='bogus' value='none'/></a:amp>`), kind: ua,
			want: hxRefusal(` per-hop='true'`, hxBogus, ua, hxBogus)},
		{name: "prefixed amp with unprefixed rules has no rule", in: hxMessage("", `<a:amp xmlns:a='http://jabber.org/protocol/amp'>`+hxDrop+`</a:amp>`), kind: bad, want: hxRefusal("", "", bad, "")},
		{name: "amp in another namespace", in: hxMessage("", `<amp xmlns='urn:other'>`+hxDrop+`</amp>`)},
		{name: "amp in the errors namespace", in: hxMessage("", `<amp xmlns='http://jabber.org/protocol/amp#errors'>`+hxDrop+`</amp>`)},
		{name: "amp in the feature namespace", in: hxMessage("", `<amp xmlns='http://jabber.org/features/amp'>`+hxDrop+`</amp>`)},
		{name: "amp in the message's namespace", in: hxMessage("", `<amp>`+hxDrop+`</amp>`)},
		{name: "a prefix bound to another namespace", in: hxMessage(` xmlns:a='urn:other'`, `<a:amp>`+hxDrop+`</a:amp>`)},
		{name: "rules in another namespace are not rules", in: hxRequest("", `<rule xmlns='urn:other' condition='deliver' action='drop' value='none'/>`), kind: bad, want: hxRefusal("", "", bad, "")},
		{name: "rules in the errors namespace are not rules", in: hxRequest("", `<rule xmlns='http://jabber.org/protocol/amp#errors' condition='deliver' action='bogus' value='none'/>`+hxDrop), rules: hxDeliverDrop("stored")},
		{name: "nested rules are not rules", in: hxRequest("", `<rule condition='deliver' action='drop' value='stored'>`+bogus+`</rule><junk>`+bogus+`</junk>`), rules: hxDeliverDrop("stored")},

		// Several <amp/>: only the first in the AMP namespace counts.
		{name: "several amp: a bad second one is ignored", in: hxMessage("", `<amp xmlns='http://jabber.org/protocol/amp'>`+hxDrop+`</amp><amp xmlns='http://jabber.org/protocol/amp' per-hop='maybe'>`+bogus+`</amp>`), rules: hxDeliverDrop("stored")},
		{name: "several amp: a bad first one is refused", in: hxMessage("", `<amp xmlns='http://jabber.org/protocol/amp'>`+bogus+`</amp><amp xmlns='http://jabber.org/protocol/amp'>`+hxDrop+`</amp>`), kind: ua, want: hxRefusal("", bogus, ua, bogus)},
		{name: "several amp: one in another namespace first", in: hxMessage("", `<amp xmlns='urn:other'>`+bogus+`</amp><amp xmlns='http://jabber.org/protocol/amp'>`+hxDrop+`</amp>`), rules: hxDeliverDrop("stored")},
		{name: "several amp: an event first", in: hxMessage("", `<amp xmlns='http://jabber.org/protocol/amp' status='notify'>`+hxNotify+`</amp><amp xmlns='http://jabber.org/protocol/amp'>`+bogus+`</amp>`)},

		// Events and errors are never processed again.
		{name: "status on a request", in: hxRequest(` status='alert'`, bogus)},
		{name: "empty status on a request", in: hxRequest(` status=''`, bogus)},
		{name: "message of type error", in: hxMessage(` type='error'`, `<amp xmlns='http://jabber.org/protocol/amp'><rule/></amp>`)},
		hxRefused("a prefixed status is not a status", `<rule xmlns:x='urn:x' x:status='alert' condition='bogus' action='drop' value='x'/>`, uc, 0, rule(`condition='bogus' action='drop' value='x'`), rule(`condition='bogus' action='drop' value='x'`)),

		// per-hop.
		{name: "per-hop true", in: hxRequest(` per-hop='true'`, hxDrop), rules: hxDeliverDrop("stored")},
		{name: "per-hop true is echoed", in: hxRequest(` per-hop='true'`, hxRule("deliver", "drop", "later")), kind: na,
			want: hxRefusal(` per-hop='true'`, hxRule("deliver", "drop", "later"), na, hxRule("deliver", "drop", "later"))},
		{name: "per-hop false is not echoed", in: hxRequest(` per-hop='false'`, hxRule("deliver", "drop", "later")), kind: na,
			want: hxRefusal("", hxRule("deliver", "drop", "later"), na, hxRule("deliver", "drop", "later"))},

		// Transit hops: only the rules that apply there are checked.
		{name: "transit: nothing is checked without per-hop", hop: amp.HopTransit, in: hxMessage("", `<amp xmlns='http://jabber.org/protocol/amp'>`+bogus+`</amp>`),
			rules: []amp.Rule{{Condition: "bogus", Action: "bogus", Value: "x"}}},
		{name: "transit: match-resource rules are skipped", hop: amp.HopTransit, denied: true, in: hxRequest(` per-hop='true'`, hxRule("match-resource", "bogus", "x")+hxDrop),
			rules: append([]amp.Rule{{Condition: amp.ConditionMatchResource, Action: "bogus", Value: "x"}}, hxDeliverDrop("stored")...)},
		{name: "transit: the other rules are checked", hop: amp.HopTransit, in: hxRequest(` per-hop='true'`, hxRule("match-resource", "bogus", "x")+bogus), kind: ua, index: 1,
			want: hxRefusal(` per-hop='true'`, hxRule("match-resource", "bogus", "x")+bogus, ua, bogus)},

		// The message's id, and requests without rules.
		{name: "no id", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard'><body>secret</body><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp></message>`, kind: bad, want: strings.Replace(hxRefusal("", hxDrop, bad, ""), ` id='h1'`, "", 1)},
		{name: "empty id", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard' id=''><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp></message>`, kind: bad, want: strings.Replace(hxRefusal("", hxDrop, bad, ""), ` id='h1'`, "", 1)},
		{name: "no rule", in: hxRequest("", ""), kind: bad, want: hxRefusal("", "", bad, "")},
		{name: "no rule, only junk", in: hxRequest("", `text<!-- comment --><junk condition='deliver' action='drop' value='none'/><![CDATA[<rule/>]]>`), kind: bad, want: hxRefusal("", "", bad, "")},

		// JIDs: the reply goes to the sender as written.
		{name: "non-ASCII JIDs and id, resources with slashes", in: `<message xmlns='jabber:client' from='ромео@монтегю.lit/сад/2' id='ид&amp;&lt;' to='джульетта@капулетти.lit'><amp xmlns='http://jabber.org/protocol/amp'>` + hxBogus + `</amp></message>`, kind: ua,
			want: `<message xmlns='jabber:client' from='shakespeare.lit' to='ромео@монтегю.lit/сад/2' id='ид&amp;&lt;' type='error'><amp xmlns='http://jabber.org/protocol/amp'>` + hxBogus + `</amp>` + hxError(ua, hxBogus) + `</message>`},
		{name: "from and to on the request are not addresses", in: hxRequest(` from='mallory@evil.lit' to='mallory@evil.lit'`, hxBogus), kind: ua, want: hxRefusal("", hxBogus, ua, hxBogus)},

		// Limits. Over MaxRules: refused before any rule is checked, the
		// first MaxRules echoed and the next MaxRules listed. Attributes
		// over MaxValueLen are cut in replies, at the start of a character.
		{name: "32 rules", in: hxRequest("", strings.Repeat(hxDrop, 32)), rules: hxRepeatRules(32, hxDeliverDrop("stored")[0])},
		{name: "33 rules", in: hxRequest("", strings.Repeat(hxDrop, 32)+hxRule("deliver", "drop", "none")), kind: na, index: 32, why: "more than 32 rules",
			want: hxRefusal("", strings.Repeat(hxDrop, 32), na, hxRule("deliver", "drop", "none"))},
		{name: "33 bad rules: the limit first", in: hxRequest("", hxRepeat(0, 32, hxNumbered)), kind: na, index: 32, want: hxRefusal("", hxRepeat(0, 31, hxNumbered), na, hxNumbered(32))},
		{name: "10,000 rules", in: hxRequest("", hxRepeat(0, 9999, hxNumbered)), kind: na, index: 32, want: hxRefusal("", hxRepeat(0, 31, hxNumbered), na, hxRepeat(32, 63, hxNumbered))},
		{name: "100,000 rules", in: hxRequest("", hxRepeat(0, 99999, hxNumbered)), kind: na, index: 32, want: hxRefusal("", hxRepeat(0, 31, hxNumbered), na, hxRepeat(32, 63, hxNumbered))},
		{name: "a smaller rule limit", in: hxRequest("", hxDrop+hxNotify+hxAlert), cfg: amp.Config{MaxRules: 1}, kind: na, index: 1, why: "more than 1 rules", want: hxRefusal("", hxDrop, na, hxNotify)},
		{name: "a larger rule limit", in: hxRequest("", strings.Repeat(hxDrop, 100)), cfg: amp.Config{MaxRules: 100}, rules: hxRepeatRules(100, hxDeliverDrop("stored")[0])},
		{name: "a value over the limit", in: hxRequest("", hxRule("deliver", "drop", long)), kind: na, why: "amp: rule not acceptable: rule 1: value longer than 256 bytes",
			want: hxRefusal("", hxRule("deliver", "drop", cut), na, hxRule("deliver", "drop", cut))},
		{name: "a value under a larger limit", in: hxRequest("", hxRule("deliver", "drop", long)), cfg: amp.Config{MaxValueLen: 401}, kind: na, why: "is not direct, forward",
			want: hxRefusal("", hxRule("deliver", "drop", long), na, hxRule("deliver", "drop", long))},
		hxRefused("a 1 MB value", hxRule("deliver", "drop", huge), na, 0, hxRule("deliver", "drop", cut), hxRule("deliver", "drop", cut)),
		{name: "a 1 MB value, rules after it", in: hxRequest("", hxRule("deliver", "drop", huge)+hxDrop), kind: na, want: hxRefusal("", hxRule("deliver", "drop", cut)+hxDrop, na, hxRule("deliver", "drop", cut))},
		hxRefused("a long unknown condition", hxRule(long, "drop", long), uc, 0, hxRule(cut, "drop", cut), hxRule(cut, "drop", cut)),
		{name: "names XEP-0079 defines are never cut", in: hxRequest("", hxRule("match-resource", "notify", "any")+hxRule("x-much-too-long", "x-also-too-long", "any")), cfg: amp.Config{MaxValueLen: 8}, kind: ua, index: 1,
			want: hxRefusal("", hxRule("match-resource", "notify", "any")+hxRule("x-much-t", "x-also-t", "any"), ua, hxRule("x-much-t", "x-also-t", "any"))},
		{name: "expire-at over a small limit", in: hxRequest("", hxDrop+hxRule("expire-at", "drop", "2004-01-01T00:00:00Z")), cfg: amp.Config{MaxValueLen: 19}, kind: na, index: 1,
			want: hxRefusal("", hxDrop+hxRule("expire-at", "drop", "2004-01-01T00:00:00"), na, hxRule("expire-at", "drop", "2004-01-01T00:00:00"))},
		{name: "expire-at at a small limit", in: hxRequest("", hxRule("expire-at", "drop", "2004-01-01T00:00:00Z")), cfg: amp.Config{MaxValueLen: 20},
			rules: []amp.Rule{{Condition: amp.ConditionExpireAt, Action: amp.ActionDrop, Value: "2004-01-01T00:00:00Z"}}},

		// Junk inside and around rules, and deep nesting, is never echoed.
		hxRefused("junk inside a rule", `<rule condition='deliver' action='bogus' value='none'><body>leak</body>text<![CDATA[cdata]]><!-- c --><?pi x?>`+hxDeep(1000)+`</rule>`, ua, 0, hxBogus, hxBogus),
		{name: "junk between rules", in: hxRequest("", `<x:rule xmlns:x='urn:x' condition='bogus' action='bogus' value='x'/>junk`+hxDrop+`<!-- c --><body>leak</body>`+hxRule("deliver", "drop", "later")), kind: na, index: 1,
			want: hxRefusal("", hxDrop+hxRule("deliver", "drop", "later"), na, hxRule("deliver", "drop", "later"))},
		{name: "a payload 10,000 levels deep, refused", deep: 10000, in: hxMessage("", `<amp xmlns='http://jabber.org/protocol/amp'>`+hxBogus+`</amp>`), kind: ua, want: hxRefusal("", hxBogus, ua, hxBogus)},
		{name: "a payload 10,000 levels deep, accepted", deep: 10000, in: hxMessage(" to='"+hxTo+"'", `<amp xmlns='http://jabber.org/protocol/amp'>`+hxNotify+hxDrop+`</amp>`),
			rules: []amp.Rule{{Condition: amp.ConditionDeliver, Action: amp.ActionNotify, Value: "direct"}, hxDeliverDrop("stored")[0]}},

		// §9: without presence authorization only drop is acceptable.
		{name: "alert, notify and error without presence authorization", denied: true, in: hxRequest("", hxDrop+mixed+hxRule("expire-at", "drop", "2004-01-01T00:00:00Z")), kind: na, index: 1,
			why: "amp: rule not acceptable: rule 2: the sender may not see the recipient's presence (XEP-0079 §9)", want: hxRefusal("", hxDrop+mixed+hxRule("expire-at", "drop", "2004-01-01T00:00:00Z"), na, mixed)},
		{name: "drop without presence authorization", denied: true, in: hxRequest("", hxDrop), rules: hxDeliverDrop("stored")},
	}
	// A malformed or repeated per-hop is refused at every hop; the first is echoed.
	for _, attrs := range []string{`yes'`, `TRUE'`, `1'`, `'`, ` true'`, `false' per-hop='false'`, `false' per-hop='true'`, `true' per-hop='true'`} {
		echo := map[bool]string{true: ` per-hop='true'`}[strings.HasPrefix(attrs, "true")]
		for _, hop := range []amp.Hop{amp.HopEdge, amp.HopTransit} {
			cases = append(cases, hxCase{name: fmt.Sprintf("per-hop='%s at hop %d", attrs, hop), hop: hop, in: hxRequest(` per-hop='`+attrs, hxDrop), kind: bad, want: hxRefusal(echo, hxDrop, bad, "")})
		}
	}
	for _, c := range dateTimes {
		r := hxRule("expire-at", "drop", c.in)
		switch {
		case c.want != "":
			cases = append(cases, hxCase{name: "expire-at " + c.in, in: hxRequest("", r), rules: []amp.Rule{{Condition: amp.ConditionExpireAt, Action: amp.ActionDrop, Value: c.in}}})
		case c.in != "": // an empty value is missing, not malformed
			tc := hxRefused("expire-at "+c.in, r, na, 0, r)
			tc.dateTime = true
			cases = append(cases, tc)
		}
	}
	return cases
}

// hxCut cuts s to at most n bytes, at the start of a character.
func hxCut(s string, n int) string {
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

func hxRepeatRules(n int, r amp.Rule) []amp.Rule {
	out := make([]amp.Rule, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// hxOutcomes are the outcomes under which the hostile table evaluates the
// requests it accepts, so that every reply they can give is bounded.
var hxOutcomes = func() []amp.Outcome {
	var out []amp.Outcome
	for _, d := range []amp.Delivery{amp.DeliveryDirect, amp.DeliveryForward, amp.DeliveryGateway, amp.DeliveryNone, amp.DeliveryStored} {
		for _, n := range []amp.NextHop{amp.NextHopLocal, amp.NextHopNoAMP} {
			out = append(out, amp.Outcome{Delivery: d, Resource: "balcony", Time: time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC), NextHop: n})
		}
	}
	return out
}()

// TestHostile runs the table of hxCases: a refusal is exactly the reply
// wanted and bounded, agrees with CheckRule and leaves nothing to
// evaluate; an accepted request has the rules wanted and bounded replies;
// for nobody to answer there is no *Error.
func TestHostile(t *testing.T) {
	kinds := []error{amp.ErrBadRequest, amp.ErrUnsupportedAction, amp.ErrUnsupportedCondition, amp.ErrNotAcceptable, amp.ErrServiceUnavailable, amp.ErrFailedRules}
	for _, tc := range hxCases() {
		t.Run(tc.name, func(t *testing.T) {
			p, err := amp.NewProcessor(tc.cfg)
			require.NoError(t, err)
			msg := tc.message(t)
			presence := amp.Presence(!tc.denied)
			req, err := p.Parse(msg, tc.hop, presence)
			var e *amp.Error
			switch {
			case tc.nobody != nil:
				require.ErrorIs(t, err, tc.nobody)
				require.False(t, errors.As(err, &e), "got an *Error for nobody to answer: %v", err)
				require.Equal(t, 1, strings.Count(err.Error(), "amp:"), "%q has one amp: prefix", err)
				require.Equal(t, amp.Request{}, req)
				return
			case tc.kind == nil:
				require.NoError(t, err)
				require.Equal(t, tc.rules, req.Rules().Rules)
				for _, o := range hxOutcomes {
					requireBounded(t, p, msg, req.Evaluate(o).Replies(hxServer)...)
				}
				for _, r := range tc.rules {
					if tc.hop == amp.HopEdge {
						require.NoError(t, p.CheckRule(r, presence), "CheckRule(%v)", r)
					}
				}
				if tc.rules == nil { // no request: the message goes on unchanged
					res := req.Evaluate(amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopNoAMP})
					require.True(t, res.Proceed())
					require.Nil(t, res.Replies(hxServer))
					require.Same(t, msg, res.Message())
				}
				return
			}
			require.ErrorAs(t, err, &e)
			for _, kind := range kinds {
				require.Equal(t, kind == tc.kind, errors.Is(err, kind), "errors.Is(%v, %v)", err, kind)
			}
			require.Equal(t, tc.dateTime, errors.Is(err, amp.ErrDateTime), "errors.Is(%v, ErrDateTime)", err)
			require.Equal(t, 1, strings.Count(err.Error(), "amp:"), "%q has one amp: prefix", err)
			index := tc.index
			if tc.kind == amp.ErrBadRequest {
				index = -1
			}
			require.Equal(t, tc.kind, e.Kind, "%v", err)
			require.Equal(t, index, e.Index, "%v", err)
			require.Contains(t, err.Error(), tc.why)
			reply := e.Reply(hxServer)
			assertXML(t, tc.want, reply)
			requireBounded(t, p, msg, reply)
			// A server that evaluates a refused request anyway sends nothing.
			require.Equal(t, amp.RuleSet{}, req.Rules())
			require.Empty(t, req.Evaluate(amp.Outcome{Delivery: amp.DeliveryStored}).Replies(hxServer))
			// Error.Rules are the rules listed, as written: the reply cuts them.
			listed := amp.ParseEvent(readXML(t, tc.want)).Err.Rules
			require.Len(t, e.Rules, len(listed))
			limit := p.Config().MaxValueLen
			for i, r := range e.Rules {
				cut := amp.Rule{Condition: amp.Condition(hxCut(string(r.Condition), limit)), Action: amp.Action(hxCut(string(r.Action), limit)), Value: hxCut(r.Value, limit)}
				require.Equal(t, listed[i], cut, "Error.Rules[%d], cut to MaxValueLen", i)
			}
			// CheckRule refuses the first rule listed alike, unless what
			// Parse refused is no rule's alone: a repeated attribute (a Rule
			// has none) or the rule count.
			if len(e.Rules) > 0 && !strings.Contains(err.Error(), "repeated") && !strings.Contains(err.Error(), "more than") {
				var ce *amp.Error
				require.ErrorAs(t, p.CheckRule(e.Rules[0], presence), &ce, "CheckRule(%v)", e.Rules[0])
				require.Equal(t, amp.Error{Kind: tc.kind, Rules: e.Rules[:1], Err: ce.Err}, *ce, "CheckRule")
				require.Nil(t, ce.Reply(hxServer), "CheckRule's Error answers no message")
			}
		})
	}
}

// TestHostileSmallValueLimit checks every rule a server accepts under a
// MaxValueLen shorter than some condition and action names: an event
// echoes the rule met as written (the limit is for refusals).
func TestHostileSmallValueLimit(t *testing.T) {
	for limit := 1; limit <= len("match-resource"); limit++ {
		p, err := amp.NewProcessor(amp.Config{MaxValueLen: limit})
		require.NoError(t, err)
		for _, r := range []amp.Rule{{Condition: amp.ConditionDeliver, Action: amp.ActionNotify, Value: "none"}, {Condition: amp.ConditionMatchResource, Action: amp.ActionAlert, Value: "any"}} {
			msg := readXML(t, hxRequest("", hxRule(string(r.Condition), string(r.Action), r.Value)))
			req, err := p.Parse(msg, amp.HopEdge, amp.PresenceAuthorized)
			if err != nil {
				continue
			}
			res := req.Evaluate(amp.Outcome{Delivery: amp.Delivery(r.Value), Resource: "balcony"})
			if r.Condition == amp.ConditionMatchResource {
				res = req.Evaluate(amp.Outcome{Delivery: amp.DeliveryDirect, Resource: "balcony"})
			}
			replies := res.Replies(hxServer)
			require.Len(t, replies, 1, "MaxValueLen %d, %v", limit, r)
			require.Equal(t, []amp.Rule{r}, amp.ParseEvent(replies[0]).Rules, "MaxValueLen %d accepts %v; its event: %s", limit, r, writeXML(replies[0]))
		}
	}
}
