// Package etreexml converts between etree elements and encoding/xml token
// streams, and writes etree elements as bytes.
//
// [ReadElement] reads one element, such as an XMPP stanza, from an
// xml.TokenReader into an [etree.Element]; [ElementTokens] returns an
// element as an xml.TokenReader, to write with an xml.Encoder; [AppendXML]
// appends the bytes etree's own writer would write for an element.
//
// The two models hold namespaces differently. encoding/xml gives each name
// its namespace URI and declares namespaces as it writes; etree keeps
// prefixes and xmlns attributes and resolves a name by looking at the
// declarations of its element and of the element's ancestors. So:
//
//   - ReadElement drops the declarations of its input and declares what
//     the tree needs instead: an xmlns attribute on every element whose
//     namespace differs from its parent's, and a prefix (xml for the XML
//     namespace, ns1, ns2, ... otherwise) for each namespaced attribute.
//   - ElementTokens resolves every name in the tree, through the ancestors
//     of the element it is given too, and leaves declarations out of the
//     tokens. encoding/xml then writes an xmlns attribute on each element,
//     so each element keeps its namespace whatever is written around it.
//
// Every function costs time and memory linear in the size of its input,
// whatever the depth of the tree or the number of attributes of an
// element: the namespaces in scope are carried along as the tree is read
// or walked, never looked up again through the ancestors.
//
// The package never modifies the elements it is given, starts no goroutine
// and keeps no state between calls. Its errors are prefixed "etreexml:".
package etreexml

// nsXML is the namespace bound to the xml prefix (xml:lang).
const nsXML = "http://www.w3.org/XML/1998/namespace"
