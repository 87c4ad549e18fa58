package amp_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// hxSender and hxID are the sender and id of the hostile requests.
const (
	hxSender = "romeo@montague.lit/orchard"
	hxID     = "h1"
)

// hxRequest is a message from hxSender with a body and an <amp/> with the
// given attributes and content.
func hxRequest(ampAttrs, content string) string {
	return fmt.Sprintf(`<message xmlns='jabber:client' from='%s' id='%s' to='juliet@capulet.lit/balcony'><body>secret</body><amp xmlns='http://jabber.org/protocol/amp'%s>%s</amp><thread>thread-leak</thread></message>`, hxSender, hxID, ampAttrs, content)
}

// hxRefusal is the refusal the server sends to hxSender: the echo of the
// request (its <amp/> attributes and rules) and the <error/>.
func hxRefusal(echoAttrs, echo, errorXML string) string {
	return fmt.Sprintf(`<message xmlns='jabber:client' from='%s' to='%s' id='%s' type='error'><amp xmlns='http://jabber.org/protocol/amp'%s>%s</amp>%s</message>`, hxServer, hxSender, hxID, echoAttrs, echo, errorXML)
}

// The <error/> children of each kind, with the rules they list.
func hxBadRequest() string {
	return `<error type='modify' code='400'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
}

func hxNotAcceptable(rules string) string {
	return `<error type='modify' code='405'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><invalid-rules xmlns='http://jabber.org/protocol/amp'>` + rules + `</invalid-rules></error>`
}

func hxUnsupportedActions(rules string) string {
	return `<error type='modify' code='400'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><unsupported-actions xmlns='http://jabber.org/protocol/amp'>` + rules + `</unsupported-actions></error>`
}

func hxUnsupportedConditions(rules string) string {
	return `<error type='modify' code='400'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><unsupported-conditions xmlns='http://jabber.org/protocol/amp'>` + rules + `</unsupported-conditions></error>`
}

// hxRule writes one <rule/>.
func hxRule(condition, action, value string) string {
	return fmt.Sprintf(`<rule condition='%s' action='%s' value='%s'/>`, condition, action, value)
}

// hxRepeat writes n rules, the i-th from f(i).
func hxRepeat(n int, f func(i int) string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(f(i))
	}
	return b.String()
}

// hxDeep is junk nested n levels deep.
func hxDeep(n int) string {
	return strings.Repeat("<junk a='1'>", n) + "<body>leak</body>" + strings.Repeat("</junk>", n)
}

const (
	hxDrop   = `<rule condition='deliver' action='drop' value='stored'/>`
	hxAlert  = `<rule condition='deliver' action='alert' value='stored'/>`
	hxNotify = `<rule condition='deliver' action='notify' value='direct'/>`
)

// hxOutcome values of the hostile table.
const (
	hxAccepted  = "accepted"   // Parse and Validate accept the request
	hxNoRequest = "no request" // Parse returns nil, nil
	hxNoReply   = "no reply"   // Parse returns an error with no stanza to send
)

type hxCase struct {
	name string
	in   string
	// dupAttrs reads the input with etree's PreserveDuplicateAttrs.
	dupAttrs bool
	config   *amp.Config
	presence amp.Presence
	// kind is the kind of the refusal, nil when there is none.
	kind error
	// want is the exact reply, or hxAccepted, hxNoRequest or hxNoReply.
	want string
	// rules, when set, are the rules an accepted request must carry.
	rules []amp.Rule
	// index is the Index of the refusal, counted from 0.
	index int
}

// hxHostileCases are hostile and malformed requests, each with the exact
// answer. Unless a case says otherwise the sender is authorized to see the
// recipient's presence and the configuration is the zero one.
func hxHostileCases() []hxCase {
	auth := amp.PresenceAuthorized
	long := strings.Repeat("é", 200) // 400 bytes
	thousands := hxRepeat(5000, func(i int) string { return hxRule("deliver", "drop", []string{"none", "stored"}[i%2]) })
	return []hxCase{
		// Attributes: missing, empty, repeated, prefixed, unknown.
		{name: "missing condition", in: hxRequest("", `<rule action='drop' value='none'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule action='drop' value='none'/>`, hxNotAcceptable(`<rule action='drop' value='none'/>`))},
		{name: "missing action", in: hxRequest("", `<rule condition='deliver' value='none'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule condition='deliver' value='none'/>`, hxNotAcceptable(`<rule condition='deliver' value='none'/>`))},
		{name: "missing value", in: hxRequest("", `<rule condition='deliver' action='drop'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule condition='deliver' action='drop'/>`, hxNotAcceptable(`<rule condition='deliver' action='drop'/>`))},
		{name: "no attributes", in: hxRequest("", `<rule/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule/>`, hxNotAcceptable(`<rule/>`))},
		{name: "empty attributes are echoed as missing", in: hxRequest("", `<rule condition='' action='' value=''/>`+hxDrop), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule/>`+hxDrop, hxNotAcceptable(`<rule/>`))},
		{name: "empty value", in: hxRequest("", `<rule condition='deliver' action='drop' value=''/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule condition='deliver' action='drop'/>`, hxNotAcceptable(`<rule condition='deliver' action='drop'/>`))},
		{name: "missing attribute before an unsupported action decides the kind", in: hxRequest("", `<rule action='drop'/><rule condition='deliver' action='bogus' value='none'/><rule condition='deliver' value='none'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule action='drop'/><rule condition='deliver' action='bogus' value='none'/><rule condition='deliver' value='none'/>`, hxNotAcceptable(`<rule action='drop'/><rule condition='deliver' value='none'/>`))},
		{name: "repeated action, duplicates kept", dupAttrs: true, in: hxRequest("", hxDrop+`<rule condition='deliver' action='drop' action='alert' value='none'/>`), presence: auth, kind: amp.ErrNotAcceptable, index: 1,
			want: hxRefusal("", hxDrop+`<rule condition='deliver' action='alert' value='none'/>`, hxNotAcceptable(`<rule condition='deliver' action='alert' value='none'/>`))},
		{name: "repeated value with the same text, duplicates kept", dupAttrs: true, in: hxRequest("", `<rule condition='deliver' action='drop' value='none' value='none'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule condition='deliver' action='drop' value='none'/>`, hxNotAcceptable(`<rule condition='deliver' action='drop' value='none'/>`))},
		{name: "repeated condition with an unsupported action, duplicates kept", dupAttrs: true, in: hxRequest("", `<rule condition='bogus' condition='deliver' action='bogus' value='none'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule condition='deliver' action='bogus' value='none'/>`, hxNotAcceptable(`<rule condition='deliver' action='bogus' value='none'/>`))},
		// encoding/xml accepts repeated attributes and etree keeps only the
		// last one unless told otherwise: the request is then read as if
		// written once, with the last value.
		{name: "repeated action, etree default keeps the last", in: hxRequest("", `<rule condition='deliver' action='alert' action='drop' value='none'/>`), presence: amp.PresenceDenied,
			want: hxAccepted, rules: []amp.Rule{{Condition: amp.CondDeliver, Action: amp.ActionDrop, Value: "none"}}},
		{name: "repeated action, etree default keeps the last, refused by policy", in: hxRequest("", `<rule condition='deliver' action='drop' action='alert' value='none'/>`), kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule condition='deliver' action='alert' value='none'/>`, hxNotAcceptable(`<rule condition='deliver' action='alert' value='none'/>`))},
		{name: "prefixed attributes do not count", in: hxRequest("", `<rule xmlns:x='urn:x' x:condition='deliver' action='drop' x:value='none' value='stored'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule action='drop' value='stored'/>`, hxNotAcceptable(`<rule action='drop' value='stored'/>`))},
		{name: "unknown attributes are ignored and not echoed", in: hxRequest("", `<rule condition='deliver' action='bogus' value='none' secret='s3cr3t' xml:lang='en'/>`), presence: auth, kind: amp.ErrUnsupportedAction,
			want: hxRefusal("", `<rule condition='deliver' action='bogus' value='none'/>`, hxUnsupportedActions(`<rule condition='deliver' action='bogus' value='none'/>`))},

		// Unknown and unsupported conditions and actions.
		{name: "unknown condition", in: hxRequest("", hxDrop+`<rule condition='bogus' action='drop' value='x'/>`), presence: auth, kind: amp.ErrUnsupportedCondition, index: 1,
			want: hxRefusal("", hxDrop+`<rule condition='bogus' action='drop' value='x'/>`, hxUnsupportedConditions(`<rule condition='bogus' action='drop' value='x'/>`))},
		{name: "unknown action", in: hxRequest("", `<rule condition='deliver' action='bounce' value='none'/>`+hxDrop), presence: auth, kind: amp.ErrUnsupportedAction,
			want: hxRefusal("", `<rule condition='deliver' action='bounce' value='none'/>`+hxDrop, hxUnsupportedActions(`<rule condition='deliver' action='bounce' value='none'/>`))},
		{name: "unknown action and condition: the action first", in: hxRequest("", `<rule condition='bogus' action='bogus' value='x'/>`), presence: auth, kind: amp.ErrUnsupportedAction,
			want: hxRefusal("", `<rule condition='bogus' action='bogus' value='x'/>`, hxUnsupportedActions(`<rule condition='bogus' action='bogus' value='x'/>`))},
		{name: "first failing rule decides the kind, all of that kind listed", in: hxRequest("", `<rule condition='c1' action='drop' value='x'/><rule condition='deliver' action='a1' value='none'/><rule condition='c2' action='drop' value='y'/><rule condition='deliver' action='drop' value='never'/>`), presence: auth, kind: amp.ErrUnsupportedCondition,
			want: hxRefusal("", `<rule condition='c1' action='drop' value='x'/><rule condition='deliver' action='a1' value='none'/><rule condition='c2' action='drop' value='y'/><rule condition='deliver' action='drop' value='never'/>`,
				hxUnsupportedConditions(`<rule condition='c1' action='drop' value='x'/><rule condition='c2' action='drop' value='y'/>`))},
		{name: "case matters", in: hxRequest("", `<rule condition='Deliver' action='DROP' value='None'/>`), presence: auth, kind: amp.ErrUnsupportedAction,
			want: hxRefusal("", `<rule condition='Deliver' action='DROP' value='None'/>`, hxUnsupportedActions(`<rule condition='Deliver' action='DROP' value='None'/>`))},
		{name: "action the server does not list", in: hxRequest("", hxAlert+hxDrop), config: &amp.Config{Actions: []amp.Action{amp.ActionAlert}}, presence: auth, kind: amp.ErrUnsupportedAction, index: 1,
			want: hxRefusal("", hxAlert+hxDrop, hxUnsupportedActions(hxDrop))},
		{name: "condition the server does not list", in: hxRequest("", `<rule condition='expire-at' action='drop' value='2004-01-01T00:00:00Z'/>`), config: &amp.Config{Conditions: []amp.Condition{amp.CondDeliver}}, presence: auth, kind: amp.ErrUnsupportedCondition,
			want: hxRefusal("", `<rule condition='expire-at' action='drop' value='2004-01-01T00:00:00Z'/>`, hxUnsupportedConditions(`<rule condition='expire-at' action='drop' value='2004-01-01T00:00:00Z'/>`))},
		{name: "deliver value the XEP does not define", in: hxRequest("", `<rule condition='deliver' action='drop' value='later'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule condition='deliver' action='drop' value='later'/>`, hxNotAcceptable(`<rule condition='deliver' action='drop' value='later'/>`))},
		{name: "match-resource value the XEP does not define", in: hxRequest("", `<rule condition='match-resource' action='drop' value='balcony'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule condition='match-resource' action='drop' value='balcony'/>`, hxNotAcceptable(`<rule condition='match-resource' action='drop' value='balcony'/>`))},
		{name: "value with surrounding space", in: hxRequest("", `<rule condition='deliver' action='drop' value=' none'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule condition='deliver' action='drop' value=' none'/>`, hxNotAcceptable(`<rule condition='deliver' action='drop' value=' none'/>`))},

		// Namespaces and prefixes.
		{name: "prefixed amp and rules are a request", in: `<message from='romeo@montague.lit/orchard' id='h1' to='juliet@capulet.lit'><a:amp xmlns:a='http://jabber.org/protocol/amp' per-hop='true'><a:rule condition='deliver' action='drop' value='none'/></a:amp></message>`, presence: auth,
			want: hxAccepted, rules: []amp.Rule{{Condition: amp.CondDeliver, Action: amp.ActionDrop, Value: "none"}}},
		{name: "prefixed amp, refused", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard' id='h1'><a:amp xmlns:a='http://jabber.org/protocol/amp' per-hop='true'><a:rule condition='deliver' action='bogus' value='none'/></a:amp></message>`, presence: auth, kind: amp.ErrUnsupportedAction,
			want: hxRefusal(` per-hop='true'`, `<rule condition='deliver' action='bogus' value='none'/>`, hxUnsupportedActions(`<rule condition='deliver' action='bogus' value='none'/>`))},
		{name: "prefixed amp with unprefixed rules has no rule", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard' id='h1'><a:amp xmlns:a='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='none'/></a:amp></message>`, presence: auth, kind: amp.ErrBadRequest, index: -1,
			want: hxRefusal("", "", hxBadRequest())},
		{name: "amp in another namespace is not a request", in: hxRequestNS("urn:other", hxDrop), presence: auth, want: hxNoRequest},
		{name: "amp in the errors namespace is not a request", in: hxRequestNS(amp.NSErrors, hxDrop), presence: auth, want: hxNoRequest},
		{name: "amp in the feature namespace is not a request", in: hxRequestNS(amp.NSFeature, hxDrop), presence: auth, want: hxNoRequest},
		{name: "amp without namespace is not a request", in: `<message from='romeo@montague.lit/orchard' id='h1'><amp>` + hxDrop + `</amp></message>`, presence: auth, want: hxNoRequest},
		{name: "a prefix bound to another namespace is not a request", in: `<message from='romeo@montague.lit/orchard' id='h1' xmlns:a='urn:other'><a:amp>` + hxDrop + `</a:amp></message>`, presence: auth, want: hxNoRequest},
		{name: "rules in another namespace are not rules", in: hxRequest("", `<rule xmlns='urn:other' condition='deliver' action='drop' value='none'/>`), presence: auth, kind: amp.ErrBadRequest, index: -1,
			want: hxRefusal("", "", hxBadRequest())},
		{name: "rules in the errors namespace are not rules", in: hxRequest("", `<rule xmlns='http://jabber.org/protocol/amp#errors' condition='deliver' action='bogus' value='none'/>`+hxDrop), presence: auth,
			want: hxAccepted, rules: []amp.Rule{{Condition: amp.CondDeliver, Action: amp.ActionDrop, Value: "stored"}}},

		// Several <amp/> children: only the first in the AMP namespace counts.
		{name: "several amp: the first counts", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard' id='h1'><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp><amp xmlns='http://jabber.org/protocol/amp'>` + hxAlert + `</amp></message>`,
			want: hxAccepted, rules: []amp.Rule{{Condition: amp.CondDeliver, Action: amp.ActionDrop, Value: "stored"}}},
		{name: "several amp: a bad second one is ignored", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard' id='h1'><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp><amp xmlns='http://jabber.org/protocol/amp' per-hop='maybe'><rule condition='bogus' action='bogus' value='x'/></amp></message>`, presence: auth,
			want: hxAccepted, rules: []amp.Rule{{Condition: amp.CondDeliver, Action: amp.ActionDrop, Value: "stored"}}},
		{name: "several amp: a bad first one is refused", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard' id='h1'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='bogus' action='drop' value='x'/></amp><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp></message>`, presence: auth, kind: amp.ErrUnsupportedCondition,
			want: hxRefusal("", `<rule condition='bogus' action='drop' value='x'/>`, hxUnsupportedConditions(`<rule condition='bogus' action='drop' value='x'/>`))},
		{name: "several amp: one in another namespace first", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard' id='h1'><amp xmlns='urn:other'><rule condition='bogus' action='bogus' value='x'/></amp><amp xmlns='http://jabber.org/protocol/amp'>` + hxAlert + `</amp></message>`, presence: auth,
			want: hxAccepted, rules: []amp.Rule{{Condition: amp.CondDeliver, Action: amp.ActionAlert, Value: "stored"}}},
		{name: "several amp: an event first means no request", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard' id='h1'><amp xmlns='http://jabber.org/protocol/amp' status='notify'>` + hxNotify + `</amp><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp></message>`, presence: auth, want: hxNoRequest},

		// Events are never processed again; neither are errors.
		{name: "status on a request", in: hxRequest(` status='alert'`, hxAlert), presence: auth, want: hxNoRequest},
		{name: "empty status on a request", in: hxRequest(` status=''`, `<rule condition='bogus' action='bogus' value='x'/>`), presence: auth, want: hxNoRequest},
		{name: "prefixed status is not a status", in: hxRequest(` xmlns:x='urn:x' x:status='alert'`, `<rule condition='bogus' action='drop' value='x'/>`), presence: auth, kind: amp.ErrUnsupportedCondition,
			want: hxRefusal("", `<rule condition='bogus' action='drop' value='x'/>`, hxUnsupportedConditions(`<rule condition='bogus' action='drop' value='x'/>`))},
		{name: "message of type error", in: `<message type='error' from='romeo@montague.lit/orchard' id='h1'><amp xmlns='http://jabber.org/protocol/amp'><rule/></amp></message>`, presence: auth, want: hxNoRequest},
		{name: "not a message", in: `<iq type='set' from='romeo@montague.lit/orchard' id='h1'><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp></iq>`, presence: auth, want: hxNoReply},
		{name: "no from", in: `<message id='h1'><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp></message>`, presence: auth, want: hxNoReply},
		{name: "empty from", in: `<message from='' id='h1'><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp></message>`, presence: auth, want: hxNoReply},

		// per-hop.
		{name: "per-hop true", in: hxRequest(` per-hop='true'`, hxDrop), presence: auth, want: hxAccepted,
			rules: []amp.Rule{{Condition: amp.CondDeliver, Action: amp.ActionDrop, Value: "stored"}}},
		{name: "per-hop true, echoed in a refusal", in: hxRequest(` per-hop='true'`, `<rule condition='deliver' action='drop' value='later'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal(` per-hop='true'`, `<rule condition='deliver' action='drop' value='later'/>`, hxNotAcceptable(`<rule condition='deliver' action='drop' value='later'/>`))},
		{name: "per-hop false is not echoed", in: hxRequest(` per-hop='false'`, `<rule condition='deliver' action='drop' value='later'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule condition='deliver' action='drop' value='later'/>`, hxNotAcceptable(`<rule condition='deliver' action='drop' value='later'/>`))},
		{name: "per-hop yes", in: hxRequest(` per-hop='yes'`, hxDrop), presence: auth, kind: amp.ErrBadRequest, index: -1, want: hxRefusal("", hxDrop, hxBadRequest())},
		{name: "per-hop TRUE", in: hxRequest(` per-hop='TRUE'`, hxDrop), presence: auth, kind: amp.ErrBadRequest, index: -1, want: hxRefusal("", hxDrop, hxBadRequest())},
		{name: "per-hop 1", in: hxRequest(` per-hop='1'`, hxDrop), presence: auth, kind: amp.ErrBadRequest, index: -1, want: hxRefusal("", hxDrop, hxBadRequest())},
		{name: "per-hop empty", in: hxRequest(` per-hop=''`, hxDrop), presence: auth, kind: amp.ErrBadRequest, index: -1, want: hxRefusal("", hxDrop, hxBadRequest())},
		{name: "per-hop with space", in: hxRequest(` per-hop=' true'`, hxDrop), presence: auth, kind: amp.ErrBadRequest, index: -1, want: hxRefusal("", hxDrop, hxBadRequest())},

		{name: "per-hop repeated, duplicates kept", dupAttrs: true, in: hxRequest(` per-hop='true' per-hop='false'`, hxDrop), presence: auth, kind: amp.ErrBadRequest, index: -1, want: hxRefusal("", hxDrop, hxBadRequest())},
		{name: "per-hop repeated with the same value, duplicates kept", dupAttrs: true, in: hxRequest(` per-hop='true' per-hop='true'`, hxDrop), presence: auth, kind: amp.ErrBadRequest, index: -1, want: hxRefusal("", hxDrop, hxBadRequest())},
		{name: "per-hop repeated, etree default keeps the last", in: hxRequest(` per-hop='true' per-hop='false'`, `<rule condition='deliver' action='drop' value='later'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule condition='deliver' action='drop' value='later'/>`, hxNotAcceptable(`<rule condition='deliver' action='drop' value='later'/>`))},

		// The message's id.
		{name: "no id", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard'><body>secret</body><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp></message>`, presence: auth, kind: amp.ErrBadRequest, index: -1,
			want: `<message xmlns='jabber:client' from='shakespeare.lit' to='romeo@montague.lit/orchard' type='error'><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp>` + hxBadRequest() + `</message>`},
		{name: "empty id", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard' id=''><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp></message>`, presence: auth, kind: amp.ErrBadRequest, index: -1,
			want: `<message xmlns='jabber:client' from='shakespeare.lit' to='romeo@montague.lit/orchard' type='error'><amp xmlns='http://jabber.org/protocol/amp'>` + hxDrop + `</amp>` + hxBadRequest() + `</message>`},
		{name: "no rule", in: hxRequest("", ""), presence: auth, kind: amp.ErrBadRequest, index: -1, want: hxRefusal("", "", hxBadRequest())},
		{name: "no rule, only junk", in: hxRequest("", `text<!-- comment --><junk condition='deliver' action='drop' value='none'/><![CDATA[<rule/>]]>`), presence: auth, kind: amp.ErrBadRequest, index: -1, want: hxRefusal("", "", hxBadRequest())},

		// expire-at values.
		hxExpire("expire-at without zone", "2004-01-01T00:00:00", false),
		hxExpire("expire-at in another zone", "2004-01-01T00:00:00+01:00", false),
		hxExpire("expire-at at -00:00", "2004-01-01T00:00:00-00:00", false),
		hxExpire("expire-at with lowercase z", "2004-01-01T00:00:00z", false),
		hxExpire("expire-at with a space for T", "2004-01-01 00:00:00Z", false),
		hxExpire("expire-at date only", "2004-01-01", false),
		hxExpire("expire-at without seconds", "2004-01-01T00:00Z", false),
		hxExpire("expire-at year 0", "0000-01-01T00:00:00Z", false),
		hxExpire("expire-at year 99999", "99999-01-01T00:00:00Z", false),
		hxExpire("expire-at negative year", "-2004-01-01T00:00:00Z", false),
		hxExpire("expire-at leap second", "2016-12-31T23:59:60Z", false),
		hxExpire("expire-at hour 24", "2004-01-01T24:00:00Z", false),
		hxExpire("expire-at February 30", "2004-02-30T00:00:00Z", false),
		hxExpire("expire-at February 29 in a common year", "2003-02-29T00:00:00Z", false),
		hxExpire("expire-at month 13", "2004-13-01T00:00:00Z", false),
		hxExpire("expire-at decimal point without digits", "2004-01-01T00:00:00.Z", false),
		hxExpire("expire-at fractional seconds with a comma", "2004-01-01T00:00:00,5Z", false),
		hxExpire("expire-at non-ASCII digits", "２００４-01-01T00:00:00Z", false),
		hxExpire("expire-at trailing junk", "2004-01-01T00:00:00Zxyz", false),
		hxExpire("expire-at Unix time", "1072915200", false),
		hxExpire("expire-at UTC", "2004-01-01T00:00:00Z", true),
		hxExpire("expire-at +00:00", "2004-01-01T00:00:00+00:00", true),
		hxExpire("expire-at fractional seconds", "2004-01-01T00:00:00.123Z", true),
		hxExpire("expire-at many fractional digits", "2004-01-01T00:00:00.1234567890123456789+00:00", true),
		hxExpire("expire-at year 1", "0001-01-01T00:00:00Z", true),
		hxExpire("expire-at year 9999", "9999-12-31T23:59:59.999999999Z", true),
		hxExpire("expire-at February 29 in a leap year", "2004-02-29T00:00:00Z", true),

		// JIDs: the reply goes to the sender as written.
		{name: "bare sender", in: `<message xmlns='jabber:client' from='romeo@montague.lit' id='h1' to='juliet@capulet.lit'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='bogus' value='none'/></amp></message>`, presence: auth, kind: amp.ErrUnsupportedAction,
			want: `<message xmlns='jabber:client' from='shakespeare.lit' to='romeo@montague.lit' id='h1' type='error'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='bogus' value='none'/></amp>` + hxUnsupportedActions(`<rule condition='deliver' action='bogus' value='none'/>`) + `</message>`},
		{name: "sender resource with slashes", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard/wall/ivy' id='h1' to='juliet@capulet.lit/balcony/2'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='bogus' value='none'/></amp></message>`, presence: auth, kind: amp.ErrUnsupportedAction,
			want: `<message xmlns='jabber:client' from='shakespeare.lit' to='romeo@montague.lit/orchard/wall/ivy' id='h1' type='error'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='bogus' value='none'/></amp>` + hxUnsupportedActions(`<rule condition='deliver' action='bogus' value='none'/>`) + `</message>`},
		{name: "non-ASCII JIDs and id", in: `<message xmlns='jabber:client' from='ромео@монтегю.lit/сад' id='идентификатор&amp;&lt;' to='джульетта@капулетти.lit'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='bogus' value='none'/></amp></message>`, presence: auth, kind: amp.ErrUnsupportedAction,
			want: `<message xmlns='jabber:client' from='shakespeare.lit' to='ромео@монтегю.lit/сад' id='идентификатор&amp;&lt;' type='error'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='bogus' value='none'/></amp>` + hxUnsupportedActions(`<rule condition='deliver' action='bogus' value='none'/>`) + `</message>`},
		{name: "a to attribute on the request does not become a recipient", in: `<message xmlns='jabber:client' from='romeo@montague.lit/orchard' id='h1' to='juliet@capulet.lit'><amp xmlns='http://jabber.org/protocol/amp' from='mallory@evil.lit' to='mallory@evil.lit'><rule condition='deliver' action='bogus' value='none'/></amp></message>`, presence: auth, kind: amp.ErrUnsupportedAction,
			want: hxRefusal("", `<rule condition='deliver' action='bogus' value='none'/>`, hxUnsupportedActions(`<rule condition='deliver' action='bogus' value='none'/>`))},

		// Long and non-ASCII values.
		{name: "value over the length limit", in: hxRequest("", `<rule condition='deliver' action='drop' value='`+long+`'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule condition='deliver' action='drop' value='`+long+`'/>`, hxNotAcceptable(`<rule condition='deliver' action='drop' value='`+long+`'/>`))},
		{name: "long unknown condition is echoed whole", in: hxRequest("", `<rule condition='`+long+`' action='drop' value='`+long+`'/>`), presence: auth, kind: amp.ErrUnsupportedCondition,
			want: hxRefusal("", `<rule condition='`+long+`' action='drop' value='`+long+`'/>`, hxUnsupportedConditions(`<rule condition='`+long+`' action='drop' value='`+long+`'/>`))},
		{name: "expire-at over a small length limit", in: hxRequest("", hxDrop+`<rule condition='expire-at' action='drop' value='2004-01-01T00:00:00Z'/>`), config: &amp.Config{MaxValueLen: 19}, presence: auth, kind: amp.ErrNotAcceptable, index: 1,
			want: hxRefusal("", hxDrop+`<rule condition='expire-at' action='drop' value='2004-01-01T00:00:00Z'/>`, hxNotAcceptable(`<rule condition='expire-at' action='drop' value='2004-01-01T00:00:00Z'/>`))},
		{name: "expire-at at a small length limit", in: hxRequest("", `<rule condition='expire-at' action='drop' value='2004-01-01T00:00:00Z'/>`), config: &amp.Config{MaxValueLen: 20}, presence: auth,
			want: hxAccepted, rules: []amp.Rule{{Condition: amp.CondExpireAt, Action: amp.ActionDrop, Value: "2004-01-01T00:00:00Z"}}},
		{name: "non-ASCII value", in: hxRequest("", `<rule condition='deliver' action='drop' value='störed'/>`), presence: auth, kind: amp.ErrNotAcceptable,
			want: hxRefusal("", `<rule condition='deliver' action='drop' value='störed'/>`, hxNotAcceptable(`<rule condition='deliver' action='drop' value='störed'/>`))},
		{name: "escaped characters are echoed as read", in: hxRequest("", `<rule condition='a&amp;b&lt;c' action='drop' value='&quot;&apos;&#9;&#10;&#13;'/>`), presence: auth, kind: amp.ErrUnsupportedCondition,
			want: hxRefusal("", `<rule condition='a&amp;b&lt;c' action='drop' value='&quot;&apos;&#9;&#10;&#13;'/>`, hxUnsupportedConditions(`<rule condition='a&amp;b&lt;c' action='drop' value='&quot;&apos;&#9;&#10;&#13;'/>`))},

		// Many rules: refused before any rule is checked, listing those
		// past the limit, never truncated.
		{name: "32 rules", in: hxRequest("", hxRepeat(32, func(int) string { return hxDrop })), presence: auth, want: hxAccepted},
		{name: "33 rules", in: hxRequest("", hxRepeat(32, func(int) string { return hxDrop })+`<rule condition='deliver' action='drop' value='none'/>`), presence: auth, kind: amp.ErrNotAcceptable, index: 32,
			want: hxRefusal("", hxRepeat(32, func(int) string { return hxDrop })+`<rule condition='deliver' action='drop' value='none'/>`, hxNotAcceptable(`<rule condition='deliver' action='drop' value='none'/>`))},
		{name: "33 bad rules: the limit first", in: hxRequest("", hxRepeat(33, func(i int) string { return hxRule("c", "a", fmt.Sprint(i)) })), presence: auth, kind: amp.ErrNotAcceptable, index: 32,
			want: hxRefusal("", hxRepeat(33, func(i int) string { return hxRule("c", "a", fmt.Sprint(i)) }), hxNotAcceptable(hxRule("c", "a", "32")))},
		{name: "thousands of rules", in: hxRequest("", thousands), presence: auth, kind: amp.ErrNotAcceptable, index: 32,
			want: hxRefusal("", thousands, hxNotAcceptable(hxRepeat(5000-32, func(i int) string { return hxRule("deliver", "drop", []string{"none", "stored"}[i%2]) })))},
		{name: "a smaller rule limit", in: hxRequest("", hxDrop+hxNotify+hxAlert), config: &amp.Config{MaxRules: 1}, presence: auth, kind: amp.ErrNotAcceptable, index: 1,
			want: hxRefusal("", hxDrop+hxNotify+hxAlert, hxNotAcceptable(hxNotify+hxAlert))},
		{name: "a larger rule limit", in: hxRequest("", thousands), config: &amp.Config{MaxRules: 5000}, presence: auth, want: hxAccepted},

		// Junk inside rules and around them is never echoed.
		{name: "nested junk inside a rule", in: hxRequest("", `<rule condition='deliver' action='bogus' value='none'><body>leak</body>text<![CDATA[cdata]]><!-- c --><?pi x?>`+hxDeep(50)+`</rule>`), presence: auth, kind: amp.ErrUnsupportedAction,
			want: hxRefusal("", `<rule condition='deliver' action='bogus' value='none'/>`, hxUnsupportedActions(`<rule condition='deliver' action='bogus' value='none'/>`))},
		{name: "deeply nested junk inside a rule", in: hxRequest("", `<rule condition='deliver' action='bogus' value='none'>`+hxDeep(1000)+`</rule>`), presence: auth, kind: amp.ErrUnsupportedAction,
			want: hxRefusal("", `<rule condition='deliver' action='bogus' value='none'/>`, hxUnsupportedActions(`<rule condition='deliver' action='bogus' value='none'/>`))},
		{name: "nested rules are not rules", in: hxRequest("", `<rule condition='deliver' action='drop' value='stored'><rule condition='bogus' action='bogus' value='x'/></rule><junk><rule condition='bogus' action='bogus' value='x'/></junk>`), presence: auth,
			want: hxAccepted, rules: []amp.Rule{{Condition: amp.CondDeliver, Action: amp.ActionDrop, Value: "stored"}}},
		{name: "junk between rules", in: hxRequest("", `<x:rule xmlns:x='urn:x' condition='bogus' action='bogus' value='x'/>junk`+hxDrop+`<!-- c --><body>leak</body><rule condition='deliver' action='drop' value='later'/>`), presence: auth, kind: amp.ErrNotAcceptable, index: 1,
			want: hxRefusal("", hxDrop+`<rule condition='deliver' action='drop' value='later'/>`, hxNotAcceptable(`<rule condition='deliver' action='drop' value='later'/>`))},

		// §9: without presence authorization only drop is acceptable.
		{name: "alert without presence authorization", in: hxRequest("", hxDrop+hxAlert+hxNotify+`<rule condition='deliver' action='error' value='none'/>`), kind: amp.ErrNotAcceptable, index: 1,
			want: hxRefusal("", hxDrop+hxAlert+hxNotify+`<rule condition='deliver' action='error' value='none'/>`, hxNotAcceptable(hxAlert+hxNotify+`<rule condition='deliver' action='error' value='none'/>`))},
		{name: "drop without presence authorization", in: hxRequest("", hxDrop), want: hxAccepted},
	}
}

