package limit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// Three keys compete for a limit of 50 calls a second: one with 20 callers in
// parallel, two with one caller each, calling in a loop. Turns go round the keys, so
// the single callers get as many calls as the crowded key, not a twentieth.
func TestFairSharesTurnsByKey(t *testing.T) {
	f := NewFair(50, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var mu sync.Mutex
	calls := map[string]int{}
	var wg sync.WaitGroup
	loop := func(key string) {
		defer wg.Done()
		for f.Wait(ctx, key, time.Minute) == nil {
			mu.Lock()
			calls[key]++
			mu.Unlock()
		}
	}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go loop("busy-pc")
	}
	wg.Add(2)
	go loop("pc-2")
	go loop("pc-3")
	wg.Wait()
	total := calls["busy-pc"] + calls["pc-2"] + calls["pc-3"]
	if total > 50*2+5 {
		t.Fatalf("%d calls in 2 s at 50 a second", total)
	}
	for _, k := range []string{"pc-2", "pc-3"} {
		if calls[k] < total/4 {
			t.Errorf("%s had %d of %d calls (busy-pc %d): starved", k, calls[k], total, calls["busy-pc"])
		}
	}
}

func TestFairGivesUpAfterMaxWait(t *testing.T) {
	f := NewFair(0.001, 1, nil)
	if err := f.Wait(context.Background(), "a", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := f.Wait(context.Background(), "a", 50*time.Millisecond); !errors.Is(err, ErrTooLong) {
		t.Fatalf("empty limit: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Wait(ctx, "b", time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
