// Package registry holds the relay's connectors (one per practice install, bound to
// one HPI facility), their one-time enrolment codes, hashed client secrets and the
// short-lived access tokens issued to them.
//
// Codes, secrets and tokens are stored only as SHA-256 hashes. They are random with
// at least 50 bits (codes, which also expire in 72 hours and are single use) or 256
// bits (secrets, tokens) of entropy, so a fast hash is enough: there is nothing to
// brute-force that a slow password hash would protect, and token checks stay cheap.
package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Durations fixed by the product.
const (
	CodeTTL = 72 * time.Hour
)

// Status of a connector.
type Status string

const (
	Pending Status = "pending" // added, enrolment code not yet used
	Active  Status = "active"
	Revoked Status = "revoked"
)

// Connector is one practice install.
type Connector struct {
	ID       string // also the OAuth2 client id
	Facility string // HPI facility id, e.g. F2N060-E
	Name     string
	Status   Status
	Created  time.Time
	Enrolled time.Time // zero until the first enrolment
}

// Errors callers map to responses. Their text is safe to show.
var (
	ErrBadFacility  = errors.New("the facility must be an HPI facility id such as F2N060-E")
	ErrNotFound     = errors.New("no such connector")
	ErrRevoked      = errors.New("the connector was revoked")
	ErrCodeUnknown  = errors.New("the enrolment code is not known: check it was typed as printed")
	ErrCodeUsed     = errors.New("the enrolment code was already used: ask the relay operator for a new one")
	ErrCodeExpired  = errors.New("the enrolment code expired: ask the relay operator for a new one")
	ErrBadSecret    = errors.New("unknown client or wrong secret")
	ErrTokenInvalid = errors.New("the access token is unknown, expired or revoked")
)

var facilityRe = regexp.MustCompile(`^F[0-9A-Z]{2}[0-9]{3}-[A-Z]$`)

// ValidFacility reports whether s has the shape of an HPI facility id.
func ValidFacility(s string) bool { return facilityRe.MatchString(s) }

// Registry is the connector registry in the relay's SQLite database.
type Registry struct {
	db  *sql.DB
	now func() time.Time
}

// New creates the registry's tables in db if needed.
func New(db *sql.DB) (*Registry, error) {
	_, err := db.Exec(`
CREATE TABLE IF NOT EXISTS connectors (
	id TEXT PRIMARY KEY,
	facility TEXT NOT NULL,
	name TEXT NOT NULL,
	status TEXT NOT NULL,
	secret_hash BLOB,
	created INTEGER NOT NULL,
	enrolled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS enrolment_codes (
	code_hash BLOB PRIMARY KEY,
	connector_id TEXT NOT NULL REFERENCES connectors(id),
	expires INTEGER NOT NULL,
	used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens (
	token_hash BLOB PRIMARY KEY,
	connector_id TEXT NOT NULL REFERENCES connectors(id),
	expires INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_connector ON tokens(connector_id);`)
	if err != nil {
		return nil, fmt.Errorf("create registry tables: %w", err)
	}
	return &Registry{db: db, now: time.Now}, nil
}

// SetClock replaces the clock, for tests of expiry.
func (r *Registry) SetClock(now func() time.Time) { r.now = now }

// Add creates a pending connector for facility and returns it with its one-time
// enrolment code.
func (r *Registry) Add(ctx context.Context, facility, name string) (Connector, string, error) {
	facility = strings.ToUpper(strings.TrimSpace(facility))
	if !ValidFacility(facility) {
		return Connector{}, "", ErrBadFacility
	}
	c := Connector{ID: "cpc_" + randomHex(10), Facility: facility, Name: strings.TrimSpace(name), Status: Pending, Created: r.now().UTC()}
	code := newCode()
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return Connector{}, "", err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO connectors(id, facility, name, status, created) VALUES(?,?,?,?,?)`,
		c.ID, c.Facility, c.Name, c.Status, c.Created.UnixNano()); err != nil {
		return Connector{}, "", err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO enrolment_codes(code_hash, connector_id, expires) VALUES(?,?,?)`,
		hash(NormalizeCode(code)), c.ID, c.Created.Add(CodeTTL).UnixNano()); err != nil {
		return Connector{}, "", err
	}
	return c, code, tx.Commit()
}

