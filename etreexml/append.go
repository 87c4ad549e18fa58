package etreexml

import (
	"unicode/utf8"

	"github.com/beevik/etree"
)

// AppendXML appends the XML of el to dst and returns the extended slice:
// the bytes etree writes for el.WriteTo(w, &etree.WriteSettings{}), with
// the same escaping, written without etree's writer interface. A program
// uses it to serialize an element into a buffer it reuses. It returns dst
// unchanged when el is nil.
//
// As etree writes them, with the default settings: names are written as
// they are, prefix included; attribute values are written in double
// quotes, and attribute values and text escape &, <, >, ' and " as
// entities, keep tabs, newlines and carriage returns as they are, and
// replace each byte that is not valid UTF-8 and each character XML does
// not allow (other control characters, U+FFFE and U+FFFF) with U+FFFD;
// an element without children is written as an empty-element tag. CDATA
// sections, comments, directives and processing instructions are written
// by etree itself. Namespaces are not resolved: the bytes declare what
// el's own attributes declare, whatever its ancestors declare.
func AppendXML(dst []byte, el *etree.Element) []byte {
	if el == nil {
		return dst
	}
	// The elements open, each with the index of its next child: a loop
	// rather than a recursion, which costs more per level on deep trees.
	type writing struct {
		el    *etree.Element
		child int
	}
	// Seeded with room on the stack of the call: a usual stanza costs no
	// allocation (BenchmarkReplyBytes).
	var room [16]writing
	parents := room[:0]
	dst = appendStart(dst, el)
	if len(el.Child) == 0 {
		return dst
	}
	parents = append(parents, writing{el: el})
	for len(parents) > 0 {
		top := &parents[len(parents)-1]
		if top.child == len(top.el.Child) {
			dst = append(dst, '<', '/')
			dst = appendName(dst, top.el.Space, top.el.Tag)
			dst = append(dst, '>')
			parents = parents[:len(parents)-1]
			continue
		}
		t := top.el.Child[top.child]
		top.child++
		switch t := t.(type) {
		case *etree.Element:
			dst = appendStart(dst, t)
			if len(t.Child) > 0 {
				// top is not used again once parents may have grown.
				parents = append(parents, writing{el: t})
			}
		case *etree.CharData:
			if t.IsCData() {
				dst = appendToken(dst, t)
			} else {
				dst = appendEscaped(dst, t.Data)
			}
		default:
			dst = appendToken(dst, t)
		}
	}
	return dst
}

// appendStart appends the start tag of el, or its empty-element tag when
// it has no children.
func appendStart(dst []byte, el *etree.Element) []byte {
	dst = append(dst, '<')
	dst = appendName(dst, el.Space, el.Tag)
	for i := range el.Attr {
		a := &el.Attr[i]
		dst = append(dst, ' ')
		dst = appendName(dst, a.Space, a.Key)
		dst = append(dst, '=', '"')
		dst = appendEscaped(dst, a.Value)
		dst = append(dst, '"')
	}
	if len(el.Child) == 0 {
		return append(dst, '/', '>')
	}
	return append(dst, '>')
}

// appendName appends a name with its prefix, as etree's FullTag and
// FullKey return it.
func appendName(dst []byte, space, name string) []byte {
	if space != "" {
		dst = append(dst, space...)
		dst = append(dst, ':')
	}
	return append(dst, name...)
}

// appendToken appends t as etree writes it, through its writer.
func appendToken(dst []byte, t etree.Token) []byte {
	w := appendWriter{b: dst}
	t.WriteTo(&w, &etree.WriteSettings{})
	return w.b
}

// appendWriter is an etree.Writer that appends to a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendWriter) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

func (w *appendWriter) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}

// escapes holds, for each byte below utf8.RuneSelf, what etree writes for
// it in an attribute value or text with the default settings, or "" when
// it writes the byte itself; plain is true for the bytes it writes
// themselves.
var escapes, plain = func() (esc [utf8.RuneSelf]string, plain [256]bool) {
	for c := 0; c < 0x20; c++ {
		if c != '\t' && c != '\n' && c != '\r' {
			esc[c] = "\uFFFD"
		}
	}
	esc['&'] = "&amp;"
	esc['<'] = "&lt;"
	esc['>'] = "&gt;"
	esc['\''] = "&apos;"
	esc['"'] = "&quot;"
	for c := range esc {
		plain[c] = esc[c] == ""
	}
	return esc, plain
}()

// appendEscaped appends s escaped as etree escapes attribute values and
// text with the default settings.
func appendEscaped(dst []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[last:i]...)
			dst = append(dst, escapes[c]...)
			i++
			last = i
			continue
		}
		r, width := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && width == 1) || r == 0xFFFE || r == 0xFFFF {
			dst = append(dst, s[last:i]...)
			dst = append(dst, "\uFFFD"...)
			last = i + width
		}
		i += width
	}
	return append(dst, s[last:]...)
}
