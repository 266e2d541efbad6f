// Package storetest opens the relay's stores for tests: a SQLite file in a temp dir
// and a fresh database in the test process's PostgreSQL (testutil.Postgres), so a
// test can run once on each. Import it only from _test.go files; packages that use
// PostgreSQL stop it in TestMain (testutil.RunWithPostgres).
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/clinicpro/medtech-images/internal/relay/store"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// Open opens a fresh store of kind, closed when tb ends. PostgreSQL is skipped with a
// message when it is not installed, except under CI.
func Open(tb testing.TB, kind string) *store.Store {
	tb.Helper()
	cfg := store.Config{Kind: store.SQLite, Path: filepath.Join(tb.TempDir(), "relay.db")}
	if kind == store.Postgres {
		cfg = store.Config{Kind: store.Postgres, DSN: testutil.Postgres(tb)}
	}
	st, err := store.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// Each runs f as a subtest on a fresh store of each kind.
func Each(t *testing.T, f func(t *testing.T, st *store.Store)) {
	for _, kind := range []string{store.SQLite, store.Postgres} {
		t.Run(kind, func(t *testing.T) { f(t, Open(t, kind)) })
	}
}