// Rotate issues a new enrolment code for an existing connector. Its current secret
// keeps working until the new code is redeemed, so a practice is not cut off while
// the code travels; redeeming it replaces the secret and ends every token.
func (r *Registry) Rotate(ctx context.Context, id string) (string, error) {
	c, err := r.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if c.Status == Revoked {
		return "", ErrRevoked
	}
	code := newCode()
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	// Only the newest code may be used.
	if _, err := tx.ExecContext(ctx, `DELETE FROM enrolment_codes WHERE connector_id=?`, id); err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO enrolment_codes(code_hash, connector_id, expires) VALUES(?,?,?)`,
		hash(NormalizeCode(code)), id, r.now().Add(CodeTTL).UnixNano()); err != nil {
		return "", err
	}
	return code, tx.Commit()
}

// Revoke ends a connector for good: its secret, tokens and codes stop working at once.
func (r *Registry) Revoke(ctx context.Context, id string) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE connectors SET status=?, secret_hash=NULL WHERE id=?`, Revoked, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE connector_id=?`, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM enrolment_codes WHERE connector_id=?`, id); err != nil {
		return err
	}
	return tx.Commit()
}

// Get returns one connector.
func (r *Registry) Get(ctx context.Context, id string) (Connector, error) {
	row := r.db.QueryRowContext(ctx, `SELECT id, facility, name, status, created, enrolled FROM connectors WHERE id=?`, id)
	c, err := scanConnector(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Connector{}, ErrNotFound
	}
	return c, err
}

