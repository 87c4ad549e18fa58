package etreexml

import (
	"github.com/beevik/etree"
)

// Copy returns a deep copy of el that stands on its own: it has no parent,
// and it declares on itself the namespaces it inherits from el's ancestors
// and uses (the default namespace, and each prefix of a name in the copy),
// so that every name in it keeps its namespace. It returns nil for a nil
// el. The copy shares no memory that either tree can modify with el: el is
// never modified, and nothing done to el later changes the copy.
//
// The copy takes a few allocations, however many nodes el has; etree's own
// Copy takes one or more per node, which the amp package cannot afford on
// every request (its BenchmarkEvaluate). Each attribute of the copy
// belongs to its element in the copy (Attr.Element).
func Copy(el *etree.Element) *etree.Element {
	return CopyWithout(el, "", "")
}

// CopyWithout is Copy without the children of el named tag in the
// namespace ns; with tag "" it leaves out nothing. Only el's own children
// are looked at, not deeper descendants.
func CopyWithout(el *etree.Element, ns, tag string) *etree.Element {
	if el == nil {
		return nil
	}
	s := slab{root: el, ns: ns, tag: tag}
	s.count(el)
	inherited := inheritedDeclarations(el)
	s.nAttrs += len(inherited)
	s.allocate()
	return s.copy(el, inherited)
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

// count adds to s the nodes of el and its descendants that are copied.
func (s *slab) count(el *etree.Element) {
	s.nEls++
	s.nAttrs += len(el.Attr)
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			if s.leftOut(el, t) {
				continue
			}
			s.count(t)
		case *etree.CharData:
			s.nText++
		}
		s.nToks++
	}
}

// copy copies el from the slab, with the declarations decls before its own
// attributes.
func (s *slab) copy(el *etree.Element, decls []etree.Attr) *etree.Element {
	ne := &s.els[0]
	s.els = s.els[1:]
	ne.Space, ne.Tag = el.Space, el.Tag
	if n := len(decls) + len(el.Attr); n > 0 {
		ne.Attr = s.attrs[:0:n]
		s.attrs = s.attrs[n:]
		for _, as := range [2][]etree.Attr{decls, el.Attr} {
			for _, a := range as {
				addAttr(ne, a)
			}
		}
	}
	n := len(el.Child)
	if el == s.root && s.tag != "" {
		for _, t := range el.Child {
			if c, ok := t.(*etree.Element); ok && s.leftOut(el, c) {
				n--
			}
		}
	}
	if n > 0 {
		ne.Child = s.toks[:0:n]
		s.toks = s.toks[n:]
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			if s.leftOut(el, t) {
				continue
			}
			ne.AddChild(s.copy(t, nil))
		case *etree.CharData:
			if t.IsCData() {
				ne.AddChild(etree.NewCData(t.Data))
				s.text = s.text[1:]
				continue
			}
			c := &s.text[0]
			s.text = s.text[1:]
			c.SetData(t.Data)
			ne.AddChild(c)
		case *etree.Comment:
			ne.AddChild(etree.NewComment(t.Data))
		case *etree.ProcInst:
			ne.AddChild(etree.NewProcInst(t.Target, t.Inst))
		case *etree.Directive:
			ne.AddChild(etree.NewDirective(t.Data))
		}
	}
	return ne
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
