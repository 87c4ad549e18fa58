package main

import (
	"testing"

	"github.com/beevik/etree"
)

// nsAMP is the AMP namespace, the disco#info node of AMP.
const nsAMP = "http://jabber.org/protocol/amp"

// allButDrop, allButExpireAt and xepExample4 are -support lists.
const (
	allButDrop     = "alert,error,notify,deliver,expire-at,match-resource"
	allButExpireAt = "alert,drop,error,notify,deliver,match-resource"
	// xepExample4 is what example 4 advertises: every action and condition
	// but alert.
	xepExample4 = "drop,error,notify,deliver,expire-at,match-resource"
	// mongooseIM is what MongooseIM supports.
	mongooseIM = "drop,error,notify,deliver,match-resource"
)

// Times around the expiry of the rules in examples 5, 6, 16, 20 and 22,
// 2004-01-01T00:00:00Z.
const (
	before2004 = "2003-12-31T23:59:59Z"
	at2004     = "2004-01-01T00:00:00Z"
)

// exampleCase runs ampcheck on an input, one of the XEP's examples as
// written or changed, and compares its output with the stanzas want gives.
type exampleCase struct {
	name  string
	file  string // the input file; or
	stdin string // the input on standard input
	args  []string
	want  func(t *testing.T) want
}

func runExampleCases(t *testing.T, cases []exampleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.file != "" {
				args = append(append([]string(nil), args...), c.file)
			}
			check(t, ampcheck(t, c.stdin, args...), c.want(t))
		})
	}
}

