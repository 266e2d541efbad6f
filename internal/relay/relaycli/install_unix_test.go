//go:build !windows

package relaycli

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Issue 17: the systemd unit runs the relay as its own unprivileged user, hardened,
// and install gives that user the data directory and read access to its settings.
func TestInstallRunsAsAnUnprivilegedUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("install needs root (CI runs as root)")
	}
	cfg, run := relayConfig(t, "")
	secret := filepath.Join(filepath.Dir(cfg), "alex.secret")
	os.WriteFile(secret, []byte("s"), 0o600)
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("[alex]\nclient_secret_file = \"" + filepath.ToSlash(secret) + "\"\n")
	f.Close()
	units := t.TempDir()
	out, err := run("install", "--user", "nobody", "--unit-dir", units, "--no-enable")
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	unit, err := os.ReadFile(filepath.Join(units, "clinicpro-relay.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"User=nobody\n", "NoNewPrivileges=yes\n", "ProtectSystem=strict\n", "ExecReload=/bin/kill -HUP $MAINPID\n",
		"--config " + cfg + " serve\n", "ReadWritePaths=" + filepath.Join(filepath.Dir(cfg), "data") + "\n"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q:\n%s", want, unit)
		}
	}
	nobody, _ := user.Lookup("nobody")
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	fi, err := os.Stat(filepath.Join(filepath.Dir(cfg), "data"))
	if err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(uid) || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data directory: %v %v", fi.Mode(), err)
	}
	for _, p := range []string{cfg, secret} {
		fi, _ := os.Stat(p)
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != uint32(gid) || fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: owner %d group %d mode %v; want root, nobody's group, 0640", p, st.Uid, st.Gid, fi.Mode().Perm())
		}
	}
	if _, err := run("install", "--user", "root", "--unit-dir", units, "--no-enable"); err == nil {
		t.Fatal("install as root was accepted")
	}
	if out, err := run("uninstall", "--unit-dir", units, "--no-enable"); err != nil || !strings.Contains(out, "Removed") {
		t.Fatalf("uninstall: %v %s", err, out)
	}
}
