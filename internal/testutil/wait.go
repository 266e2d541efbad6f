package testutil

import (
	"testing"
	"time"
)

// WaitFor polls cond every `every` until it holds, failing tb once `within` has
// passed. The deadline is generous by design: it only bounds a hung test on a loaded
// machine and is never a performance assertion.
func WaitFor(tb testing.TB, what string, within, every time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(every)
	}
}
