// Package ledger makes document uploads idempotent. Each (connector, idempotency key)
// is claimed before ALEX is called and completed with ALEX's id after, in SQLite, so a
// replay returns the first result and a write whose outcome is unknown is looked up
// in ALEX before it is ever sent again.
package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// State of an entry.
type State string

const (
	// Pending: claimed, the ALEX write has not finished (or the relay stopped mid-way).
	Pending State = "pending"
	// Ambiguous: ALEX may have stored it; look it up before writing again.
	Ambiguous State = "ambiguous"
	// Done: stored in ALEX as DocID.
	Done State = "done"
)

// Entry is one idempotency key of one connector.
type Entry struct {
	Connector   string
	Key         string
	State       State
	SHA256      string
	Size        int64
	ContentType string
	DocID       string
	Correlation string // of the request that claimed it
	Created     time.Time
	Updated     time.Time
}

// ErrNotFound is returned when there is no entry.
var ErrNotFound = errors.New("no such document for this connector")

// Ledger is the idempotency ledger.
type Ledger struct{ db *sql.DB }

// New creates the ledger's table in db if needed.
func New(db *sql.DB) (*Ledger, error) {
	_, err := db.Exec(`
CREATE TABLE IF NOT EXISTS ledger (
	connector_id TEXT NOT NULL,
	key TEXT NOT NULL,
	state TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	size INTEGER NOT NULL,
	content_type TEXT NOT NULL,
	doc_id TEXT NOT NULL DEFAULT '',
	correlation TEXT NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	PRIMARY KEY (connector_id, key)
);
CREATE INDEX IF NOT EXISTS ledger_doc ON ledger(connector_id, doc_id);`)
	if err != nil {
		return nil, fmt.Errorf("create ledger table: %w", err)
	}
	return &Ledger{db: db}, nil
}

// Claim records e as Pending when its key is new and returns (e, true). When the key
// exists it returns the stored entry and false, unchanged: the caller decides from
// its State (Done: replay; Pending or Ambiguous: look up in ALEX first).
func (l *Ledger) Claim(ctx context.Context, e Entry) (Entry, bool, error) {
	now := time.Now().UTC()
	res, err := l.db.ExecContext(ctx, `INSERT INTO ledger(connector_id, key, state, sha256, size, content_type, correlation, created, updated)
		VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(connector_id, key) DO NOTHING`,
		e.Connector, e.Key, Pending, e.SHA256, e.Size, e.ContentType, e.Correlation, now.UnixNano(), now.UnixNano())
	if err != nil {
		return Entry{}, false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		e.State, e.Created, e.Updated = Pending, now, now
		return e, true, nil
	}
	got, err := l.Get(ctx, e.Connector, e.Key)
	return got, false, err
}

// Get returns the entry for a key.
func (l *Ledger) Get(ctx context.Context, connector, key string) (Entry, error) {
	return l.one(ctx, `WHERE connector_id=? AND key=?`, connector, key)
}

// ByDocID returns the entry whose ALEX document is id, only if connector wrote it.
func (l *Ledger) ByDocID(ctx context.Context, connector, id string) (Entry, error) {
	if id == "" {
		return Entry{}, ErrNotFound
	}
	return l.one(ctx, `WHERE connector_id=? AND doc_id=? AND state=?`, connector, id, Done)
}

func (l *Ledger) one(ctx context.Context, where string, args ...any) (Entry, error) {
	var e Entry
	var created, updated int64
	err := l.db.QueryRowContext(ctx, `SELECT connector_id, key, state, sha256, size, content_type, doc_id, correlation, created, updated FROM ledger `+where, args...).
		Scan(&e.Connector, &e.Key, &e.State, &e.SHA256, &e.Size, &e.ContentType, &e.DocID, &e.Correlation, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, ErrNotFound
	}
	e.Created, e.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return e, err
}

// Complete marks a key Done with ALEX's document id.
func (l *Ledger) Complete(ctx context.Context, connector, key, docID string) error {
	return l.set(ctx, connector, key, Done, docID)
}

// MarkAmbiguous records that ALEX may have stored the document.
func (l *Ledger) MarkAmbiguous(ctx context.Context, connector, key string) error {
	return l.set(ctx, connector, key, Ambiguous, "")
}

// Release forgets a Pending claim after ALEX definitely did not store the document,
// so a retry writes afresh. An Ambiguous entry is never released: it must be
// resolved by a lookup.
func (l *Ledger) Release(ctx context.Context, connector, key string) error {
	_, err := l.db.ExecContext(ctx, `DELETE FROM ledger WHERE connector_id=? AND key=? AND state=?`, connector, key, Pending)
	return err
}

func (l *Ledger) set(ctx context.Context, connector, key string, s State, docID string) error {
	res, err := l.db.ExecContext(ctx, `UPDATE ledger SET state=?, doc_id=?, updated=? WHERE connector_id=? AND key=?`,
		s, docID, time.Now().UTC().UnixNano(), connector, key)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
