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
// carries a request (its BenchmarkEvaluate budget is why this is not a
// deep etree copy, which takes several allocations and twice the memory).
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
// from its ancestors (as Copy writes them), so that the element it stands
// for keeps its meaning on its own. It returns the zero Frozen for a nil
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
		return Frozen{big: CopyWithout(el, ns, tag)}
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
		return Copy(f.big)
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
