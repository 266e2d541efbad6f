package localapi

import (
	"context"
	"sync"
)

// Hub fans events out to subscribers. A subscriber that cannot keep up is cut off
// (its channel closed) rather than slowing the agent: the Service contract already
// says clients reconnect and call Status to resynchronise, so a dropped stream loses
// nothing that matters, while a blocked publisher would stall uploads.
//
// Each subscriber carries the Peer its stream was opened by (from the context), so
// PublishTo can reach one Windows session and user only: on a Remote Desktop server
// a launch must open the window of the GP who clicked, not of every GP signed in.
type Hub struct {
	mu   sync.Mutex
	subs map[chan Event]Peer
	buf  int
}

// NewHub returns a Hub whose subscribers may fall buf events behind before being cut off.
func NewHub(buf int) *Hub {
	if buf < 1 {
		buf = 64
	}
	return &Hub{subs: make(map[chan Event]Peer), buf: buf}
}

// Subscribe returns a channel of events published after the call; it is closed when
// ctx ends or the subscriber falls too far behind. The subscriber is ctx's Peer.
func (h *Hub) Subscribe(ctx context.Context) <-chan Event {
	peer, _ := PeerFrom(ctx)
	ch := make(chan Event, h.buf)
	h.mu.Lock()
	h.subs[ch] = peer
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.drop(ch)
	}()
	return ch
}

// Subscribers is how many streams are open.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Publish delivers e to every subscriber without blocking and returns how many that was.
func (h *Hub) Publish(e Event) int {
	return h.publish(e, func(Peer) bool { return true })
}

// PublishTo delivers e only to the streams opened by p (same user, same session) and
// returns how many that was. An unknown peer reaches nobody.
func (h *Hub) PublishTo(p Peer, e Event) int {
	return h.publish(e, p.Same)
}

func (h *Hub) publish(e Event, to func(Peer) bool) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for ch, peer := range h.subs {
		if !to(peer) {
			continue
		}
		select {
		case ch <- e:
			n++
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
	return n
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
