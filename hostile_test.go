package amp_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/require"
)

// hxCase is a hostile or malformed input and the exact answer to it.
type hxCase struct {
	name   string
	in     string
	cfg    amp.Config
	denied bool // the sender may not see the recipient's presence
	hop    amp.Hop
	// For a refusal: its kind, the index of its first failing rule (which
	// its text gives, counted from 1), its exact reply, and what its text
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
	return deepen(readXML(t, tc.in), tc.deep)
}

// because is tc whose error text contains why.
func (tc hxCase) because(why string) hxCase {
	tc.why = why
	return tc
}

// hxRefused is a refusal by the default configuration of the request with
// the rules in, listing listed, with the first failing rule at index. The
// reply echoes in, or echo when given.
func hxRefused(name, in string, kind error, index int, listed string, echo ...string) hxCase {
	echo = append(echo, in)
	return hxCase{name: name, in: requestXML("", in), kind: kind, index: index, want: refusalXML("", echo[0], kind, listed)}
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
	mixed := alertRule + ruleXML("match-resource", "notify", "other") + ruleXML("expire-at", "error", "2004-01-01T00:00:00Z")
	cases := []hxCase{
		// Attributes: missing, empty, repeated, prefixed, unknown.
		hxRefused("missing condition", rule(`action='drop' value='none'`), na, 0, rule(`action='drop' value='none'`)).because("amp: rule not acceptable: rule 1: missing or empty condition"),
		hxRefused("missing action", rule(`condition='deliver' value='none'`), na, 0, rule(`condition='deliver' value='none'`)).because("amp: rule not acceptable: rule 1: missing or empty action"),
		hxRefused("missing action before an unknown condition", rule(`condition='x-when' value='v'`), na, 0, rule(`condition='x-when' value='v'`)),
		hxRefused("missing value", rule(`condition='deliver' action='drop'`), na, 0, rule(`condition='deliver' action='drop'`)),
		hxRefused("no attributes", `<rule/>`, na, 0, `<rule/>`),
		hxRefused("empty attributes stay empty in the echo", rule(`condition='' action='' value=''`)+dropRule, na, 0, rule(`condition='' action='' value=''`)),
		hxRefused("empty value", rule(`condition='deliver' action='drop' value=''`), na, 0, rule(`condition='deliver' action='drop' value=''`)),
		{name: "a missing attribute before an unsupported action decides the kind", in: requestXML("", `<rule action='drop'/>`+bogusRule+rule(`condition='deliver' value='none'`)), kind: na,
			want: refusalXML("", `<rule action='drop'/>`+bogusRule+rule(`condition='deliver' value='none'`), na, `<rule action='drop'/>`+rule(`condition='deliver' value='none'`))},
		{name: "repeated action: the last is echoed", in: requestXML("", dropRule+rule(`condition='deliver' action='drop' action='alert' value='none'`)), kind: na, index: 1,
			want: refusalXML("", dropRule+rule(`condition='deliver' action='alert' value='none'`), na, rule(`condition='deliver' action='alert' value='none'`))},
		{name: "repeated value with the same text", in: requestXML("", rule(`condition='deliver' action='drop' value='none' value='none'`)), kind: na, why: "amp: rule not acceptable: rule 1: repeated attribute",
			want: refusalXML("", rule(`condition='deliver' action='drop' value='none'`), na, rule(`condition='deliver' action='drop' value='none'`))},
		{name: "repeated condition before an unsupported action", in: requestXML("", rule(`condition='bogus' condition='deliver' action='bogus' value='none'`)), kind: na,
			want: refusalXML("", bogusRule, na, bogusRule)},
		{name: "prefixed attributes do not count", in: requestXML("", rule(`xmlns:x='urn:x' x:condition='deliver' action='drop' x:value='none' value='stored'`)), kind: na,
			want: refusalXML("", rule(`action='drop' value='stored'`), na, rule(`action='drop' value='stored'`))},
		{name: "unknown attributes are not echoed", in: requestXML("", rule(`condition='deliver' action='bogus' value='none' secret='s3cr3t' xml:lang='en'`)), kind: ua,
			want: refusalXML("", bogusRule, ua, bogusRule)},

		// Unknown and unsupported conditions and actions, bad values.
		hxRefused("unknown condition", dropRule+rule(`condition='bogus' action='drop' value='x'`), uc, 1, rule(`condition='bogus' action='drop' value='x'`)).because(`amp: unsupported condition: rule 2: condition "bogus"`),
		hxRefused("unknown action", rule(`condition='deliver' action='bounce' value='none'`)+dropRule, ua, 0, rule(`condition='deliver' action='bounce' value='none'`)).because(`amp: unsupported action: rule 1: action "bounce"`),
		{name: "an unknown action before presence", denied: true, in: requestXML("", ruleXML("deliver", "x-do", "stored")+ruleXML("deliver", "notify", "stored")), kind: ua,
			want: refusalXML("", ruleXML("deliver", "x-do", "stored")+ruleXML("deliver", "notify", "stored"), ua, ruleXML("deliver", "x-do", "stored"))},
		hxRefused("unknown action and condition: the action first", bogus, ua, 0, bogus),
		hxRefused("the first failing rule decides the kind, all of it listed", ruleXML("c1", "drop", "x")+ruleXML("deliver", "a1", "none")+ruleXML("c2", "drop", "y")+ruleXML("deliver", "drop", "never"),
			uc, 0, ruleXML("c1", "drop", "x")+ruleXML("c2", "drop", "y")),
		hxRefused("case matters", ruleXML("Deliver", "DROP", "None"), ua, 0, ruleXML("Deliver", "DROP", "None")),
		{name: "an action the server does not list", in: requestXML("", alertRule+dropRule), cfg: amp.Config{Actions: []amp.Action{amp.ActionAlert}}, kind: ua, index: 1,
			want: refusalXML("", alertRule+dropRule, ua, dropRule)},
		{name: "a condition the server does not list, before its value", in: requestXML("", ruleXML("expire-at", "drop", "garbage")), cfg: amp.Config{Conditions: []amp.Condition{amp.ConditionDeliver}}, kind: uc,
			want: refusalXML("", ruleXML("expire-at", "drop", "garbage"), uc, ruleXML("expire-at", "drop", "garbage"))},
		hxRefused("a deliver value the XEP does not define", ruleXML("deliver", "drop", "later"), na, 0, ruleXML("deliver", "drop", "later")),
		hxRefused("a match-resource value the XEP does not define", ruleXML("match-resource", "drop", "balcony"), na, 0, ruleXML("match-resource", "drop", "balcony")),
		hxRefused("a value with surrounding space", ruleXML("deliver", "drop", " none"), na, 0, ruleXML("deliver", "drop", " none")),
		hxRefused("a non-ASCII value", ruleXML("deliver", "drop", "störed"), na, 0, ruleXML("deliver", "drop", "störed")),
		hxRefused("escaped characters are echoed as read", ruleXML("a&amp;b&lt;c", "drop", "&quot;&apos;&#9;&#10;&#13;"), uc, 0, ruleXML("a&amp;b&lt;c", "drop", "&quot;&apos;&#9;&#10;&#13;")),

		// Stanzas: only a <message/> in a stanza namespace is one.
		{name: "message in another namespace", in: `<message xmlns='urn:other' from='a@b/c' id='m1'><amp xmlns='http://jabber.org/protocol/amp'>` + bogus + `</amp></message>`, nobody: amp.ErrNotMessage},
		{name: "prefixed message in another namespace", in: `<x:message xmlns:x='urn:other' from='a@b/c' id='m1'/>`, nobody: amp.ErrNotMessage},
		{name: "message with an unbound prefix", in: `<x:message from='a@b/c' id='m1'/>`, nobody: amp.ErrNotMessage},
		{name: "not a message", in: `<iq type='set' from='a@b/c' id='m1'><amp xmlns='http://jabber.org/protocol/amp'>` + dropRule + `</amp></iq>`, nobody: amp.ErrNotMessage},
		{name: "no from", in: `<message id='m1'><amp xmlns='http://jabber.org/protocol/amp'>` + dropRule + `</amp></message>`, nobody: amp.ErrNoSender},
		{name: "nil", nobody: amp.ErrNotMessage},
		{name: "empty from", in: `<message from='' id='m1'><amp xmlns='http://jabber.org/protocol/amp'>` + dropRule + `</amp></message>`, nobody: amp.ErrNoSender},
		{name: "no amp", in: messageXML("", `<body>hi</body>`)},
		{name: "no from, no amp", in: `<message id='m1'><body>hi</body></message>`},
		{name: "jabber:server", in: messageXML(` xmlns='jabber:server'`, `<amp xmlns='http://jabber.org/protocol/amp'>`+dropRule+`</amp>`), rules: hxDeliverDrop("stored")},
		{name: "jabber:component:accept", in: messageXML(` xmlns='jabber:component:accept'`, `<amp xmlns='http://jabber.org/protocol/amp'>`+dropRule+`</amp>`), rules: hxDeliverDrop("stored")},
		{name: "prefixed message", in: `<x:message xmlns:x='jabber:client' from='a@b/c' id='m1'><amp xmlns='http://jabber.org/protocol/amp'>` + dropRule + `</amp></x:message>`, rules: hxDeliverDrop("stored")},

		// Namespaces and prefixes of <amp/> and <rule/>.
		{name: "prefixed amp and rules", in: messageXML("", `<a:amp xmlns:a='http://jabber.org/protocol/amp' per-hop='true'><a:rule condition='deliver' action='drop' value='none'/></a:amp>`), rules: hxDeliverDrop("none")},
		{name: "prefixed amp, refused", in: messageXML("", `<a:amp xmlns:a='http://jabber.org/protocol/amp' per-hop='true'><a:rule condition='deliver' action='bogus' value='none'/></a:amp>`), kind: ua,
			want: refusalXML(` per-hop='true'`, bogusRule, ua, bogusRule)},
		{name: "prefixed amp with unprefixed rules has no rule", in: messageXML("", `<a:amp xmlns:a='http://jabber.org/protocol/amp'>`+dropRule+`</a:amp>`), kind: bad, want: refusalXML("", "", bad, "")},
		{name: "amp in another namespace", in: messageXML("", `<amp xmlns='urn:other'>`+dropRule+`</amp>`)},
		{name: "amp in the errors namespace", in: messageXML("", `<amp xmlns='http://jabber.org/protocol/amp#errors'>`+dropRule+`</amp>`)},
		{name: "amp in the feature namespace", in: messageXML("", `<amp xmlns='http://jabber.org/features/amp'>`+dropRule+`</amp>`)},
		{name: "amp in the message's namespace", in: messageXML("", `<amp>`+dropRule+`</amp>`)},
		{name: "a prefix bound to another namespace", in: messageXML(` xmlns:a='urn:other'`, `<a:amp>`+dropRule+`</a:amp>`)},
		{name: "rules in another namespace are not rules", in: requestXML("", `<rule xmlns='urn:other' condition='deliver' action='drop' value='none'/>`), kind: bad, want: refusalXML("", "", bad, "")},
		{name: "rules in the errors namespace are not rules", in: requestXML("", `<rule xmlns='http://jabber.org/protocol/amp#errors' condition='deliver' action='bogus' value='none'/>`+dropRule), rules: hxDeliverDrop("stored")},
		{name: "nested rules are not rules", in: requestXML("", `<rule condition='deliver' action='drop' value='stored'>`+bogus+`</rule><junk>`+bogus+`</junk>`), rules: hxDeliverDrop("stored")},

		// Several <amp/>: only the first in the AMP namespace counts.
		{name: "several amp: a bad second one is ignored", in: messageXML("", `<amp xmlns='http://jabber.org/protocol/amp'>`+dropRule+`</amp><amp xmlns='http://jabber.org/protocol/amp' per-hop='maybe'>`+bogus+`</amp>`), rules: hxDeliverDrop("stored")},
		{name: "several amp: a bad first one is refused", in: messageXML("", `<amp xmlns='http://jabber.org/protocol/amp'>`+bogus+`</amp><amp xmlns='http://jabber.org/protocol/amp'>`+dropRule+`</amp>`), kind: ua, want: refusalXML("", bogus, ua, bogus)},
		{name: "several amp: one in another namespace first", in: messageXML("", `<amp xmlns='urn:other'>`+bogus+`</amp><amp xmlns='http://jabber.org/protocol/amp'>`+dropRule+`</amp>`), rules: hxDeliverDrop("stored")},
		{name: "several amp: an event first", in: messageXML("", `<amp xmlns='http://jabber.org/protocol/amp' status='notify'>`+notifyRule+`</amp><amp xmlns='http://jabber.org/protocol/amp'>`+bogus+`</amp>`)},

		// Events and errors are never processed again.
		{name: "status on a request", in: requestXML(` status='alert'`, bogus)},
		{name: "empty status on a request", in: requestXML(` status=''`, bogus)},
		{name: "message of type error", in: messageXML(` type='error'`, `<amp xmlns='http://jabber.org/protocol/amp'><rule/></amp>`)},
		hxRefused("a prefixed status is not a status", `<rule xmlns:x='urn:x' x:status='alert' condition='bogus' action='drop' value='x'/>`, uc, 0, rule(`condition='bogus' action='drop' value='x'`), rule(`condition='bogus' action='drop' value='x'`)),

		// per-hop.
		{name: "per-hop true", in: requestXML(` per-hop='true'`, dropRule), rules: hxDeliverDrop("stored")},
		{name: "per-hop true is echoed", in: requestXML(` per-hop='true'`, ruleXML("deliver", "drop", "later")), kind: na,
			want: refusalXML(` per-hop='true'`, ruleXML("deliver", "drop", "later"), na, ruleXML("deliver", "drop", "later"))},
		{name: "per-hop false is not echoed", in: requestXML(` per-hop='false'`, ruleXML("deliver", "drop", "later")), kind: na,
			want: refusalXML("", ruleXML("deliver", "drop", "later"), na, ruleXML("deliver", "drop", "later"))},

		// Transit hops: only the rules that apply there are checked.
		{name: "transit: nothing is checked without per-hop", hop: amp.HopTransit, in: messageXML("", `<amp xmlns='http://jabber.org/protocol/amp'>`+bogus+`</amp>`),
			rules: []amp.Rule{{Condition: "bogus", Action: "bogus", Value: "x"}}},
		{name: "transit: match-resource rules are skipped", hop: amp.HopTransit, denied: true, in: requestXML(` per-hop='true'`, ruleXML("match-resource", "bogus", "x")+dropRule),
			rules: append([]amp.Rule{{Condition: amp.ConditionMatchResource, Action: "bogus", Value: "x"}}, hxDeliverDrop("stored")...)},
		{name: "transit: the other rules are checked", hop: amp.HopTransit, in: requestXML(` per-hop='true'`, ruleXML("match-resource", "bogus", "x")+bogus), kind: ua, index: 1,
			want: refusalXML(` per-hop='true'`, ruleXML("match-resource", "bogus", "x")+bogus, ua, bogus)},

		// The message's id, and requests without rules.
		{name: "no id", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard'><body>secret</body><amp xmlns='http://jabber.org/protocol/amp'>` + dropRule + `</amp></message>`, kind: bad, want: strings.Replace(refusalXML("", dropRule, bad, ""), ` id='m1'`, "", 1)},
		{name: "empty id", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard' id=''><amp xmlns='http://jabber.org/protocol/amp'>` + dropRule + `</amp></message>`, kind: bad, want: strings.Replace(refusalXML("", dropRule, bad, ""), ` id='m1'`, "", 1)},
		{name: "no rule", in: requestXML("", ""), kind: bad, want: refusalXML("", "", bad, "")},
		{name: "no rule, only junk", in: requestXML("", `text<!-- comment --><junk condition='deliver' action='drop' value='none'/><![CDATA[<rule/>]]>`), kind: bad, want: refusalXML("", "", bad, "")},

		// JIDs: the reply goes to the sender as written.
		{name: "non-ASCII JIDs and id, resources with slashes", in: `<message xmlns='jabber:client' from='ромео@монтегю.lit/сад/2' id='ид&amp;&lt;' to='джульетта@капулетти.lit'><amp xmlns='http://jabber.org/protocol/amp'>` + bogusRule + `</amp></message>`, kind: ua,
			want: `<message xmlns='jabber:client' from='capulet.lit' to='ромео@монтегю.lit/сад/2' id='ид&amp;&lt;' type='error'><amp xmlns='http://jabber.org/protocol/amp'>` + bogusRule + `</amp>` + errorXML(ua, bogusRule) + `</message>`},
		{name: "from and to on the request are not addresses", in: requestXML(` from='mallory@evil.lit' to='mallory@evil.lit'`, bogusRule), kind: ua, want: refusalXML("", bogusRule, ua, bogusRule)},

		// Limits. Over MaxRules: refused before any rule is checked, the
		// first MaxRules echoed and the next MaxRules listed. Attributes
		// over MaxValueLen are cut in replies, at the start of a character.
		{name: "32 rules", in: requestXML("", strings.Repeat(dropRule, 32)), rules: hxRepeatRules(32, hxDeliverDrop("stored")[0])},
		{name: "33 rules", in: requestXML("", strings.Repeat(dropRule, 32)+ruleXML("deliver", "drop", "none")), kind: na, index: 32, why: "more than 32 rules",
			want: refusalXML("", strings.Repeat(dropRule, 32), na, ruleXML("deliver", "drop", "none"))},
		{name: "33 bad rules: the limit first", in: requestXML("", repeatXML(0, 32, numberedRule)), kind: na, index: 32, want: refusalXML("", repeatXML(0, 31, numberedRule), na, numberedRule(32))},
		{name: "10,000 rules", in: requestXML("", repeatXML(0, 9999, numberedRule)), kind: na, index: 32, want: refusalXML("", repeatXML(0, 31, numberedRule), na, repeatXML(32, 63, numberedRule))},
		{name: "100,000 rules", in: requestXML("", repeatXML(0, 99999, numberedRule)), kind: na, index: 32, want: refusalXML("", repeatXML(0, 31, numberedRule), na, repeatXML(32, 63, numberedRule))},
		{name: "a smaller rule limit", in: requestXML("", dropRule+notifyRule+alertRule), cfg: amp.Config{MaxRules: 1}, kind: na, index: 1, why: "more than 1 rules", want: refusalXML("", dropRule, na, notifyRule)},
		{name: "a larger rule limit", in: requestXML("", strings.Repeat(dropRule, 100)), cfg: amp.Config{MaxRules: 100}, rules: hxRepeatRules(100, hxDeliverDrop("stored")[0])},
		{name: "a value over the limit", in: requestXML("", ruleXML("deliver", "drop", long)), kind: na, why: "amp: rule not acceptable: rule 1: value longer than 256 bytes",
			want: refusalXML("", ruleXML("deliver", "drop", cut), na, ruleXML("deliver", "drop", cut))},
		{name: "a value under a larger limit", in: requestXML("", ruleXML("deliver", "drop", long)), cfg: amp.Config{MaxValueLen: 401}, kind: na, why: "is not direct, forward",
			want: refusalXML("", ruleXML("deliver", "drop", long), na, ruleXML("deliver", "drop", long))},
		hxRefused("a 1 MB value", ruleXML("deliver", "drop", huge), na, 0, ruleXML("deliver", "drop", cut), ruleXML("deliver", "drop", cut)),
		{name: "a 1 MB value, rules after it", in: requestXML("", ruleXML("deliver", "drop", huge)+dropRule), kind: na, want: refusalXML("", ruleXML("deliver", "drop", cut)+dropRule, na, ruleXML("deliver", "drop", cut))},
		hxRefused("a long unknown condition", ruleXML(long, "drop", long), uc, 0, ruleXML(cut, "drop", cut), ruleXML(cut, "drop", cut)),
		{name: "names XEP-0079 defines are never cut", in: requestXML("", ruleXML("match-resource", "notify", "any")+ruleXML("x-much-too-long", "x-also-too-long", "any")), cfg: amp.Config{MaxValueLen: 8, Conditions: []amp.Condition{amp.ConditionDeliver, amp.ConditionMatchResource}}, kind: ua, index: 1,
			want: refusalXML("", ruleXML("match-resource", "notify", "any")+ruleXML("x-much-t", "x-also-t", "any"), ua, ruleXML("x-much-t", "x-also-t", "any"))},
		{name: "expire-at over a small limit", in: requestXML("", dropRule+ruleXML("expire-at", "drop", "2004-01-01T00:00:00.5Z")), cfg: amp.Config{MaxValueLen: 20}, kind: na, index: 1,
			why: "value longer than 20 bytes", want: refusalXML("", dropRule+ruleXML("expire-at", "drop", "2004-01-01T00:00:00."), na, ruleXML("expire-at", "drop", "2004-01-01T00:00:00."))},
		{name: "expire-at at a small limit", in: requestXML("", ruleXML("expire-at", "drop", "2004-01-01T00:00:00Z")), cfg: amp.Config{MaxValueLen: 20},
			rules: []amp.Rule{{Condition: amp.ConditionExpireAt, Action: amp.ActionDrop, Value: "2004-01-01T00:00:00Z"}}},

		// Junk inside and around rules, and deep nesting, is never echoed.
		hxRefused("junk inside a rule", `<rule condition='deliver' action='bogus' value='none'><body>leak</body>text<![CDATA[cdata]]><!-- c --><?pi x?>`+deepXML(1000)+`</rule>`, ua, 0, bogusRule, bogusRule),
		{name: "junk between rules", in: requestXML("", `<x:rule xmlns:x='urn:x' condition='bogus' action='bogus' value='x'/>junk`+dropRule+`<!-- c --><body>leak</body>`+ruleXML("deliver", "drop", "later")), kind: na, index: 1,
			want: refusalXML("", dropRule+ruleXML("deliver", "drop", "later"), na, ruleXML("deliver", "drop", "later"))},
		{name: "a payload 10,000 levels deep, refused", deep: 10000, in: messageXML("", `<amp xmlns='http://jabber.org/protocol/amp'>`+bogusRule+`</amp>`), kind: ua, want: refusalXML("", bogusRule, ua, bogusRule)},
		{name: "a payload 10,000 levels deep, accepted", deep: 10000, in: messageXML(" to='"+recipient+"'", `<amp xmlns='http://jabber.org/protocol/amp'>`+notifyRule+dropRule+`</amp>`),
			rules: []amp.Rule{{Condition: amp.ConditionDeliver, Action: amp.ActionNotify, Value: "direct"}, hxDeliverDrop("stored")[0]}},

		// §9: without presence authorization only drop is acceptable.
		{name: "alert, notify and error without presence authorization", denied: true, in: requestXML("", dropRule+mixed+ruleXML("expire-at", "drop", "2004-01-01T00:00:00Z")), kind: na, index: 1,
			why: "amp: rule not acceptable: rule 2: the sender may not see the recipient's presence (XEP-0079 §9)", want: refusalXML("", dropRule+mixed+ruleXML("expire-at", "drop", "2004-01-01T00:00:00Z"), na, mixed)},
		{name: "drop without presence authorization", denied: true, in: requestXML("", dropRule), rules: hxDeliverDrop("stored")},
	}
	// A malformed or repeated per-hop is refused at every hop; the first is echoed.
	for _, attrs := range []string{`yes'`, `TRUE'`, `1'`, `'`, ` true'`, `false' per-hop='false'`, `false' per-hop='true'`, `true' per-hop='true'`} {
		echo := map[bool]string{true: ` per-hop='true'`}[strings.HasPrefix(attrs, "true")]
		for _, hop := range []amp.Hop{amp.HopEdge, amp.HopTransit} {
			cases = append(cases, hxCase{name: fmt.Sprintf("per-hop='%s at hop %d", attrs, hop), hop: hop, in: requestXML(` per-hop='`+attrs, dropRule), kind: bad, want: refusalXML(echo, dropRule, bad, "")})
		}
	}
	for _, c := range dateTimes {
		r := ruleXML("expire-at", "drop", c.in)
		switch {
		case c.want != "":
			cases = append(cases, hxCase{name: "expire-at " + c.in, in: requestXML("", r), rules: []amp.Rule{{Condition: amp.ConditionExpireAt, Action: amp.ActionDrop, Value: c.in}}})
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

// hxAlone parses, with p at the edge for a sender with presence, a request
// whose only rule is r.
func hxAlone(t testing.TB, p *amp.Processor, r amp.Rule, presence amp.Presence) error {
	t.Helper()
	msg := readXML(t, messageXML(" to='"+recipient+"'", ""))
	msg.AddChild(amp.RuleSet{Rules: []amp.Rule{r}}.Element())
	_, err := p.Parse(msg, amp.HopEdge, presence)
	return err
}

// TestHostile runs the table of hxCases: a refusal is exactly the reply
// wanted and bounded, refuses its first listed rule alike when it is
// alone, and leaves nothing to evaluate; an accepted request has the rules
// wanted, each accepted alone, and bounded replies; for nobody to answer
// there is no *Error.
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
				require.Equal(t, tc.rules, mustRules(t, req).Rules)
				for _, o := range boundOutcomes {
					requireBounded(t, p, msg, mustEvaluate(t, req, o).Replies(domain)...)
				}
				for _, r := range tc.rules {
					if tc.hop == amp.HopEdge {
						require.NoError(t, hxAlone(t, p, r, presence), "%v alone", r)
					}
				}
				if tc.rules == nil { // no request: the message goes on unchanged
					res := mustEvaluate(t, req, amp.Outcome{Delivery: amp.DeliveryDirect, NextHop: amp.NextHopNoAMP})
					require.True(t, res.Proceed())
					require.Nil(t, res.Replies(domain))
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
			if index >= 0 {
				require.True(t, strings.HasPrefix(err.Error(), fmt.Sprintf("%v: rule %d: ", tc.kind, index+1)), "%q names rule %d", err, index+1)
			} else {
				require.NotRegexp(t, `^amp: [a-z ]+: rule \d`, err.Error(), "a bad request names no rule")
			}
			require.Contains(t, err.Error(), tc.why)
			reply := e.Reply(domain)
			assertXML(t, tc.want, reply)
			requireBounded(t, p, msg, reply)
			// A server that evaluates a refused request anyway sends nothing.
			require.Equal(t, amp.Request{}, req)
			require.Empty(t, mustEvaluate(t, req, amp.Outcome{Delivery: amp.DeliveryStored}).Replies(domain))
			// Error.Rules are the rules listed, as written: the reply cuts them.
			listed := amp.ParseEvent(readXML(t, tc.want)).Err.Rules
			require.Len(t, e.Rules, len(listed))
			limit := p.Config().MaxValueLen
			for i, r := range e.Rules {
				cut := amp.Rule{Condition: amp.Condition(hxCut(string(r.Condition), limit)), Action: amp.Action(hxCut(string(r.Action), limit)), Value: hxCut(r.Value, limit)}
				require.Equal(t, listed[i], cut, "Error.Rules[%d], cut to MaxValueLen", i)
			}
			// The first rule listed, alone in a request, is refused alike,
			// unless what Parse refused is no rule's alone: a repeated
			// attribute (a Rule has none) or the rule count.
			if len(e.Rules) > 0 && !strings.Contains(err.Error(), "repeated") && !strings.Contains(err.Error(), "more than") {
				var ae *amp.Error
				aerr := hxAlone(t, p, e.Rules[0], presence)
				require.ErrorAs(t, aerr, &ae, "%v alone", e.Rules[0])
				require.Equal(t, tc.kind, ae.Kind, "%v alone: %v", e.Rules[0], aerr)
				require.Equal(t, e.Rules[:1], ae.Rules, "%v alone", e.Rules[0])
				require.True(t, strings.HasPrefix(aerr.Error(), fmt.Sprintf("%v: rule 1: ", tc.kind)), "%q names rule 1", aerr)
			}
		})
	}
}
