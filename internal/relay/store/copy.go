package store

import (
	"context"
	"fmt"
	"strings"
)

// copied are the tables migrate-store moves, parents first, with their columns.
// Tokens are left behind: they last minutes, and agents fetch new ones on the first
// refusal.
var copied = []struct{ table, cols, order string }{
	{"connectors", `id, facility, name, status, secret_hash, created, enrolled, practice_id, last_seen`, "id"},
	{"practices", `id, facility, name, code_hash, pcs, enrolled, expires, status, created`, "id"},
	{"enrolment_codes", `code_hash, connector_id, expires, used`, "code_hash"},
	{"ledger", ledgerCols, "connector_id, key"},
	{"audit", `id, at, connector_id, facility, operation, outcome, status, bytes_in, bytes_out, duration_us, correlation, alex_id, patient_hash`, "id"},
}

// Counts is how many rows of each table were copied.
type Counts map[string]int64

// CopyTo copies every connector, practice, code, ledger entry and audit row into
// dst, which must be empty (for a practice base moving off one box onto PostgreSQL:
// stop the relay, copy, point relay.toml at the new store, start).
func (s *Store) CopyTo(ctx context.Context, dst *Store) (Counts, error) {
	for _, t := range copied {
		var n int64
		if err := dst.queryRow(ctx, `SELECT count(*) FROM `+t.table).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, fmt.Errorf("the target store already has %d rows in %s: copy only into an empty store", n, t.table)
		}
	}
	out := Counts{}
	for _, t := range copied {
		n, err := s.copyTable(ctx, dst, t.table, t.cols, t.order)
		out[t.table] = n
		if err != nil {
			return out, fmt.Errorf("copying %s: %w", t.table, err)
		}
	}
	if dst.kind == Postgres {
		// Rows kept their ids; new ones continue after them.
		if _, err := dst.exec(ctx, `SELECT setval(pg_get_serial_sequence('audit', 'id'), coalesce(max(id), 0) + 1, false) FROM audit`); err != nil {
			return out, err
		}
	}
	return out, nil
}

func (s *Store) copyTable(ctx context.Context, dst *Store, table, cols, order string) (int64, error) {
	rows, err := s.query(ctx, `SELECT `+cols+` FROM `+table+` ORDER BY `+order)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	ncol := len(strings.Split(cols, ","))
	insert := `INSERT INTO ` + table + `(` + cols + `) VALUES(` + strings.TrimSuffix(strings.Repeat("?,", ncol), ",") + `)`
	vals := make([]any, ncol)
	ptrs := make([]any, ncol)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	var t *tx
	defer func() {
		if t != nil {
			t.Rollback()
		}
	}()
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		if t == nil {
			if t, err = dst.begin(ctx); err != nil {
				return n, err
			}
		}
		if _, err := t.exec(ctx, insert, vals...); err != nil {
			return n, err
		}
		n++
		if n%1000 == 0 {
			if err := t.Commit(); err != nil {
				return n, err
			}
			t = nil
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	if t != nil {
		err = t.Commit()
		t = nil
	}
	return n, err
}
