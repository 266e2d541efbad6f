package upload

import (
	"sync"
	"time"
)

// BreakerPolicy tunes the circuit breaker.
type BreakerPolicy struct {
	// Threshold is how many outage failures in a row open the breaker; 3 when zero.
	Threshold int
	// Cooldown is the first pause before a probe; it doubles up to MaxCooldown while
	// probes keep failing. 5 s and 5 min when zero.
	Cooldown    time.Duration
	MaxCooldown time.Duration
}

// Breaker stops every upload while the relay, ALEX or the practice is down, so a
// long outage costs one probe per cooldown rather than one failure per item. When
// the cooldown ends the next upload is the probe: success closes the breaker, failure
// reopens it for longer.
type Breaker struct {
	pol BreakerPolicy

	mu       sync.Mutex
	failures int
	open     bool
	until    time.Time
	cooldown time.Duration
	since    time.Time
}

// BreakerState is a snapshot for health reporting.
type BreakerState struct {
	Open     bool
	Failures int
	Until    time.Time // when the next probe may go
	Since    time.Time // when the breaker last opened or closed
}

// NewBreaker creates a closed breaker.
func NewBreaker(p BreakerPolicy) *Breaker {
	if p.Threshold <= 0 {
		p.Threshold = 3
	}
	if p.Cooldown <= 0 {
		p.Cooldown = 5 * time.Second
	}
	if p.MaxCooldown <= 0 {
		p.MaxCooldown = 5 * time.Minute
	}
	return &Breaker{pol: p, cooldown: p.Cooldown}
}

// Allow reports whether an upload may start now; if not, until says when to ask again.
func (b *Breaker) Allow(now time.Time) (ok bool, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open && now.Before(b.until) {
		return false, b.until
	}
	return true, time.Time{}
}

// Failure records an outage-class failure.
func (b *Breaker) Failure(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.open {
		// A failed probe: stay open, wait longer.
		b.cooldown = min(b.cooldown*2, b.pol.MaxCooldown)
		b.until = now.Add(b.cooldown)
		return
	}
	if b.failures >= b.pol.Threshold {
		b.open, b.since = true, now
		b.until = now.Add(b.cooldown)
	}
}

// Success records that the far side answered.
func (b *Breaker) Success(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open || b.since.IsZero() {
		b.since = now
	}
	b.open, b.failures, b.cooldown, b.until = false, 0, b.pol.Cooldown, time.Time{}
}

// State returns a snapshot.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return BreakerState{Open: b.open, Failures: b.failures, Until: b.until, Since: b.since}
}
