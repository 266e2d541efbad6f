package upload

import "time"

// Backoff is exponential backoff with jitter for item-level retries.
type Backoff struct {
	Base time.Duration // first delay; 2 s when zero
	Max  time.Duration // cap; 15 min when zero
}

// Delay returns the wait before retry number attempts+1. r in [0,1) spreads retries
// over the upper half of the interval ("equal jitter"), so many items failing
// together do not come back together, yet each still waits a predictable minimum.
func (b Backoff) Delay(attempts int, r float64) time.Duration {
	base, limit := b.Base, b.Max
	if base <= 0 {
		base = 2 * time.Second
	}
	if limit <= 0 {
		limit = 15 * time.Minute
	}
	d := base
	for i := 0; i < attempts && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + time.Duration(r*float64(d/2))
}
