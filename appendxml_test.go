package amp_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// etreeXML is the XML etree writes for el with the default settings.
func etreeXML(el *etree.Element) string {
	var b bytes.Buffer
	el.WriteTo(&b, &etree.WriteSettings{})
	return b.String()
}

// checkAppendXML checks that AppendXML writes el as etree does, after the
// bytes already in a buffer.
func checkAppendXML(t *testing.T, name string, el *etree.Element) {
	t.Helper()
	want := etreeXML(el)
	prefix := []byte("<stream>")
	got := amp.AppendXML(prefix, el)
	if !bytes.HasPrefix(got, prefix) || string(got[len(prefix):]) != want {
		t.Errorf("%s: AppendXML got %q, want %q", name, got, "<stream>"+want)
	}
}

func TestAppendXMLNil(t *testing.T) {
	dst := []byte("x")
	if got := amp.AppendXML(dst, nil); string(got) != "x" {
		t.Errorf("got %q, want %q", got, "x")
	}
	if got := amp.AppendXML(nil, nil); got != nil {
		t.Errorf("got %q, want nil", got)
	}
}

// trickyValues need escaping or replacing as etree does it.
var trickyValues = []string{
	"",
	"plain",
	`<>&'"`,
	`a<b>c&d'e"f`,
	"&amp; is already escaped",
	"ünïcødé 日本語 🎉",
	"tab\tnewline\ncarriage\rreturn",
	"nul\x00bell\x07esc\x1bdel\x7f",
	"bad utf-8: \xff\xfe \xe2\x82 \xc0\xaf end",
	"surrogate \xed\xa0\x80 and U+FFFE \uFFFE U+FFFF \uFFFF and U+FFFD \uFFFD",
	"max \U0010FFFF and past \xf4\x90\x80\x80",
	"]]> in text",
	strings.Repeat("<&>", 100),
}

func TestAppendXMLEscaping(t *testing.T) {
	for i, v := range trickyValues {
		el := etree.NewElement("x:message")
		el.CreateAttr("value", v)
		el.CreateAttr("p:key", v)
		el.CreateElement("body").SetText(v)
		el.CreateElement("empty")
		el.CreateElement("cdata").SetCData(v)
		el.CreateComment(v)
		el.CreateProcInst("pi", v)
		el.CreateDirective(v)
		el.CreateText(v)
		checkAppendXML(t, fmt.Sprintf("value %d %q", i, v), el)
	}
}

// TestAppendXMLTestdata writes every element of every document in testdata,
// whitespace, comments and prefixes included.
func TestAppendXMLTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		doc := etree.NewDocument()
		if err := doc.ReadFromFile(f); err != nil {
			continue // some XEP examples are fragments
		}
		for _, el := range doc.FindElements("//*") {
			checkAppendXML(t, f, el)
		}
	}
}

// replyCase is a message and a configuration whose replies are checked
// over many outcomes.
type replyCase struct {
	name string
	cfg  *amp.Config
	msg  *etree.Element
}

func replyCases(t *testing.T) []replyCase {
	var cases []replyCase
	add := func(name string, cfg *amp.Config, xml string) {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(xml); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, el := range append([]*etree.Element{doc.Root()}, doc.Root().SelectElements("message")...) {
			if el.Tag == "message" {
				cases = append(cases, replyCase{name, cfg, el})
			}
		}
	}
	for _, e := range examples {
		add(e.Name(), nil, "<root xmlns='jabber:client'>"+e.Text+"</root>")
		add(e.Name(), &amp.Config{Actions: []amp.Action{amp.ActionNotify}, Conditions: []amp.Condition{amp.CondDeliver}, MaxValueLen: 8}, "<root xmlns='jabber:client'>"+e.Text+"</root>")
	}
	for i, v := range trickyValues {
		var esc bytes.Buffer
		etree.NewDocumentWithRoot(func() *etree.Element {
			el := etree.NewElement("a")
			el.CreateAttr("v", v)
			return el
		}()).WriteTo(&esc)
		attr := strings.TrimSuffix(strings.TrimPrefix(esc.String(), `<a v="`), `"/>`)
		name := fmt.Sprintf("tricky value %d", i)
		add(name, nil, `<message xmlns='jabber:client' from="a@x/`+attr+`" to="b@y/`+attr+`" id="`+attr+`"><amp xmlns='http://jabber.org/protocol/amp'>`+
			`<rule condition='deliver' action='notify' value='direct'/>`+
			`<rule condition='deliver' action='notify' value="`+attr+`"/>`+
			`<rule condition="`+attr+`" action='notify' value='none'/>`+
			`<rule condition='match-resource' action='alert' value='other'/>`+
			`<rule condition='deliver' action='error' value='stored'/>`+
			`</amp></message>`)
	}
	add("many rules", nil, `<message from='a@x/r' to='b@y/r' id='m'><amp xmlns='http://jabber.org/protocol/amp' per-hop='true'>`+
		strings.Repeat(`<rule condition='deliver' action='notify' value='direct'/><rule condition='deliver' action='drop' value='none'/>`, 20)+
		`</amp></message>`)
	add("prefixes", nil, `<c:message xmlns:c='jabber:client' from='a@x/r' to='b@y/r' id='m'><p:amp xmlns:p='http://jabber.org/protocol/amp'>`+
		`<p:rule condition='deliver' action='notify' value='direct'/><p:rule condition='deliver' action='alert' value='direct'/></p:amp></c:message>`)
	return cases
}

