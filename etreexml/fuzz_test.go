package etreexml_test

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/ampxmpp/amp/etreexml"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzTokensRoundTrip checks the three functions against encoding/xml and
// etree on any input:
//   - the tree ReadElement builds gives each element and attribute the
//     namespace the xml.Decoder resolved;
//   - written by ElementTokens through an xml.Encoder, it reads back the
//     same;
//   - on a tree etree reads, ElementTokens resolves every name as etree
//     does, from the root or from any element;
//   - AppendXML writes the bytes etree writes.
func FuzzTokensRoundTrip(f *testing.F) {
	for _, s := range []string{
		`<message xmlns='jabber:client' from='a@x/r' id='1'><body>hi</body><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='notify' value='direct'/></amp></message>`,
		`<a xmlns:p='urn:p' xmlns:q='urn:q' p:x='1' q:y='2'><b p:z='3'/><c xmlns:r='urn:r' r:w='4' p:v='5'/><d xmlns:s='urn:s' s:u='6'/></a>`,
		`<a xmlns='urn:a' xmlns:p='urn:p' xml:lang='en'><b p:x='1' xmlns=''>t</b><p:c/><q:d q:y='2'/></a>`,
		`<p:a xmlns:p='urn:1' xmlns:p='urn:2' xmlns='urn:3' xmlns='urn:4'><b/></p:a>`,
		`<a x='1' y='2' x='3'/>`,
		`<a: b:='1' :c='2'><:d/></a:>`,
		`<a><!--c--><?pi x?>t<![CDATA[<x>]]>&#xD;&#x9;</a>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return // larger inputs add nothing but slow minimization
		}
		if el, err := etreexml.ReadElement(xml.NewDecoder(strings.NewReader(s)), nil); err == nil {
			checkNamespacesKept(t, s, el)
			out, err := encode(etreexml.ElementTokens(el))
			require.NoError(t, err)
			back, err := etreexml.ReadElement(xml.NewDecoder(strings.NewReader(out)), nil)
			var syntax *xml.SyntaxError
			if errors.As(err, &syntax) {
				// encoding/xml reads some names it then refuses to read
				// again where its encoder writes them: <a q:0=''>.
				return
			}
			require.NoError(t, err, "written as %s", out)
			require.Equal(t, canon(el), canon(back), "written as %s", out)
			require.Equal(t, write(el), string(etreexml.AppendXML(nil, el)))
		}

		doc := etree.NewDocument()
		doc.ReadSettings.PreserveDuplicateAttrs = true
		if doc.ReadFromString(s) != nil || doc.Root() == nil {
			return
		}
		checkResolvedAsEtree(t, doc.Root(), true)
		for _, el := range doc.Root().FindElements(".//*") {
			checkResolvedAsEtree(t, el, false)
		}
		require.Equal(t, write(doc.Root()), string(etreexml.AppendXML(nil, doc.Root())))
	})
}

// checkNamespacesKept checks that each element of el, and each of its
// attributes, has the namespace the xml.Decoder gave it in s.
func checkNamespacesKept(t *testing.T, s string, el *etree.Element) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	els := append([]*etree.Element{el}, el.FindElements(".//*")...)
	depth := 0
	for i := 0; i < len(els) || depth > 0; {
		tok, err := d.Token()
		require.NoError(t, err)
		switch tok := tok.(type) {
		case xml.StartElement:
			e := els[i]
			i++
			depth++
			require.Equal(t, tok.Name.Space, e.NamespaceURI(), "namespace of <%s/>", tok.Name.Local)
			require.Equal(t, tok.Name.Local, e.Tag)
			want := map[string]string{}
			for _, a := range tok.Attr {
				if a.Name.Space == "xmlns" || a.Name.Space == "" && (a.Name.Local == "xmlns" || strings.HasPrefix(a.Name.Local, "xmlns:") && a.Name.Local != "xmlns:") {
					continue
				}
				space := a.Name.Space
				if space == "xml" {
					space = "http://www.w3.org/XML/1998/namespace"
				}
				want["{"+space+"}"+a.Name.Local] = a.Value
			}
			got := map[string]string{}
			for _, a := range e.Attr {
				if name, ok := resolvedName(a); ok {
					got[name] = a.Value
				}
			}
			require.Equal(t, want, got, "attributes of <%s/>", tok.Name.Local)
		case xml.EndElement:
			depth--
		}
	}
}

// checkResolvedAsEtree checks the tokens of ElementTokens(el) against
// etree's resolution of the names in el's tree, the start of el only
// unless all.
func checkResolvedAsEtree(t *testing.T, el *etree.Element, all bool) {
	t.Helper()
	els := append([]*etree.Element{el}, el.FindElements(".//*")...)
	var parents []*etree.Element
	r := etreexml.ElementTokens(el)
	for _, tok := range drain(t, r) {
		switch tok := tok.(type) {
		case xml.StartElement:
			e := els[0]
			els = els[1:]
			assert.Equal(t, e.NamespaceURI(), tok.Name.Space, "namespace of <%s/>", e.FullTag())
			assert.Equal(t, e.Tag, tok.Name.Local)
			var want []xml.Attr
			if p := e.Parent(); e.NamespaceURI() == "" && p != nil && p.NamespaceURI() != "" {
				want = append(want, xml.Attr{Name: xml.Name{Local: "xmlns"}})
			}
			for _, a := range e.Attr {
				if a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns" {
					continue
				}
				space := a.Space
				switch {
				case a.Space == "xml":
					space = "http://www.w3.org/XML/1998/namespace"
				case a.NamespaceURI() != "":
					space = a.NamespaceURI()
				}
				want = append(want, xml.Attr{Name: xml.Name{Space: space, Local: a.Key}, Value: a.Value})
			}
			assert.Equal(t, want, append([]xml.Attr(nil), tok.Attr...), "attributes of <%s/>", e.FullTag())
			parents = append(parents, e)
			if !all {
				return
			}
		case xml.EndElement:
			e := parents[len(parents)-1]
			parents = parents[:len(parents)-1]
			assert.Equal(t, xml.Name{Space: e.NamespaceURI(), Local: e.Tag}, tok.Name)
		}
	}
	assert.Empty(t, els)
}
