package relaycli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/testutil"
)

// The operator's connector commands against a real relay.db in a temp folder: add
// prints a code, list shows the practice, revoke changes its status.
func TestConnectorCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "relay.toml")
	if err := os.WriteFile(cfg, []byte(`data_dir = "`+filepath.ToSlash(filepath.Join(dir, "data"))+`"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := Run(append([]string{"--config", cfg}, args...), &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	out := run("connector", "add", "--facility", "F2N060-E", "--name", "Healthier Care")
	m := regexp.MustCompile(`Connector (\S+) for facility F2N060-E\nEnrolment code: [0-9A-Z]{5}-[0-9A-Z]{5}\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("connector add printed %q", out)
	}
	if list := run("connector", "list"); !strings.Contains(list, "pending") || !strings.Contains(list, "Healthier Care") {
		t.Fatalf("list: %s", list)
	}
	if out := run("connector", "revoke", m[1]); !strings.Contains(out, "Revoked "+m[1]) {
		t.Fatalf("revoke: %s", out)
	}
	if list := run("connector", "list"); strings.Contains(list, "pending") {
		t.Fatalf("list after revoke still pending: %s", list)
	}
}

func TestUnknownCommandFails(t *testing.T) {
	var out bytes.Buffer
	if err := Run([]string{"--config", filepath.Join(t.TempDir(), "none.toml"), "frobnicate"}, &out); err == nil {
		t.Fatal("an unknown command succeeded")
	}
	if err := Run(nil, &out); err == nil {
		t.Fatal("no command succeeded")
	}
}

func TestMain(m *testing.M) { os.Exit(testutil.RunWithPostgres(m)) }

// relayConfig writes a relay.toml with data_dir in a temp folder and extra lines.
func relayConfig(t *testing.T, extra string) (string, func(args ...string) (string, error)) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "relay.toml")
	if err := os.WriteFile(cfg, []byte(`data_dir = "`+filepath.ToSlash(filepath.Join(dir, "data"))+`"`+"\n"+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, func(args ...string) (string, error) {
		var out bytes.Buffer
		err := Run(append([]string{"--config", cfg}, args...), &out)
		return out.String(), err
	}
}

func TestPracticeCommands(t *testing.T) {
	_, run := relayConfig(t, "")
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	out := must("practice", "add", "--facility", "F2N060-E", "--name", "Healthier Care", "--pcs", "3", "--valid", "7d")
	m := regexp.MustCompile(`Practice (prc_\S+) for facility F2N060-E\nPractice code: ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\n`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "ENROLCODE="+m[2]) || !strings.Contains(out, "up to 3 PCs") {
		t.Fatalf("practice add printed %q", out)
	}
	list := must("practice", "list")
	if !strings.Contains(list, m[1]) || !strings.Contains(list, "0 of 3") || !strings.Contains(list, "Healthier Care") {
		t.Fatalf("practice list: %s", list)
	}
	if out := must("practice", "revoke", m[1]); !strings.Contains(out, "Revoked practice "+m[1]) {
		t.Fatalf("revoke: %s", out)
	}
	if list := must("practice", "list"); !strings.Contains(list, "revoked") {
		t.Fatalf("list after revoke: %s", list)
	}
	for _, bad := range [][]string{
		{"practice", "add", "--facility", "F2N060-E", "--pcs", "0"},
		{"practice", "add", "--facility", "F2N060-E", "--pcs", "3", "--valid", "90d"},
		{"practice", "add", "--facility", "F2N060-E", "--pcs", "3", "--valid", "soon"},
		{"practice", "revoke"},
		{"practice", "revoke", "prc_nobody"},
		{"practice", "frobnicate"},
	} {
		if _, err := run(bad...); err == nil {
			t.Errorf("%v succeeded", bad)
		}
	}
	if out := must("migrate"); !strings.Contains(out, "schema version") {
		t.Fatalf("migrate: %s", out)
	}
}

// migrate-store moves a relay's state from its SQLite file into an empty PostgreSQL
// whose connection string is in a file; a connection string on the command line is
// refused.
func TestMigrateStore(t *testing.T) {
	dsn := testutil.Postgres(t)
	cfg, run := relayConfig(t, "")
	out, err := run("connector", "add", "--facility", "F2N060-E", "--name", "Moving practice")
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`Connector (\S+)`).FindStringSubmatch(out)[1]
	dsnFile := filepath.Join(filepath.Dir(cfg), "pg.dsn")
	os.WriteFile(dsnFile, []byte(dsn+"\n"), 0o600)
	from := "sqlite:" + filepath.Join(filepath.Dir(cfg), "data", "relay.db")
	if _, err := run("migrate-store", "--from", from, "--to", "postgres:"+dsn); err == nil || !strings.Contains(err.Error(), "never on the command line") {
		t.Fatalf("a connection string on the command line: %v", err)
	}
	out, err = run("migrate-store", "--from", from, "--to", "postgres:"+dsnFile)
	if err != nil || !strings.Contains(out, "1 connectors") {
		t.Fatalf("migrate-store: %v\n%s", err, out)
	}
	// The relay configured for PostgreSQL sees the moved connector.
	_, pgRun := relayConfig(t, "store = \"postgres\"\npostgres_dsn_file = \""+filepath.ToSlash(dsnFile)+"\"\n")
	list, err := pgRun("connector", "list")
	if err != nil || !strings.Contains(list, id) || !strings.Contains(list, "Moving practice") {
		t.Fatalf("list on PostgreSQL: %v\n%s", err, list)
	}
	if strings.Contains(out, dsn) {
		t.Fatal("migrate-store printed the connection string")
	}
}
