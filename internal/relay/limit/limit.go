// Package limit holds the relay's token buckets: per source address for enrolment
// guesses, per connector for requests, and relay-wide towards ALEX. A bucket holds up
// to its burst in tokens and refills at its rate per second. Taking is one step under
// one lock (check and spend together), so callers in parallel can never spend more
// than the bucket holds, and a token taken for something that turned out free can be
// given back.
package limit

import (
	"math"
	"sync"
	"time"
)

// Bucket is one token bucket. The zero value is unusable: make one with NewBucket.
type Bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// NewBucket returns a full bucket. now is time.Now outside tests.
func NewBucket(rate float64, burst int, now func() time.Time) *Bucket {
	if now == nil {
		now = time.Now
	}
	b := float64(max(burst, 1))
	return &Bucket{rate: rate, burst: b, tokens: b, last: now(), now: now}
}

// refill brings tokens up to date; the caller holds mu.
func (b *Bucket) refill() time.Time {
	t := b.now()
	if el := t.Sub(b.last); el > 0 {
		b.tokens = math.Min(b.burst, b.tokens+el.Seconds()*b.rate)
		b.last = t
	}
	return t
}

// Take spends n tokens when the bucket holds them and reports true. Otherwise it
// spends nothing and returns how long until n tokens would be there.
func (b *Bucket) Take(n float64) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	if b.tokens >= n {
		b.tokens -= n
		return true, 0
	}
	return false, b.waitFor(n)
}

func (b *Bucket) waitFor(n float64) time.Duration {
	if b.rate <= 0 {
		return time.Hour
	}
	return time.Duration(math.Ceil((n - b.tokens) / b.rate * float64(time.Second)))
}

// Give returns n tokens taken for something that cost nothing after all.
func (b *Bucket) Give(n float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	b.tokens = math.Min(b.burst, b.tokens+n)
}

// Tokens reports the tokens in the bucket now (for tests and metrics).
func (b *Bucket) Tokens() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	return b.tokens
}

// full reports whether the bucket has refilled completely, so forgetting it changes
// nothing.
func (b *Bucket) full() bool { return b.Tokens() >= b.burst }

// Keyed is one bucket per key (a source address, a connector), each made full on
// first use. Buckets that have refilled are forgotten when the set grows, so a flood
// of distinct keys costs memory only while their buckets are draining.
type Keyed struct {
	rate  float64
	burst int
	now   func() time.Time

	mu    sync.Mutex
	m     map[string]*Bucket
	sweep int // size at which full buckets are dropped
}

// NewKeyed returns an empty set of buckets of rate and burst.
func NewKeyed(rate float64, burst int, now func() time.Time) *Keyed {
	if now == nil {
		now = time.Now
	}
	return &Keyed{rate: rate, burst: burst, now: now, m: map[string]*Bucket{}, sweep: 1024}
}

// Get returns key's bucket, making it on first use.
func (k *Keyed) Get(key string) *Bucket {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.m[key]
	if ok {
		return b
	}
	if len(k.m) >= k.sweep {
		for key, b := range k.m {
			if b.full() {
				delete(k.m, key)
			}
		}
		// Still large: every bucket is in use; sweep again at twice the size.
		k.sweep = max(1024, 2*len(k.m))
	}
	b = NewBucket(k.rate, k.burst, k.now)
	k.m[key] = b
	return b
}

// Len is the number of buckets held (for tests).
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}
