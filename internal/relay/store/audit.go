package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/audit"
)

var _ audit.Store = (*Store)(nil)

// AuditAdd implements audit.Store.
func (s *Store) AuditAdd(ctx context.Context, r audit.Record) error {
	_, err := s.exec(ctx, `INSERT INTO audit(at, connector_id, facility, operation, outcome, status, bytes_in, bytes_out, duration_us, correlation, alex_id, patient_hash)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`,
		nanos(r.At), r.Connector, r.Facility, r.Operation, r.Outcome, r.Status, r.BytesIn, r.BytesOut,
		r.Duration.Microseconds(), r.Correlation, r.ALEXID, r.PatientHash)
	return err
}

// AuditLastSuccess implements audit.Store.
func (s *Store) AuditLastSuccess(ctx context.Context, facility string) (time.Time, error) {
	var at sql.NullInt64
	err := s.queryRow(ctx, `SELECT max(at) FROM audit WHERE facility=? AND outcome IN ('ok','replayed') AND operation IN ('launch','lookup','upload','read','health')`, facility).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, err
	}
	return fromNanos(at.Int64), nil
}

// AuditRecent implements audit.Store.
func (s *Store) AuditRecent(ctx context.Context, n int) ([]audit.Record, error) {
	rows, err := s.query(ctx, `SELECT at, connector_id, facility, operation, outcome, status, bytes_in, bytes_out, duration_us, correlation, alex_id, patient_hash
		FROM audit ORDER BY id DESC LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		var r audit.Record
		var at, us int64
		if err := rows.Scan(&at, &r.Connector, &r.Facility, &r.Operation, &r.Outcome, &r.Status, &r.BytesIn, &r.BytesOut, &us, &r.Correlation, &r.ALEXID, &r.PatientHash); err != nil {
			return nil, err
		}
		r.At, r.Duration = fromNanos(at), time.Duration(us)*time.Microsecond
		out = append(out, r)
	}
	return out, rows.Err()
}

// AuditPrune implements audit.Store.
func (s *Store) AuditPrune(ctx context.Context, before time.Time, batch int) (int64, error) {
	return affected(s.exec(ctx, `DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? ORDER BY id LIMIT ?)`, nanos(before), batch))
}

// AuditCount implements audit.Store.
func (s *Store) AuditCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.queryRow(ctx, `SELECT count(*) FROM audit`).Scan(&n)
	return n, err
}