// TestAppendXMLReplies writes every kind of reply the package builds: notify
// and alert events, the error of the error action, service-unavailable and
// the validation errors, and the messages passed on.
func TestAppendXMLReplies(t *testing.T) {
	kinds := map[string]int{}
	outcomes := []amp.Outcome{}
	for _, d := range []amp.Deliver{amp.DeliverDirect, amp.DeliverStored, amp.DeliverNone, amp.DeliverForward} {
		for _, res := range []string{"", "r", "other"} {
			for _, nh := range []amp.NextHop{amp.NextHopLocal, amp.NextHopNoAMP} {
				outcomes = append(outcomes, amp.Outcome{Deliver: d, Resource: res, NextHop: nh, Time: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Presence: amp.PresenceAuthorized})
			}
		}
	}
	for _, c := range replyCases(t) {
		rs, err := amp.Parse(c.msg)
		if el := amp.ErrorReply(c.msg, "srv", err); el != nil {
			kinds["parse error"]++
			checkAppendXML(t, c.name+": parse error", el)
		}
		if rs == nil {
			continue
		}
		checkAppendXML(t, c.name+": rule set", rs.Element())
		for _, p := range []amp.Presence{amp.PresenceDenied, amp.PresenceAuthorized} {
			if el := amp.ErrorReply(c.msg, "srv", c.cfg.Validate(rs, p)); el != nil {
				kinds["validation error"]++
				checkAppendXML(t, c.name+": validation error", el)
			}
		}
		for _, o := range outcomes {
			res := c.cfg.Evaluate(c.msg, rs, o)
			for _, el := range res.Replies("srv") {
				ev := amp.ParseEvent(el)
				switch {
				case ev == nil:
					t.Fatalf("%s: reply %s is no event", c.name, etreeXML(el))
				case ev.Err != nil:
					kinds[ev.Err.(*amp.Error).Kind.Error()]++
				default:
					kinds[string(ev.Status)]++
				}
				checkAppendXML(t, fmt.Sprintf("%s: %+v: reply", c.name, o), el)
			}
			if el := res.Message(); el != nil {
				checkAppendXML(t, fmt.Sprintf("%s: %+v: message", c.name, o), el)
			}
		}
	}
	for _, k := range []string{"parse error", "validation error", "notify", "alert", amp.ErrFailedRules.Error(), amp.ErrServiceUnavailable.Error()} {
		if kinds[k] == 0 {
			t.Errorf("no reply of kind %q was checked", k)
		}
	}
	for _, node := range []string{"", amp.NS} {
		checkAppendXML(t, "disco", (&amp.Config{RootFeatures: true}).DiscoInfo(node))
	}
	checkAppendXML(t, "stream feature", amp.StreamFeature())
}

