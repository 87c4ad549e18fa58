package main

import (
	"fmt"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The captions of the XEP's examples the tests cite, as the XEP writes
// them; example() checks each against the index.
const (
	capSemantics = "A message with AMP semantics" // examples 5, 16, 18, 20, 22, 24
	capAnother   = "Another message with AMP semantics"
	capIBB       = "Sending a message for reliable data transport"
	capIBBFailed = "Failed reliable data transport message"
	capTimed     = "Sending a time-sensitive message"
	capTransient = "Sending a transient message"
	capAlert     = "Sending a transient message (requesting alert)"
	capAlerted   = "Sender alerted regarding transient message"
	capNoAction  = "Server does not support action"
	capNoCond    = "Server does not support condition"
	capNotAccept = "The rule is not acceptable to the server"
	capNoAMP     = "AMP service is unavailable"
	capFailed    = "Failed rules"
)

// Times around the expiry of the rules of examples 5, 6, 16, 20 and 22.
const (
	before2004 = "2003-12-31T23:59:59Z"
	at2004     = "2004-01-01T00:00:00Z"
)

// mongooseIM is what MongooseIM supports, as a -support list.
const mongooseIM = "drop,error,notify,deliver,match-resource"

// name is how a test cites example n: "Example 14: Sending ...".
func name(n int, caption, variant string) string {
	return fmt.Sprintf("Example %d: %s/%s", n, caption, variant)
}

// Edits of the XEP's examples.
var (
	// noAMP is the message as delivered to the recipient.
	noAMP = remove("amp")
	// fixEvent corrects the erratum of examples 8, 9 and 25 (§4.1): the from of an event's <amp/> is the original sender and its
	// to the original recipient; the examples swap them.
	fixEvent = set("amp", "from", "bernardo@hamlet.lit/elsinore", "to", "francisco@hamlet.lit")
	// fixFailed corrects example 11: the error of the error action has
	// type='error' on the message and status='error' on <amp/>.
	fixFailed = func(el *etree.Element) { set(".", "type", "error")(el); set("amp", "status", "error")(el) }
	// fixIdentity corrects example 4: the XEP-0030 registry's identity is
	// category server, type im; the example swaps them. Its name is the
	// server's own.
	fixIdentity = set("query/identity", "category", "server", "type", "im", "name", "")
)

// withAction returns example 14 with its rule's action, as XML: examples
// 7, 8, 9 and 25 answer it.
func withAction(t *testing.T, action string) string {
	return serialize(example(t, 14, capAlert, set("amp/rule", "action", action)))
}

// TestExamples runs ampcheck on the XEP's example stanzas and compares its
// output with the XEP's examples of what the server does, corrected where
// the library's conformance notes find them wrong.
func TestExamples(t *testing.T) {
	f5, f6, f10 := exampleFile(t, 5, capSemantics), exampleFile(t, 6, capAnother), exampleFile(t, 10, capIBB)
	f12, f13, f14 := exampleFile(t, 12, capTimed), exampleFile(t, 13, capTransient), exampleFile(t, 14, capAlert)
	f20, f22 := exampleFile(t, 20, capSemantics), exampleFile(t, 22, capSemantics)
	ex11 := example(t, 11, capIBBFailed, fixFailed)
	twoRules := func(el *etree.Element) {
		a := el.SelectElement("amp")
		a.AddChild(a.SelectElement("rule").Copy())
	}
	runCases(t, []runCase{
		{name: name(5, capSemantics, "routed on to the recipient's server before expiry"),
			args: []string{"-now", before2004, f5}, deliver: true, message: example(t, 5, capSemantics)},
		{name: name(5, capSemantics, "expired at the sender's server"), args: []string{f5}},
		{name: name(5, capSemantics, "delivered by the recipient's server before expiry"),
			args:    []string{"-server", "royalty.england.lit", "-now", before2004, f5},
			deliver: true, message: example(t, 5, capSemantics, noAMP)},
		{name: name(5, capSemantics, "expired at a transit hop without per-hop: not processed"),
			args: []string{"-hop", "transit", "-now", at2004, f5}, deliver: true, message: example(t, 5, capSemantics)},
		{name: name(6, capAnother, "expired at a transit hop with per-hop"), args: []string{"-hop", "transit", "-now", at2004, f6}},
		{name: name(6, capAnother, "at a transit hop before expiry"),
			args: []string{"-hop", "transit", "-now", before2004, f6}, deliver: true, message: example(t, 6, capAnother)},
		{name: name(7, "Alert Response", "example 14 stored"),
			stdin: withAction(t, "alert"), args: []string{"-deliver", "stored"}, replies: []*etree.Element{example(t, 7, "Alert Response")}},
		{name: name(8, "Error Response", "example 14 with action error, stored"),
			stdin: withAction(t, "error"), args: []string{"-deliver", "stored"},
			replies: []*etree.Element{example(t, 8, "Error Response", fixEvent)}},
		{name: name(9, "Notify Response", "example 14 with action notify, stored without its fired rule"),
			stdin: withAction(t, "notify"), args: []string{"-deliver", "stored"},
			deliver: true, message: example(t, 14, capAlert, noAMP),
			replies: []*etree.Element{example(t, 9, "Notify Response", fixEvent)}},
		{name: name(10, capIBB, "delivered to another resource gives example 11"),
			args: []string{"-resource", "laptop", "-now", "2004-09-10T08:00:00Z", f10}, replies: []*etree.Element{ex11}},
		{name: name(10, capIBB, "delivered to the bare JID gives example 11"),
			args: []string{"-resource", "", "-now", "2004-09-10T08:00:00Z", f10}, replies: []*etree.Element{ex11}},
		{name: name(10, capIBB, "delivered to the intended resource, just before expiry"),
			args: []string{"-now", "2004-09-10T08:33:13.999Z", f10}, deliver: true, message: example(t, 10, capIBB, noAMP)},
		{name: name(10, capIBB, "expired: example 11 for the expire-at rule"),
			args: []string{"-now", "2004-09-10T08:33:14Z", f10},
			replies: []*etree.Element{example(t, 11, capIBBFailed, fixFailed,
				set(".//rule", "condition", "expire-at", "value", "2004-09-10T08:33:14Z"))}},
		{name: name(10, capIBB, "at a transit hop, per-hop: match-resource is left to the recipient's server"),
			args:    []string{"-hop", "transit", "-resource", "laptop", "-now", "2004-09-10T08:00:00Z", f10},
			deliver: true, message: example(t, 10, capIBB)},
		{name: name(12, capTimed, "expired"), args: []string{"-now", "2003-06-23T23:00:00Z", f12}},
		{name: name(12, capTimed, "expired, in Pacific Daylight Time"), args: []string{"-now", "2003-06-23T16:00:00-07:00", f12}},
		{name: name(12, capTimed, "before expiry"),
			args: []string{"-now", "2003-06-23T22:59:59.999999999Z", f12}, deliver: true, message: example(t, 12, capTimed, noAMP)},
		{name: name(13, capTransient, "stored"), args: []string{"-deliver", "stored", f13}},
		{name: name(13, capTransient, "delivered"), args: []string{f13}, deliver: true, message: example(t, 13, capTransient, noAMP)},
		{name: name(14, capAlert, "stored gives example 15"),
			args: []string{"-deliver", "stored", f14}, replies: []*etree.Element{example(t, 15, capAlerted)}},
		{name: name(14, capAlert, "delivered"), args: []string{f14}, deliver: true, message: example(t, 14, capAlert, noAMP)},
		{name: name(16, capSemantics, "without drop gives example 17"),
			args:    []string{"-support", "alert,error,notify,deliver,expire-at,match-resource", exampleFile(t, 16, capSemantics)},
			replies: []*etree.Element{example(t, 17, capNoAction)}},
		{
			// The XEP writes the server's domain as the from of example 18
			// and the user's JID as the to of example 19: the reply goes
			// to the sender as written.
			name:    name(18, capSemantics, "without expire-at gives example 19, to the from as written"),
			args:    []string{"-support", "alert,drop,error,notify,deliver,match-resource", exampleFile(t, 18, capSemantics)},
			replies: []*etree.Element{example(t, 19, capNoCond, set(".", "to", "shakespeare.lit"))},
		},
		{name: name(18, capSemantics, "sent by northumberland, without expire-at, gives example 19"),
			stdin: serialize(example(t, 18, capSemantics, set(".", "from", "northumberland@shakespeare.lit"))),
			args:  []string{"-support", "alert,drop,error,notify,deliver,match-resource", "-server", "shakespeare.lit"}, replies: []*etree.Element{example(t, 19, capNoCond)}},
		{name: name(20, capSemantics, "written twice, one rule per request, gives example 21"),
			stdin: serialize(example(t, 20, capSemantics, twoRules)), args: []string{"-max-rules", "1"},
			replies: []*etree.Element{example(t, 21, capNotAccept)}},
		{name: name(20, capSemantics, "value at -max-value-len, before expiry: routed on"),
			args: []string{"-max-value-len", "20", "-now", before2004, f20}, deliver: true, message: example(t, 20, capSemantics)},
		{name: name(20, capSemantics, "alert without presence authorization gives example 21"),
			stdin: serialize(example(t, 20, capSemantics, set("amp/rule", "action", "alert"))), args: []string{"-presence=false"},
			replies: []*etree.Element{example(t, 21, capNotAccept, set(".//rule", "action", "alert"))}},
		{name: name(20, capSemantics, "expire-at not in UTC gives example 21"),
			stdin:   serialize(example(t, 20, capSemantics, set("amp/rule", "value", "2004-01-01T00:00:00-05:00"))),
			replies: []*etree.Element{example(t, 21, capNotAccept, set(".//rule", "value", "2004-01-01T00:00:00-05:00"))}},
		{name: name(20, capSemantics, "drop without presence authorization is acceptable"),
			args: []string{"-presence=false", "-now", at2004, f20}},
		{
			// Example 23 comes from the recipient's domain; here the
			// sender's server, which routes the message on, refuses it.
			name:    name(22, capSemantics, "next hop without AMP gives example 23"),
			args:    []string{"-next-hop-amp=false", "-now", before2004, f22},
			replies: []*etree.Element{example(t, 23, capNoAMP, set(".", "from", "shakespeare.lit"))},
		},
		{name: name(22, capSemantics, "next hop without AMP, expired"), args: []string{"-next-hop-amp=false", "-now", at2004, f22}},
		{name: name(22, capSemantics, "next hop with AMP"),
			args: []string{"-now", before2004, f22}, deliver: true, message: example(t, 22, capSemantics)},
		{name: name(24, capSemantics, "an event is not processed"),
			args: []string{exampleFile(t, 24, capSemantics)}, deliver: true, message: example(t, 24, capSemantics)},
		{name: name(25, capFailed, "example 14 with action error, stored"),
			stdin: withAction(t, "error"), args: []string{"-deliver", "stored"},
			replies: []*etree.Element{example(t, 25, capFailed, fixEvent)}},
		{name: name(14, capAlert, "notify on direct delivery for MongooseIM"),
			stdin: serialize(example(t, 14, capAlert, set("amp/rule", "action", "notify", "value", "direct"))),
			args:  []string{"-support", mongooseIM}, deliver: true, message: example(t, 14, capAlert, noAMP),
			replies: []*etree.Element{example(t, 15, capAlerted, set("amp", "status", "notify"),
				set(".//rule", "action", "notify", "value", "direct"))}},
		{name: name(10, capIBB, "without its expire-at rule, MongooseIM gives example 11"),
			stdin: serialize(example(t, 10, capIBB, remove("amp/rule[@condition='expire-at']"))),
			args:  []string{"-support", mongooseIM, "-resource", "laptop"}, replies: []*etree.Element{ex11}},
	})
}

// TestDiscoAndFeatures compares -disco and -features with the XEP's
// examples 2, 4 and 26, leaving out what the XEP writes as "..." and the
// identity's name, which is the server's own.
func TestDiscoAndFeatures(t *testing.T) {
	const ns = "http://jabber.org/protocol/amp"
	const c2, c4 = "Service Discovery information response", "Response for individual actions and conditions"
	addAlert := func(el *etree.Element) {
		q := el.SelectElement("query")
		alert := etree.NewElement("feature")
		alert.CreateAttr("var", ns+"?action=alert")
		q.InsertChildAt(q.SelectElement("feature").Index()+1, alert)
	}
	tests := []struct {
		name string
		args []string
		want *etree.Element
	}{
		// The server's own identity is its business: ampcheck prints the
		// features AMP adds to the root.
		{name(2, c2, "root"), []string{"-disco", ""}, example(t, 2, c2, remove("query/identity")).SelectElement("query")},
		{name(4, c4, "every action but alert"), []string{"-support", "drop,error,notify,deliver,expire-at,match-resource", "-disco", ns},
			example(t, 4, c4, fixIdentity).SelectElement("query")},
		{name(4, c4, "every action"), []string{"-disco", ns}, example(t, 4, c4, fixIdentity, addAlert).SelectElement("query")},
		{name(4, c4, "MongooseIM"), []string{"-support", mongooseIM, "-disco", ns},
			example(t, 4, c4, fixIdentity, remove("query/feature[@var='"+ns+"?condition=expire-at']")).SelectElement("query")},
		{name(26, "Advertising Advanced Message Processing as a stream feature", "-features"), []string{"-features"},
			example(t, 26, "Advertising Advanced Message Processing as a stream feature").SelectElement("amp")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ampcheck("", tt.args...)
			require.Equal(t, result{stdout: r.stdout}, r, "want status 0 and nothing on stderr")
			require.Regexp(t, `^<[^\n]*>\n$`, r.stdout, "one line of XML")
			assert.Equal(t, canonical(tt.want), canonical(readXML(t, r.stdout)))
		})
	}
}
