package queue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// pruneBatch is how many items one pruning transaction removes, so the uploader's
// own commits never wait long behind it.
const pruneBatch = 500

// PruneSent removes the items sent before before, with any spool copy they still
// have (MarkSent removes it; this catches one whose removal failed). Only items in
// state sent are touched: ALEX confirmed them, and their read-back matched. Nothing
// queued, parked, unassigned or rejected is ever pruned. It returns how many went.
func (q *Queue) PruneSent(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		n, err := q.pruneBatch(ctx, before)
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}

func (q *Queue) pruneBatch(ctx context.Context, before time.Time) (int, error) {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("cannot prune the queue: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, spool_name FROM items WHERE state='sent' AND sent>0 AND sent<? ORDER BY sent LIMIT ?`,
		before.UnixNano(), pruneBatch)
	if err != nil {
		return 0, fmt.Errorf("cannot prune the queue: %w", err)
	}
	var ids, spools []string
	for rows.Next() {
		var id, spool string
		if err := rows.Scan(&id, &spool); err != nil {
			rows.Close()
			return 0, err
		}
		ids, spools = append(ids, id), append(spools, spool)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM items WHERE id=? AND state='sent'`, id); err != nil {
			return 0, fmt.Errorf("cannot prune the queue: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("cannot prune the queue: %w", err)
	}
	// After the commit: a crash between the two leaves a stray copy, which Open removes.
	for _, s := range spools {
		if s != "" {
			_ = os.Remove(filepath.Join(q.spool, s))
		}
	}
	return len(ids), nil
}
