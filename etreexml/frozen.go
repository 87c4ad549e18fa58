package etreexml

import (
	"unsafe"

	"github.com/beevik/etree"
)

// Frozen is an element frozen at the moment Freeze read it: a copy that
// nothing can change, neither what is later done to the element it was
// read from nor what is done to the trees Element returns. It is one
// string, which the garbage collector does not scan: the names, values and
// text one after the other, then the element's shape (what it holds, and
// the length of each name, value and text) in varints. The amp
// package freezes every message that carries a request, and its
// BenchmarkEvaluate budget is why this is not a deep etree copy, which
// takes an allocation or more per node and three times the time. The zero
// Frozen is no element.
type Frozen struct {
	shape, text string // two parts of one string
}

// The kinds of node in a Frozen's shape. An element is kindElement, the
// lengths of its prefix and tag, its attribute count, the lengths of each
// attribute's prefix, key and value, its child count, then its children. A
// processing instruction has two lengths, target and instruction; the
// other kinds one. The shape starts with the counts of elements,
// attributes, children and character data that Element allocates.
const (
	kindElement = iota
	kindText
	kindCData
	kindComment
	kindProcInst
	kindDirective
)

// Freeze returns el frozen, with the namespace declarations it inherits
// from its ancestors and uses (the default namespace, and each prefix of a
// name in it) written on it, so that the element it stands for keeps its
// meaning on its own. It returns the zero Frozen for a nil el.
func Freeze(el *etree.Element) Frozen {
	if el == nil {
		return Frozen{}
	}
	var f freezer
	inherited := inheritedDeclarations(el)
	f.measure(el, inherited)
	counts := [...]int{f.nEls, f.nAttrs, f.nToks, f.nText}
	for _, n := range counts {
		f.shapeLen += varintLen(n)
	}
	// One walk writes the text at the start of buf and the shape after it.
	f.buf = make([]byte, f.textLen+f.shapeLen)
	f.shape = f.textLen
	for _, n := range counts {
		f.varint(n)
	}
	f.freeze(el, inherited)
	// buf is never written again: the string can be its memory, as
	// strings.Builder makes it, rather than a copy (BenchmarkEvaluate).
	all := unsafe.String(unsafe.SliceData(f.buf), len(f.buf))
	return Frozen{text: all[:f.textLen], shape: all[f.textLen:]}
}

// A freezer freezes one element.
type freezer struct {
	slab              // the counts of the nodes Element allocates
	textLen, shapeLen int
	buf               []byte
	text, shape       int // where the next text and shape bytes go in buf
}

// varintLen returns the bytes of n as a varint.
func varintLen(n int) int {
	size := 1
	for ; n >= 0x80; n >>= 7 {
		size++
	}
	return size
}

// varint appends n to the shape.
func (f *freezer) varint(n int) {
	for ; n >= 0x80; n >>= 7 {
		f.buf[f.shape] = byte(n) | 0x80
		f.shape++
	}
	f.buf[f.shape] = byte(n)
	f.shape++
}

// str appends s to the text and its length to the shape.
func (f *freezer) str(s string) {
	f.text += copy(f.buf[f.text:], s)
	if len(s) < 0x80 {
		f.buf[f.shape] = byte(len(s))
		f.shape++
		return
	}
	f.varint(len(s))
}

// room adds s to the text and its length to the shape.
func (f *freezer) room(s string) {
	f.textLen += len(s)
	f.shapeLen++
	if len(s) >= 0x80 {
		f.shapeLen += varintLen(len(s)) - 1
	}
}

// kind appends a kind of node to the shape.
func (f *freezer) kind(k byte) {
	f.buf[f.shape] = k
	f.shape++
}

// measure adds to f the nodes and the text el and its descendants hold,
// and the room their shape takes, with decls before el's own attributes.
func (f *freezer) measure(el *etree.Element, decls []etree.Attr) {
	f.nEls++
	f.nAttrs += len(decls) + len(el.Attr)
	f.room(el.Space)
	f.room(el.Tag)
	f.shapeLen += 1 + varintLen(len(decls)+len(el.Attr))
	// Attributes by pointer: a copy of each costs more than the rest.
	for i := range decls {
		a := &decls[i]
		f.room(a.Space)
		f.room(a.Key)
		f.room(a.Value)
	}
	for i := range el.Attr {
		a := &el.Attr[i]
		f.room(a.Space)
		f.room(a.Key)
		f.room(a.Value)
	}
	children := 0
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			f.measure(t, nil)
		case *etree.CharData:
			f.nText++
			f.shapeLen++
			f.room(t.Data)
		case *etree.Comment:
			f.shapeLen++
			f.room(t.Data)
		case *etree.ProcInst:
			f.shapeLen++
			f.room(t.Target)
			f.room(t.Inst)
		case *etree.Directive:
			f.shapeLen++
			f.room(t.Data)
		default:
			continue
		}
		children++
	}
	f.nToks += children
	f.shapeLen += varintLen(children)
}

