package etreexml

// A scope holds the prefixes bound while walking a tree, each to the
// namespace of its innermost binding, in a time that does not grow with
// the depth of the tree.
type scope struct {
	bindings []binding
	// top maps each prefix bound to the index of its innermost binding.
	top map[string]int
}

type binding struct {
	prefix, uri string
	outer       int // index of the binding this one hides, or -1
}

// push binds prefix to uri until popTo undoes it.
func (s *scope) push(prefix, uri string) {
	outer, ok := s.top[prefix]
	if !ok {
		outer = -1
	}
	if s.top == nil {
		s.top = make(map[string]int)
	}
	s.bindings = append(s.bindings, binding{prefix: prefix, uri: uri, outer: outer})
	s.top[prefix] = len(s.bindings) - 1
}

// popTo undoes the bindings pushed since there were n.
func (s *scope) popTo(n int) {
	for i := len(s.bindings) - 1; i >= n; i-- {
		if b := s.bindings[i]; b.outer < 0 {
			delete(s.top, b.prefix)
		} else {
			s.top[b.prefix] = b.outer
		}
	}
	s.bindings = s.bindings[:n]
}

// lookup returns the namespace bound to prefix, or "".
func (s *scope) lookup(prefix string) string {
	if i, ok := s.top[prefix]; ok {
		return s.bindings[i].uri
	}
	return ""
}
