// Package audit keeps the relay's audit trail in its store: who did what, with what
// outcome, how big and how long, and the ids support needs (correlation id, ALEX
// resource id). A patient appears only as a keyed hash (redact.Hash), so the trail
// can show that two calls concerned the same patient without naming them.
package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/clinicpro/medtech-images/internal/redact"
)

// Record is one audited operation.
type Record struct {
	At          time.Time
	Connector   string
	Facility    string
	Operation   string // enrol, token, launch, lookup, upload, read, health; practice.add etc. for the operator's commands
	Outcome     string // ok, replayed, or an api error code
	Status      int
	BytesIn     int64
	BytesOut    int64
	Duration    time.Duration
	Correlation string
	ALEXID      string // the ALEX resource written or read, if any
	PatientHash string // set with Log.PatientHash, never the identifier itself
}

// Store keeps the records.
type Store interface {
	AuditAdd(ctx context.Context, r Record) error
	// AuditLastSuccess is the newest ok or replayed ALEX-reaching operation of facility.
	AuditLastSuccess(ctx context.Context, facility string) (time.Time, error)
	// AuditRecent returns the newest n records, newest first.
	AuditRecent(ctx context.Context, n int) ([]Record, error)
	// AuditPrune deletes up to batch of the oldest records from before before.
	AuditPrune(ctx context.Context, before time.Time, batch int) (int64, error)
	AuditCount(ctx context.Context) (int64, error)
}

// Log is the audit log.
type Log struct {
	st  Store
	key []byte
}

// New returns the audit log over st. key keys the patient hashes; keep it with the
// relay's secrets (every relay sharing a store needs the same key), it makes the
// hashes useless to anyone without it.
func New(st Store, key []byte) (*Log, error) {
	if len(key) < 16 {
		return nil, fmt.Errorf("the audit hash key must be at least 16 bytes: set audit_key_file in the relay configuration")
	}
	return &Log{st: st, key: key}, nil
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
	return l.st.AuditAdd(ctx, r)
}

// LastSuccess returns when an operation that reached ALEX last succeeded for facility.
func (l *Log) LastSuccess(ctx context.Context, facility string) (time.Time, error) {
	return l.st.AuditLastSuccess(ctx, facility)
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
		n, err := l.st.AuditPrune(ctx, before, PruneBatch)
		total += n
		if err != nil || n < PruneBatch {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Count returns the number of rows (for tests and the benchmark).
func (l *Log) Count(ctx context.Context) (int64, error) { return l.st.AuditCount(ctx) }

// Recent returns the newest n records, newest first (for tests and support).
func (l *Log) Recent(ctx context.Context, n int) ([]Record, error) { return l.st.AuditRecent(ctx, n) }
