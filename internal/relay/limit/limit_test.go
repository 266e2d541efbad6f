package limit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/testutil"
)

func TestBucketRefillsAtItsRate(t *testing.T) {
	clk := testutil.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	b := NewBucket(2, 4, clk.Now)
	for i := 0; i < 4; i++ {
		if ok, _ := b.Take(1); !ok {
			t.Fatalf("take %d of a full bucket of 4 refused", i+1)
		}
	}
	ok, wait := b.Take(1)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("empty bucket: ok=%v wait=%v, want refused and 500ms", ok, wait)
	}
	clk.Add(500 * time.Millisecond)
	if ok, _ := b.Take(1); !ok {
		t.Fatal("a refilled token was refused")
	}
	clk.Add(time.Hour)
	if got := b.Tokens(); got != 4 {
		t.Fatalf("refill past the burst: %v tokens", got)
	}
}

func TestBucketGiveBack(t *testing.T) {
	clk := testutil.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	b := NewBucket(0.001, 1, clk.Now)
	b.Take(1)
	if ok, _ := b.Take(1); ok {
		t.Fatal("took from an empty bucket")
	}
	b.Give(1)
	if ok, _ := b.Take(1); !ok {
		t.Fatal("a given-back token could not be taken")
	}
	b.Give(5)
	if got := b.Tokens(); got != 1 {
		t.Fatalf("giving back overfilled the bucket: %v", got)
	}
}

// The attack of issue 13: parallel takers checking and spending in two steps got
// about 7x the rate. One step under one lock cannot exceed the burst.
func TestParallelTakersNeverExceedTheBucket(t *testing.T) {
	clk := testutil.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	b := NewBucket(1, 10, clk.Now)
	var got atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 50; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if ok, _ := b.Take(1); ok {
					got.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := got.Load(); n != 10 {
		t.Fatalf("5,000 parallel takes from a bucket of 10 (clock stopped) spent %d", n)
	}
}

func TestKeyedForgetsRefilledBuckets(t *testing.T) {
	clk := testutil.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	k := NewKeyed(1, 2, clk.Now)
	k.Get("a").Take(2)
	if ok, _ := k.Get("a").Take(1); ok {
		t.Fatal("key a's bucket was not kept between calls")
	}
	if ok, _ := k.Get("b").Take(1); !ok {
		t.Fatal("key b shares a's bucket")
	}
	for i := 0; i < 2000; i++ {
		k.Get(fmt.Sprint("flood-", i))
	}
	if n := k.Len(); n > 1100 {
		t.Fatalf("full buckets of a flood of keys were kept: %d", n)
	}
	// A draining bucket survives the sweep.
	if ok, _ := k.Get("a").Take(1); ok {
		t.Fatal("the sweep forgot a bucket that was still draining")
	}
}
