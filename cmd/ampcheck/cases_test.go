package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// TestMongooseIM runs ampcheck as a server that supports what MongooseIM
// supports: the actions drop, error and notify, the conditions deliver and
// match-resource.
func TestMongooseIM(t *testing.T) {
	support := []string{"-support", mongooseIM}
	cases := []exampleCase{
		{
			name: "alert rule is an unsupported action",
			file: exampleFile(14), args: append(support, "-deliver", "stored"),
			want: func(t *testing.T) want {
				return want{replies: []*etree.Element{xmlElement(t, `
<message from='hamlet.lit' to='bernardo@hamlet.lit/elsinore' id='chatty2' type='error'>
  <amp xmlns='http://jabber.org/protocol/amp'>
    <rule action='alert' condition='deliver' value='stored'/>
  </amp>
  <error type='modify' code='400'>
    <bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
    <unsupported-actions xmlns='http://jabber.org/protocol/amp'>
      <rule action='alert' condition='deliver' value='stored'/>
    </unsupported-actions>
  </error>
</message>`)}}
			},
		},
		{
			name: "expire-at rule is an unsupported condition",
			file: exampleFile(12), args: append(support, "-now", "2003-06-23T23:00:00Z"),
			want: func(t *testing.T) want {
				return want{replies: []*etree.Element{xmlElement(t, `
<message from='outer-planes.net' to='receptionist@outer-planes.net' id='alert849' type='error'>
  <amp xmlns='http://jabber.org/protocol/amp'>
    <rule action='drop' condition='expire-at' value='2003-06-23T23:00:00Z'/>
  </amp>
  <error type='modify' code='400'>
    <bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
    <unsupported-conditions xmlns='http://jabber.org/protocol/amp'>
      <rule action='drop' condition='expire-at' value='2003-06-23T23:00:00Z'/>
    </unsupported-conditions>
  </error>
</message>`)}}
			},
		},
		{
			name: "notify on direct delivery",
			stdin: exampleText(t, 14, func(msg *etree.Element) {
				setRules(msg, "action", "notify")
				setRules(msg, "value", "direct")
			}),
			args: append(support, "-deliver", "direct"),
			want: func(t *testing.T) want {
				return want{
					deliver: true,
					message: withoutAMP(t, example(t, 14)),
					replies: []*etree.Element{xmlElement(t, `
<message from='hamlet.lit' to='bernardo@hamlet.lit/elsinore' id='chatty2'>
  <amp xmlns='http://jabber.org/protocol/amp' status='notify'
       from='bernardo@hamlet.lit/elsinore' to='francisco@hamlet.lit'>
    <rule action='notify' condition='deliver' value='direct'/>
  </amp>
</message>`)},
				}
			},
		},
		{
			name: exampleName(10) + "/its expire-at rule is an unsupported condition",
			file: exampleFile(10), args: append(support, "-resource", "laptop"),
			want: func(t *testing.T) want {
				return want{replies: []*etree.Element{xmlElement(t, `
<message from='hamlet.lit' to='bernardo@hamlet.lit/elsinore' id='ibb1' type='error'>
  <amp xmlns='http://jabber.org/protocol/amp' per-hop='true'>
    <rule action='error' condition='expire-at' value='2004-09-10T08:33:14Z'/>
    <rule action='error' condition='match-resource' value='other'/>
  </amp>
  <error type='modify' code='400'>
    <bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
    <unsupported-conditions xmlns='http://jabber.org/protocol/amp'>
      <rule action='error' condition='expire-at' value='2004-09-10T08:33:14Z'/>
    </unsupported-conditions>
  </error>
</message>`)}}
			},
		},
		{
			name: "error on match-resource other",
			stdin: exampleText(t, 10, func(msg *etree.Element) {
				a := ampChild(t, msg)
				a.RemoveChild(a.SelectElement("rule"))
			}),
			args: append(support, "-resource", "laptop"),
			want: func(t *testing.T) want {
				msg := example(t, 11)
				msg.CreateAttr("type", "error")
				ampChild(t, msg).CreateAttr("status", "error")
				return want{replies: []*etree.Element{msg}}
			},
		},
	}
	runExampleCases(t, cases)

	t.Run("disco lists exactly what it supports", func(t *testing.T) {
		got := printed(t, "-support", mongooseIM, "-disco", nsAMP)
		want := parseXML(t, `
<query xmlns='http://jabber.org/protocol/disco#info' node='http://jabber.org/protocol/amp'>
  <identity category='server' type='im'/>
  <feature var='http://jabber.org/protocol/amp'/>
  <feature var='http://jabber.org/protocol/amp?action=drop'/>
  <feature var='http://jabber.org/protocol/amp?action=error'/>
  <feature var='http://jabber.org/protocol/amp?action=notify'/>
  <feature var='http://jabber.org/protocol/amp?condition=deliver'/>
  <feature var='http://jabber.org/protocol/amp?condition=match-resource'/>
</query>`)
		if d := diffXML(got, want); d != "" {
			t.Error(d)
		}
	})
}

