// Package fanout hands every published value to every subscriber without
// ever waiting for one: a subscriber that falls behind loses values. The
// agent's event stream to the window runs on it, so a window that stops
// reading can never hold up a device driver.
package fanout

import "sync"

// Hub is a set of subscribers. The zero value is not usable; use New.
type Hub[T any] struct {
	buffer int

	mu   sync.Mutex
	subs map[int]chan T
	next int
}

// New returns a hub whose subscribers each buffer up to buffer values.
func New[T any](buffer int) *Hub[T] {
	return &Hub[T]{buffer: buffer, subs: map[int]chan T{}}
}

// Subscribe returns a channel that carries first, then what is published
// from now on, and a function that ends the subscription (the channel is
// not closed: a reader selects on its own end as well).
func (h *Hub[T]) Subscribe(first ...T) (<-chan T, func()) {
	ch := make(chan T, max(h.buffer, len(first)))
	for _, v := range first {
		ch <- v
	}
	h.mu.Lock()
	id := h.next
	h.next++
	h.subs[id] = ch
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, id)
		h.mu.Unlock()
	}
}

// Publish offers v to every subscriber; one whose buffer is full does not
// get it.
func (h *Hub[T]) Publish(v T) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.subs {
		select {
		case ch <- v:
		default: // a reader that falls behind loses values, never blocks a publisher
		}
	}
}

// Subscribers returns how many subscriptions are open.
func (h *Hub[T]) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
