package amp_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// canon returns el as a canonical string: each element as {namespace}tag
// with its attributes, namespaces resolved, sorted and without
// declarations, then its children.
func canon(el *etree.Element) string {
	var b strings.Builder
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		b.WriteString("<{" + e.NamespaceURI() + "}" + e.Tag)
		var attrs []string
		for _, a := range e.Attr {
			if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
				continue
			}
			space := a.Space
			if space != "" && space != "xml" {
				space = lookup(e, space)
			}
			attrs = append(attrs, " {"+space+"}"+a.Key+"="+a.Value)
		}
		sort.Strings(attrs)
		b.WriteString(strings.Join(attrs, ""))
		b.WriteString(">")
		for _, t := range e.Child {
			switch t := t.(type) {
			case *etree.Element:
				walk(t)
			case *etree.CharData:
				b.WriteString(t.Data)
			}
		}
		b.WriteString("</>")
	}
	walk(el)
	return b.String()
}

func lookup(e *etree.Element, prefix string) string {
	for ; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return a.Value
			}
		}
	}
	return prefix
}

func mustParse(t testing.TB, s string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return doc.Root()
}

func TestReadElement(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the same element written another way; "" for in
	}{
		{name: "default namespaces", in: `<message xmlns='jabber:client' from='a@x/r' to='b@x' id='1'><body>hi</body><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='notify' value='direct'/></amp></message>`},
		{name: "prefixed amp", in: `<message xmlns='jabber:client' xmlns:a='http://jabber.org/protocol/amp' id='1'><a:amp><a:rule condition='deliver' action='drop' value='stored'/></a:amp></message>`,
			want: `<message xmlns='jabber:client' id='1'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='stored'/></amp></message>`},
		{name: "xml:lang and a prefixed attribute", in: `<message xmlns='jabber:client' xml:lang='en' xmlns:p='urn:p'><body p:x='1'>a</body></message>`},
		{name: "no namespace under a namespace", in: `<a xmlns='urn:a'><b xmlns=''><c/></b></a>`},
		{name: "character references", in: `<message xmlns='jabber:client'><amp xmlns='&#x68;ttp://jabber.org/protocol/amp'/></message>`,
			want: `<message xmlns='jabber:client'><amp xmlns='http://jabber.org/protocol/amp'/></message>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.in
			}
			d := xml.NewDecoder(strings.NewReader("<!-- c -->\n " + tt.in + "<after/>"))
			got, err := amp.ReadElement(d, nil)
			if err != nil {
				t.Fatalf("ReadElement: %v", err)
			}
			if g, w := canon(got), canon(mustParse(t, want)); g != w {
				t.Errorf("got %s, want %s", g, w)
			}
			// Nothing past the element is read.
			tok, err := d.Token()
			if se, ok := tok.(xml.StartElement); err != nil || !ok || se.Name.Local != "after" {
				t.Errorf("next token: got %v, %v, want <after>", tok, err)
			}
		})
	}
}

func TestReadElementAfterStart(t *testing.T) {
	in := `<message xmlns='jabber:client' id='1'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='notify' value='direct'/></amp></message>`
	for _, name := range []string{"with end element", "without end element"} {
		t.Run(name, func(t *testing.T) {
			d := xml.NewDecoder(strings.NewReader(in))
			tok, _ := d.Token()
			start := tok.(xml.StartElement)
			var toks []xml.Token
			for {
				tok, err := d.Token()
				if err != nil {
					break
				}
				toks = append(toks, xml.CopyToken(tok))
			}
			if name == "without end element" {
				toks = toks[:len(toks)-1]
			}
			got, err := amp.ReadElement(&sliceReader{toks: toks}, &start)
			if err != nil {
				t.Fatalf("ReadElement: %v", err)
			}
			if g, w := canon(got), canon(mustParse(t, in)); g != w {
				t.Errorf("got %s, want %s", g, w)
			}
			rs, err := amp.Parse(withFrom(got))
			if err != nil || rs == nil || len(rs.Rules) != 1 {
				t.Errorf("Parse: got %v, %v, want one rule", rs, err)
			}
		})
	}
}

func withFrom(el *etree.Element) *etree.Element {
	el.CreateAttr("from", "a@example.com/r")
	return el
}

type sliceReader struct{ toks []xml.Token }

func (r *sliceReader) Token() (xml.Token, error) {
	if len(r.toks) == 0 {
		return nil, io.EOF
	}
	t := r.toks[0]
	r.toks = r.toks[1:]
	return t, nil
}

func TestReadElementErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"text first", "hello <a/>"},
		{"truncated", "<a><b>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := amp.ReadElement(xml.NewDecoder(strings.NewReader(tt.in)), nil)
			if err == nil || !strings.HasPrefix(err.Error(), "amp: ") {
				t.Errorf("got %v, want an error prefixed amp:", err)
			}
		})
	}
	_, err := amp.ReadElement(&sliceReader{}, nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("no token: got %v, want io.ErrUnexpectedEOF", err)
	}
}

// encode writes r with encoding/xml, as mellium.im/xmpp does.
func encode(t *testing.T, r xml.TokenReader) string {
	t.Helper()
	var buf bytes.Buffer
	e := xml.NewEncoder(&buf)
	for {
		tok, err := r.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := e.EncodeToken(tok); err != nil {
			t.Fatalf("EncodeToken(%#v): %v", tok, err)
		}
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestElementTokens(t *testing.T) {
	req := mustParse(t, `<message xmlns='jabber:client' from='a@x/r' to='b@x' id='m1'><body>hi</body>`+
		`<amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='error' value='stored'/></amp></message>`)
	rs, err := amp.Parse(req)
	if err != nil {
		t.Fatal(err)
	}
	res := (&amp.Config{}).Evaluate(req, rs, amp.Outcome{Deliver: amp.DeliverStored, Presence: amp.PresenceAuthorized})
	replies := res.Replies("x")
	if len(replies) != 1 {
		t.Fatalf("got %d replies, want 1", len(replies))
	}
	tests := []struct {
		name string
		el   *etree.Element
	}{
		{"failed rules", replies[0]},
		{"request", req},
		{"xml:lang, prefixes and no namespace", mustParse(t, `<a xmlns='urn:a' xmlns:p='urn:p' xml:lang='en'><b p:x='1' xmlns=''>t</b><p:c/></a>`)},
		{"stream feature", amp.StreamFeature()},
		{"disco", (&amp.Config{}).DiscoInfo(amp.NS)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := encode(t, amp.ElementTokens(tt.el))
			if g, w := canon(mustParse(t, out)), canon(tt.el); g != w {
				t.Errorf("got %s, want %s (written %s)", g, w, out)
			}
		})
	}
	// The rule under <failed-rules/> is in the amp#errors namespace once
	// written and read again.
	back := mustParse(t, encode(t, amp.ElementTokens(replies[0])))
	ev := amp.ParseEvent(back)
	var e *amp.Error
	if ev == nil || !errors.As(ev.Err, &e) || e.Kind != amp.ErrFailedRules || len(e.Rules) != 1 {
		t.Errorf("ParseEvent after writing: got %+v, want failed-rules with one rule", ev)
	}
	if tok, err := amp.ElementTokens(nil).Token(); tok != nil || err != io.EOF {
		t.Errorf("nil element: got %v, %v, want nil, io.EOF", tok, err)
	}
}

func TestElementTokensSubtree(t *testing.T) {
	// A child keeps the namespace it inherits from an ancestor.
	msg := mustParse(t, `<message xmlns='jabber:client'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='none'/></amp></message>`)
	rule := msg.ChildElements()[0].ChildElements()[0]
	got := mustParse(t, encode(t, amp.ElementTokens(rule)))
	if got.NamespaceURI() != amp.NS {
		t.Errorf("got namespace %q, want %q", got.NamespaceURI(), amp.NS)
	}
}

func TestMayHaveRequest(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want bool
	}{
		{"request", `<message id='1'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='none'/></amp></message>`, true},
		{"plain message", `<message id='1' to='b@x'><body>hello</body></message>`, false},
		{"presence", `<presence/>`, false},
		{"predefined entities", `<message><body>a &amp; b &lt; c</body></message>`, false},
		{"character reference", `<message><amp xmlns='&#x68;ttp://jabber.org/protocol/amp'/></message>`, true},
		{"decimal character reference", `<message><amp xmlns='http&#58;//jabber.org/protocol/amp'/></message>`, true},
		{"prefix from the stream header", `<message><a:amp><a:rule/></a:amp></message>`, true},
		{"namespace in a body", `<message><body>http://jabber.org/protocol/amp</body></message>`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := amp.MayHaveRequest([]byte(tt.raw)); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzMayHaveRequest checks that MayHaveRequest never says no to a stanza
// in which Parse finds a request, read alone or inside a stream header
// that declares prefixes.
func FuzzMayHaveRequest(f *testing.F) {
	f.Add(`<message from='a@x/r' id='1'><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='none'/></amp></message>`)
	f.Add(`<message from='a@x/r' id='1'><amp xmlns='&#104;ttp://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='none'/></amp></message>`)
	f.Add(`<message from='a@x/r' id='1'><a:amp><a:rule condition='deliver' action='drop' value='none'/></a:amp></message>`)
	f.Add(`<message from='a@x/r' id='1'><body>hi</body></message>`)
	f.Fuzz(func(t *testing.T, raw string) {
		if amp.MayHaveRequest([]byte(raw)) {
			return
		}
		for _, doc := range []string{raw, `<stream xmlns='jabber:client' xmlns:a='http://jabber.org/protocol/amp'>` + raw + `</stream>`} {
			d := etree.NewDocument()
			if err := d.ReadFromString(doc); err != nil || d.Root() == nil {
				continue
			}
			msg := d.Root()
			if msg.Tag == "stream" {
				kids := msg.ChildElements()
				if len(kids) == 0 {
					continue
				}
				msg = kids[0]
			}
			if msg.Tag != "message" {
				continue
			}
			// A request is found when Parse returns rules, an *amp.Error or
			// ErrNoSender.
			rs, err := amp.Parse(msg)
			var e *amp.Error
			if rs != nil || errors.As(err, &e) || errors.Is(err, amp.ErrNoSender) {
				t.Fatalf("MayHaveRequest said no, but Parse found a request in %q: %v, %v", doc, rs, err)
			}
		}
	})
}

// readStanza reads the first element of an example as a server would from
// its stream: through an xml.Decoder inside a jabber:client stream header.
func readStanza(t *testing.T, text string) *etree.Element {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>` + text))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	el, err := amp.ReadElement(d, nil)
	if err != nil {
		t.Fatalf("ReadElement: %v", err)
	}
	return el
}

func TestStreamSpecExamples(t *testing.T) {
	t.Run("Example 25: Failed rules", func(t *testing.T) {
		msg := readStanza(t, example(t, 25, "Failed rules"))
		for _, el := range []*etree.Element{msg, mustParse(t, encode(t, amp.ElementTokens(msg)))} {
			ev := amp.ParseEvent(el)
			var e *amp.Error
			if ev == nil || !errors.As(ev.Err, &e) || e.Kind != amp.ErrFailedRules || len(e.Rules) != 1 ||
				e.Rules[0] != (amp.Rule{Condition: amp.CondDeliver, Action: amp.ActionError, Value: "stored"}) {
				t.Errorf("got %+v, want failed-rules with the rule error/deliver/stored", ev)
			}
		}
	})
	t.Run("Example 26: Advertising Advanced Message Processing as a stream feature", func(t *testing.T) {
		features := readStanza(t, example(t, 26, "Advertising Advanced Message Processing as a stream feature"))
		var got *etree.Element
		for _, el := range features.ChildElements() {
			if el.Tag == "amp" && el.NamespaceURI() == amp.NSFeature {
				got = el
			}
		}
		if got == nil {
			t.Fatal("no AMP feature")
		}
		written := mustParse(t, encode(t, amp.ElementTokens(amp.StreamFeature())))
		if g, w := canon(written), canon(got); g != w {
			t.Errorf("got %s, want %s", g, w)
		}
	})
}