// hxRequestNS is a request whose <amp/> is in namespace ns.
func hxRequestNS(ns, rules string) string {
	return fmt.Sprintf(`<message from='%s' id='%s'><amp xmlns='%s'>%s</amp></message>`, hxSender, hxID, ns, rules)
}

// hxExpire is a case for an expire-at value, valid or not.
func hxExpire(name, value string, valid bool) hxCase {
	rule := `<rule condition='expire-at' action='drop' value='` + value + `'/>`
	c := hxCase{name: name, in: hxRequest("", rule), presence: amp.PresenceAuthorized}
	if valid {
		c.want = hxAccepted
		return c
	}
	c.kind = amp.ErrNotAcceptable
	c.want = hxRefusal("", rule, hxNotAcceptable(rule))
	return c
}

func TestHostileRequests(t *testing.T) {
	for _, tc := range hxHostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := hxRead([]byte(tc.in), tc.dupAttrs)
			if err != nil {
				t.Fatalf("the input does not read: %v", err)
			}
			reply, err := hxAnswer(msg, tc)
			if err != nil {
				t.Fatal(err)
			}
			switch tc.want {
			case hxAccepted, hxNoRequest, hxNoReply:
				if reply != nil {
					t.Fatalf("got reply %s, want %s", hxWrite(reply), tc.want)
				}
				return
			}
			want := hxMustRead(tc.want)
			if d := hxTreeDiff(reply, want); d != "" {
				t.Fatalf("%s\ngot  %s\nwant %s", d, hxWrite(reply), hxWrite(want))
			}
			for _, secret := range []string{"secret", "leak", "s3cr3t", "junk", "body", "thread"} {
				if strings.Contains(hxWrite(reply), secret) {
					t.Fatalf("the reply leaks %q from the message: %s", secret, hxWrite(reply))
				}
			}
			if err := hxCheckRefusal(msg, reply, hxServer, tc.kind, hxRefusalRules(want, "error"), hxRefusalRules(want, "amp"), hxAttrValue(hxChild(want, "amp"), "per-hop") == "true"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// hxRefusalRules reads the rules of an expected refusal: those of its
// echo (where "amp") or of its error container (where "error").
func hxRefusalRules(want *etree.Element, where string) []amp.Rule {
	el := hxChild(want, where)
	if where == "error" {
		kids := el.ChildElements()
		if len(kids) < 2 {
			return nil
		}
		el = kids[1]
	}
	rules, err := hxRules(el, el.NamespaceURI())
	if err != nil {
		panic(err)
	}
	return rules
}

// hxAnswer parses and validates msg as tc says and checks the outcome
// against tc; it returns the reply to send, if any.
func hxAnswer(msg *etree.Element, tc hxCase) (*etree.Element, error) {
	rs, err := amp.Parse(msg)
	switch {
	case tc.want == hxNoRequest:
		if rs != nil || err != nil {
			return nil, fmt.Errorf("Parse = %v, %v; want no request", rs, err)
		}
		return nil, nil
	case tc.want == hxNoReply:
		var e *amp.Error
		if rs != nil || err == nil || errors.As(err, &e) || amp.ErrorReply(msg, hxServer, err) != nil {
			return nil, fmt.Errorf("Parse = %v, %v; want an error with no reply", rs, err)
		}
		return nil, nil
	case err != nil:
		var e *amp.Error
		if tc.kind != amp.ErrBadRequest || !errors.As(err, &e) || e.Kind != amp.ErrBadRequest || e.Index != -1 {
			return nil, fmt.Errorf("Parse = %v, %v; want %v", rs, err, tc.kind)
		}
		return amp.ErrorReply(msg, hxServer, err), nil
	case rs == nil:
		return nil, fmt.Errorf("Parse = nil, nil; want a request")
	}
	verr := tc.config.Validate(rs, tc.presence)
	if tc.want == hxAccepted {
		if verr != nil {
			return nil, fmt.Errorf("Validate = %v; want nil", verr)
		}
		if tc.rules != nil && fmt.Sprint(rs.Rules) != fmt.Sprint(tc.rules) {
			return nil, fmt.Errorf("got rules %v, want %v", rs.Rules, tc.rules)
		}
		return nil, nil
	}
	var e *amp.Error
	if !errors.As(verr, &e) || e.Kind != tc.kind || !errors.Is(verr, tc.kind) || e.Index != tc.index {
		return nil, fmt.Errorf("Validate = %v (%#v); want kind %v at index %d", verr, e, tc.kind, tc.index)
	}
	return amp.ErrorReply(msg, hxServer, verr), nil
}

// TestHostileMatchResource evaluates match-resource rules for JIDs with
// and without resources, and resources that contain slashes: only exact
// string equality of the whole resource counts.
func TestHostileMatchResource(t *testing.T) {
	tests := []struct {
		to       string
		deliver  amp.Deliver
		resource string
		want     map[amp.MatchResource]bool
	}{
		{"juliet@capulet.lit/balcony/2", amp.DeliverDirect, "balcony/2", map[amp.MatchResource]bool{amp.MatchAny: true, amp.MatchExact: true, amp.MatchOther: false}},
		{"juliet@capulet.lit/balcony/2", amp.DeliverDirect, "balcony", map[amp.MatchResource]bool{amp.MatchAny: true, amp.MatchExact: false, amp.MatchOther: true}},
		{"juliet@capulet.lit/balcony/2", amp.DeliverDirect, "2", map[amp.MatchResource]bool{amp.MatchAny: true, amp.MatchExact: false, amp.MatchOther: true}},
		{"juliet@capulet.lit/balcony", amp.DeliverDirect, "balcony/2", map[amp.MatchResource]bool{amp.MatchAny: true, amp.MatchExact: false, amp.MatchOther: true}},
		{"juliet@capulet.lit/Balcony", amp.DeliverDirect, "balcony", map[amp.MatchResource]bool{amp.MatchAny: true, amp.MatchExact: false, amp.MatchOther: true}},
		{"juliet@capulet.lit/", amp.DeliverDirect, "", map[amp.MatchResource]bool{amp.MatchAny: true, amp.MatchExact: true, amp.MatchOther: false}},
		{"juliet@capulet.lit", amp.DeliverDirect, "", map[amp.MatchResource]bool{amp.MatchAny: true, amp.MatchExact: true, amp.MatchOther: false}},
		{"juliet@capulet.lit", amp.DeliverDirect, "balcony", map[amp.MatchResource]bool{amp.MatchAny: true, amp.MatchExact: false, amp.MatchOther: true}},
		{"juliet@capulet.lit", amp.DeliverStored, "", map[amp.MatchResource]bool{amp.MatchAny: false, amp.MatchExact: true, amp.MatchOther: false}},
		{"juliet@capulet.lit/balcony/2", amp.DeliverStored, "", map[amp.MatchResource]bool{amp.MatchAny: false, amp.MatchExact: false, amp.MatchOther: false}},
		{"капулетти.lit/балкон/２", amp.DeliverDirect, "балкон/２", map[amp.MatchResource]bool{amp.MatchAny: true, amp.MatchExact: true, amp.MatchOther: false}},
		{"juliet@capulet.lit/balcony", amp.DeliverNone, "balcony", map[amp.MatchResource]bool{amp.MatchAny: false, amp.MatchExact: false, amp.MatchOther: false}},
	}
	for _, tt := range tests {
		for _, v := range []amp.MatchResource{amp.MatchAny, amp.MatchExact, amp.MatchOther} {
			t.Run(fmt.Sprintf("%s/%s/%s/%s", tt.to, tt.deliver, tt.resource, v), func(t *testing.T) {
				msg := hxMustRead(fmt.Sprintf(`<message from='%s' id='%s' to='%s'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='match-resource' action='alert' value='%s'/></amp></message>`, hxSender, hxID, tt.to, v))
				rs, err := amp.Parse(msg)
				if err != nil {
					t.Fatal(err)
				}
				res := (*amp.Config)(nil).Evaluate(msg, rs, amp.Outcome{Deliver: tt.deliver, Resource: tt.resource, Presence: amp.PresenceAuthorized})
				if got := res.Action == amp.ActionAlert; got != tt.want[v] {
					t.Fatalf("met = %v, want %v", got, tt.want[v])
				}
				if tt.want[v] {
					want := hxMustRead(fmt.Sprintf(`<message from='%s' to='%s' id='%s'><amp xmlns='http://jabber.org/protocol/amp' status='alert' from='%s' to='%s'><rule condition='match-resource' action='alert' value='%s'/></amp></message>`, hxServer, hxSender, hxID, hxSender, tt.to, v))
					replies := res.Replies(hxServer)
					if len(replies) != 1 {
						t.Fatalf("got %d replies, want 1", len(replies))
					}
					if d := hxTreeDiff(replies[0], want); d != "" {
						t.Fatalf("%s\ngot  %s\nwant %s", d, hxWrite(replies[0]), hxWrite(want))
					}
				}
			})
		}
	}
}

// TestHostileExpireAtBoundaries evaluates expire-at values at the edge of
// the range and of the second.
func TestHostileExpireAtBoundaries(t *testing.T) {
	tests := []struct {
		value string
		now   time.Time
		met   bool
	}{
		{"2004-01-01T00:00:00.5Z", time.Date(2004, 1, 1, 0, 0, 0, 499999999, time.UTC), false},
		{"2004-01-01T00:00:00.5Z", time.Date(2004, 1, 1, 0, 0, 0, 500000000, time.UTC), true},
		{"2004-01-01T00:00:00.0000000009Z", time.Date(2004, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"0001-01-01T00:00:00Z", time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), true},
		{"9999-12-31T23:59:59.999999999Z", time.Date(9999, 12, 31, 23, 59, 59, 999999998, time.UTC), false},
		{"9999-12-31T23:59:59.999999999Z", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"2004-01-01T00:00:00+00:00", time.Date(2004, 1, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600)), true},
		{"2004-01-01T00:00:00+00:00", time.Date(2004, 1, 1, 0, 59, 59, 0, time.FixedZone("CET", 3600)), false},
		{"2004-01-01T00:00:00Z", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.value+"@"+tt.now.String(), func(t *testing.T) {
			msg := hxMustRead(hxRequest("", `<rule condition='expire-at' action='drop' value='`+tt.value+`'/>`))
			rs, err := amp.Parse(msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := (*amp.Config)(nil).Validate(rs, amp.PresenceDenied); err != nil {
				t.Fatal(err)
			}
			res := (*amp.Config)(nil).Evaluate(msg, rs, amp.Outcome{Deliver: amp.DeliverDirect, Time: tt.now})
			if got := res.Action == amp.ActionDrop; got != tt.met || res.Deliver == tt.met {
				t.Fatalf("met = %v, Deliver = %v; want met %v", got, res.Deliver, tt.met)
			}
		})
	}
}

// TestHostileLimitErrors checks the Error that the limits give: the kind,
// the index of the first rule past the limit, every rule past it, and a
// message that says which limit.
func TestHostileLimitErrors(t *testing.T) {
	rules := make([]amp.Rule, 100)
	for i := range rules {
		rules[i] = amp.Rule{Condition: amp.CondDeliver, Action: amp.ActionDrop, Value: fmt.Sprint(i)}
	}
	for _, max := range []int{1, 5, 32, 99} {
		c := &amp.Config{MaxRules: max}
		if max == 32 {
			c = nil // the default
		}
		err := c.Validate(&amp.RuleSet{Rules: rules}, amp.PresenceAuthorized)
		var e *amp.Error
		if !errors.As(err, &e) || e.Kind != amp.ErrNotAcceptable || e.Index != max || fmt.Sprint(e.Rules) != fmt.Sprint(rules[max:]) {
			t.Errorf("MaxRules %d: got %#v, want not acceptable listing the %d rules past the limit", max, err, 100-max)
		}
		if err := c.Validate(&amp.RuleSet{Rules: rules[:max]}, amp.PresenceAuthorized); !errors.Is(err, amp.ErrNotAcceptable) || strings.Contains(err.Error(), "more than") {
			t.Errorf("MaxRules %d: %d rules give %v, want the value check, not the limit", max, max, err)
		}
	}
	value := strings.Repeat("x", 257)
	err := (&amp.Config{}).Validate(&amp.RuleSet{Rules: []amp.Rule{{Condition: amp.CondDeliver, Action: amp.ActionDrop, Value: value}}}, amp.PresenceAuthorized)
	var e *amp.Error
	if !errors.As(err, &e) || e.Kind != amp.ErrNotAcceptable || len(e.Rules) != 1 || e.Rules[0].Value != value || !strings.Contains(err.Error(), "256") {
		t.Errorf("a 257-byte value: got %v, want not acceptable naming the 256-byte limit, the value whole", err)
	}
	if err := (&amp.Config{MaxValueLen: 300}).Validate(&amp.RuleSet{Rules: []amp.Rule{{Condition: amp.CondDeliver, Action: amp.ActionDrop, Value: value}}}, amp.PresenceAuthorized); err == nil || strings.Contains(err.Error(), "longer") {
		t.Errorf("a 257-byte value under a 300-byte limit: got %v, want the value check only", err)
	}
}

// TestHostileSpecExamples makes the XEP's example requests hostile (unknown
// attributes and nested junk in the rule, a second <amp/>, more payloads)
// and checks that the replies are still exactly the XEP's.
func TestHostileSpecExamples(t *testing.T) {
	hostile := func(request string) string {
		rule := `value='2004-01-01T00:00:00Z'/>`
		if !strings.Contains(request, rule) || !strings.Contains(request, "</amp>") {
			t.Fatalf("the example changed: %s", request)
		}
		request = strings.Replace(request, rule, `value='2004-01-01T00:00:00Z' secret='s3cr3t' xml:lang='en'><body>leak</body>`+hxDeep(20)+`</rule><!-- leak -->`, 1)
		return strings.Replace(request, "</amp>", `</amp><amp xmlns='http://jabber.org/protocol/amp'><rule condition='bogus' action='bogus' value='leak'/></amp><x:payload xmlns:x='urn:x'>leak</x:payload>`, 1)
	}
	tests := []struct {
		name           string
		request, reply string
		answer         func(msg *etree.Element, rs *amp.RuleSet) *etree.Element
	}{
		{
			name:    "Example 17: Server does not support action",
			request: example(t, 16, "A message with AMP semantics"),
			reply:   example(t, 17, "Server does not support action"),
			answer: func(msg *etree.Element, rs *amp.RuleSet) *etree.Element {
				c := &amp.Config{Actions: []amp.Action{amp.ActionAlert, amp.ActionError, amp.ActionNotify}}
				return amp.ErrorReply(msg, "shakespeare.lit", c.Validate(rs, amp.PresenceDenied))
			},
		},
		{
			name:    "Example 21: The rule is not acceptable to the server",
			request: example(t, 20, "A message with AMP semantics"),
			reply:   example(t, 21, "The rule is not acceptable to the server"),
			answer: func(msg *etree.Element, rs *amp.RuleSet) *etree.Element {
				c := &amp.Config{MaxValueLen: 19}
				return amp.ErrorReply(msg, "shakespeare.lit", c.Validate(rs, amp.PresenceDenied))
			},
		},
		{
			name:    "Example 23: AMP service is unavailable",
			request: example(t, 22, "A message with AMP semantics"),
			reply:   example(t, 23, "AMP service is unavailable"),
			answer: func(msg *etree.Element, rs *amp.RuleSet) *etree.Element {
				var c *amp.Config
				if err := c.Validate(rs, amp.PresenceDenied); err != nil {
					t.Fatal(err)
				}
				res := c.Evaluate(msg, rs, amp.Outcome{Deliver: amp.DeliverDirect, Time: time.Date(2003, 12, 31, 0, 0, 0, 0, time.UTC), NextHop: amp.NextHopNoAMP})
				replies := res.Replies("royalty.england.lit")
				if res.Deliver || res.Err != amp.ErrServiceUnavailable || len(replies) != 1 {
					t.Fatalf("Deliver %v, Err %v, %d replies; want service-unavailable", res.Deliver, res.Err, len(replies))
				}
				return replies[0]
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := hxMustRead(hostile(tt.request))
			rs, err := amp.Parse(msg)
			if err != nil {
				t.Fatal(err)
			}
			reply := tt.answer(msg, rs)
			if d := hxTreeDiff(reply, hxMustRead(tt.reply)); d != "" {
				t.Fatalf("%s\ngot  %s\nwant %s", d, hxWrite(reply), tt.reply)
			}
			for _, secret := range []string{"leak", "s3cr3t", "junk", "body", "payload", "bogus"} {
				if strings.Contains(hxWrite(reply), secret) {
					t.Fatalf("the reply leaks %q: %s", secret, hxWrite(reply))
				}
			}
		})
	}
}
