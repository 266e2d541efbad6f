package launch

import (
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

// OnceWindow is how long a used launch is remembered. Medtech's launch tokens expire
// within minutes (the sandbox: 10); a day covers any lifetime ALEX might give them.
const OnceWindow = 24 * time.Hour

// onceMax bounds memory: a PC sees a few hundred launches a day.
const onceMax = 10000

// Once remembers the launches already used, so each context and signature opens one
// session only. A launch URL left in a browser's history, a proxy log or a shared
// screen is then worthless, instead of opening the patient again for its whole
// lifetime. The zero value is ready to use; it is safe for concurrent use.
type Once struct {
	mu   sync.Mutex
	seen map[[32]byte]time.Time
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func key(l Launch) [32]byte {
	h := sha256.New()
	h.Write([]byte(l.Context))
	h.Write([]byte{0})
	h.Write([]byte(l.Signature))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (o *Once) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Claim marks l used and reports whether it was unused. Only a hash is kept, never
// the token itself.
func (o *Once) Claim(l Launch) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	if o.seen == nil {
		o.seen = map[[32]byte]time.Time{}
	}
	k := key(l)
	if at, ok := o.seen[k]; ok && now.Sub(at) < OnceWindow {
		return false
	}
	if len(o.seen) >= onceMax {
		o.prune(now)
	}
	o.seen[k] = now
	return true
}

// Release forgets l: it could not be checked (the relay was unreachable), so the GP
// may click the same link again. A launch the relay refused stays used.
func (o *Once) Release(l Launch) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.seen, key(l))
}

// prune drops expired entries and, if that is not enough, the oldest half: a flood
// of distinct launches may then be replayable, but memory stays bounded.
func (o *Once) prune(now time.Time) {
	for k, at := range o.seen {
		if now.Sub(at) >= OnceWindow {
			delete(o.seen, k)
		}
	}
	if len(o.seen) < onceMax {
		return
	}
	ts := make([]time.Time, 0, len(o.seen))
	for _, at := range o.seen {
		ts = append(ts, at)
	}
	slices.SortFunc(ts, time.Time.Compare)
	cut := ts[len(ts)/2]
	for k, at := range o.seen {
		if !at.After(cut) {
			delete(o.seen, k)
		}
	}
}