// ampNS declares the AMP namespace on a literal <amp/>.
const ampNS = `xmlns='http://jabber.org/protocol/amp'`

// TestMessages covers what the XEP's examples do not show.
func TestMessages(t *testing.T) {
	cases := []exampleCase{
		{
			name:  "no request: passed on unchanged",
			stdin: `<message from='a@x.lit/r' to='b@y.lit' id='1' type='chat'><body>hi</body></message>`,
			args:  []string{"-next-hop-amp=false"},
			want: func(t *testing.T) want {
				return want{deliver: true, message: xmlElement(t,
					`<message from='a@x.lit/r' to='b@y.lit' id='1' type='chat'><body>hi</body></message>`)}
			},
		},
		{
			name:  "no from and no request: passed on",
			stdin: `<message to='b@y.lit'><body>hi</body></message>`,
			want: func(t *testing.T) want {
				return want{deliver: true, message: xmlElement(t, `<message to='b@y.lit'><body>hi</body></message>`)}
			},
		},
		{
			name:  "jabber:server is kept",
			stdin: `<message xmlns='jabber:server' from='a@x.lit/r' to='b@x.lit' id='1'><body>hi</body><amp ` + ampNS + `><rule action='notify' condition='deliver' value='stored'/></amp></message>`,
			args:  []string{"-deliver", "stored"},
			want: func(t *testing.T) want {
				return want{
					deliver: true,
					message: parseXML(t, `<message xmlns='jabber:server' from='a@x.lit/r' to='b@x.lit' id='1'><body>hi</body></message>`),
					replies: []*etree.Element{parseXML(t, `<message xmlns='jabber:server' from='x.lit' to='a@x.lit/r' id='1'><amp `+ampNS+` status='notify' from='a@x.lit/r' to='b@x.lit'><rule action='notify' condition='deliver' value='stored'/></amp></message>`)},
				}
			},
		},
		{
			name:  "no id: bad request",
			stdin: `<message from='a@x.lit/r' to='b@x.lit'><amp ` + ampNS + `><rule action='drop' condition='deliver' value='stored'/></amp></message>`,
			args:  []string{"-server", "x.lit"},
			want: func(t *testing.T) want {
				return want{replies: []*etree.Element{xmlElement(t, `
<message from='x.lit' to='a@x.lit/r' type='error'>
  <amp `+ampNS+`><rule action='drop' condition='deliver' value='stored'/></amp>
  <error type='modify' code='400'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>
</message>`)}}
			},
		},
		{
			name: "stored: the rules not met stay, notify events come first",
			stdin: `<message from='a@x.lit/r' to='b@x.lit' id='1'><amp ` + ampNS + `>
  <rule action='notify' condition='deliver' value='stored'/>
  <rule action='drop' condition='expire-at' value='2030-01-01T00:00:00Z'/>
  <rule action='alert' condition='deliver' value='none'/>
</amp></message>`,
			args: []string{"-deliver", "stored", "-now", "2026-01-01T00:00:00Z", "-server", "x.lit"},
			want: func(t *testing.T) want {
				return want{
					deliver: true,
					message: xmlElement(t, `<message from='a@x.lit/r' to='b@x.lit' id='1'><amp `+ampNS+`>
  <rule action='drop' condition='expire-at' value='2030-01-01T00:00:00Z'/>
  <rule action='alert' condition='deliver' value='none'/>
</amp></message>`),
					replies: []*etree.Element{xmlElement(t, `<message from='x.lit' to='a@x.lit/r' id='1'><amp `+ampNS+` status='notify' from='a@x.lit/r' to='b@x.lit'><rule action='notify' condition='deliver' value='stored'/></amp></message>`)},
				}
			},
		},
		{
			name: "next hop without AMP: notify, then service-unavailable",
			stdin: `<message from='a@x.lit/r' to='b@y.lit/s' id='1'><amp ` + ampNS + `>
  <rule action='notify' condition='deliver' value='direct'/>
  <rule action='error' condition='match-resource' value='other'/>
</amp></message>`,
			args: []string{"-next-hop-amp=false", "-resource", "elsewhere"},
			want: func(t *testing.T) want {
				return want{replies: []*etree.Element{
					xmlElement(t, `<message from='x.lit' to='a@x.lit/r' id='1'><amp `+ampNS+` status='notify' from='a@x.lit/r' to='b@y.lit/s'><rule action='notify' condition='deliver' value='direct'/></amp></message>`),
					xmlElement(t, `<message from='x.lit' to='a@x.lit/r' id='1' type='error'><amp `+ampNS+`>
  <rule action='notify' condition='deliver' value='direct'/>
  <rule action='error' condition='match-resource' value='other'/>
</amp><error type='cancel' code='503'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`),
				}}
			},
		},
		{
			name:  "unsupported actions are all listed",
			stdin: `<message from='a@x.lit/r' to='b@x.lit' id='1'><amp ` + ampNS + `><rule action='teleport' condition='deliver' value='stored'/><rule action='drop' condition='moon' value='full'/><rule action='beam' condition='deliver' value='none'/></amp></message>`,
			want: func(t *testing.T) want {
				return want{replies: []*etree.Element{xmlElement(t, `
<message from='x.lit' to='a@x.lit/r' id='1' type='error'>
  <amp `+ampNS+`><rule action='teleport' condition='deliver' value='stored'/><rule action='drop' condition='moon' value='full'/><rule action='beam' condition='deliver' value='none'/></amp>
  <error type='modify' code='400'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
    <unsupported-actions `+ampNS+`><rule action='teleport' condition='deliver' value='stored'/><rule action='beam' condition='deliver' value='none'/></unsupported-actions>
  </error>
</message>`)}}
			},
		},
	}
	runExampleCases(t, cases)
}

