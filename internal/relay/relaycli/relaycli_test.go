package relaycli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