// List returns every connector, oldest first.
func (r *Registry) List(ctx context.Context) ([]Connector, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT id, facility, name, status, created, enrolled FROM connectors ORDER BY created, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Connector
	for rows.Next() {
		c, err := scanConnector(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Enrol redeems a code: it is spent, the connector becomes active with a new secret
// (returned once, stored hashed) and any earlier secret and tokens stop working.
func (r *Registry) Enrol(ctx context.Context, code string) (Connector, string, error) {
	h := hash(NormalizeCode(code))
	now := r.now()
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return Connector{}, "", err
	}
	defer tx.Rollback()
	var id string
	var expires, used int64
	err = tx.QueryRowContext(ctx, `SELECT connector_id, expires, used FROM enrolment_codes WHERE code_hash=?`, h).Scan(&id, &expires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Connector{}, "", ErrCodeUnknown
	case err != nil:
		return Connector{}, "", err
	case used != 0:
		return Connector{}, "", ErrCodeUsed
	case now.UnixNano() >= expires:
		return Connector{}, "", ErrCodeExpired
	}
	secret := newSecret()
	if _, err := tx.ExecContext(ctx, `UPDATE enrolment_codes SET used=? WHERE code_hash=?`, now.UnixNano(), h); err != nil {
		return Connector{}, "", err
	}
	res, err := tx.ExecContext(ctx, `UPDATE connectors SET status=?, secret_hash=?, enrolled=? WHERE id=? AND status<>?`,
		Active, hash(secret), now.UTC().UnixNano(), id, Revoked)
	if err != nil {
		return Connector{}, "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Connector{}, "", ErrRevoked
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE connector_id=?`, id); err != nil {
		return Connector{}, "", err
	}
	c, err := scanConnector(tx.QueryRowContext(ctx, `SELECT id, facility, name, status, created, enrolled FROM connectors WHERE id=?`, id))
	if err != nil {
		return Connector{}, "", err
	}
	return c, secret, tx.Commit()
}

// Authenticate checks a client id and secret. Unknown client, wrong secret and
// revoked connector all return ErrBadSecret so the answer reveals nothing.
func (r *Registry) Authenticate(ctx context.Context, clientID, secret string) (Connector, error) {
	var stored []byte
	var c Connector
	var created, enrolled int64
	err := r.db.QueryRowContext(ctx, `SELECT id, facility, name, status, created, enrolled, secret_hash FROM connectors WHERE id=?`, clientID).
		Scan(&c.ID, &c.Facility, &c.Name, &c.Status, &created, &enrolled, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		// Compare anyway so an unknown client takes as long as a known one.
		subtle.ConstantTimeCompare(hash(secret), hash("x"))
		return Connector{}, ErrBadSecret
	}
	if err != nil {
		return Connector{}, err
	}
	ok := len(stored) == sha256.Size && subtle.ConstantTimeCompare(hash(secret), stored) == 1
	if !ok || c.Status != Active {
		return Connector{}, ErrBadSecret
	}
	c.Created, c.Enrolled = fromNanos(created), fromNanos(enrolled)
	return c, nil
}

// IssueToken returns a new opaque access token for c, valid for ttl.
func (r *Registry) IssueToken(ctx context.Context, c Connector, ttl time.Duration) (string, time.Time, error) {
	tok := newSecret()
	now := r.now()
	exp := now.Add(ttl)
	if _, err := r.db.ExecContext(ctx, `INSERT INTO tokens(token_hash, connector_id, expires) VALUES(?,?,?)`,
		hash(tok), c.ID, exp.UnixNano()); err != nil {
		return "", time.Time{}, err
	}
	// Expired tokens are dead weight; sweeping on issue keeps the table small without
	// a background job.
	if _, err := r.db.ExecContext(ctx, `DELETE FROM tokens WHERE expires < ?`, now.UnixNano()); err != nil {
		return "", time.Time{}, err
	}
	return tok, exp, nil
}

// TokenConnector returns the active connector a token was issued to.
func (r *Registry) TokenConnector(ctx context.Context, token string) (Connector, error) {
	var c Connector
	var created, enrolled, expires int64
	err := r.db.QueryRowContext(ctx, `SELECT c.id, c.facility, c.name, c.status, c.created, c.enrolled, t.expires
		FROM tokens t JOIN connectors c ON c.id = t.connector_id WHERE t.token_hash=?`, hash(token)).
		Scan(&c.ID, &c.Facility, &c.Name, &c.Status, &created, &enrolled, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Connector{}, ErrTokenInvalid
	}
	if err != nil {
		return Connector{}, err
	}
	if c.Status != Active || r.now().UnixNano() >= expires {
		return Connector{}, ErrTokenInvalid
	}
	c.Created, c.Enrolled = fromNanos(created), fromNanos(enrolled)
	return c, nil
}

// Ping checks the database answers, for readiness.
func (r *Registry) Ping(ctx context.Context) error {
	var n int
	return r.db.QueryRowContext(ctx, `SELECT count(*) FROM connectors WHERE 0`).Scan(&n)
}

type scanner interface{ Scan(...any) error }

func scanConnector(s scanner) (Connector, error) {
	var c Connector
	var created, enrolled int64
	if err := s.Scan(&c.ID, &c.Facility, &c.Name, &c.Status, &created, &enrolled); err != nil {
		return Connector{}, err
	}
	c.Created, c.Enrolled = fromNanos(created), fromNanos(enrolled)
	return c, nil
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// codeAlphabet is Crockford's base 32: no I, L, O or U, so a code read aloud or
// copied from paper is hard to get wrong.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newCode returns 10 symbols (50 bits) as XXXXX-XXXXX.
func newCode() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	out := make([]byte, 0, 11)
	for i, v := range b {
		if i == 5 {
			out = append(out, '-')
		}
		out = append(out, codeAlphabet[v&31])
	}
	return string(out)
}

// NormalizeCode upper-cases a typed code, drops separators and maps the letters
// Crockford's alphabet leaves out to the digits they are mistaken for.
func NormalizeCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		b.WriteRune(r)
	}
	return b.String()
}
