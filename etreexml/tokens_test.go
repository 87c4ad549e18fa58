package etreexml_test

import (
	"encoding/xml"
	"io"
	"testing"

	"github.com/ampxmpp/amp/etreexml"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// drain returns the tokens of r up to io.EOF.
func drain(t testing.TB, r xml.TokenReader) []xml.Token {
	t.Helper()
	var toks []xml.Token
	for {
		tok, err := r.Token()
		if err == io.EOF {
			return toks
		}
		require.NoError(t, err)
		toks = append(toks, tok)
	}
}

func TestElementTokens(t *testing.T) {
	const (
		client = "jabber:client"
		amp    = "http://jabber.org/protocol/amp"
		xmlNS  = "http://www.w3.org/XML/1998/namespace"
	)
	name := func(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }
	attr := func(space, local, value string) xml.Attr { return xml.Attr{Name: name(space, local), Value: value} }
	start := func(space, local string, attrs ...xml.Attr) xml.StartElement {
		return xml.StartElement{Name: name(space, local), Attr: append([]xml.Attr{}, attrs...)}
	}
	end := func(space, local string) xml.EndElement { return xml.EndElement{Name: name(space, local)} }
	noNS := attr("", "xmlns", "")

	withDirective := parse(t, `<a/>`)
	withDirective.CreateDirective("DOCTYPE x")

	tests := []struct {
		name string
		el   *etree.Element
		want []xml.Token
	}{
		{"stanza", parse(t, `<message xmlns='jabber:client' id='1'><body>hi</body><amp xmlns='http://jabber.org/protocol/amp'><rule value='none'/></amp></message>`), []xml.Token{
			start(client, "message", attr("", "id", "1")),
			start(client, "body"), xml.CharData("hi"), end(client, "body"),
			start(amp, "amp"), start(amp, "rule", attr("", "value", "none")), end(amp, "rule"), end(amp, "amp"),
			end(client, "message"),
		}},
		{"a child inherits from the ancestors of the element given", parse(t, `<message xmlns='jabber:client' xmlns:p='urn:p'><amp xmlns='http://jabber.org/protocol/amp'><rule p:x='1'/></amp></message>`).FindElement("amp/rule"), []xml.Token{
			start(amp, "rule", attr("urn:p", "x", "1")), end(amp, "rule"),
		}},
		{"a prefixed parent of the element given", parse(t, `<p:a xmlns:p='urn:p' xmlns='urn:d'><b xmlns=''/></p:a>`).FindElement("b"), []xml.Token{
			start("", "b", noNS), end("", "b"),
		}},
		{"the element given has no namespace, nor its parent", parse(t, `<a><b/></a>`).FindElement("b"), []xml.Token{
			start("", "b"), end("", "b"),
		}},
		{"prefixes, xml:lang and no namespace", parse(t, `<a xmlns='urn:a' xmlns:p='urn:p' xml:lang='en'><b p:x='1' xmlns=''>t</b><p:c/><q:d q:y='2'/></a>`), []xml.Token{
			start("urn:a", "a", attr(xmlNS, "lang", "en")),
			start("", "b", noNS, attr("urn:p", "x", "1")), xml.CharData("t"), end("", "b"),
			start("urn:p", "c"), end("urn:p", "c"),
			start("", "d", noNS, attr("q", "y", "2")), end("", "d"),
			end("urn:a", "a"),
		}},
		{"a prefix bound again inside", parse(t, `<a xmlns:p='urn:1'><p:b xmlns:p='urn:2' p:x='1'/><p:c p:y='2'/></a>`), []xml.Token{
			start("", "a"),
			start("urn:2", "b", attr("urn:2", "x", "1")), end("urn:2", "b"),
			start("urn:1", "c", attr("urn:1", "y", "2")), end("urn:1", "c"),
			end("", "a"),
		}},
		{"the first of two declarations wins, as in etree", parse(t, `<p:a xmlns:p='urn:1' xmlns:p='urn:2' xmlns='urn:3' xmlns='urn:4'><b/></p:a>`), []xml.Token{
			start("urn:1", "a"), start("urn:3", "b"), end("urn:3", "b"), end("urn:1", "a"),
		}},
		{"comments, instructions, CDATA", parse(t, `<a><!--c--><?pi x?><![CDATA[<d>]]></a>`), []xml.Token{
			start("", "a"), xml.Comment("c"), xml.ProcInst{Target: "pi", Inst: []byte("x")}, xml.CharData("<d>"), end("", "a"),
		}},
		{"a directive", withDirective, []xml.Token{start("", "a"), xml.Directive("DOCTYPE x"), end("", "a")}},
		{"nil", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top := tt.el
			for top != nil && top.Parent() != nil {
				top = top.Parent()
			}
			before := write(top)
			r := etreexml.ElementTokens(tt.el)
			assert.Equal(t, tt.want, drain(t, r))
			tok, err := r.Token()
			assert.Nil(t, tok)
			assert.Equal(t, io.EOF, err, "io.EOF again")
			assert.Equal(t, before, write(top), "the tree is left as it was")
		})
	}
}

// TestElementTokensEncoded writes trees with an xml.Encoder and reads them
// back: each element keeps its namespace, wherever it is written.
func TestElementTokensEncoded(t *testing.T) {
	tests := []struct{ name, in, path string }{
		{"stanza", `<message xmlns='jabber:client' from='a@x/r' id='m1'><body>hi</body><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='error' value='stored'/></amp></message>`, ""},
		{"an error reply", `<message xmlns='jabber:client' type='error'><error type='modify'><failed-rules xmlns='http://jabber.org/protocol/amp#errors'><rule xmlns='http://jabber.org/protocol/amp' condition='deliver' action='error' value='stored'/></failed-rules></error></message>`, ""},
		{"prefixes and no namespace", `<a xmlns='urn:a' xmlns:p='urn:p' xml:lang='en'><b p:x='1' xmlns=''>t</b><p:c/></a>`, ""},
		{"a stream feature, without its stream", `<stream:features xmlns:stream='http://etherx.jabber.org/streams'><amp xmlns='http://jabber.org/features/amp'/></stream:features>`, "amp"},
		{"a rule, without its message", `<message xmlns='jabber:client'><amp xmlns='http://jabber.org/protocol/amp'><rule value='none'/></amp></message>`, "amp/rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			el := parse(t, tt.in)
			if tt.path != "" {
				el = el.FindElement(tt.path)
			}
			out, err := encode(etreexml.ElementTokens(el))
			require.NoError(t, err)
			assert.Equal(t, canon(el), canon(read(t, out)), "written as %s", out)
		})
	}
}
