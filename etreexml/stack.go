package etreexml

// A stack holds the elements open while a tree is read or walked. Its
// first items are kept in place, so that a usual stanza costs no
// allocation; the others go in chunks, each allocated once and never
// copied. (Appending to one slice would copy the whole stack each time it
// grows: on a deep tree, garbage that outweighs the tree.)
type stack[T any] struct {
	shallow [16]T
	n       int
	deep    *chunk[T] // the chunk holding the top past shallow, or the first
}

type chunk[T any] struct {
	items      []T
	prev, next *chunk[T] // next: a chunk emptied, kept for the next push
}

// push adds v on top and returns a pointer to it, which stays valid until
// it is popped.
func (s *stack[T]) push(v T) *T {
	s.n++
	if s.n <= len(s.shallow) {
		s.shallow[s.n-1] = v
		return &s.shallow[s.n-1]
	}
	c := s.deep
	switch {
	case c == nil:
		c = &chunk[T]{items: make([]T, 0, 64)}
	case len(c.items) < cap(c.items):
	case c.next != nil:
		c = c.next
	default:
		c.next = &chunk[T]{items: make([]T, 0, min(2*cap(c.items), 4096)), prev: c}
		c = c.next
	}
	s.deep = c
	c.items = append(c.items, v)
	return &c.items[len(c.items)-1]
}

// peek returns a pointer to the item on top; the stack must not be empty.
func (s *stack[T]) peek() *T {
	if s.n <= len(s.shallow) {
		return &s.shallow[s.n-1]
	}
	return &s.deep.items[len(s.deep.items)-1]
}

// pop removes the item on top; the stack must not be empty.
func (s *stack[T]) pop() {
	var zero T
	*s.peek() = zero // for the garbage collector
	if s.n > len(s.shallow) {
		c := s.deep
		c.items = c.items[:len(c.items)-1]
		if len(c.items) == 0 && c.prev != nil {
			s.deep = c.prev
		}
	}
	s.n--
}
