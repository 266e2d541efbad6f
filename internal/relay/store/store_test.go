package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/ledger"
	"github.com/clinicpro/medtech-images/internal/relay/registry"
	"github.com/clinicpro/medtech-images/internal/relay/store"
	"github.com/clinicpro/medtech-images/internal/relay/store/storetest"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunWithPostgres(m)) }

func TestMigrationsAreVersionedAndRepeatable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		v, err := st.Version(ctx)
		if err != nil || v != store.Latest() {
			t.Fatalf("fresh store at version %d (%v), want %d", v, err, store.Latest())
		}
		// Again (a second relay starting, or `clinicpro-relay migrate`): nothing to do.
		if v, err := st.Migrate(ctx); err != nil || v != store.Latest() {
			t.Fatalf("second migrate: %d %v", v, err)
		}
		// A newer relay's additive migration (a rolling upgrade): this relay still runs.
		if _, err := st.DB().ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied, readable_from) VALUES(998, 'future, additive', 0, 1)`); err != nil {
			t.Fatal(err)
		}
		if v, err := st.Migrate(ctx); err != nil || v != 998 {
			t.Fatalf("a compatible newer schema: %d %v", v, err)
		}
		// One this relay cannot live with is refused, not guessed at.
		if _, err := st.DB().ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied, readable_from) VALUES(999, 'future, breaking', 0, 999)`); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "upgrade this relay") {
			t.Fatalf("newer schema: %v", err)
		}
	})
}

// A relay.db written before migrations existed (tables made with CREATE IF NOT
// EXISTS, no schema_migrations) is adopted with its rows.
func TestExistingSQLiteDatabaseIsAdopted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE connectors (id TEXT PRIMARY KEY, facility TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL, secret_hash BLOB, created INTEGER NOT NULL, enrolled INTEGER NOT NULL DEFAULT 0)`,
		`CREATE TABLE enrolment_codes (code_hash BLOB PRIMARY KEY, connector_id TEXT NOT NULL REFERENCES connectors(id), expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0)`,
		`CREATE TABLE tokens (token_hash BLOB PRIMARY KEY, connector_id TEXT NOT NULL REFERENCES connectors(id), expires INTEGER NOT NULL)`,
		`CREATE TABLE ledger (connector_id TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, content_type TEXT NOT NULL, doc_id TEXT NOT NULL DEFAULT '', correlation TEXT NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY (connector_id, key))`,
		`CREATE TABLE audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, connector_id TEXT NOT NULL, facility TEXT NOT NULL, operation TEXT NOT NULL, outcome TEXT NOT NULL, status INTEGER NOT NULL, bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, duration_us INTEGER NOT NULL, correlation TEXT NOT NULL, alex_id TEXT NOT NULL, patient_hash TEXT NOT NULL)`,
		`INSERT INTO connectors VALUES('cpc_old', 'F2N060-E', 'Old practice', 'active', NULL, 1, 2)`,
		`INSERT INTO ledger VALUES('cpc_old', 'key-0001', 'done', 'aa', 3, 'image/tiff', 'doc-1', 'c', 1, 2)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	st, err := store.Open(context.Background(), store.Config{Kind: store.SQLite, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.Connector(context.Background(), "cpc_old")
	if err != nil || c.Name != "Old practice" || c.Practice != "" {
		t.Fatalf("old connector: %+v %v", c, err)
	}
	e, err := st.LedgerGet(context.Background(), "cpc_old", "key-0001")
	if err != nil || e.DocID != "doc-1" || e.Owner != "" {
		t.Fatalf("old ledger entry: %+v %v", e, err)
	}
}

// A revocation committed through one handle reaches another handle's listeners (a
// second relay) through PostgreSQL's notifications.
func TestRevocationIsAnnouncedToOtherRelays(t *testing.T) {
	a := storetest.Open(t, store.Postgres)
	b, err := store.Open(context.Background(), a.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	heard := make(chan struct{}, 16)
	b.OnRevoke(func() { heard <- struct{}{} })
	// The listener announces itself once connected (it may have missed something).
	select {
	case <-heard:
	case <-time.After(time.Minute):
		t.Fatal("the listener never connected")
	}
	r := registry.New(a)
	c, _, err := r.Add(context.Background(), "F2N060-E", "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Revoke(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-heard:
	case <-time.After(time.Minute):
		t.Fatal("relay b was never told of the revocation")
	}
}

// migrate-store: everything but tokens moves from SQLite to PostgreSQL, and the
// moved relay keeps working (secrets, replays, audit ids continue).
func TestCopySQLiteToPostgres(t *testing.T) {
	ctx := context.Background()
	src := storetest.Open(t, store.SQLite)
	r := registry.New(src)
	c, code, _ := r.Add(ctx, "F2N060-E", "one")
	_, secret, err := r.Enrol(ctx, code, "PC1")
	if err != nil {
		t.Fatal(err)
	}
	p, pcode, _ := r.AddPractice(ctx, "F2N060-E", "practice", 2, time.Hour)
	pc, _, _ := r.Enrol(ctx, pcode, "PC2")
	l := ledger.New(src)
	l.Claim(ctx, ledger.Entry{Connector: c.ID, Key: "key-0001", SHA256: "aa", Size: 3, ContentType: "image/tiff", Correlation: "x"})
	l.Complete(ctx, c.ID, "key-0001", "doc-1")
	aud, _ := audit.New(src, []byte("0123456789abcdef"))
	for i := 0; i < 2500; i++ {
		aud.Add(ctx, audit.Record{Connector: c.ID, Operation: "upload", Outcome: "ok"})
	}

	dst := storetest.Open(t, store.Postgres)
	n, err := src.CopyTo(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	if n["connectors"] != 2 || n["practices"] != 1 || n["ledger"] != 1 || n["audit"] != 2500 {
		t.Fatalf("copied %v", n)
	}
	r2 := registry.New(dst)
	if _, err := r2.Authenticate(ctx, c.ID, secret); err != nil {
		t.Fatalf("the moved connector's secret: %v", err)
	}
	got, pcs, err := r2.Practice(ctx, p.ID)
	if err != nil || got.Enrolled != 1 || len(pcs) != 1 || pcs[0].ID != pc.ID {
		t.Fatalf("moved practice %+v %v %v", got, pcs, err)
	}
	if _, _, err := r2.Enrol(ctx, pcode, "PC3"); err != nil {
		t.Fatalf("the practice code's last PC after the move: %v", err)
	}
	if e, fresh, _ := ledger.New(dst).Claim(ctx, ledger.Entry{Connector: c.ID, Key: "key-0001", SHA256: "aa"}); fresh || e.DocID != "doc-1" {
		t.Fatalf("replay after the move: %+v", e)
	}
	aud2, _ := audit.New(dst, []byte("0123456789abcdef"))
	if err := aud2.Add(ctx, audit.Record{Operation: "upload"}); err != nil {
		t.Fatalf("a new audit row after the copied ids: %v", err)
	}
	// Into a store that is not empty: refused.
	if _, err := src.CopyTo(ctx, dst); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("copy into a used store: %v", err)
	}
}
