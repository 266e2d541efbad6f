package alexsim

import (
	"sync"
	"time"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func clockAt() *testClock { return &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
