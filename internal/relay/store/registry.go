package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/registry"
)

var _ registry.Store = (*Store)(nil)

const connectorCols = `id, facility, name, status, created, enrolled, practice_id, last_seen`

type scanner interface{ Scan(...any) error }

func scanConnector(sc scanner, extra ...any) (registry.Connector, error) {
	var c registry.Connector
	var created, enrolled, seen int64
	dst := append([]any{&c.ID, &c.Facility, &c.Name, &c.Status, &created, &enrolled, &c.Practice, &seen}, extra...)
	if err := sc.Scan(dst...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return c, registry.ErrNotFound
		}
		return c, err
	}
	c.Created, c.Enrolled, c.LastSeen = fromNanos(created), fromNanos(enrolled), fromNanos(seen)
	return c, nil
}

// AddConnector implements registry.Store.
func (s *Store) AddConnector(ctx context.Context, c registry.Connector, codeHash []byte, codeExpires time.Time) error {
	t, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer t.Rollback()
	if _, err := t.exec(ctx, `INSERT INTO connectors(id, facility, name, status, created, practice_id) VALUES(?,?,?,?,?,?)`,
		c.ID, c.Facility, c.Name, c.Status, nanos(c.Created), c.Practice); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `INSERT INTO enrolment_codes(code_hash, connector_id, expires) VALUES(?,?,?)`, codeHash, c.ID, nanos(codeExpires)); err != nil {
		return err
	}
	return t.Commit()
}

// SetCode implements registry.Store.
func (s *Store) SetCode(ctx context.Context, id string, codeHash []byte, expires time.Time) error {
	t, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer t.Rollback()
	// Only the newest code may be used.
	if _, err := t.exec(ctx, `DELETE FROM enrolment_codes WHERE connector_id=?`, id); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `INSERT INTO enrolment_codes(code_hash, connector_id, expires) VALUES(?,?,?)`, codeHash, id, nanos(expires)); err != nil {
		return err
	}
	return t.Commit()
}

// RevokeConnector implements registry.Store.
func (s *Store) RevokeConnector(ctx context.Context, id string) error {
	t, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer t.Rollback()
	n, err := affected(t.exec(ctx, `UPDATE connectors SET status=?, secret_hash=NULL WHERE id=?`, registry.Revoked, id))
	if err != nil {
		return err
	}
	if n == 0 {
		return registry.ErrNotFound
	}
	if _, err := t.exec(ctx, `DELETE FROM tokens WHERE connector_id=?`, id); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `DELETE FROM enrolment_codes WHERE connector_id=?`, id); err != nil {
		return err
	}
	if err := s.notifyRevoke(ctx, t); err != nil {
		return err
	}
	return t.Commit()
}

// Connector implements registry.Store.
func (s *Store) Connector(ctx context.Context, id string) (registry.Connector, error) {
	return scanConnector(s.queryRow(ctx, `SELECT `+connectorCols+` FROM connectors WHERE id=?`, id))
}

