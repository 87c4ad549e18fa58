package etreexml_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ampxmpp/amp/etreexml"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// inStream reads s as the first child of a stream header that declares
// the default namespace and the prefixes p and q, as a server may keep a
// stanza.
func inStream(t testing.TB, s string) *etree.Element {
	t.Helper()
	return parse(t, `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xmlns:p='urn:p' xmlns:q='urn:q'>`+s+`</stream:stream>`).ChildElements()[0]
}

func TestFreeze(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		stream   bool   // read in a stream header that declares p and q
		ns, tag  string // left out
		want     string // as etree writes it
	}{
		{name: "a stanza", in: `<message xmlns='jabber:client' from='a@x/r' id='1'><body>hi &amp; bye</body><amp xmlns='urn:amp'><rule a='1'/></amp></message>`,
			want: `<message xmlns="jabber:client" from="a@x/r" id="1"><body>hi &amp; bye</body><amp xmlns="urn:amp"><rule a="1"/></amp></message>`},
		{name: "a child left out by its namespace, not its prefix", ns: "urn:amp", tag: "amp",
			in:   `<message xmlns:x='urn:amp' xmlns:y='urn:other'><x:amp/><body/><y:amp/><amp xmlns='urn:amp'/><amp/></message>`,
			want: `<message xmlns:x="urn:amp" xmlns:y="urn:other"><body/><y:amp/><amp/></message>`},
		{name: "only the element's own children are left out", ns: "urn:amp", tag: "amp",
			in:   `<message><x xmlns='urn:amp'><amp/></x></message>`,
			want: `<message><x xmlns="urn:amp"><amp/></x></message>`},
		{name: "declarations inherited and used are written on the copy", stream: true,
			in:   `<message p:a='1'><q:x/></message>`,
			want: `<message xmlns="jabber:client" xmlns:p="urn:p" xmlns:q="urn:q" p:a="1"><q:x/></message>`},
		{name: "a prefix not used is not declared", stream: true,
			in:   `<message><body/></message>`,
			want: `<message xmlns="jabber:client"><body/></message>`},
		{name: "the element's own declarations win", stream: true,
			in:   `<message xmlns='jabber:server' xmlns:p='urn:mine' p:a='1'/>`,
			want: `<message xmlns="jabber:server" xmlns:p="urn:mine" p:a="1"/>`},
		{name: "repeated attributes, comments, instructions",
			in:   `<a x='1' x='2'><!--c--><?pi i?>  <b/></a>`,
			want: `<a x="1" x="2"><!--c--><?pi i?>  <b/></a>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			el := parse(t, tc.in)
			if tc.stream {
				el = inStream(t, tc.in)
			}
			before := write(el)
			f := etreexml.Freeze(el)
			got := f.ElementWithout(tc.ns, tc.tag)
			assert.Equal(t, tc.want, write(got))
			assert.Nil(t, got.Parent(), "the tree has a parent")
			assert.Equal(t, before, write(el), "Freeze changed its input")
			checkOwned(t, got)

			// Neither the input nor a returned tree changes what the next
			// Element returns.
			el.CreateAttr("late", "1")
			el.AddChild(etree.NewText("late"))
			got.CreateElement("late")
			if len(got.Attr) > 0 {
				got.Attr[0].Value = "late"
			}
			assert.Equal(t, tc.want, write(f.ElementWithout(tc.ns, tc.tag)))
		})
	}
}

// checkOwned checks that every attribute of el and its descendants
// belongs to its element, and that its namespace resolves there.
func checkOwned(t *testing.T, el *etree.Element) {
	t.Helper()
	for i := range el.Attr {
		require.Same(t, el, el.Attr[i].Element(), "attribute %s of <%s>", el.Attr[i].FullKey(), el.FullTag())
		el.Attr[i].NamespaceURI() // no panic
	}
	for i, c := range el.Child {
		require.Same(t, el, c.Parent())
		require.Equal(t, i, c.Index())
		if c, ok := c.(*etree.Element); ok {
			checkOwned(t, c)
		}
	}
}

func TestFreezeCData(t *testing.T) {
	el := etree.NewElement("a")
	el.AddChild(etree.NewCData("<b>"))
	el.CreateText(" ")
	got := etreexml.Freeze(el).Element()
	assert.Equal(t, `<a><![CDATA[<b>]]> </a>`, write(got))
	assert.True(t, got.Child[1].(*etree.CharData).IsWhitespace())
}

func TestFreezeNil(t *testing.T) {
	assert.Nil(t, etreexml.Freeze(nil).Element())
	assert.Nil(t, etreexml.Frozen{}.Element())
}

// TestFreezeLinear checks that freezing and thawing a stanza under a
// stream header with many declarations, with many attributes, or deep,
// costs allocations linear in its size, and keeps its meaning.
func TestFreezeLinear(t *testing.T) {
	for _, shape := range []string{"declarations", "attributes", "depth"} {
		t.Run(shape, func(t *testing.T) {
			build := func(n int) *etree.Element {
				var b strings.Builder
				switch shape {
				case "declarations":
					b.WriteString(`<stream`)
					for i := range n {
						fmt.Fprintf(&b, ` xmlns:p%d='urn:%d'`, i, i)
					}
					b.WriteString(`><message>`)
					for i := range n {
						fmt.Fprintf(&b, `<p%d:x/>`, i)
					}
					b.WriteString(`</message></stream>`)
					return parse(t, b.String()).ChildElements()[0]
				case "attributes":
					b.WriteString(`<message`)
					for i := range n {
						fmt.Fprintf(&b, ` a%d='%d'`, i, i)
					}
					b.WriteString(`/>`)
				case "depth":
					b.WriteString(strings.Repeat(`<x>`, n) + strings.Repeat(`</x>`, n))
				}
				return parse(t, b.String())
			}
			allocs := func(n int) float64 {
				el := build(n)
				return testing.AllocsPerRun(3, func() { etreexml.Freeze(el).Element() })
			}
			n := 2000
			if shape == "depth" {
				n = 200 // etree reads no deeper than 1000 levels
			}
			small, large := allocs(n), allocs(4*n)
			assert.LessOrEqual(t, large, 4*small+8, "allocations: %v for %d, %v for %d", small, n, large, 4*n)
			el := build(4 * n)
			require.True(t, canon(el) == canon(etreexml.Freeze(el).Element()), "the frozen element means something else")
		})
	}
}

func TestChildren(t *testing.T) {
	el := inStream(t, `<message xmlns:x='urn:x'><a/><x:b/><p:c/><d xmlns='urn:d'/><q:e xmlns:q='urn:e'/><z:f/></message>`)
	var got []string
	for ns, c := range etreexml.Children(el) {
		got = append(got, c.Tag+"="+ns)
	}
	assert.Equal(t, []string{"a=jabber:client", "b=urn:x", "c=urn:p", "d=urn:d", "e=urn:e", "f="}, got)
	for range etreexml.Children(nil) {
		t.Fatal("a nil parent has children")
	}
	for range etreexml.Children(el) {
		break // a loop may stop early
	}
}

func TestAttr(t *testing.T) {
	el := parse(t, `<a xmlns:p='urn:p' p:x='prefixed' x='plain' y=''/>`)
	for _, tc := range []struct {
		key, want string
		ok        bool
	}{{"x", "plain", true}, {"y", "", true}, {"z", "", false}} {
		got, ok := etreexml.Attr(el, tc.key)
		assert.Equal(t, tc.want, got, tc.key)
		assert.Equal(t, tc.ok, ok, tc.key)
	}
	_, ok := etreexml.Attr(nil, "x")
	assert.False(t, ok)
}

// FuzzFreeze checks on any input that a frozen element, thawed, is written
// as etree writes the element, and that changing either changes nothing
// the Frozen gives next.
func FuzzFreeze(f *testing.F) {
	for _, s := range []string{
		`<message xmlns='jabber:client' from='a@x/r' id='1'><body>hi</body><amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='notify' value='direct'/></amp></message>`,
		`<a xmlns:p='urn:p' p:x='1'><p:b/><!--c--><![CDATA[x]]><?p i?></a>`,
		`<a x='1' x='2'>&#xD;</a>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc := etree.NewDocument()
		doc.ReadSettings.PreserveDuplicateAttrs = true
		if doc.ReadFromString(s) != nil || doc.Root() == nil {
			return
		}
		el := doc.Root()
		want := write(el)
		frozen := etreexml.Freeze(el)
		got := frozen.Element()
		require.Equal(t, want, write(got))
		checkOwned(t, got)
		got.CreateElement("x")
		el.CreateElement("y")
		require.Equal(t, want, write(frozen.Element()))
	})
}
