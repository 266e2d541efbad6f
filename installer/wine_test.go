package installer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/testutil"
)

// wine runs Windows commands in a private Wine prefix prepared by .ci/wine/setup.sh (which
// adds the shim Go 1.26 binaries need under Wine 8).
type wine struct {
	t      *testing.T
	env    []string
	driveC string
}

func newWine(t *testing.T) *wine {
	t.Helper()
	needTools(t, "wixl", "msibuild", "wine", "wineserver", "x86_64-w64-mingw32-gcc")
	if testing.Short() {
		t.Skip("installs the MSI under Wine; skipped with -short")
	}
	setup, err := filepath.Abs("../.ci/wine/setup.sh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(setup); err != nil {
		t.Skipf("no %s to prepare a Wine prefix", setup)
	}
	prefix := filepath.Join(t.TempDir(), "prefix")
	w := &wine{t: t, driveC: filepath.Join(prefix, "drive_c"), env: []string{
		"WINEPREFIX=" + prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=;bcryptprimitives=n",
	}}
	if out, err := run(t, w.env, setup); err != nil {
		t.Fatalf("preparing the Wine prefix: %v\n%s", err, out)
	}
	// One persistent wineserver for the whole test, as one running Windows would be: otherwise
	// each command boots Wine's services afresh while the previous instance may still be exiting.
	// It daemonises; with its output on our pipes, Wait would wait for the daemon too.
	server := exec.Command("wineserver", "-p")
	server.Env = append(os.Environ(), w.env...)
	if err := server.Run(); err != nil {
		t.Fatalf("starting wineserver: %v", err)
	}
	t.Cleanup(func() { run(t, w.env, "wineserver", "-k") })
	return w
}

func (w *wine) run(args ...string) (string, error) {
	w.t.Helper()
	out, err := run(w.t, w.env, "wine", args...)
	return strings.ReplaceAll(out, "\r", ""), err
}

// msiexec runs msiexec /qn with a verbose log; on failure it logs the log's tail unless the
// failure is expected.
func (w *wine) msiexec(args ...string) error {
	w.t.Helper()
	err := w.msiexecQuiet(args...)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(w.driveC, "msiexec.log"))
		w.t.Logf("msiexec %v: %v\n--- log tail:\n%s", args, err, tail(string(log), 40))
	}
	return err
}