// TestRepliesTree checks that the replies, built in shared storage, are
// well-formed etree trees that the caller can change one by one.
func TestRepliesTree(t *testing.T) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<message xmlns='jabber:client' from='a@x/r' to='b@y/r' id='m'><amp xmlns='http://jabber.org/protocol/amp'>` +
		`<rule condition='deliver' action='notify' value='direct'/><rule condition='match-resource' action='notify' value='exact'/>` +
		`<rule condition='deliver' action='alert' value='direct'/></amp></message>`); err != nil {
		t.Fatal(err)
	}
	var cfg amp.Config
	rs, err := amp.Parse(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	res := cfg.Evaluate(doc.Root(), rs, amp.Outcome{Deliver: amp.DeliverDirect, Resource: "r", Presence: amp.PresenceAuthorized})
	replies := res.Replies("srv")
	if len(replies) != 3 {
		t.Fatalf("got %d replies, want 3", len(replies))
	}
	var copies []*etree.Element
	for _, el := range replies {
		if el.Parent() != nil || el.Index() != -1 {
			t.Errorf("reply has parent %v and index %d, want none and -1", el.Parent(), el.Index())
		}
		checkTree(t, el)
		copies = append(copies, el.Copy())
	}
	// Growing one reply leaves the others as they were: each grows as a
	// copy of it does.
	grow := func(el *etree.Element) {
		el.CreateAttr("extra", "1")
		for _, c := range el.ChildElements() {
			c.CreateAttr("extra", "2")
			for _, cc := range c.ChildElements() {
				cc.CreateAttr("extra", "3")
				cc.CreateElement("extra")
			}
			c.CreateElement("extra")
		}
		el.CreateElement("extra")
	}
	for _, el := range replies {
		grow(el)
	}
	for i, el := range replies {
		grow(copies[i])
		if got, want := etreeXML(el), etreeXML(copies[i]); got != want {
			t.Errorf("reply %d: got %s, want %s", i, got, want)
		}
		checkTree(t, el)
	}
}

// checkTree checks the parent and index of every token under el.
func checkTree(t *testing.T, el *etree.Element) {
	t.Helper()
	for i, c := range el.Child {
		if c.Parent() != el || c.Index() != i {
			t.Errorf("child %d of <%s/> has parent %v and index %d", i, el.Tag, c.Parent(), c.Index())
		}
		if ce, ok := c.(*etree.Element); ok {
			checkTree(t, ce)
		}
	}
}

// FuzzAppendXML checks AppendXML against etree's writer on documents etree
// reads and on elements built from arbitrary strings.
func FuzzAppendXML(f *testing.F) {
	f.Add(`<a b="c"/>`, "v", "t")
	f.Add(`<p:a xmlns:p='u' p:b='&lt;&amp;'>x<!--c--><![CDATA[d]]><?pi x?><b/>&#x1;</p:a>`, `<>&'"`, "\x00\xff\uFFFE")
	for _, v := range trickyValues {
		f.Add("<m>"+v+"</m>", v, v)
	}
	f.Fuzz(func(t *testing.T, doc, value, text string) {
		d := etree.NewDocument()
		if d.ReadFromString(doc) == nil {
			for _, el := range d.FindElements("//*") {
				checkAppendXML(t, "document", el)
			}
		}
		el := etree.NewElement("message")
		el.CreateAttr("k", value)
		el.CreateElement("b").SetText(text)
		el.CreateText(value)
		checkAppendXML(t, "built", el)
	})
}

// stripSpace removes the whitespace-only text of el and its descendants,
// the indentation of the XEP's examples.
func stripSpace(el *etree.Element) {
	for i := len(el.Child) - 1; i >= 0; i-- {
		switch c := el.Child[i].(type) {
		case *etree.CharData:
			if strings.TrimSpace(c.Data) == "" {
				el.RemoveChildAt(i)
			}
		case *etree.Element:
			stripSpace(c)
		}
	}
}

// TestErrorActionExample builds the error of the error action for the
// message of Example 10 and compares its <error/> with Example 11's.
func TestErrorActionExample(t *testing.T) {
	read := func(s string) *etree.Element {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(s); err != nil {
			t.Fatal(err)
		}
		stripSpace(doc.Root())
		return doc.Root()
	}
	msg := read(example(t, 10, "Sending a message for reliable data transport"))
	want := read(example(t, 11, "Failed reliable data transport message")).SelectElement("error")
	var cfg amp.Config
	rs, err := amp.Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(rs, amp.PresenceAuthorized); err != nil {
		t.Fatal(err)
	}
	res := cfg.Evaluate(msg, rs, amp.Outcome{Deliver: amp.DeliverDirect, Resource: "phone", Presence: amp.PresenceAuthorized})
	replies := res.Replies("hamlet.lit")
	if len(replies) != 1 || replies[0].SelectElement("error") == nil {
		t.Fatalf("got %d replies, want the error of the error action", len(replies))
	}
	checkAppendXML(t, "Example 11", replies[0])
	if got, want := etreeXML(replies[0].SelectElement("error")), etreeXML(want); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
