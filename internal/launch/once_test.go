package launch

import (
	"fmt"
	"testing"
	"time"
)

func TestOnceAcceptsEachLaunchOnce(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	o := &Once{Now: func() time.Time { return now }}
	a := Launch{Context: "ctx-a", Signature: "sig-a"}
	if !o.Claim(a) {
		t.Fatal("a fresh launch was refused")
	}
	if o.Claim(a) {
		t.Fatal("the same launch was accepted twice (replay)")
	}
	// The same context with another signature, or the reverse, is another launch.
	if !o.Claim(Launch{Context: "ctx-a", Signature: "sig-b"}) || !o.Claim(Launch{Context: "ctx-b", Signature: "sig-a"}) {
		t.Fatal("a different launch was refused")
	}
	// No separator confusion: "ab"+"c" is not "a"+"bc".
	if !o.Claim(Launch{Context: "ab", Signature: "c"}) || !o.Claim(Launch{Context: "a", Signature: "bc"}) {
		t.Fatal("launches differing only in where context ends were confused")
	}
	now = now.Add(OnceWindow - time.Minute)
	if o.Claim(a) {
		t.Fatal("replayed within the window")
	}
	now = now.Add(2 * time.Minute)
	if !o.Claim(a) {
		t.Fatal("still refused after the window, by which time ALEX has long expired it")
	}
}

func TestOnceReleaseAllowsRetry(t *testing.T) {
	var o Once
	a := Launch{Context: "c", Signature: "s"}
	o.Claim(a)
	o.Release(a) // the relay could not be reached
	if !o.Claim(a) {
		t.Fatal("a launch released after a failed check could not be retried")
	}
}

func TestOnceMemoryIsBounded(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	o := &Once{Now: func() time.Time { now = now.Add(time.Millisecond); return now }}
	for i := range 3 * onceMax {
		o.Claim(Launch{Context: fmt.Sprint(i), Signature: "s"})
	}
	if n := len(o.seen); n > onceMax {
		t.Fatalf("remembers %d launches, bound is %d", n, onceMax)
	}
	last := Launch{Context: fmt.Sprint(3*onceMax - 1), Signature: "s"}
	if o.Claim(last) {
		t.Fatal("the most recent launch was forgotten by pruning")
	}
}
