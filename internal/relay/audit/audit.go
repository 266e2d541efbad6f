// Package audit keeps the relay's audit trail in SQLite: who did what, with what
// outcome, how big and how long, and the ids support needs (correlation id, ALEX
// resource id). A patient appears only as a keyed hash (redact.Hash), so the trail
// can show that two calls concerned the same patient without naming them.
package audit

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/clinicpro/medtech-images/internal/redact"
)

// Record is one audited operation.
type Record struct {
	At          time.Time
	Connector   string
	Facility    string
	Operation   string // enrol, token, launch, lookup, upload, read, health
	Outcome     string // ok, replayed, or an api error code
	Status      int
	BytesIn     int64
	BytesOut    int64
	Duration    time.Duration
	Correlation string
	ALEXID      string // the ALEX resource written or read, if any
	PatientHash string // set with Log.PatientHash, never the identifier itself
}

// Log is the audit log.
type Log struct {
	db  *sql.DB
	key []byte
}

// New creates the audit table in db if needed. key keys the patient hashes; keep it
// with the relay's secrets, it makes the hashes useless to anyone without it.
func New(db *sql.DB, key []byte) (*Log, error) {
	if len(key) < 16 {
		return nil, fmt.Errorf("the audit hash key must be at least 16 bytes: set audit_key_file in the relay configuration")
	}
	_, err := db.Exec(`
CREATE TABLE IF NOT EXISTS audit (
	id INTEGER PRIMARY KEY,
	at INTEGER NOT NULL,
	connector_id TEXT NOT NULL,
	facility TEXT NOT NULL,
	operation TEXT NOT NULL,
	outcome TEXT NOT NULL,
	status INTEGER NOT NULL,
	bytes_in INTEGER NOT NULL,
	bytes_out INTEGER NOT NULL,
	duration_us INTEGER NOT NULL,
	correlation TEXT NOT NULL,
	alex_id TEXT NOT NULL,
	patient_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_facility_ok ON audit(facility, outcome, at);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);`)
	if err != nil {
		return nil, fmt.Errorf("create audit table: %w", err)
	}
	return &Log{db: db, key: key}, nil
}

// PatientHash returns the keyed hash recorded for a patient identifier ("" for "").
func (l *Log) PatientHash(id string) string {
	if id == "" {
		return ""
	}
	return redact.Hash(l.key, id)
}

// Add appends r.
func (l *Log) Add(ctx context.Context, r Record) error {
	if r.At.IsZero() {
		r.At = time.Now()
	}
	_, err := l.db.ExecContext(ctx, `INSERT INTO audit(at, connector_id, facility, operation, outcome, status, bytes_in, bytes_out, duration_us, correlation, alex_id, patient_hash)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.At.UTC().UnixNano(), r.Connector, r.Facility, r.Operation, r.Outcome, r.Status, r.BytesIn, r.BytesOut,
		r.Duration.Microseconds(), r.Correlation, r.ALEXID, r.PatientHash)
	return err
}

// LastSuccess returns when an operation that reached ALEX last succeeded for facility.
func (l *Log) LastSuccess(ctx context.Context, facility string) (time.Time, error) {
	var at sql.NullInt64
	err := l.db.QueryRowContext(ctx, `SELECT max(at) FROM audit WHERE facility=? AND outcome IN ('ok','replayed') AND operation IN ('launch','lookup','upload','read','health')`, facility).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, err
	}
	return time.Unix(0, at.Int64).UTC(), nil
}

// PruneBatch is how many rows one pruning statement deletes: small enough that the
// uploads' own statements, queued behind it, wait a few milliseconds at most.
const PruneBatch = 500

// Prune deletes the rows older than before, PruneBatch at a time, pausing between
// batches so uploads are never held behind one long delete. It returns the number of
// rows deleted.
func (l *Log) Prune(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := l.db.ExecContext(ctx, `DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? ORDER BY id LIMIT ?)`,
			before.UTC().UnixNano(), PruneBatch)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
		if n < PruneBatch {
			return total, nil
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Count returns the number of rows (for tests and the benchmark).
func (l *Log) Count(ctx context.Context) (int64, error) {
	var n int64
	err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM audit`).Scan(&n)
	return n, err
}

// Recent returns the newest n records, newest first (for tests and `connector audit`).
func (l *Log) Recent(ctx context.Context, n int) ([]Record, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT at, connector_id, facility, operation, outcome, status, bytes_in, bytes_out, duration_us, correlation, alex_id, patient_hash
		FROM audit ORDER BY id DESC LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var at, us int64
		if err := rows.Scan(&at, &r.Connector, &r.Facility, &r.Operation, &r.Outcome, &r.Status, &r.BytesIn, &r.BytesOut, &us, &r.Correlation, &r.ALEXID, &r.PatientHash); err != nil {
			return nil, err
		}
		r.At, r.Duration = time.Unix(0, at).UTC(), time.Duration(us)*time.Microsecond
		out = append(out, r)
	}
	return out, rows.Err()
}