func (w *wine) msiexecQuiet(args ...string) error {
	w.t.Helper()
	args = append([]string(nil), args...)
	for i, a := range args {
		if strings.HasSuffix(a, ".msi") {
			args[i] = "Z:" + strings.ReplaceAll(a, "/", `\`)
		}
	}
	args = append(args, "/qn", "/l*v", `C:\msiexec.log`)
	out, err := w.run(append([]string{"msiexec"}, args...)...)
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(out))
	}
	return nil
}

// reg returns `reg query KEY` output, or "" when the key does not exist.
func (w *wine) reg(key string) string {
	w.t.Helper()
	out, err := w.run("reg", "query", key)
	if err != nil {
		return ""
	}
	return out
}

func (w *wine) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(w.driveC, filepath.FromSlash(rel)))
	return err == nil
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond for up to two minutes: service start-up under Wine on a loaded machine
// is slow, and a fixed sleep would be either flaky or wasteful.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, what, 2*time.Minute, 200*time.Millisecond, cond)
}

// TestWineInstallUpgradeUninstall installs the MSI for real (Wine's msiexec and service control
// manager), then upgrades, refuses a downgrade, uninstalls keeping data, and uninstalls with
// REMOVEDATA=1 (commit actions, which Wine runs). What Wine cannot show (the service's
// recovery and delayed start from MsiConfigureServices, which Wine skips, Windows
// Installer's own quoting of the service path, ACLs) is left to the checklist in
// docs/rollout.md.
func TestWineInstallUpgradeUninstall(t *testing.T) {
	w := newWine(t)
	bins, icon := fakeBinaries(t), toolbarIcon(t)
	v1 := build{bins, icon, "0.1.1", "", ""}.mustMSI(t)
	v2 := build{bins, icon, "0.1.2", "", ""}.mustMSI(t)

	const (
		programFiles = "Program Files/ClinicPro/"
		data         = "ProgramData/ClinicPro/"
		starts       = data + "fakeagent-starts.txt"
		rollout      = `HKLM\Software\ClinicPro\Rollout`
		scheme       = `HKLM\Software\Classes\clinicpro\shell\open\command`
		runKey       = `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`
		service      = `HKLM\System\CurrentControlSet\Services\ClinicProAgent`
		eventSource  = `HKLM\System\CurrentControlSet\Services\EventLog\Application\ClinicPro Images`
	)

	// 1. A silent first install with every rollout property.
	if err := w.msiexec("/i", v1, "RELAYURL=https://relay.test/", "ENROLCODE=ZZTEST-ENROL", `WATCHFOLDERS=C:\Scans;C:\Camera`, "HCMHOST=1"); err != nil {
		t.Fatalf("install: %v", err)
	}
	for _, f := range []string{programFiles + "clinicpro.exe", programFiles + "clinicpro-tray.exe", data + "Toolbar Icon/ClinicPro Images/clinicpro-images.png"} {
		if !w.exists(f) {
			t.Errorf("after install, C:/%s is missing", f)
		}
	}
	if got := w.reg(scheme); !strings.Contains(got, `"C:\Program Files\ClinicPro\clinicpro-tray.exe" "%1"`) {
		t.Errorf("clinicpro: URL command is not the tray with the URL:\n%s", got)
	}
	if got := w.reg(runKey); !strings.Contains(got, `ClinicPro Images`) || !strings.Contains(got, `clinicpro-tray.exe`) {
		t.Errorf("tray is not started at log-on:\n%s", got)
	}
	// Windows puts a per-machine shortcut in ProgramData's Start Menu; Wine 8 in the
	// user's. Either way it is the Start menu's Programs folder.
	if found, _ := exec.Command("find", w.driveC, "-path", "*/Start Menu/Programs/ClinicPro Images.lnk").CombinedOutput(); len(found) == 0 {
		t.Error("no Start menu shortcut for the tray")
	}
	if got := w.reg(eventSource); !strings.Contains(got, `C:\windows\system32\EventCreate.exe`) {
		t.Errorf("event log source is not registered with EventCreate.exe:\n%s", got)
	}
	got := w.reg(rollout)
	for _, want := range []string{"https://relay.test/", "ZZTEST-ENROL", `C:\Scans;C:\Camera`, "HCMHost"} {
		if !strings.Contains(got, want) {
			t.Errorf("rollout key lacks %q:\n%s", want, got)
		}
	}
	svc := w.reg(service)
	for _, want := range []string{"clinicpro.exe", "service run", "LocalSystem", "Start    REG_DWORD    0x2"} {
		if !strings.Contains(svc, want) {
			t.Errorf("service registration lacks %q:\n%s", want, svc)
		}
	}
	// The service really started, with the arguments and the rollout values the agent will read.
	waitFor(t, "the agent service to start", func() bool { return w.exists(starts) })
	rec, _ := os.ReadFile(filepath.Join(w.driveC, starts))
	if !strings.Contains(string(rec), "args=service run") || !strings.Contains(string(rec), "EnrolCode=ZZTEST-ENROL") {
		t.Errorf("the started agent did not see its arguments and rollout values:\n%s", rec)
	}

	// 2. The agent's data, and the agent having consumed the enrolment code.
	for _, f := range []string{"config.toml", "queue/queue.db", "spool/item.tif"} {
		p := filepath.Join(w.driveC, data, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("kept"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.run("reg", "delete", rollout, "/v", "EnrolCode", "/f"); err != nil {
		t.Fatalf("deleting EnrolCode as the agent would: %v", err)
	}

	// 3. Upgrade without properties: data and unconsumed rollout values stay, the used code does not return.
	if err := w.msiexec("/i", v2); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	for _, f := range []string{"config.toml", "queue/queue.db", "spool/item.tif"} {
		if !w.exists(data + f) {
			t.Errorf("upgrade lost %s", f)
		}
	}
	got = w.reg(rollout)
	if !strings.Contains(got, "https://relay.test/") {
		t.Errorf("upgrade removed RelayURL the agent has not consumed:\n%s", got)
	}
	if strings.Contains(got, "ZZTEST-ENROL") {
		t.Errorf("upgrade brought back a used enrolment code:\n%s", got)
	}
	if !w.exists(programFiles+"clinicpro.exe") || w.reg(service) == "" {
		t.Error("after upgrade the agent exe or its service is missing")
	}
	products, _ := w.run("reg", "query", `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall`, "/s")
	if n := strings.Count(products, "ClinicPro Images"); n != 1 {
		t.Errorf("Programs and Features lists ClinicPro Images %d times after an upgrade, want once", n)
	}
	if !strings.Contains(products, "0.1.2") {
		t.Errorf("the installed version is not 0.1.2 after the upgrade")
	}

	// 4. A downgrade is refused and leaves the newer version in place.
	if err := w.msiexecQuiet("/i", v1); err == nil {
		t.Error("installing 0.1.1 over 0.1.2 succeeded; downgrades must be refused")
	}
	if !w.exists(programFiles + "clinicpro.exe") {
		t.Error("the refused downgrade removed the installed agent")
	}

	// 5. Uninstall keeps data.
	if err := w.msiexec("/x", v2); err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	if w.exists(programFiles + "clinicpro.exe") {
		t.Error("uninstall left clinicpro.exe")
	}
	if w.exists(data + "Toolbar Icon/ClinicPro Images/clinicpro-images.png") {
		t.Error("uninstall left the toolbar icon")
	}
	if w.reg(service) != "" {
		t.Error("uninstall left the ClinicProAgent service")
	}
	if w.reg(scheme) != "" {
		t.Error("uninstall left the clinicpro: URL scheme")
	}
	if w.reg(eventSource) != "" {
		t.Error("uninstall left the event log source")
	}
	if strings.Contains(w.reg(runKey), "ClinicPro Images") {
		t.Error("uninstall left the tray in the Run key")
	}
	if !w.exists(data+"config.toml") || !w.exists(data+"queue/queue.db") {
		t.Error("uninstall without REMOVEDATA=1 deleted the agent's data")
	}

	// 6. Uninstall with REMOVEDATA=1 removes data and leftover settings.
	if err := w.msiexec("/i", v2); err != nil {
		t.Fatalf("reinstall: %v", err)
	}
	if err := w.msiexec("/x", v2, "REMOVEDATA=1"); err != nil {
		t.Fatalf("uninstall with REMOVEDATA=1: %v", err)
	}
	if w.exists(data) {
		t.Error("REMOVEDATA=1 left C:/ProgramData/ClinicPro")
	}
	if w.reg(rollout) != "" {
		t.Error("REMOVEDATA=1 left HKLM\\Software\\ClinicPro\\Rollout")
	}
}

// realAgent builds the real clinicpro.exe for Windows beside a fake tray: the
// rollback test needs the agent's own start-up, not the stand-in's.
func realAgent(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	// With its version resource, as `make windows` builds it (build-msi.sh refuses an
	// exe without one); on a clean clone `make windows` has not run yet. The .syso is
	// written where make windows writes it, git-ignored.
	if out, err := run(t, nil, "./winres.sh", "clinicpro"); err != nil {
		t.Fatalf("generating clinicpro.exe's resources: %v\n%s", err, out)
	}
	if out, err := run(t, []string{"GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0"},
		"go", "build", "-o", filepath.Join(dir, "clinicpro.exe"), "../cmd/clinicpro"); err != nil {
		t.Fatalf("building clinicpro.exe: %v\n%s", err, out)
	}
	tray, err := os.ReadFile(filepath.Join(fakeBinaries(t), "clinicpro-tray.exe"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "clinicpro-tray.exe"), tray, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestWineFailedStartRollsBack: the service reports running only once its
// configuration, queue and pipe are open, so an install or upgrade whose agent cannot
// start (here a configuration it cannot read) fails and rolls back, instead of
// committing a crash-looping agent. Wine rolls back the failing package's own changes;
// it does not restore a product that RemoveExistingProducts took out in the same
// transaction, which Windows does (docs/rollout.md, the real-Windows checklist).
func TestWineFailedStartRollsBack(t *testing.T) {
	w := newWine(t)
	bins, icon := realAgent(t), toolbarIcon(t)
	v1 := build{bins, icon, "0.1.1", "", ""}.mustMSI(t)
	v2 := build{bins, icon, "0.1.2", "", ""}.mustMSI(t)
	const (
		config  = "ProgramData/ClinicPro/config.toml"
		service = `HKLM\System\CurrentControlSet\Services\ClinicProAgent`
		uninst  = `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall`
	)
	installed := func() string {
		out, _ := w.run("reg", "query", uninst, "/s")
		for _, v := range []string{"0.1.1", "0.1.2"} {
			if strings.Contains(out, "DisplayVersion    REG_SZ    "+v) {
				return v
			}
		}
		return ""
	}
	t.Cleanup(func() {
		if t.Failed() {
			found, _ := exec.Command("find", w.driveC, "-name", "config.toml", "-o", "-name", "agent.log").CombinedOutput()
			t.Logf("agent files:\n%s", found)
			q, _ := w.run("sc", "query", "ClinicProAgent")
			t.Logf("service:\n%s", q)
		}
	})
	broken := []byte("stability_window = \"forever\"\n")
	cfg := filepath.Join(w.driveC, config)
	if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
		t.Fatal(err)
	}

	// 1. A first install onto a configuration the agent cannot read fails, and leaves
	// no service, program or Programs and Features entry behind.
	if err := os.WriteFile(cfg, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.msiexecQuiet("/i", v1); err == nil {
		t.Fatal("the install succeeded although the agent could not start")
	}
	if v := installed(); v != "" {
		t.Errorf("the failed install left version %s in Programs and Features", v)
	}
	if w.exists("Program Files/ClinicPro/clinicpro.exe") || w.reg(service) != "" {
		t.Error("the failed install left the agent or its service behind")
	}
	if !w.exists(config) {
		t.Error("the rollback removed the practice's configuration file")
	}

	// 2. With the configuration readable, the same install goes through and the real
	// agent runs under the service manager.
	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	if err := w.msiexec("/i", v1); err != nil {
		t.Fatalf("install with the real agent: %v", err)
	}
	waitFor(t, "the agent's example configuration", func() bool { return w.exists(config) })
	if v := installed(); v != "0.1.1" {
		t.Fatalf("Programs and Features shows %q, want 0.1.1", v)
	}

	// 3. An upgrade whose new agent cannot start fails rather than committing it.
	if err := os.WriteFile(cfg, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.msiexecQuiet("/i", v2); err == nil {
		t.Fatal("the upgrade succeeded although the new agent could not start")
	}
	if v := installed(); v == "0.1.2" {
		t.Fatal("the failed upgrade was committed: 0.1.2 is registered")
	}
}
