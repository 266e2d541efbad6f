package testutil

import (
	"sync"
	"time"
)

// Clock is a settable time source that tests move forward instead of sleeping, safe
// to read from the goroutines of the component under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock reading t until moved.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's current time; pass the method value where a func() time.Time is wanted.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
