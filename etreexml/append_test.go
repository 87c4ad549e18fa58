package etreexml_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ampxmpp/amp/etreexml"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkAppendXML checks that AppendXML writes el as etree does, after the
// bytes already in a buffer.
func checkAppendXML(t *testing.T, el *etree.Element, msgAndArgs ...any) {
	t.Helper()
	assert.Equal(t, "<stream>"+write(el), string(etreexml.AppendXML([]byte("<stream>"), el)), msgAndArgs...)
}

func TestAppendXMLNil(t *testing.T) {
	assert.Equal(t, "x", string(etreexml.AppendXML([]byte("x"), nil)))
	assert.Nil(t, etreexml.AppendXML(nil, nil))
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
		checkAppendXML(t, el, "value %d %q", i, v)
	}
}

// TestAppendXMLTestdata writes every element of every document in the
// module's testdata: the XEP-0079 examples, whitespace, comments and
// prefixes included.
func TestAppendXMLTestdata(t *testing.T) {
	files, err := filepath.Glob("../testdata/*.xml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		doc := etree.NewDocument()
		if err := doc.ReadFromFile(f); err != nil {
			continue // some XEP examples are fragments
		}
		for _, el := range doc.FindElements("//*") {
			checkAppendXML(t, el, f)
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
		if len(doc)+len(value)+len(text) > 4096 {
			return
		}
		d := etree.NewDocument()
		if d.ReadFromString(doc) == nil {
			for i, el := range d.FindElements("//*") {
				checkAppendXML(t, el, fmt.Sprintf("element %d of the document", i))
			}
		}
		el := etree.NewElement("message")
		el.CreateAttr("k", value)
		el.CreateElement("b").SetText(text)
		el.CreateText(value)
		checkAppendXML(t, el, "built")
	})
}