// TestExamples runs ampcheck on the XEP's example stanzas and compares its
// output with the XEP's examples of what the server does, following
// DESIGN.md where the XEP's examples are wrong.
func TestExamples(t *testing.T) {
	// Example 14 with another action: examples 7, 8, 9 and 25 are replies
	// to it.
	example14As := func(action string) string {
		return exampleText(t, 14, func(msg *etree.Element) { setRules(msg, "action", action) })
	}
	// Example 11 as DESIGN.md corrects it: the error of the error action
	// has status='error' on <amp/> and type='error' on the message.
	example11 := func(t *testing.T) *etree.Element {
		msg := example(t, 11)
		msg.CreateAttr("type", "error")
		ampChild(t, msg).CreateAttr("status", "error")
		return msg
	}
	example10Delivered := func(t *testing.T) want {
		return want{deliver: true, message: withoutAMP(t, example(t, 10))}
	}
	cases := []exampleCase{
		{
			name: exampleName(5) + "/routed on to the recipient's server before expiry",
			file: exampleFile(5), args: []string{"-now", before2004},
			want: func(t *testing.T) want { return want{deliver: true, message: example(t, 5)} },
		},
		{
			name: exampleName(5) + "/expired at the sender's server",
			file: exampleFile(5),
			want: func(t *testing.T) want { return want{deliver: false} },
		},
		{
			name: exampleName(5) + "/delivered by the recipient's server before expiry",
			file: exampleFile(5), args: []string{"-server", "royalty.england.lit", "-now", before2004},
			want: func(t *testing.T) want { return want{deliver: true, message: withoutAMP(t, example(t, 5))} },
		},
		{
			name: exampleName(5) + "/expired at a transit hop without per-hop",
			file: exampleFile(5), args: []string{"-hop", "transit", "-now", at2004},
			want: func(t *testing.T) want { return want{deliver: true, message: example(t, 5)} },
		},
		{
			name: exampleName(6) + "/expired at a transit hop with per-hop",
			file: exampleFile(6), args: []string{"-hop", "transit", "-now", at2004},
			want: func(t *testing.T) want { return want{deliver: false} },
		},
		{
			name: exampleName(6) + "/at a transit hop before expiry",
			file: exampleFile(6), args: []string{"-hop", "transit", "-now", before2004},
			want: func(t *testing.T) want { return want{deliver: true, message: example(t, 6)} },
		},
		{
			name:  exampleName(7) + "/example 14 stored",
			stdin: example14As("alert"), args: []string{"-deliver", "stored"},
			want: func(t *testing.T) want { return want{replies: []*etree.Element{example(t, 7)}} },
		},
		{
			// DESIGN.md: the XEP's example swaps the from and to of <amp/>.
			name:  exampleName(8) + "/example 14 with action error, stored",
			stdin: example14As("error"), args: []string{"-deliver", "stored"},
			want: func(t *testing.T) want { return want{replies: []*etree.Element{swapAMPFromTo(t, example(t, 8))}} },
		},
		{
			// DESIGN.md: the XEP's example swaps the from and to of <amp/>.
			// The stored message keeps no rule: its only rule has fired.
			name:  exampleName(9) + "/example 14 with action notify, stored",
			stdin: example14As("notify"), args: []string{"-deliver", "stored"},
			want: func(t *testing.T) want {
				msg := example(t, 14)
				return want{
					deliver: true,
					message: withoutAMP(t, msg),
					replies: []*etree.Element{swapAMPFromTo(t, example(t, 9))},
				}
			},
		},
		{
			name: exampleName(10) + "/delivered to another resource gives example 11",
			file: exampleFile(10), args: []string{"-resource", "laptop", "-now", "2004-09-10T08:00:00Z"},
			want: func(t *testing.T) want { return want{replies: []*etree.Element{example11(t)}} },
		},
		{
			name: exampleName(10) + "/delivered to the bare JID gives example 11",
			file: exampleFile(10), args: []string{"-resource", "", "-now", "2004-09-10T08:00:00Z"},
			want: func(t *testing.T) want { return want{replies: []*etree.Element{example11(t)}} },
		},
		{
			name: exampleName(10) + "/delivered to the intended resource",
			file: exampleFile(10), args: []string{"-now", "2004-09-10T08:00:00Z"},
			want: example10Delivered,
		},
		{
			name: exampleName(10) + "/delivered to the intended resource, stated",
			file: exampleFile(10), args: []string{"-resource", "pda", "-now", "2004-09-10T08:33:13.999Z"},
			want: example10Delivered,
		},
		{
			name: exampleName(10) + "/expired",
			file: exampleFile(10), args: []string{"-now", "2004-09-10T08:33:14Z"},
			want: func(t *testing.T) want {
				msg := example11(t)
				setRules(msg, "condition", "expire-at")
				setRules(msg, "value", "2004-09-10T08:33:14Z")
				return want{replies: []*etree.Element{msg}}
			},
		},
		{
			name: exampleName(12) + "/expired",
			file: exampleFile(12), args: []string{"-now", "2003-06-23T23:00:00Z"},
			want: func(t *testing.T) want { return want{deliver: false} },
		},
		{
			name: exampleName(12) + "/expired, in Pacific Daylight Time",
			file: exampleFile(12), args: []string{"-now", "2003-06-23T16:00:00-07:00"},
			want: func(t *testing.T) want { return want{deliver: false} },
		},
		{
			name: exampleName(12) + "/before expiry",
			file: exampleFile(12), args: []string{"-now", "2003-06-23T22:59:59.999999999Z"},
			want: func(t *testing.T) want { return want{deliver: true, message: withoutAMP(t, example(t, 12))} },
		},
		{
			name: exampleName(13) + "/stored",
			file: exampleFile(13), args: []string{"-deliver", "stored"},
			want: func(t *testing.T) want { return want{deliver: false} },
		},
		{
			name: exampleName(13) + "/delivered",
			file: exampleFile(13), args: []string{"-deliver", "direct"},
			want: func(t *testing.T) want { return want{deliver: true, message: withoutAMP(t, example(t, 13))} },
		},
		{
			name: exampleName(14) + "/stored gives example 15",
			file: exampleFile(14), args: []string{"-deliver", "stored"},
			want: func(t *testing.T) want { return want{replies: []*etree.Element{example(t, 15)}} },
		},
		{
			name: exampleName(14) + "/delivered",
			file: exampleFile(14),
			want: func(t *testing.T) want { return want{deliver: true, message: withoutAMP(t, example(t, 14))} },
		},
		{
			name: exampleName(16) + "/without drop gives example 17",
			file: exampleFile(16), args: []string{"-support", allButDrop},
			want: func(t *testing.T) want { return want{replies: []*etree.Element{example(t, 17)}} },
		},
		{
			// The XEP writes the server's domain as the from of example 18
			// and the user's JID as the to of example 19: the reply goes
			// to the sender as written.
			name: exampleName(18) + "/without expire-at gives example 19 to the from as written",
			file: exampleFile(18), args: []string{"-support", allButExpireAt},
			want: func(t *testing.T) want {
				msg := example(t, 19)
				msg.CreateAttr("to", "shakespeare.lit")
				return want{replies: []*etree.Element{msg}}
			},
		},
		{
			name: exampleName(18) + "/sent by northumberland, without expire-at, gives example 19",
			stdin: exampleText(t, 18, func(msg *etree.Element) {
				msg.CreateAttr("from", "northumberland@shakespeare.lit")
			}),
			args: []string{"-support", allButExpireAt, "-server", "shakespeare.lit"},
			want: func(t *testing.T) want { return want{replies: []*etree.Element{example(t, 19)}} },
		},
		{
			// No -flag makes a well-formed drop rule on expire-at not
			// acceptable: the limits are not flags and the §9 policy
			// refuses only alert, error and notify rules. This minimal
			// variant of example 20 writes the time in another zone than
			// UTC, which expire-at does not allow.
			name: exampleName(20) + "/expire-at not in UTC gives example 21",
			stdin: exampleText(t, 20, func(msg *etree.Element) {
				setRules(msg, "value", "2004-01-01T00:00:00-05:00")
			}),
			want: func(t *testing.T) want {
				msg := example(t, 21)
				setRules(msg, "value", "2004-01-01T00:00:00-05:00")
				return want{replies: []*etree.Element{msg}}
			},
		},
		{
			// Another minimal variant: an alert rule from a sender who
			// may not see the recipient's presence (§9).
			name: exampleName(20) + "/alert without presence authorization gives example 21",
			stdin: exampleText(t, 20, func(msg *etree.Element) {
				setRules(msg, "action", "alert")
			}),
			args: []string{"-presence=false"},
			want: func(t *testing.T) want {
				msg := example(t, 21)
				setRules(msg, "action", "alert")
				return want{replies: []*etree.Element{msg}}
			},
		},
		{
			name: exampleName(20) + "/drop without presence authorization is acceptable",
			file: exampleFile(20), args: []string{"-presence=false", "-now", at2004},
			want: func(t *testing.T) want { return want{deliver: false} },
		},
		{
			// The XEP's example 23 comes from the recipient's domain,
			// royalty.england.lit; here the server that routes the
			// message on to it, the sender's, refuses it.
			name: exampleName(22) + "/next hop without AMP gives example 23",
			file: exampleFile(22), args: []string{"-next-hop-amp=false", "-now", before2004},
			want: func(t *testing.T) want {
				msg := example(t, 23)
				msg.CreateAttr("from", "shakespeare.lit")
				return want{replies: []*etree.Element{msg}}
			},
		},
		{
			name: exampleName(22) + "/next hop without AMP, expired",
			file: exampleFile(22), args: []string{"-next-hop-amp=false", "-now", at2004},
			want: func(t *testing.T) want { return want{deliver: false} },
		},
		{
			name: exampleName(22) + "/next hop with AMP",
			file: exampleFile(22), args: []string{"-next-hop-amp=true", "-now", before2004},
			want: func(t *testing.T) want { return want{deliver: true, message: example(t, 22)} },
		},
		{
			// A message whose <amp/> has a status is an event: it is
			// passed on as it is.
			name: exampleName(24) + "/an event is not processed",
			file: exampleFile(24),
			want: func(t *testing.T) want { return want{deliver: true, message: example(t, 24)} },
		},
		{
			// The XEP's example swaps the from and to of <amp/>, as in
			// example 8.
			name:  exampleName(25) + "/example 14 with action error, stored",
			stdin: example14As("error"), args: []string{"-deliver", "stored"},
			want: func(t *testing.T) want { return want{replies: []*etree.Element{swapAMPFromTo(t, example(t, 25))}} },
		},
	}
	runExampleCases(t, cases)
}

