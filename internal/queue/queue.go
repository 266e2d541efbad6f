// Package queue is the agent's durable queue: every image or document is copied into
// the spool and committed to SQLite before anything else happens to it, so a crash at
// any moment leaves each file either not taken (its source untouched) or queued.
//
// The database holds patient identifiers because uploads need them; nothing in this
// package logs, and reasons stored on items are redacted.
package queue

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/clinicpro/medtech-images/internal/redact"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// Errors callers branch on.
var (
	// ErrDuplicate: the same file (same source and content) or the same content for
	// the same patient and facility is already in the queue. The existing item is
	// returned with it.
	ErrDuplicate = errors.New("this file is already in the queue")
	// ErrNotFound: no item has that id.
	ErrNotFound = errors.New("no such item: it may have been sent or removed; refresh the list")
	// ErrEmpty: nothing is due for upload.
	ErrEmpty = errors.New("nothing is due for upload")
)

// TransitionError is an illegal state change, e.g. retrying an item that is not parked.
type TransitionError struct {
	From, To State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("the item is %s and cannot become %s: refresh the list and try again", e.From, e.To)
}

// Options tune a Queue.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// OnChange is called after every committed change, outside any transaction (the
	// agent turns it into local API events). It must not block for long.
	OnChange func(Item)
}

// Queue is the durable queue. Its methods are safe for concurrent use.
type Queue struct {
	db       *sql.DB
	spool    string
	now      func() time.Time
	onChange func(Item)
	wake     chan struct{}
	closeMu  sync.Once
}

// Open opens (creating if needed) the queue database at dbPath with its spool folder,
// removes spool files that never made it into the database (a crash between copy and
// commit), and puts items left "uploading" by a crash back to "queued".
func Open(ctx context.Context, dbPath, spoolDir string, opt Options) (*Queue, error) {
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the queue folder: %w", err)
	}
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the spool folder: %w", err)
	}
	// WAL lets the tray's reads proceed while the uploader writes. synchronous=FULL
	// makes each commit durable on power loss: we commit a handful of rows a minute, so
	// the cost is invisible, and NORMAL could forget that a file was taken or sent.
	// A plain path, not a file: URI, so spaces, '#' and drive letters in --data
	// need no escaping; the driver strips the query itself.
	dsn := dbPath +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("cannot open the queue database: %w", err)
	}
	// One connection: SQLite has one writer anyway, and it keeps in-process callers
	// from ever seeing SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	q := &Queue{db: db, spool: spoolDir, now: opt.Now, onChange: opt.OnChange, wake: make(chan struct{}, 1)}
	if q.now == nil {
		q.now = time.Now
	}
	if err := q.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := q.recover(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return q, nil
}

// Close closes the database.
func (q *Queue) Close() error {
	var err error
	q.closeMu.Do(func() { err = q.db.Close() })
	return err
}

// Wake is signalled (without blocking, coalesced) whenever an item may have become
// due: the uploader waits on it.
func (q *Queue) Wake() <-chan struct{} { return q.wake }

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

const schema = `
CREATE TABLE IF NOT EXISTS items (
	id            TEXT PRIMARY KEY,
	state         TEXT NOT NULL,
	source        TEXT NOT NULL,
	source_path   TEXT NOT NULL DEFAULT '',
	source_action TEXT NOT NULL DEFAULT '',
	format        TEXT NOT NULL DEFAULT '',
	file_name     TEXT NOT NULL,
	spool_name    TEXT NOT NULL,
	size          INTEGER NOT NULL,
	sha256        TEXT NOT NULL,
	nhi           TEXT NOT NULL DEFAULT '',
	patient_id    TEXT NOT NULL DEFAULT '',
	session_id    TEXT NOT NULL DEFAULT '',
	facility      TEXT NOT NULL DEFAULT '',
	idem_key      TEXT,
	title         TEXT NOT NULL DEFAULT '',
	rotation      INTEGER NOT NULL DEFAULT 0,
	laterality    TEXT NOT NULL DEFAULT '',
	body_site     TEXT NOT NULL DEFAULT '',
	attempts      INTEGER NOT NULL DEFAULT 0,
	next_attempt  INTEGER NOT NULL DEFAULT 0,
	reason        TEXT NOT NULL DEFAULT '',
	correlation   TEXT NOT NULL,
	document_id   TEXT NOT NULL DEFAULT '',
	added         INTEGER NOT NULL,
	updated       INTEGER NOT NULL,
	sent          INTEGER NOT NULL DEFAULT 0
);
-- A rejected item gives up its key, so the same content can be sent later on purpose.
CREATE UNIQUE INDEX IF NOT EXISTS items_idem ON items(idem_key) WHERE idem_key IS NOT NULL AND state <> 'rejected';
CREATE INDEX IF NOT EXISTS items_due ON items(state, next_attempt);
CREATE INDEX IF NOT EXISTS items_hash ON items(sha256);
-- The tray lists recent uploads; sent rows grow without end.
CREATE INDEX IF NOT EXISTS items_sent ON items(state, sent);
PRAGMA user_version = 1;
`