// freeze appends el, with decls before its own attributes.
func (f *freezer) freeze(el *etree.Element, decls []etree.Attr) {
	f.kind(kindElement)
	f.str(el.Space)
	f.str(el.Tag)
	f.varint(len(decls) + len(el.Attr))
	for i := range decls {
		a := &decls[i]
		f.str(a.Space)
		f.str(a.Key)
		f.str(a.Value)
	}
	for i := range el.Attr {
		a := &el.Attr[i]
		f.str(a.Space)
		f.str(a.Key)
		f.str(a.Value)
	}
	children := 0
	for _, t := range el.Child {
		switch t.(type) {
		case *etree.Element, *etree.CharData, *etree.Comment, *etree.ProcInst, *etree.Directive:
			children++
		}
	}
	f.varint(children)
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			f.freeze(t, nil)
		case *etree.CharData:
			if t.IsCData() {
				f.kind(kindCData)
			} else {
				f.kind(kindText)
			}
			f.str(t.Data)
		case *etree.Comment:
			f.kind(kindComment)
			f.str(t.Data)
		case *etree.ProcInst:
			f.kind(kindProcInst)
			f.str(t.Target)
			f.str(t.Inst)
		case *etree.Directive:
			f.kind(kindDirective)
			f.str(t.Data)
		}
	}
}

// Element returns a new tree of the frozen element, which the caller may
// change as it likes: the next call returns the element as it was frozen
// again. It returns nil for the zero Frozen. The tree takes a few
// allocations, and shares the frozen names and text, which are strings.
func (f Frozen) Element() *etree.Element {
	return f.ElementWithout("", "")
}

// ElementWithout is Element without the frozen element's children named
// tag in the namespace ns; with tag "" it leaves out nothing. Only the
// element's own children are looked at, not deeper descendants.
func (f Frozen) ElementWithout(ns, tag string) *etree.Element {
	if f.shape == "" {
		return nil
	}
	t := thawer{f: f, ns: ns, tag: tag}
	t.nEls, t.nAttrs, t.nToks, t.nText = t.next(), t.next(), t.next(), t.next()
	t.allocate()
	return t.element()
}

// A thawer builds the tree of a Frozen.
type thawer struct {
	slab
	f       Frozen
	at, pos int    // the next byte of the shape and of the text
	ns, tag string // the root's children to leave out
	root    *etree.Element
}

// skipLeftOut skips the element next in the shape, a child of the root,
// and reports true when it is left out: named tag in the namespace ns. The
// root declares every namespace in scope that its descendants use, so the
// child's namespace is declared by the child or the root. Otherwise it
// reads nothing and reports false.
func (t *thawer) skipLeftOut() bool {
	if t.tag == "" {
		return false
	}
	at, pos := t.at, t.pos
	t.at++ // kindElement
	space, tag := t.str(), t.str()
	ns, declared := "", false
	for range t.next() {
		a := etree.Attr{Space: t.str(), Key: t.str(), Value: t.str()}
		if prefix, ok := declaredPrefix(a); ok && prefix == space && !declared {
			ns, declared = a.Value, true
		}
	}
	if !declared {
		for _, a := range t.root.Attr {
			if prefix, ok := declaredPrefix(a); ok && prefix == space {
				ns = a.Value
				break
			}
		}
	}
	if tag != t.tag || ns != t.ns {
		t.at, t.pos = at, pos
		return false
	}
	t.skipChildren()
	return true
}

// skipChildren skips the children of the element whose attributes were
// just read.
func (t *thawer) skipChildren() {
	for range t.next() {
		switch kind := t.f.shape[t.at]; kind {
		case kindElement:
			t.at++
			t.str()
			t.str()
			for range t.next() {
				t.str()
				t.str()
				t.str()
			}
			t.skipChildren()
		case kindProcInst:
			t.at++
			t.str()
			t.str()
		default:
			t.at++
			t.str()
		}
	}
}

// next reads a varint of the shape.
func (t *thawer) next() int {
	v, shift := 0, 0
	for {
		b := t.f.shape[t.at]
		t.at++
		v |= int(b&0x7f) << shift
		if b < 0x80 {
			return v
		}
		shift += 7
	}
}

