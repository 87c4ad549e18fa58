package etreexml_test

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"

	"github.com/ampxmpp/amp/etreexml"
)

// A server reads a stanza from its stream with encoding/xml, works on it as
// an etree element, and writes it back as tokens or as bytes.
func Example() {
	stream := `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>` +
		`<message to='juliet@capulet.lit' id='m1' xml:lang='en'><body>Wherefore?</body>` +
		`<a:amp xmlns:a='http://jabber.org/protocol/amp'><a:rule condition='deliver' action='drop' value='stored'/></a:amp></message>`
	d := xml.NewDecoder(strings.NewReader(stream))
	if _, err := d.Token(); err != nil { // the stream header
		panic(err)
	}
	msg, err := etreexml.ReadElement(d, nil)
	if err != nil {
		panic(err)
	}
	rule := msg.FindElement("amp/rule")
	fmt.Println(rule.Tag, rule.NamespaceURI())

	// The rule alone, as etree writes it: the namespace it inherits is not
	// declared.
	fmt.Println(string(etreexml.AppendXML(nil, rule)))

	// The rule alone, as tokens: each element declares its namespace.
	e := xml.NewEncoder(os.Stdout)
	if err := e.EncodeToken(xml.StartElement{Name: xml.Name{Space: "jabber:client", Local: "message"}}); err != nil {
		panic(err)
	}
	r := etreexml.ElementTokens(rule)
	for tok, err := r.Token(); err == nil; tok, err = r.Token() {
		if err := e.EncodeToken(tok); err != nil {
			panic(err)
		}
	}
	if err := e.EncodeToken(xml.EndElement{Name: xml.Name{Space: "jabber:client", Local: "message"}}); err != nil {
		panic(err)
	}
	if err := e.Flush(); err != nil {
		panic(err)
	}
	fmt.Println()

	// The whole stanza, as bytes.
	fmt.Println(string(etreexml.AppendXML(nil, msg)))
	// Output:
	// rule http://jabber.org/protocol/amp
	// <rule condition="deliver" action="drop" value="stored"/>
	// <message xmlns="jabber:client"><rule xmlns="http://jabber.org/protocol/amp" condition="deliver" action="drop" value="stored"></rule></message>
	// <message xmlns="jabber:client" to="juliet@capulet.lit" id="m1" xml:lang="en"><body>Wherefore?</body><amp xmlns="http://jabber.org/protocol/amp"><rule condition="deliver" action="drop" value="stored"/></amp></message>
}