// schemaV2 carries every field of the upload contract from the row to the relay:
// why an item waits (cause), the key generation "Send again" moves on, the kind,
// when the photo was taken, the watched folder apart from the source vocabulary, the
// launch's provider (the author) and the coded body site. Rows of schema 1 keep their
// folder label, which was stored as the source.
const schemaV2 = `
ALTER TABLE items ADD COLUMN cause          TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN key_gen        INTEGER NOT NULL DEFAULT 1;
ALTER TABLE items ADD COLUMN kind           TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN taken          INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN folder         TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN provider_id    TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN body_site_code TEXT NOT NULL DEFAULT '';
UPDATE items SET folder=source, source='drop' WHERE source NOT IN ('drop','camera','phone','capture');
PRAGMA user_version = 2;
`

// schemaV3 keeps the crop the GP drew (JSON localapi.Crop; empty keeps the whole image).
const schemaV3 = `
ALTER TABLE items ADD COLUMN crop TEXT NOT NULL DEFAULT '';
PRAGMA user_version = 3;
`

// schemaVersion is the newest schema this build writes.
const schemaVersion = 3

func (q *Queue) migrate(ctx context.Context) error {
	var v int
	if err := q.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("cannot read the queue database (it may be damaged; move queue.db aside and restart): %w", err)
	}
	if v > schemaVersion {
		return fmt.Errorf("the queue database was written by a newer ClinicPro (schema %d): install the newer version again", v)
	}
	if v < 1 {
		if _, err := q.db.ExecContext(ctx, schema); err != nil {
			return fmt.Errorf("cannot prepare the queue database: %w", err)
		}
	}
	// Each upgrade is one transaction: a crash half-way leaves the schema before it,
	// which is upgraded again.
	for _, up := range []struct {
		from int
		sql  string
	}{{2, schemaV2}, {3, schemaV3}} {
		if v >= up.from {
			continue
		}
		if err := q.upgrade(ctx, up.sql); err != nil {
			return err
		}
	}
	return nil
}

func (q *Queue) upgrade(ctx context.Context, sql string) error {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("cannot upgrade the queue database: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, sql); err != nil {
		return fmt.Errorf("cannot upgrade the queue database: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cannot upgrade the queue database: %w", err)
	}
	return nil
}

// recover undoes what a crash can leave behind.
func (q *Queue) recover(ctx context.Context) error {
	// An upload interrupted by a crash is retried; the idempotency key stops the
	// relay creating a second document if the first attempt reached ALEX.
	if _, err := q.db.ExecContext(ctx, `UPDATE items SET state='queued', updated=? WHERE state='uploading'`, q.now().UnixNano()); err != nil {
		return fmt.Errorf("cannot recover interrupted uploads: %w", err)
	}
	known := map[string]bool{}
	rows, err := q.db.QueryContext(ctx, `SELECT spool_name FROM items WHERE state NOT IN ('sent','rejected')`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		known[n] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	ents, err := os.ReadDir(q.spool)
	if err != nil {
		return fmt.Errorf("cannot read the spool folder: %w", err)
	}
	for _, e := range ents {
		// Copies without a row were never taken: their source is still in place and
		// will be picked up again. Copies of sent or rejected items are leftovers.
		if !known[e.Name()] {
			os.Remove(filepath.Join(q.spool, e.Name()))
		}
	}
	return nil
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newCorrelation returns a UUIDv4, the shape ALEX expects in mt-correlationid.
func newCorrelation() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// spoolName keeps the original extension (converters sniff content, but a person
// looking in the spool benefits) and nothing else from the file name.
func spoolName(id, fileName string) string {
	ext := strings.ToLower(filepath.Ext(fileName))
	clean := make([]byte, 0, len(ext))
	for i := 0; i < len(ext) && i < 8; i++ {
		c := ext[i]
		if c == '.' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			clean = append(clean, c)
		}
	}
	return id + string(clean)
}

func (q *Queue) changed(it Item) {
	if q.onChange != nil {
		q.onChange(it)
	}
}

// reasonText redacts anything NHI-shaped: reasons reach logs and the tray's lists.
func reasonText(s string) string { return redact.String(s) }
