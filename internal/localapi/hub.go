package localapi

import (
	"context"
	"sync"
)

// Hub fans events out to subscribers. A subscriber that cannot keep up is cut off
// (its channel closed) rather than slowing the agent: the Service contract already
// says clients reconnect and call Status to resynchronise, so a dropped stream loses
// nothing that matters, while a blocked publisher would stall uploads.
type Hub struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
	buf  int
}

// NewHub returns a Hub whose subscribers may fall buf events behind before being cut off.
func NewHub(buf int) *Hub {
	if buf < 1 {
		buf = 64
	}
	return &Hub{subs: make(map[chan Event]struct{}), buf: buf}
}

// Subscribe returns a channel of events published after the call; it is closed when
// ctx ends or the subscriber falls too far behind.
func (h *Hub) Subscribe(ctx context.Context) <-chan Event {
	ch := make(chan Event, h.buf)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.drop(ch)
	}()
	return ch
}

// Subscribers is how many streams are open; the launch page uses it to tell the GP
// when no tray is running to show the capture window.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Publish delivers e to every subscriber without blocking.
func (h *Hub) Publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

func (h *Hub) drop(ch chan Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

// CloseAll ends every open stream, so a stopping agent's HTTP server can shut down
// without waiting out streams that would never end by themselves.
func (h *Hub) CloseAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}
