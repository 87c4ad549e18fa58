package etreexml

import (
	"iter"

	"github.com/beevik/etree"
)

// Children yields the child elements of parent in document order, each
// with its namespace URI, in a time that does not grow with the
// namespace declarations of parent's ancestors: the scope of parent is
// collected from its ancestors at most once, where etree's NamespaceURI
// walks the ancestors again for every child (quadratic on a stanza kept
// under a stream header that declares many prefixes). It yields nothing
// for a nil parent.
func Children(parent *etree.Element) iter.Seq2[string, *etree.Element] {
	return func(yield func(string, *etree.Element) bool) {
		if parent == nil {
			return
		}
		var r resolver
		for _, t := range parent.Child {
			if child, ok := t.(*etree.Element); ok && !yield(r.of(parent, child), child) {
				return
			}
		}
	}
}

// A resolver finds the namespaces of the children of one parent, looking
// at the parent's ancestors at most once. The zero resolver is ready.
type resolver struct {
	parentNS    string
	parentKnown bool
	scope       map[string]string // the prefixes in scope at the parent; "" the default namespace
}

// of returns the namespace of child, a child of parent.
func (r *resolver) of(parent, child *etree.Element) string {
	if ns, declared := ownNamespace(child); declared {
		return ns
	}
	if child.Space == parent.Space {
		if !r.parentKnown {
			r.parentNS, r.parentKnown = parent.NamespaceURI(), true
		}
		return r.parentNS
	}
	if r.scope == nil {
		r.scope = inScope(parent)
	}
	return r.scope[child.Space]
}

// ownNamespace returns the namespace el declares for its own prefix, and
// whether it declares one.
func ownNamespace(el *etree.Element) (string, bool) {
	for i := range el.Attr {
		a := &el.Attr[i]
		if (el.Space == "" && a.Space == "" && a.Key == "xmlns") ||
			(el.Space != "" && a.Space == "xmlns" && a.Key == el.Space) {
			return a.Value, true
		}
	}
	return "", false
}

// inScope returns the prefixes bound at el, each to its innermost binding;
// "" is the default namespace.
func inScope(el *etree.Element) map[string]string {
	scope := make(map[string]string)
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if prefix, ok := declaredPrefix(a); ok {
				if _, seen := scope[prefix]; !seen {
					scope[prefix] = a.Value
				}
			}
		}
	}
	return scope
}

// declaredPrefix returns the prefix a declares a namespace for, "" for the
// default namespace, and whether a is a namespace declaration at all.
func declaredPrefix(a etree.Attr) (string, bool) {
	switch {
	case a.Space == "xmlns":
		return a.Key, true
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	}
	return "", false
}

// Attr returns the value of el's first unprefixed attribute named key,
// and whether el has one. Unlike etree's SelectAttr it ignores prefixed
// attributes (x:key is another attribute), and it returns false for a nil
// el.
func Attr(el *etree.Element, key string) (string, bool) {
	if el == nil {
		return "", false
	}
	for i := range el.Attr {
		if a := &el.Attr[i]; a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}
