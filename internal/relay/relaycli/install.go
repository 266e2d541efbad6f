package relaycli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/clinicpro/medtech-images/internal/relay/config"
)

// The systemd unit. The relay runs as its own system user, with no way to gain
// privileges, a read-only view of the system but for its data directory, and only
// the capability to bind a port under 1024 (listen = ":443").
var unitTemplate = template.Must(template.New("unit").Parse(`[Unit]
Description=ClinicPro relay: uploads from practices to Medtech ALEX
Wants=network-online.target
After=network-online.target

[Service]
User={{.User}}
Group={{.Group}}
ExecStart={{.Exe}} --config {{.Config}} serve
ExecReload=/bin/kill -HUP $MAINPID
Restart=always
RestartSec=5
TimeoutStopSec=90
LimitNOFILE=65536
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
ReadWritePaths={{.DataDir}}
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
AmbientCapabilities=CAP_NET_BIND_SERVICE

[Install]
WantedBy=multi-user.target
`))

// DefaultServiceUser is the system user install creates for the relay.
const DefaultServiceUser = "clinicpro-relay"

const unitName = "clinicpro-relay.service"

// systemdPath quotes a path for a unit file's command line when it needs it.
func systemdPath(p string) string {
	if strings.ContainsAny(p, " \t\"'\\\\") {
		return strconv.Quote(p)
	}
	return p
}

func installCmd(cfg config.Config, cfgPath string, args []string, out io.Writer) error {
	fl := flag.NewFlagSet("install", flag.ContinueOnError)
	name := fl.String("user", DefaultServiceUser, "the system user the relay runs as (created if missing)")
	unitDir := fl.String("unit-dir", "/etc/systemd/system", "where the unit file goes")
	noEnable := fl.Bool("no-enable", false, "write the unit but do not run systemctl")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("install must run as root: it creates the service's user and unit (sudo clinicpro-relay install)")
	}
	if *name == "root" {
		return errors.New("the relay must not run as root: give --user another name, or leave it out")
	}
	u, err := serviceUser(*name, cfg.DataDir, out)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	group := *name
	if g, err := user.LookupGroupId(u.Gid); err == nil {
		group = g.Name
	}
	// The data directory is the service's alone.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	if err := filepath.WalkDir(cfg.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}); err != nil {
		return fmt.Errorf("cannot give %s to %s: %w", cfg.DataDir, *name, err)
	}
	os.Chmod(cfg.DataDir, 0o700)
	abs, err := filepath.Abs(cfgPath)
	if err != nil {
		return err
	}
	// The files it reads but must not write: root's, readable by its group.
	for _, f := range []string{abs, cfg.ALEX.ClientSecretFile, cfg.PostgresDSNFile, cfg.TLSCertFile, cfg.TLSKeyFile} {
		if f == "" {
			continue
		}
		if err := shareRead(f, gid); err != nil {
			fmt.Fprintf(out, "Warning: %s must be readable by the %s group, but: %v. Copy it somewhere that can be (for TLS, a certbot deploy hook copying into /etc/clinicpro-relay/tls).\n", f, group, err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return err
	}
	var unit strings.Builder
	if err := unitTemplate.Execute(&unit, map[string]string{"User": *name, "Group": group, "Exe": systemdPath(exe),
		"Config": systemdPath(abs), "DataDir": systemdPath(cfg.DataDir)}); err != nil {
		return err
	}
	path := filepath.Join(*unitDir, unitName)
	if err := os.WriteFile(path, []byte(unit.String()), 0o644); err != nil {
		return fmt.Errorf("cannot write the unit: %w", err)
	}
	fmt.Fprintf(out, "Installed %s: the relay runs as %s with configuration %s.\n", path, *name, abs)
	if *noEnable {
		return nil
	}
	if err := systemctl("daemon-reload"); err != nil {
		fmt.Fprintf(out, "systemctl did not answer (%v): run systemctl daemon-reload && systemctl enable --now clinicpro-relay\n", err)
		return nil
	}
	if err := systemctl("enable", "clinicpro-relay"); err != nil {
		return err
	}
	fmt.Fprintln(out, "Start it with: systemctl start clinicpro-relay")
	return nil
}

// serviceUser returns the relay's user, creating a system user with no login and
// the data directory as home when it does not exist.
func serviceUser(name, home string, out io.Writer) (*user.User, error) {
	if u, err := user.Lookup(name); err == nil {
		return u, nil
	}
	shell := "/usr/sbin/nologin"
	if _, err := os.Stat(shell); err != nil {
		shell = "/bin/false"
	}
	cmd := exec.Command("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", home, "--shell", shell, name)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cannot create the system user %s: %v: %s", name, err, strings.TrimSpace(string(b)))
	}
	fmt.Fprintf(out, "Created the system user %s.\n", name)
	return user.Lookup(name)
}

// shareRead makes a root-owned file readable by gid and no one else.
func shareRead(path string, gid int) error {
	if err := os.Chown(path, 0, gid); err != nil {
		return err
	}
	return os.Chmod(path, 0o640)
}

func systemctl(args ...string) error {
	b, err := exec.Command("systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(b)))
	}
	return nil
}

func uninstallCmd(args []string, out io.Writer) error {
	fl := flag.NewFlagSet("uninstall", flag.ContinueOnError)
	unitDir := fl.String("unit-dir", "/etc/systemd/system", "where the unit file is")
	noEnable := fl.Bool("no-enable", false, "remove the unit without running systemctl")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if !*noEnable {
		_ = systemctl("disable", "--now", "clinicpro-relay")
	}
	if err := os.Remove(filepath.Join(*unitDir, unitName)); err != nil {
		return fmt.Errorf("could not remove the service (run as root): %w", err)
	}
	if !*noEnable {
		_ = systemctl("daemon-reload")
	}
	fmt.Fprintln(out, "Removed the clinicpro-relay service; its user and data directory stay.")
	return nil
}
