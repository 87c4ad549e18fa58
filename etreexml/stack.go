package etreexml

// A stack holds the elements open while a tree is read or walked. It
// grows by chunks, each allocated once and never copied: appending to one
// slice would copy the whole stack each time it grows, garbage that on a
// deep tree outweighs the tree.
type stack[T any] struct {
	top *chunk[T] // nil before the first push
	n   int
}

type chunk[T any] struct {
	items      []T
	prev, next *chunk[T] // next: a chunk emptied, kept for the next push
}

// push adds v on top and returns a pointer to it.
func (s *stack[T]) push(v T) *T {
	if s.top == nil || len(s.top.items) == cap(s.top.items) {
		switch {
		case s.top == nil:
			s.top = &chunk[T]{items: make([]T, 0, 8)}
		case s.top.next != nil:
			s.top = s.top.next
		default:
			c := &chunk[T]{items: make([]T, 0, min(2*cap(s.top.items), 1024)), prev: s.top}
			s.top.next, s.top = c, c
		}
	}
	s.top.items = append(s.top.items, v)
	s.n++
	return &s.top.items[len(s.top.items)-1]
}

// peek returns a pointer to the item on top; the stack must not be empty.
func (s *stack[T]) peek() *T {
	return &s.top.items[len(s.top.items)-1]
}

// pop removes the item on top; the stack must not be empty.
func (s *stack[T]) pop() {
	var zero T
	s.top.items[len(s.top.items)-1] = zero // for the garbage collector
	s.top.items = s.top.items[:len(s.top.items)-1]
	s.n--
	if len(s.top.items) == 0 && s.top.prev != nil {
		s.top = s.top.prev
	}
}
