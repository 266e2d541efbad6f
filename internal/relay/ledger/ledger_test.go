package ledger_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	. "github.com/clinicpro/medtech-images/internal/relay/ledger"
	"github.com/clinicpro/medtech-images/internal/relay/store"
	"github.com/clinicpro/medtech-images/internal/relay/store/storetest"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunWithPostgres(m)) }

func each(t *testing.T, f func(t *testing.T, l *Ledger)) {
	storetest.Each(t, func(t *testing.T, st *store.Store) { f(t, New(st)) })
}

func TestClaimCompleteReplay(t *testing.T) {
	each(t, func(t *testing.T, l *Ledger) {
		ctx := context.Background()
		e := Entry{Connector: "c1", Key: "k1", SHA256: "aa", Size: 3, ContentType: "image/tiff", Correlation: "corr1"}
		if _, fresh, err := l.Claim(ctx, e); err != nil || !fresh {
			t.Fatalf("first claim: %v %v", fresh, err)
		}
		if got, fresh, _ := l.Claim(ctx, e); fresh || got.State != Pending {
			t.Fatalf("second claim: %v %+v", fresh, got)
		}
		// Another connector's same key is its own entry.
		if _, fresh, _ := l.Claim(ctx, Entry{Connector: "c2", Key: "k1", SHA256: "bb"}); !fresh {
			t.Fatal("keys must be per connector")
		}
		if err := l.Complete(ctx, "c1", "k1", "doc1"); err != nil {
			t.Fatal(err)
		}
		got, fresh, _ := l.Claim(ctx, e)
		if fresh || got.State != Done || got.DocID != "doc1" || got.Correlation != "corr1" {
			t.Fatalf("after complete: %+v", got)
		}
		if _, err := l.ByDocID(ctx, "c2", "doc1"); !errors.Is(err, ErrNotFound) {
			t.Fatal("another connector can see doc1")
		}
		if g, err := l.ByDocID(ctx, "c1", "doc1"); err != nil || g.Key != "k1" {
			t.Fatalf("ByDocID: %+v %v", g, err)
		}
	})
}

func TestReleaseKeepsAmbiguous(t *testing.T) {
	each(t, func(t *testing.T, l *Ledger) {
		ctx := context.Background()
		l.Claim(ctx, Entry{Connector: "c", Key: "a"})
		l.Claim(ctx, Entry{Connector: "c", Key: "b"})
		l.MarkAmbiguous(ctx, "c", "b")
		l.Release(ctx, "c", "a")
		l.Release(ctx, "c", "b")
		if _, err := l.Get(ctx, "c", "a"); !errors.Is(err, ErrNotFound) {
			t.Fatal("a definite failure should free its key")
		}
		if g, err := l.Get(ctx, "c", "b"); err != nil || g.State != Ambiguous {
			t.Fatalf("an ambiguous write was forgotten: %+v %v", g, err)
		}
	})
}

func TestConcurrentClaimsOneWinner(t *testing.T) {
	each(t, func(t *testing.T, l *Ledger) {
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, fresh, err := l.Claim(ctx, Entry{Connector: "c", Key: "same"})
				if err != nil {
					t.Error(err)
				}
				if fresh {
					mu.Lock()
					winners++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if winners != 1 {
			t.Fatalf("%d claims won", winners)
		}
	})
}

// Two relays on one store: the second to claim a key waits for the first's write and
// answers from its result; a relay that dies holding a key loses it when its lease
// runs out, and the other takes it over to resolve it.
func TestClaimsAcrossRelays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		a, b := New(st), New(st)
		e := Entry{Connector: "c", Key: "k-shared", SHA256: "aa", Size: 1, ContentType: "image/tiff", Correlation: "x"}
		if _, fresh, err := a.Claim(ctx, e); err != nil || !fresh {
			t.Fatalf("relay a: %v %v", fresh, err)
		}
		stop := a.Hold("c", "k-shared")
		got := make(chan Entry, 1)
		go func() {
			g, fresh, err := b.Claim(ctx, e)
			if err != nil || fresh {
				t.Errorf("relay b: fresh %v, %v", fresh, err)
			}
			got <- g
		}()
		select {
		case g := <-got:
			t.Fatalf("relay b did not wait for relay a's write: %+v", g)
		case <-time.After(300 * time.Millisecond):
		}
		if err := a.Complete(ctx, "c", "k-shared", "doc-1"); err != nil {
			t.Fatal(err)
		}
		stop()
		if g := <-got; g.State != Done || g.DocID != "doc-1" {
			t.Fatalf("relay b got %+v", g)
		}

		// Relay a dies holding a key (no Hold, no settle).
		a.SetLease(200 * time.Millisecond)
		e.Key = "k-orphan"
		if _, fresh, _ := a.Claim(ctx, e); !fresh {
			t.Fatal("relay a did not claim the new key")
		}
		g, fresh, err := b.Claim(ctx, e)
		if err != nil || fresh || g.State != Pending || g.Owner == "" {
			t.Fatalf("relay b after a's lease ran out: %+v fresh %v %v", g, fresh, err)
		}
		// b holds it now: a coming back cannot take it while b's lease lives.
		a.SetLease(Lease)
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if _, _, err := a.Claim(cctx, e); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("relay a took a key relay b holds: %v", err)
		}
	})
}

func TestSupersedeReleasesOnlyUnknownOutcomes(t *testing.T) {
	each(t, func(t *testing.T, l *Ledger) {
		ctx := context.Background()
		l.Claim(ctx, Entry{Connector: "c", Key: "amb"})
		l.MarkAmbiguous(ctx, "c", "amb")
		l.Claim(ctx, Entry{Connector: "c", Key: "done"})
		l.Complete(ctx, "c", "done", "doc1")
		l.Claim(ctx, Entry{Connector: "c", Key: "writing"}) // held by a live lease
		if ok, err := l.Supersede(ctx, "c", "amb"); err != nil || !ok {
			t.Fatalf("ambiguous: %v %v", ok, err)
		}
		if g, _ := l.Get(ctx, "c", "amb"); g.State != Superseded {
			t.Fatalf("ambiguous after: %+v", g)
		}
		if ok, _ := l.Supersede(ctx, "c", "done"); ok {
			t.Fatal("a stored document was superseded")
		}
		if ok, _ := l.Supersede(ctx, "c", "writing"); ok {
			t.Fatal("a key a relay is writing now was superseded")
		}
		if ok, _ := l.Supersede(ctx, "other", "amb"); ok {
			t.Fatal("another connector's key was superseded")
		}
		if ok, _ := l.Supersede(ctx, "c", "missing"); ok {
			t.Fatal("a missing key was superseded")
		}
	})
}
