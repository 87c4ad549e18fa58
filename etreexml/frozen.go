package etreexml

import (
	"math"
	"strings"

	"github.com/beevik/etree"
)

// Frozen is an element frozen at the moment Freeze read it: a copy that
// nothing can change, neither what is later done to the element it was
// read from nor what is done to the trees Element returns. It is small and
// cheap to make: its names, values and text in one string, and its shape
// in one slice of integers, neither of which holds a pointer for the
// garbage collector to follow. The amp package freezes every message that
// carries a request (its BenchmarkEvaluate is why this is not a deep etree
// copy, which takes an allocation or more per node and twice the time).
// The zero Frozen is no element.
type Frozen struct {
	text  string   // every name, value and text, one after the other
	shape []uint32 // the node counts of a slab, then the tree in document order
	// big is a deep copy of an element too large for 32-bit offsets,
	// which no stanza comes near; nil otherwise.
	big *etree.Element
}

// The kinds of node in a Frozen's shape. An element is kindElement, its
// name (two spans: prefix and tag), its attribute count, each attribute
// (three spans: prefix, key, value), its child count, then its children.
// A span is an offset into text and a length.
const (
	kindElement uint32 = iota
	kindText
	kindCData
	kindComment
	kindProcInst // two spans: target, instruction
	kindDirective
)

// Freeze returns el frozen, with the namespace declarations it inherits
// from its ancestors and uses (the default namespace, and each prefix of a
// name in it) written on it, so that the element it stands for keeps its
// meaning on its own. It returns the zero Frozen for a nil
// el.
func Freeze(el *etree.Element) Frozen {
	return FreezeWithout(el, "", "")
}

// FreezeWithout is Freeze without the children of el named tag in the
// namespace ns; with tag "" it leaves out nothing. Only el's own children
// are looked at, not deeper descendants.
func FreezeWithout(el *etree.Element, ns, tag string) Frozen {
	if el == nil {
		return Frozen{}
	}
	f := freezer{slab: slab{root: el, ns: ns, tag: tag}}
	inherited := inheritedDeclarations(el)
	f.measure(el, inherited)
	if f.textLen > math.MaxUint32 || f.nAttrs > math.MaxUint32 || f.nToks > math.MaxUint32 {
		return Frozen{big: deepCopy(el, &f.slab, inherited)}
	}
	f.text.Grow(f.textLen)
	f.shape = make([]uint32, 0, 4+f.shapeLen)
	f.shape = append(f.shape, uint32(f.nEls), uint32(f.nAttrs), uint32(f.nToks), uint32(f.nText))
	f.freeze(el, inherited)
	return Frozen{text: f.text.String(), shape: f.shape}
}

// Element returns a new tree of the frozen element, which the caller may
// change as it likes: the next call returns the element as it was frozen
// again. It returns nil for the zero Frozen. The tree takes a few
// allocations, and shares the frozen names and text, which are strings.
func (f Frozen) Element() *etree.Element {
	switch {
	case f.big != nil:
		return f.big.Copy()
	case len(f.shape) == 0:
		return nil
	}
	t := thawer{f: f, at: 4}
	t.nEls, t.nAttrs, t.nToks, t.nText = int(f.shape[0]), int(f.shape[1]), int(f.shape[2]), int(f.shape[3])
	t.allocate()
	return t.element()
}

// A thawer builds the tree of a Frozen.
type thawer struct {
	slab
	f  Frozen
	at int // the next entry of f.shape
}

func (t *thawer) next() uint32 {
	v := t.f.shape[t.at]
	t.at++
	return v
}

func (t *thawer) span() string {
	off, n := t.next(), t.next()
	return t.f.text[off : off+n]
}

// element builds the element at t.at, whose kind was not read yet.
func (t *thawer) element() *etree.Element {
	t.at++ // kindElement
	el := &t.els[0]
	t.els = t.els[1:]
	el.Space = t.span()
	el.Tag = t.span()
	if n := int(t.next()); n > 0 {
		el.Attr = t.attrs[:0:n]
		t.attrs = t.attrs[n:]
		for range n {
			addAttr(el, etree.Attr{Space: t.span(), Key: t.span(), Value: t.span()})
		}
	}
	n := int(t.next())
	if n > 0 {
		el.Child = t.toks[:0:n]
		t.toks = t.toks[n:]
	}
	for range n {
		switch kind := t.f.shape[t.at]; kind {
		case kindElement:
			el.AddChild(t.element())
			continue
		case kindText:
			t.at++
			c := &t.text[0]
			t.text = t.text[1:]
			c.SetData(t.span())
			el.AddChild(c)
		case kindCData:
			t.at++
			t.text = t.text[1:]
			el.AddChild(etree.NewCData(t.span()))
		case kindComment:
			t.at++
			el.AddChild(etree.NewComment(t.span()))
		case kindProcInst:
			t.at++
			el.AddChild(etree.NewProcInst(t.span(), t.span()))
		case kindDirective:
			t.at++
			el.AddChild(etree.NewDirective(t.span()))
		}
	}
	return el
}

