package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/ledger"
)

var _ ledger.Store = (*Store)(nil)

// LedgerInsert implements ledger.Store: the primary key (connector, key) lets
// exactly one insert of a key succeed, whichever relay makes it.
func (s *Store) LedgerInsert(ctx context.Context, e ledger.Entry) (bool, error) {
	n, err := affected(s.exec(ctx, `INSERT INTO ledger(connector_id, key, state, sha256, size, content_type, correlation, created, updated, owner, lease_until)
		VALUES(?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(connector_id, key) DO NOTHING`,
		e.Connector, e.Key, e.State, e.SHA256, e.Size, e.ContentType, e.Correlation, nanos(e.Created), nanos(e.Updated), e.Owner, nanos(e.LeaseUntil)))
	return n == 1, err
}

const ledgerCols = `connector_id, key, state, sha256, size, content_type, doc_id, correlation, created, updated, owner, lease_until, proof`

func (s *Store) ledgerOne(ctx context.Context, where string, args ...any) (ledger.Entry, error) {
	var e ledger.Entry
	var created, updated, lease int64
	err := s.queryRow(ctx, `SELECT `+ledgerCols+` FROM ledger `+where, args...).
		Scan(&e.Connector, &e.Key, &e.State, &e.SHA256, &e.Size, &e.ContentType, &e.DocID, &e.Correlation, &created, &updated, &e.Owner, &lease, &e.Proof)
	if errors.Is(err, sql.ErrNoRows) {
		return ledger.Entry{}, ledger.ErrNotFound
	}
	e.Created, e.Updated, e.LeaseUntil = fromNanos(created), fromNanos(updated), fromNanos(lease)
	return e, err
}

// LedgerGet implements ledger.Store.
func (s *Store) LedgerGet(ctx context.Context, connector, key string) (ledger.Entry, error) {
	return s.ledgerOne(ctx, `WHERE connector_id=? AND key=?`, connector, key)
}

// LedgerByDocID implements ledger.Store.
func (s *Store) LedgerByDocID(ctx context.Context, connector, id string) (ledger.Entry, error) {
	return s.ledgerOne(ctx, `WHERE connector_id=? AND doc_id=? AND state=?`, connector, id, ledger.Done)
}

// LedgerTakeOver implements ledger.Store in one conditional UPDATE, so of two relays
// finding the same lapsed lease one takes it.
func (s *Store) LedgerTakeOver(ctx context.Context, connector, key, owner string, now, until time.Time) (bool, error) {
	n, err := affected(s.exec(ctx, `UPDATE ledger SET owner=?, lease_until=?, updated=?
		WHERE connector_id=? AND key=? AND state<>? AND (lease_until<? OR owner=?)`,
		owner, nanos(until), nanos(now), connector, key, ledger.Done, nanos(now), owner))
	return n == 1, err
}

// LedgerRenew implements ledger.Store.
func (s *Store) LedgerRenew(ctx context.Context, connector, key, owner string, until time.Time) error {
	_, err := s.exec(ctx, `UPDATE ledger SET lease_until=? WHERE connector_id=? AND key=? AND owner=? AND state=?`,
		nanos(until), connector, key, owner, ledger.Pending)
	return err
}

// LedgerSettle implements ledger.Store.
func (s *Store) LedgerSettle(ctx context.Context, connector, key string, st ledger.State, docID string, now time.Time) error {
	n, err := affected(s.exec(ctx, `UPDATE ledger SET state=?, doc_id=?, updated=?, owner='', lease_until=0 WHERE connector_id=? AND key=?`,
		st, docID, nanos(now), connector, key))
	if err == nil && n == 0 {
		err = ledger.ErrNotFound
	}
	return err
}

// LedgerRelease implements ledger.Store.
func (s *Store) LedgerRelease(ctx context.Context, connector, key string) error {
	_, err := s.exec(ctx, `DELETE FROM ledger WHERE connector_id=? AND key=? AND state=?`, connector, key, ledger.Pending)
	return err
}

// LedgerProve implements ledger.Store.
func (s *Store) LedgerProve(ctx context.Context, connector, key, proof string) error {
	_, err := s.exec(ctx, `UPDATE ledger SET proof=? WHERE connector_id=? AND key=? AND state=?`, proof, connector, key, ledger.Done)
	return err
}
