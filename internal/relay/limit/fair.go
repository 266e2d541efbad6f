package limit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrTooLong is returned by Fair.Wait when a turn would not come within the wait
// allowed.
var ErrTooLong = errors.New("the relay-wide limit has no turn free soon enough")

// Fair is one bucket shared by many keys (the relay's calls to ALEX, shared by every
// PC). While tokens last, callers go straight through. When they run out, callers
// queue by key and turns go round the keys that are waiting, one each, so a PC with
// many requests in flight cannot starve a PC with one.
type Fair struct {
	b *Bucket

	mu      sync.Mutex
	queues  map[string][]*waiter
	ring    []string // keys with waiters, in turn order
	running bool
}

type waiter struct {
	grant chan struct{}
	gone  bool // gave up; its turn passes to the next
}

// NewFair returns a fair limiter of rate per second with burst.
func NewFair(rate float64, burst int, now func() time.Time) *Fair {
	return &Fair{b: NewBucket(rate, burst, now), queues: map[string][]*waiter{}}
}

// Wait returns when key may make one call, or ErrTooLong if its turn has not come
// within maxWait, or ctx's error.
func (f *Fair) Wait(ctx context.Context, key string, maxWait time.Duration) error {
	f.mu.Lock()
	if len(f.ring) == 0 {
		if ok, _ := f.b.Take(1); ok {
			f.mu.Unlock()
			return nil
		}
	}
	w := &waiter{grant: make(chan struct{})}
	if len(f.queues[key]) == 0 {
		f.ring = append(f.ring, key)
	}
	f.queues[key] = append(f.queues[key], w)
	if !f.running {
		f.running = true
		go f.dispatch()
	}
	f.mu.Unlock()

	t := time.NewTimer(maxWait)
	defer t.Stop()
	var err error
	select {
	case <-w.grant:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = ErrTooLong
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-w.grant: // granted as we gave up: use it after all
		return nil
	default:
	}
	w.gone = true
	return err
}

// dispatch hands out tokens as they refill, one key at a time round the ring, until
// nobody waits.
func (f *Fair) dispatch() {
	for {
		f.mu.Lock()
		if len(f.ring) == 0 {
			f.running = false
			f.mu.Unlock()
			return
		}
		ok, wait := f.b.Take(1)
		if ok {
			f.grantNext()
		}
		f.mu.Unlock()
		if !ok {
			time.Sleep(wait)
		}
	}
}

// grantNext gives the token just taken to the first live waiter of the next key; the
// caller holds mu. A token no live waiter takes goes back.
func (f *Fair) grantNext() {
	for len(f.ring) > 0 {
		key := f.ring[0]
		f.ring = f.ring[1:]
		q := f.queues[key]
		var w *waiter
		for len(q) > 0 && w == nil {
			if !q[0].gone {
				w = q[0]
			}
			q = q[1:]
		}
		if len(q) > 0 {
			f.queues[key] = q
			f.ring = append(f.ring, key) // its next waiter goes to the back of the round
		} else {
			delete(f.queues, key)
		}
		if w != nil {
			close(w.grant)
			return
		}
	}
	f.b.Give(1)
}