// A freezer freezes one element.
type freezer struct {
	slab              // for leftOut, and the counts of an Element to come
	textLen, shapeLen int
	text              strings.Builder
	shape             []uint32
}

// measure adds to f the room el and its descendants take, with decls
// before el's own attributes.
func (f *freezer) measure(el *etree.Element, decls []etree.Attr) {
	f.nEls++
	f.nAttrs += len(decls) + len(el.Attr)
	f.shapeLen += 1 + 4 + 1 + 6*(len(decls)+len(el.Attr)) + 1
	f.textLen += len(el.Space) + len(el.Tag)
	for _, as := range [2][]etree.Attr{decls, el.Attr} {
		for _, a := range as {
			f.textLen += len(a.Space) + len(a.Key) + len(a.Value)
		}
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			if f.leftOut(el, t) {
				continue
			}
			f.measure(t, nil)
		case *etree.CharData:
			f.nText++
			f.shapeLen += 3
			f.textLen += len(t.Data)
		case *etree.Comment:
			f.shapeLen += 3
			f.textLen += len(t.Data)
		case *etree.ProcInst:
			f.shapeLen += 5
			f.textLen += len(t.Target) + len(t.Inst)
		case *etree.Directive:
			f.shapeLen += 3
			f.textLen += len(t.Data)
		default:
			continue
		}
		f.nToks++
	}
}

// span appends s to the text and its span to the shape.
func (f *freezer) span(s string) {
	f.shape = append(f.shape, uint32(f.text.Len()), uint32(len(s)))
	f.text.WriteString(s)
}

// freeze appends el, with decls before its own attributes, to f.
func (f *freezer) freeze(el *etree.Element, decls []etree.Attr) {
	f.shape = append(f.shape, kindElement)
	f.span(el.Space)
	f.span(el.Tag)
	f.shape = append(f.shape, uint32(len(decls)+len(el.Attr)))
	for _, as := range [2][]etree.Attr{decls, el.Attr} {
		for _, a := range as {
			f.span(a.Space)
			f.span(a.Key)
			f.span(a.Value)
		}
	}
	count := len(f.shape)
	f.shape = append(f.shape, 0)
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			if f.leftOut(el, t) {
				continue
			}
			f.freeze(t, nil)
		case *etree.CharData:
			kind := kindText
			if t.IsCData() {
				kind = kindCData
			}
			f.shape = append(f.shape, kind)
			f.span(t.Data)
		case *etree.Comment:
			f.shape = append(f.shape, kindComment)
			f.span(t.Data)
		case *etree.ProcInst:
			f.shape = append(f.shape, kindProcInst)
			f.span(t.Target)
			f.span(t.Inst)
		case *etree.Directive:
			f.shape = append(f.shape, kindDirective)
			f.span(t.Data)
		default:
			continue
		}
		f.shape[count]++
	}
}

// deepCopy returns a copy of el made by etree, without the children s
// leaves out and with the declarations decls, for an element too large to
// freeze.
func deepCopy(el *etree.Element, s *slab, decls []etree.Attr) *etree.Element {
	out := el.Copy()
	for i := len(el.Child) - 1; i >= 0; i-- {
		if c, ok := el.Child[i].(*etree.Element); ok && s.leftOut(el, c) {
			out.RemoveChildAt(i)
		}
	}
	out.Attr = append(decls, out.Attr...)
	return out
}

// A slab holds the nodes of a copy, allocated together.
type slab struct {
	root                       *etree.Element
	ns, tag                    string   // root's children to leave out
	names                      resolver // of root's children
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

// leftOut reports whether el's child t is left out of the copy.
func (s *slab) leftOut(el, t *etree.Element) bool {
	return el == s.root && s.tag != "" && t.Tag == s.tag && s.names.of(el, t) == s.ns
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