// str reads a length of the shape and returns that much of the text.
func (t *thawer) str() string {
	n := t.next()
	s := t.f.text[t.pos : t.pos+n]
	t.pos += n
	return s
}

// element builds the element whose kind was just read or is next.
func (t *thawer) element() *etree.Element {
	t.at++ // kindElement
	el := &t.els[0]
	t.els = t.els[1:]
	if t.root == nil {
		t.root = el
	}
	el.Space = t.str()
	el.Tag = t.str()
	if n := t.next(); n > 0 {
		el.Attr = t.attrs[:0:n]
		t.attrs = t.attrs[n:]
		for range n {
			addAttr(el, etree.Attr{Space: t.str(), Key: t.str(), Value: t.str()})
		}
	}
	n := t.next()
	if n > 0 {
		el.Child = t.toks[:0:n]
		t.toks = t.toks[n:]
	}
	for range n {
		if t.f.shape[t.at] == kindElement {
			if el != t.root || !t.skipLeftOut() {
				el.AddChild(t.element())
			}
			continue
		}
		kind := t.f.shape[t.at]
		t.at++
		switch kind {
		case kindText:
			c := &t.text[0]
			t.text = t.text[1:]
			c.SetData(t.str())
			el.AddChild(c)
		case kindCData:
			t.text = t.text[1:]
			el.AddChild(etree.NewCData(t.str()))
		case kindComment:
			el.AddChild(etree.NewComment(t.str()))
		case kindProcInst:
			el.AddChild(etree.NewProcInst(t.str(), t.str()))
		case kindDirective:
			el.AddChild(etree.NewDirective(t.str()))
		}
	}
	return el
}

// A slab holds the nodes of a tree, allocated together.
type slab struct {
	nEls, nAttrs, nToks, nText int
	els                        []etree.Element
	attrs                      []etree.Attr
	toks                       []etree.Token
	text                       []etree.CharData
}

// allocate makes room for the nodes counted.
func (s *slab) allocate() {
	s.els = make([]etree.Element, s.nEls)
	s.attrs = make([]etree.Attr, s.nAttrs)
	s.toks = make([]etree.Token, s.nToks)
	s.text = make([]etree.CharData, s.nText)
}

// addAttr appends a copy of a to el.Attr, which has room for it, owned by
// el as Attr.Element reports it. CreateAttr is the one way to make an
// attribute that el owns, and it looks for one of the same name first
// (which makes a copy of n attributes cost n² and merges repeated ones),
// so only the first is made with it; a copy of an attribute keeps its
// owner.
func addAttr(el *etree.Element, a etree.Attr) {
	if len(el.Attr) == 0 {
		el.CreateAttr("owned", "")
		el.Attr[0].Space, el.Attr[0].Key, el.Attr[0].Value = a.Space, a.Key, a.Value
		return
	}
	owned := el.Attr[0]
	owned.Space, owned.Key, owned.Value = a.Space, a.Key, a.Value
	el.Attr = append(el.Attr, owned)
}

// inheritedDeclarations returns the namespace declarations that el's
// ancestors make and that are in scope at el without el making them
// itself, nearest first: the default namespace, and the prefixes that el
// and its descendants use.
func inheritedDeclarations(el *etree.Element) []etree.Attr {
	var decls []etree.Attr
	var decided map[string]bool // prefixes declared by el or a nearer ancestor
	var used map[string]bool    // the prefixes el and its descendants use, found once
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			prefix, ok := declaredPrefix(a)
			if !ok {
				continue
			}
			if decided == nil {
				decided = make(map[string]bool)
				for _, own := range el.Attr {
					if prefix, ok := declaredPrefix(own); ok {
						decided[prefix] = true
					}
				}
			}
			if decided[prefix] {
				continue
			}
			decided[prefix] = true
			if prefix != "" && used == nil {
				used = usedPrefixes(el)
			}
			if prefix == "" || used[prefix] {
				decls = append(decls, etree.Attr{Space: a.Space, Key: a.Key, Value: a.Value})
			}
		}
	}
	return decls
}

// usedPrefixes returns the prefixes of the names of el and its
// descendants.
func usedPrefixes(el *etree.Element) map[string]bool {
	used := make(map[string]bool)
	stack := []*etree.Element{el}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		used[e.Space] = true
		for _, a := range e.Attr {
			used[a.Space] = true
		}
		for _, t := range e.Child {
			if c, ok := t.(*etree.Element); ok {
				stack = append(stack, c)
			}
		}
	}
	return used
}
