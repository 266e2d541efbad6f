package ledger

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/clinicpro/medtech-images/internal/relay/sqlitedb"
)

func open(t *testing.T) *Ledger {
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l, err := New(db)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestClaimCompleteReplay(t *testing.T) {
	ctx := context.Background()
	l := open(t)
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
}

func TestReleaseKeepsAmbiguous(t *testing.T) {
	ctx := context.Background()
	l := open(t)
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
}

func TestConcurrentClaimsOneWinner(t *testing.T) {
	ctx := context.Background()
	l := open(t)
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
}
