// Package testutil holds helpers shared by tests across packages. Import it only from
// _test.go files (and the demo, which is itself a test harness).
package testutil

import (
	"bytes"
	"sync"
)

// Buffer is an io.Writer that goroutines (log handlers, subprocess pipes) and the
// test reading it can share without a data race.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