// Connectors implements registry.Store.
func (s *Store) Connectors(ctx context.Context, practice string) ([]registry.Connector, error) {
	q, args := `SELECT `+connectorCols+` FROM connectors ORDER BY created, id`, []any{}
	if practice != "" {
		q, args = `SELECT `+connectorCols+` FROM connectors WHERE practice_id=? ORDER BY created, id`, []any{practice}
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []registry.Connector
	for rows.Next() {
		c, err := scanConnector(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ConnectorSecret implements registry.Store.
func (s *Store) ConnectorSecret(ctx context.Context, id string) (registry.Connector, []byte, error) {
	var h []byte
	c, err := scanConnector(s.queryRow(ctx, `SELECT `+connectorCols+`, secret_hash FROM connectors WHERE id=?`, id), &h)
	return c, h, err
}

// Redeem implements registry.Store. Each kind of code is spent by one conditional
// UPDATE, which both databases apply atomically: of two relays redeeming the last
// use of a code at once, one changes the row and the other finds nothing to change.
func (s *Store) Redeem(ctx context.Context, codeHash, secretHash []byte, pc registry.Connector, now time.Time) (registry.Connector, error) {
	t, err := s.begin(ctx)
	if err != nil {
		return registry.Connector{}, err
	}
	defer t.Rollback()
	var id string
	err = t.queryRow(ctx, `UPDATE enrolment_codes SET used=? WHERE code_hash=? AND used=0 AND expires>? RETURNING connector_id`,
		nanos(now), codeHash, nanos(now)).Scan(&id)
	switch {
	case err == nil:
		n, err := affected(t.exec(ctx, `UPDATE connectors SET status=?, secret_hash=?, enrolled=? WHERE id=? AND status<>?`,
			registry.Active, secretHash, nanos(now), id, registry.Revoked))
		if err != nil {
			return registry.Connector{}, err
		}
		if n == 0 {
			return registry.Connector{}, registry.ErrRevoked
		}
		// A rotation: the connector's earlier tokens end with its earlier secret.
		if _, err := t.exec(ctx, `DELETE FROM tokens WHERE connector_id=?`, id); err != nil {
			return registry.Connector{}, err
		}
		if err := s.notifyRevoke(ctx, t); err != nil {
			return registry.Connector{}, err
		}
		c, err := scanConnector(t.queryRow(ctx, `SELECT `+connectorCols+` FROM connectors WHERE id=?`, id))
		if err != nil {
			return registry.Connector{}, err
		}
		return c, t.Commit()
	case !errors.Is(err, sql.ErrNoRows):
		return registry.Connector{}, err
	}
	var expires, used int64
	err = t.queryRow(ctx, `SELECT expires, used FROM enrolment_codes WHERE code_hash=?`, codeHash).Scan(&expires, &used)
	switch {
	case err == nil && used != 0:
		return registry.Connector{}, registry.ErrCodeUsed
	case err == nil:
		return registry.Connector{}, registry.ErrCodeExpired
	case !errors.Is(err, sql.ErrNoRows):
		return registry.Connector{}, err
	}
	return s.redeemPractice(ctx, t, codeHash, secretHash, pc, now)
}

func (s *Store) redeemPractice(ctx context.Context, t *tx, codeHash, secretHash []byte, pc registry.Connector, now time.Time) (registry.Connector, error) {
	err := t.queryRow(ctx, `UPDATE practices SET enrolled=enrolled+1 WHERE code_hash=? AND status=? AND enrolled<pcs AND expires>? RETURNING id, facility`,
		codeHash, registry.Active, nanos(now)).Scan(&pc.Practice, &pc.Facility)
	if errors.Is(err, sql.ErrNoRows) {
		var status string
		var enrolled, pcs int
		var expires int64
		var p registry.Connector
		err = t.queryRow(ctx, `SELECT id, facility, status, enrolled, pcs, expires FROM practices WHERE code_hash=?`, codeHash).
			Scan(&p.Practice, &p.Facility, &status, &enrolled, &pcs, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return registry.Connector{}, registry.ErrCodeUnknown
		case err != nil:
			return registry.Connector{}, err
		case status != string(registry.Active):
			return p, registry.ErrPracticeRevoked
		case expires <= nanos(now):
			return p, registry.ErrCodeExpired
		}
		return p, registry.ErrPracticeFull
	}
	if err != nil {
		return registry.Connector{}, err
	}
	pc.Status, pc.Created, pc.Enrolled = registry.Active, now.UTC(), now.UTC()
	if _, err := t.exec(ctx, `INSERT INTO connectors(id, facility, name, status, secret_hash, created, enrolled, practice_id) VALUES(?,?,?,?,?,?,?,?)`,
		pc.ID, pc.Facility, pc.Name, pc.Status, secretHash, nanos(pc.Created), nanos(pc.Enrolled), pc.Practice); err != nil {
		return registry.Connector{}, err
	}
	return pc, t.Commit()
}

const practiceCols = `id, facility, name, pcs, enrolled, expires, status, created`

func scanPractice(sc scanner) (registry.Practice, error) {
	var p registry.Practice
	var expires, created int64
	if err := sc.Scan(&p.ID, &p.Facility, &p.Name, &p.PCs, &p.Enrolled, &expires, &p.Status, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return p, registry.ErrPracticeNotFound
		}
		return p, err
	}
	p.Expires, p.Created = fromNanos(expires), fromNanos(created)
	return p, nil
}

// AddPractice implements registry.Store.
func (s *Store) AddPractice(ctx context.Context, p registry.Practice, codeHash []byte) error {
	_, err := s.exec(ctx, `INSERT INTO practices(id, facility, name, code_hash, pcs, expires, status, created) VALUES(?,?,?,?,?,?,?,?)`,
		p.ID, p.Facility, p.Name, codeHash, p.PCs, nanos(p.Expires), p.Status, nanos(p.Created))
	return err
}

// Practice implements registry.Store.
func (s *Store) Practice(ctx context.Context, id string) (registry.Practice, error) {
	return scanPractice(s.queryRow(ctx, `SELECT `+practiceCols+` FROM practices WHERE id=?`, id))
}

// Practices implements registry.Store.
func (s *Store) Practices(ctx context.Context) ([]registry.Practice, error) {
	rows, err := s.query(ctx, `SELECT `+practiceCols+` FROM practices ORDER BY created, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []registry.Practice
	for rows.Next() {
		p, err := scanPractice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RevokePractice implements registry.Store.
func (s *Store) RevokePractice(ctx context.Context, id string) error {
	t, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer t.Rollback()
	n, err := affected(t.exec(ctx, `UPDATE practices SET status=? WHERE id=?`, registry.Revoked, id))
	if err != nil {
		return err
	}
	if n == 0 {
		return registry.ErrPracticeNotFound
	}
	if _, err := t.exec(ctx, `DELETE FROM tokens WHERE connector_id IN (SELECT id FROM connectors WHERE practice_id=?)`, id); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `UPDATE connectors SET status=?, secret_hash=NULL WHERE practice_id=?`, registry.Revoked, id); err != nil {
		return err
	}
	if err := s.notifyRevoke(ctx, t); err != nil {
		return err
	}
	return t.Commit()
}

// AddToken implements registry.Store.
func (s *Store) AddToken(ctx context.Context, tokenHash []byte, id string, expires, now time.Time) error {
	if _, err := s.exec(ctx, `INSERT INTO tokens(token_hash, connector_id, expires) VALUES(?,?,?)`, tokenHash, id, nanos(expires)); err != nil {
		return err
	}
	// Expired tokens are dead weight; sweeping on issue keeps the table small without
	// a background job. Last seen moves with each token, every TokenTTL at most.
	if _, err := s.exec(ctx, `DELETE FROM tokens WHERE expires < ?`, nanos(now)); err != nil {
		return err
	}
	_, err := s.exec(ctx, `UPDATE connectors SET last_seen=? WHERE id=?`, nanos(now), id)
	return err
}

// TokenConnector implements registry.Store.
func (s *Store) TokenConnector(ctx context.Context, tokenHash []byte) (registry.Connector, time.Time, error) {
	var expires int64
	c, err := scanConnector(s.queryRow(ctx, `SELECT c.id, c.facility, c.name, c.status, c.created, c.enrolled, c.practice_id, c.last_seen, t.expires
		FROM tokens t JOIN connectors c ON c.id = t.connector_id WHERE t.token_hash=?`, tokenHash), &expires)
	return c, fromNanos(expires), err
}
