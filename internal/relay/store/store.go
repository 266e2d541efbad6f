// Package store keeps the relay's state: the registry's connectors, practices,
// codes and tokens, the idempotency ledger and the audit trail (and is where the
// phone-capture sessions and their photos will go). It implements registry.Store,
// ledger.Store and audit.Store on two databases:
//
//   - SQLite, a file in the data directory: the default for one relay, the demo and
//     the tests;
//   - PostgreSQL (through pgx), shared by several relays behind a load balancer.
//
// Both speak the same SQL here, with a few words per database (Dialect), so the two
// cannot drift apart in behaviour: every statement that must be atomic across
// relays (claiming a key, spending a code, counting a practice's PCs) is one
// conditional statement that both databases execute atomically. Schemas are versioned
// migrations (migrate.go), applied at Open. PostgreSQL also tells every relay at once
// when a connector is revoked (LISTEN/NOTIFY, notify.go).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"

	"github.com/clinicpro/medtech-images/internal/relay/sqlitedb"
)

// Kinds of store.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Config says which database to open.
type Config struct {
	Kind string // SQLite or Postgres
	Path string // SQLite: the database file
	DSN  string // PostgreSQL: the connection string (from a file or the environment, never a command line)
}

// String names the store without its connection string, which may hold a password.
func (c Config) String() string {
	if c.Kind == Postgres {
		return "postgres"
	}
	return "sqlite:" + c.Path
}

// Store is the relay's database. Its methods are safe for concurrent use.
type Store struct {
	db   *sql.DB
	kind string
	cfg  Config

	mu       sync.Mutex
	onRevoke []func()
	stop     context.CancelFunc
	listened chan struct{}
}

// Open opens the database, creating it (SQLite) if needed, and brings its schema up
// to date.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{kind: cfg.Kind, cfg: cfg}
	switch cfg.Kind {
	case SQLite, "":
		s.kind = SQLite
		if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
			return nil, fmt.Errorf("cannot create the data directory for %s: %w", cfg.Path, err)
		}
		db, err := sqlitedb.Open(cfg.Path)
		if err != nil {
			return nil, err
		}
		s.db = db
	case Postgres:
		if cfg.DSN == "" {
			return nil, errors.New("no PostgreSQL connection string: set postgres_dsn_file or " + "CLINICPRO_RELAY_POSTGRES_DSN")
		}
		db, err := sql.Open("pgx", cfg.DSN)
		if err != nil {
			return nil, fmt.Errorf("the PostgreSQL connection string is not valid: %w", scrub(err, cfg.DSN))
		}
		// A relay's requests each hold a connection for one statement at a time;
		// 16 keeps a few relays well inside PostgreSQL's default 100 connections.
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		db.SetConnMaxIdleTime(5 * time.Minute)
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = db.PingContext(pctx)
		cancel()
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("cannot reach PostgreSQL: %w; check the connection string, that the server runs and that this host may connect", scrub(err, cfg.DSN))
		}
		s.db = db
	default:
		return nil, fmt.Errorf("store %q is neither sqlite nor postgres: fix store in relay.toml", cfg.Kind)
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	if s.kind == Postgres {
		s.listen()
	}
	return s, nil
}

// Kind is SQLite or Postgres.
func (s *Store) Kind() string { return s.kind }

// Close stops listening and closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	stop := s.stop
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-s.listened
	}
	return s.db.Close()
}

// Ping checks the database answers, for readiness: within 2 s, so /readyz fails
// fast when the store is unreachable.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var n int
	return s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&n)
}

// DB is the database handle, for tests and the migrate-store copy.
func (s *Store) DB() *sql.DB { return s.db }

// q rewrites a statement written with ? placeholders for the store's database:
// PostgreSQL numbers them ($1, $2...).
func (s *Store) q(query string) string {
	if s.kind != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.q(query), args...)
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.q(query), args...)
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.db.QueryContext(ctx, s.q(query), args...)
}

// tx is a transaction that rewrites placeholders like the Store does.
type tx struct {
	*sql.Tx
	s *Store
}

func (s *Store) begin(ctx context.Context) (*tx, error) {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &tx{Tx: t, s: s}, nil
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.ExecContext(ctx, t.s.q(query), args...)
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.QueryRowContext(ctx, t.s.q(query), args...)
}

func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// scrub keeps a connection string's password out of an error.
func scrub(err error, dsn string) error {
	msg := err.Error()
	if dsn != "" && strings.Contains(msg, dsn) {
		msg = strings.ReplaceAll(msg, dsn, "<connection string>")
	}
	return errors.New(msg)
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UTC().UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Config is what the store was opened with (for tests that open a second handle, as
// a second relay would).
func (s *Store) Config() Config { return s.cfg }
