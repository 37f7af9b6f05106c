package main

// ring is a growable FIFO queue. Push and pop do not allocate once it has
// grown to its working size.
type ring[T any] struct {
	buf        []T
	head, size int
}

func newRing[T any](capacity int) *ring[T] {
	return &ring[T]{buf: make([]T, max(capacity, 16))}
}

func (r *ring[T]) len() int { return r.size }

func (r *ring[T]) push(v T) {
	if r.size == len(r.buf) {
		nb := make([]T, 2*len(r.buf))
		n := copy(nb, r.buf[r.head:])
		copy(nb[n:], r.buf[:r.head])
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.size)%len(r.buf)] = v
	r.size++
}

// peek returns the oldest element; the queue must not be empty.
func (r *ring[T]) peek() T { return r.buf[r.head] }

// pop removes and returns the oldest element; the queue must not be empty.
func (r *ring[T]) pop() T {
	v := r.buf[r.head]
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	return v
}
