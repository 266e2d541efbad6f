package queue

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// Issue 20: sent rows and their spool copies are pruned only once ALEX confirmed
// them (state sent) and the period has passed; nothing unsent is ever pruned, however
// old.
func TestPruneSentOnlyAfterConfirmationAndThePeriod(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const period = 90 * 24 * time.Hour
	send := func(name string) Item {
		t.Helper()
		it, err := e.add(e.file(name, "content of "+name), zzz)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.q.Claim(ctx); err != nil {
			t.Fatal(err)
		}
		sent, err := e.q.MarkSent(ctx, it.ID, "doc-"+name)
		if err != nil {
			t.Fatal(err)
		}
		return sent
	}
	old := send("old.jpg")
	// A spool copy whose removal at MarkSent failed is removed with its row.
	os.WriteFile(old.SpoolPath, []byte("left behind"), 0o600)
	waiting, _ := e.add(e.file("waiting.jpg", "never confirmed"), zzz)
	parked, _ := e.add(e.file("parked.jpg", "refused by ALEX"), zzz)
	e.q.Claim(ctx)
	e.q.Claim(ctx)
	if _, err := e.q.Park(ctx, parked.ID, "refused", "refused"); err != nil {
		t.Fatal(err)
	}
	unassigned, _ := e.add(e.file("nobody.jpg", "no patient"), Patient{})

	e.clock.Add(period - time.Hour)
	recent := send("recent.jpg")
	if n, err := e.q.PruneSent(ctx, e.clock.Now().Add(-period)); err != nil || n != 0 {
		t.Fatalf("pruned %d (%v) before the period had passed", n, err)
	}
	e.clock.Add(2 * time.Hour)
	n, err := e.q.PruneSent(ctx, e.clock.Now().Add(-period))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want the one sent over 90 days ago", n, err)
	}
	if _, err := e.q.Get(ctx, old.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the old sent row survived: %v", err)
	}
	if _, err := os.Stat(old.SpoolPath); !os.IsNotExist(err) {
		t.Fatal("the old sent item's spool copy survived")
	}
	if it, err := e.q.Get(ctx, recent.ID); err != nil || it.State != StateSent {
		t.Fatalf("a recent sent item went: %v", err)
	}
	// 91 days on, the unsent items are all still there with their spool copies.
	for _, it := range []Item{waiting, parked, unassigned} {
		got, err := e.q.Get(ctx, it.ID)
		if err != nil || got.State == StateSent {
			t.Fatalf("%s: %+v %v", it.FileName, got.State, err)
		}
		if _, err := os.Stat(it.SpoolPath); err != nil {
			t.Fatalf("%s lost its spool copy: %v", it.FileName, err)
		}
	}
	if a, err := e.q.Audit(ctx); err != nil || !a.OK() {
		t.Fatalf("queue audit after pruning: %+v %v", a, err)
	}
}

func TestPruneSentInBatches(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := 0; i < pruneBatch+20; i++ {
		_, err := e.q.db.ExecContext(ctx, `INSERT INTO items(id, state, source, file_name, spool_name, size, sha256, correlation, added, updated, sent)
			VALUES(?, 'sent', 'Scanner', 'x.jpg', '', 1, ?, 'c', 1, 1, ?)`, newID(), newID(), e.clock.Now().UnixNano())
		if err != nil {
			t.Fatal(err)
		}
	}
	n, err := e.q.PruneSent(ctx, e.clock.Now().Add(time.Second))
	if err != nil || n != pruneBatch+20 {
		t.Fatalf("pruned %d (%v)", n, err)
	}
}