// TestBadInput checks that bad input gets one line on stderr and exit
// status 2, both from the command and from run.
func TestBadInput(t *testing.T) {
	msg := "<message from='a@x.lit/r' to='b@x.lit' id='1'><body>hi</body></message>"
	tests := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"not XML", "this is not XML", nil},
		{"empty input", "", nil},
		{"unclosed element", "<message from='a@x.lit/r'>", nil},
		{"two root elements", msg + msg, nil},
		{"text after the root element", msg + "trailing", nil},
		{"repeated attribute", "<message from='a@x.lit/r' from='b@x.lit/r'/>", nil},
		{"undefined entity", "<message from='a@x.lit/r'><body>&nbsp;</body></message>", nil},
		{"iq", "<iq type='get' id='1'/>", nil},
		{exampleName(1), "", []string{exampleFile(1)}},
		{exampleName(3), "", []string{exampleFile(3)}},
		{"request without from", "<message to='b@x.lit' id='1'><amp " + ampNS + "><rule action='drop' condition='deliver' value='stored'/></amp></message>", nil},
		{"missing file", "", []string{filepath.Join(t.TempDir(), "missing.xml")}},
		{"directory", "", []string{t.TempDir()}},
		{"two files", "", []string{exampleFile(5), exampleFile(6)}},
		{"flag after FILE", "", []string{exampleFile(5), "-deliver", "stored"}},
		{"unknown -deliver", msg, []string{"-deliver", "later"}},
		{"unknown -hop", msg, []string{"-hop", "middle"}},
		{"bad -now", msg, []string{"-now", "yesterday"}},
		{"-now without a time", msg, []string{"-now", "2004-01-01"}},
		{"-now without a zone", msg, []string{"-now", "2004-01-01T00:00:00"}},
		{"bad -presence", msg, []string{"-presence=maybe"}},
		{"unknown -support item", msg, []string{"-support", "drop,deliver,teleport"}},
		{"-support without a condition", msg, []string{"-support", "drop,notify"}},
		{"-support without an action", msg, []string{"-support", "deliver"}},
		{"empty -support", msg, []string{"-support", ""}},
		{"unknown flag", msg, []string{"-verbose"}},
		{"flag without value", msg, []string{"-deliver"}},
		{"unknown disco node", "", []string{"-disco", "http://jabber.org/protocol/amp#errors"}},
		{"-disco and -features", "", []string{"-disco", "", "-features"}},
		{"-features and FILE", "", []string{"-features", exampleFile(5)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("command", func(t *testing.T) { failsOnBadInput(t, ampcheck(t, tt.stdin, tt.args...)) })
			t.Run("run", func(t *testing.T) { failsOnBadInput(t, runInProcess(tt.stdin, tt.args...)) })
		})
	}
}

// TestJSONShape checks the keys of the output in each kind of answer.
func TestJSONShape(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		deliver bool
		replies int
	}{
		{"delivered, no reply", []string{"-deliver", "direct", exampleFile(14)}, true, 0},
		{"delivered, a notify event", []string{"-deliver", "stored", "-now", "2026-01-01T00:00:00Z", "-"}, true, 1},
		{"dropped, no reply", []string{"-deliver", "stored", exampleFile(13)}, false, 0},
		{"alerted", []string{"-deliver", "stored", exampleFile(14)}, false, 1},
	}
	notify := `<message from='a@x.lit/r' to='b@x.lit' id='1'><amp ` + ampNS + `><rule action='notify' condition='deliver' value='stored'/></amp></message>`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ampcheck(t, notify, tt.args...)
			d := decode(t, r) // checks the keys, message and replies
			if d.Deliver != tt.deliver || len(d.Replies) != tt.replies {
				t.Errorf("got deliver %v and %d replies, want %v and %d: %s", d.Deliver, len(d.Replies), tt.deliver, tt.replies, r.stdout)
			}
			if tt.replies == 0 && !strings.Contains(r.stdout, `"replies":[]`) {
				t.Errorf("replies is not written [] in %s", r.stdout)
			}
			if strings.Contains(r.stdout, `\u003c`) {
				t.Errorf("< is escaped in %s", r.stdout)
			}
			if got := runInProcess(notify, tt.args...); got != r {
				t.Errorf("run gives %+v, the command %+v", got, r)
			}
		})
	}
}