// printed runs ampcheck with args and returns the one element it prints.
func printed(t *testing.T, args ...string) *etree.Element {
	t.Helper()
	r := ampcheck(t, "", args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit status %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
	if n := len(r.stdout); n == 0 || r.stdout[n-1] != '\n' || countLines(r.stdout) != 1 {
		t.Fatalf("stdout %q is not one line", r.stdout)
	}
	return parseXML(t, r.stdout)
}

func countLines(s string) int {
	n := 0
	for _, c := range s {
		if c == '\n' {
			n++
		}
	}
	return n
}

// query returns the disco#info <query/> of example n, an <iq/>.
func query(t *testing.T, n int) *etree.Element {
	t.Helper()
	q := example(t, n).SelectElement("query")
	if q == nil {
		t.Fatalf("example %d has no <query/>", n)
	}
	return q
}

// TestDiscoAndFeatures compares -disco and -features with the XEP's
// examples 2, 4 and 26, leaving out what the XEP writes as "..." and the
// name of the identity, which is the server's own.
func TestDiscoAndFeatures(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want func(t *testing.T) *etree.Element
	}{
		{
			// The server's own identity is its business: ampcheck prints
			// the features AMP adds to the root.
			name: exampleName(2),
			args: []string{"-disco", ""},
			want: func(t *testing.T) *etree.Element {
				q := query(t, 2)
				q.RemoveChild(q.SelectElement("identity"))
				return q
			},
		},
		{
			name: exampleName(2) + "/with MongooseIM's support",
			args: []string{"-support", mongooseIM, "-disco", ""},
			want: func(t *testing.T) *etree.Element {
				q := query(t, 2)
				q.RemoveChild(q.SelectElement("identity"))
				return q
			},
		},
		{
			name: exampleName(4),
			args: []string{"-support", xepExample4, "-disco", nsAMP},
			want: func(t *testing.T) *etree.Element {
				q := query(t, 4)
				fixIdentity(q)
				return q
			},
		},
		{
			name: exampleName(4) + "/with every action",
			args: []string{"-disco", nsAMP},
			want: func(t *testing.T) *etree.Element {
				q := query(t, 4)
				fixIdentity(q)
				alert := etree.NewElement("feature")
				alert.CreateAttr("var", nsAMP+"?action=alert")
				q.InsertChildAt(q.SelectElement("feature").Index()+1, alert)
				return q
			},
		},
		{
			name: exampleName(26),
			args: []string{"-features"},
			want: func(t *testing.T) *etree.Element { return example(t, 26).SelectElement("amp") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := printed(t, tt.args...)
			if d := diffXML(got, tt.want(t)); d != "" {
				t.Error(d)
			}
		})
	}
}

// fixIdentity corrects an erratum of example 4: the XEP-0030 registry
// defines the identity of category server and type im; the example swaps
// them. The example's identity name is the server's own choice.
func fixIdentity(q *etree.Element) {
	id := q.SelectElement("identity")
	id.RemoveAttr("name")
	id.CreateAttr("category", "server")
	id.CreateAttr("type", "im")
}
