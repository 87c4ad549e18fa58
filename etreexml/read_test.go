package etreexml_test

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ampxmpp/amp/etreexml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadElement(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // as etree writes the element read
	}{
		{name: "default namespaces",
			in:   `<message xmlns='jabber:client' from='a@x/r' id='1'><body>hi</body><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='notify' value='direct'/></amp></message>`,
			want: `<message xmlns="jabber:client" from="a@x/r" id="1"><body>hi</body><amp xmlns="http://jabber.org/protocol/amp"><rule condition="deliver" action="notify" value="direct"/></amp></message>`},
		{name: "prefixed elements",
			in:   `<message xmlns='jabber:client' xmlns:a='http://jabber.org/protocol/amp' id='1'><a:amp><a:rule value='stored'/></a:amp></message>`,
			want: `<message xmlns="jabber:client" id="1"><amp xmlns="http://jabber.org/protocol/amp"><rule value="stored"/></amp></message>`},
		{name: "no namespace under a namespace",
			in:   `<a xmlns='urn:a'><b xmlns=''><c/></b><d/></a>`,
			want: `<a xmlns="urn:a"><b xmlns=""><c/></b><d/></a>`},
		{name: "character references in a declaration",
			in:   `<message xmlns='jabber:client'><amp xmlns='&#x68;ttp://jabber.org/protocol/amp'/></message>`,
			want: `<message xmlns="jabber:client"><amp xmlns="http://jabber.org/protocol/amp"/></message>`},
		{name: "xml:lang and a prefixed attribute",
			in:   `<message xmlns='jabber:client' xml:lang='en' xmlns:p='urn:p'><body p:x='1' xml:lang='fr'>a</body></message>`,
			want: `<message xmlns="jabber:client" xml:lang="en"><body xmlns:ns1="urn:p" ns1:x="1" xml:lang="fr">a</body></message>`},
		{name: "prefixes in scope are reused, numbered after them",
			in:   `<a xmlns:p='urn:p' xmlns:q='urn:q' p:x='1' q:y='2'><b p:z='3'/><c xmlns:r='urn:r' r:w='4' p:v='5'/><d xmlns:s='urn:s' s:u='6'/></a>`,
			want: `<a xmlns:ns1="urn:p" ns1:x="1" xmlns:ns2="urn:q" ns2:y="2"><b ns1:z="3"/><c xmlns:ns3="urn:r" ns3:w="4" ns1:v="5"/><d xmlns:ns3="urn:s" ns3:u="6"/></a>`},
		{name: "a prefix bound again inside",
			in:   `<a xmlns:p='urn:1' p:x='1'><b xmlns:p='urn:2' p:x='2'/><c p:x='3'/></a>`,
			want: `<a xmlns:ns1="urn:1" ns1:x="1"><b xmlns:ns2="urn:2" ns2:x="2"/><c ns1:x="3"/></a>`},
		{name: "input prefixes named like the generated ones",
			in:   `<a xmlns:ns2='urn:x' xmlns:ns1='urn:y' ns2:x='1' ns1:y='2'/>`,
			want: `<a xmlns:ns1="urn:x" ns1:x="1" xmlns:ns2="urn:y" ns2:y="2"/>`},
		{name: "an undeclared prefix is the namespace",
			in:   `<p:a/>`,
			want: `<a xmlns="p"/>`},
		{name: "a repeated attribute keeps its place and its last value",
			in:   `<a x='1' y='2' x='3'/>`,
			want: `<a x="3" y="2"/>`},
		{name: "repeated attributes among many",
			in:   `<a a0='0' a1='1' a2='2' a3='3' a4='4' a5='5' xml:lang='en' a7='7' a8='8' a0='last' xml:lang='fr' a9='9'/>`,
			want: `<a a0="last" a1="1" a2="2" a3="3" a4="4" a5="5" xml:lang="fr" a7="7" a8="8" a9="9"/>`},
		{name: "names with a colon at an end stay whole",
			in:   `<a: b:='1' :c='2'><:d/></a:>`,
			want: `<a: b:="1" :c="2"><:d/></a:>`},
		{name: "comments, instructions and CDATA",
			in:   `<a><!--c--><?pi x?>t<![CDATA[<x>]]></a>`,
			want: `<a>t&lt;x&gt;</a>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := xml.NewDecoder(strings.NewReader("<?xml version='1.0'?><!-- c -->\n " + tt.in + "<after/>"))
			got, err := etreexml.ReadElement(d, nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, write(got))
			// Nothing past the element is read.
			tok, err := d.Token()
			require.NoError(t, err)
			assert.Equal(t, "after", tok.(xml.StartElement).Name.Local)
		})
	}
}

func TestReadElementAfterStart(t *testing.T) {
	start := xml.StartElement{Name: xml.Name{Space: "jabber:client", Local: "message"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "id"}, Value: "1"},
		{Name: xml.Name{Space: "xmlns", Local: "p"}, Value: "urn:p"},
		{Name: xml.Name{Local: "xmlns:q"}, Value: "urn:q"}, // a declaration to etree
	}}
	body := []xml.Token{
		xml.StartElement{Name: xml.Name{Space: "jabber:client", Local: "body"}},
		xml.CharData("hi"),
		xml.EndElement{Name: xml.Name{Space: "jabber:client", Local: "body"}},
	}
	end := xml.EndElement{Name: start.Name}
	const want = `<message xmlns="jabber:client" id="1"><body>hi</body></message>`
	tests := []struct {
		name string
		toks []xml.Token
	}{
		{"up to the end element", append(append([]xml.Token{}, body...), end)},
		{"then more", append(append([]xml.Token{}, body...), end, xml.StartElement{Name: xml.Name{Local: "next"}})},
		{"io.EOF without the end element", body},
		{"no content", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tokens(tt.toks)
			got, err := etreexml.ReadElement(&r, &start)
			require.NoError(t, err)
			if tt.toks == nil {
				assert.Equal(t, `<message xmlns="jabber:client" id="1"/>`, write(got))
				return
			}
			assert.Equal(t, want, write(got))
			if tt.name == "then more" {
				assert.Len(t, r, 1, "the token past the element is left unread")
			}
		})
	}
}

// errReader returns its error after its tokens.
type errReader struct {
	tokens
	err error
}

func (r *errReader) Token() (xml.Token, error) {
	if len(r.tokens) == 0 {
		return nil, r.err
	}
	return r.tokens.Token()
}

func TestReadElementErrors(t *testing.T) {
	errBroken := errors.New("broken")
	a := xml.StartElement{Name: xml.Name{Local: "a"}}
	tests := []struct {
		name string
		r    xml.TokenReader
		want error // wrapped by the error, or nil for none in particular
	}{
		{"empty", xml.NewDecoder(strings.NewReader("")), io.ErrUnexpectedEOF},
		{"no token", &tokens{}, io.ErrUnexpectedEOF},
		{"only whitespace and a comment", xml.NewDecoder(strings.NewReader(" <!-- c --> ")), io.ErrUnexpectedEOF},
		{"text first", xml.NewDecoder(strings.NewReader("hello <a/>")), nil},
		{"end element first", &tokens{xml.EndElement{Name: xml.Name{Local: "a"}}}, nil},
		{"truncated", xml.NewDecoder(strings.NewReader("<a><b>")), nil}, // an *xml.SyntaxError
		{"truncated token stream", &tokens{a, a}, io.ErrUnexpectedEOF},
		{"malformed", xml.NewDecoder(strings.NewReader("<a><b></a>")), nil},
		{"reader error before the element", &errReader{err: errBroken}, errBroken},
		{"reader error inside", &errReader{tokens: tokens{a}, err: errBroken}, errBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			el, err := etreexml.ReadElement(tt.r, nil)
			assert.Nil(t, el)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "etreexml: "), "error %q", err)
			assert.Equal(t, 1, strings.Count(err.Error(), "etreexml:"), "error %q", err)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
		})
	}
}
