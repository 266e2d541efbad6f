package installer

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/testutil"
)

// needTools skips when the Debian packages that build MSIs are absent; CI installs them
// (.ci/setup), so there the tests always run.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		testutil.NeedTool(t, tool, "apt-get install wixl msitools osslsigncode")
	}
}

// run executes a command with a generous deadline (the machine is shared and slow) and returns
// its combined output.
func run(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Output goes to a file, not a pipe: processes the command leaves running (Wine's services)
	// inherit it, and a pipe would keep Wait waiting for them.
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	data, rerr := os.ReadFile(out.Name())
	if rerr != nil {
		t.Fatal(rerr)
	}
	return string(data), err
}

var (
	shared     string // a directory TestMain removes at the end
	fakesOnce  sync.Once
	fakesDir   string
	fakesError error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "installer-test-")
	if err != nil {
		panic(err)
	}
	shared = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fakeBinaries builds testdata/fakeagent for Windows once, as both shipped exes plus an
// alexsim.exe that must not end up in the MSI. Callers must not modify the directory.
func fakeBinaries(t *testing.T) string {
	t.Helper()
	fakesOnce.Do(func() {
		dir := filepath.Join(shared, "bin")
		exe := filepath.Join(dir, "clinicpro.exe")
		// With a version resource, as `make windows` gives the real exes: build-msi.sh
		// reads File.Version from it. The generated .syso is git-ignored.
		if out, err := run(t, []string{"OUT=installer/testdata/fakeagent"}, "./winres.sh", "clinicpro"); err != nil {
			fakesError = fmt.Errorf("generating the fake agent's resources: %v\n%s", err, out)
			return
		}
		if out, err := run(t, []string{"GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0"},
			"go", "build", "-o", exe, "./testdata/fakeagent"); err != nil {
			fakesError = fmt.Errorf("building the fake agent: %v\n%s", err, out)
			return
		}
		data, err := os.ReadFile(exe)
		if err == nil {
			for _, name := range []string{"clinicpro-tray.exe", "alexsim.exe"} {
				if err = os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
					break
				}
			}
		}
		fakesDir, fakesError = dir, err
	})
	if fakesError != nil {
		t.Fatal(fakesError)
	}
	return fakesDir
}

func toolbarIcon(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range 32 {
		img.Set(i, i, color.RGBA{0, 120, 200, 255})
	}
	path := filepath.Join(t.TempDir(), "toolbar.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

type build struct {
	winbin, icon, version string
	appIcon               string // the toolbar icon when empty
	mesa                  string // MESA_DIR, when set
}

// msi runs build-msi.sh and returns the MSI path, or the script's output and error.
func (b build) msi(t *testing.T) (string, string, error) {
	t.Helper()
	dist := t.TempDir()
	appIcon := b.appIcon
	if appIcon == "" {
		appIcon = b.icon
	}
	out, err := run(t, []string{"WINBIN=" + b.winbin, "TOOLBAR_ICON=" + b.icon, "APP_ICON=" + appIcon, "DIST=" + dist, "MSI_VERSION=" + b.version, "MESA_DIR=" + b.mesa},
		"./build-msi.sh")
	if err != nil {
		return "", out, err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1], out, nil
}

func (b build) mustMSI(t *testing.T) string {
	t.Helper()
	path, out, err := b.msi(t)
	if err != nil {
		t.Fatalf("build-msi.sh: %v\n%s", err, out)
	}
	return path
}

func TestBuiltMSIPassesEveryCheck(t *testing.T) {
	needTools(t, "wixl", "msibuild", "msiinfo")
	b := build{fakeBinaries(t), toolbarIcon(t), "0.1.7", "", ""}
	msi := b.mustMSI(t)
	if filepath.Base(msi) != "ClinicProImages-0.1.7-x64.msi" {
		t.Errorf("MSI is named %s, want ClinicProImages-0.1.7-x64.msi", filepath.Base(msi))
	}
	out, err := run(t, nil, "./check-msi.sh", msi)
	if err != nil {
		t.Fatalf("check-msi.sh rejected a freshly built MSI: %v\n%s", err, out)
	}
	// alexsim.exe sat beside the shipped binaries; it must not have been packaged.
	files, err := run(t, nil, "msiinfo", "export", msi, "File")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(files), "alexsim") {
		t.Errorf("alexsim is in the MSI's File table:\n%s", files)
	}
}

func TestBuildRefusesToPackageWithoutEveryPiece(t *testing.T) {
	needTools(t, "wixl", "msibuild")
	bins := fakeBinaries(t)
	icon := toolbarIcon(t)

	noTray := t.TempDir()
	for _, name := range []string{"clinicpro.exe", "alexsim.exe"} {
		data, err := os.ReadFile(filepath.Join(bins, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(noTray, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	notPNG := filepath.Join(t.TempDir(), "toolbar.png")
	if err := os.WriteFile(notPNG, []byte("GIF89a not a png"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		b    build
		want []string
	}{
		{"tray exe missing", build{noTray, icon, "0.1.7", "", ""}, []string{"clinicpro-tray.exe", "make windows"}},
		{"exes without a version", build{unversioned(t), icon, "0.1.7", "", ""}, []string{"no version resource", "make windows"}},
		{"icon missing", build{bins, filepath.Join(t.TempDir(), "absent.png"), "0.1.7", "", ""}, []string{"toolbar icon", "TOOLBAR_ICON"}},
		{"icon not a PNG", build{bins, notPNG, "0.1.7", "", ""}, []string{"not a PNG"}},
		{"app icon not a PNG", build{bins, icon, "0.1.7", notPNG, ""}, []string{"app icon", "not a PNG"}},
		{"version not numeric", build{bins, icon, "0.1.7-dirty", "", ""}, []string{"not numeric"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, out, err := tc.b.msi(t)
			if err == nil {
				t.Fatalf("build-msi.sh succeeded (%s); it must refuse", path)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("error output does not mention %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestCheckCatchesBrokenMSI breaks one thing at a time in a good MSI and expects check-msi.sh to
// name it: a checker that passes everything would let a broken installer land.
func TestCheckCatchesBrokenMSI(t *testing.T) {
	needTools(t, "wixl", "msibuild", "msiinfo")
	good := build{fakeBinaries(t), toolbarIcon(t), "0.1.7", "", ""}.mustMSI(t)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		query string
		want  string
	}{
		{"no service", "DELETE FROM ServiceInstall", "no ClinicProAgent service"},
		{"service as a user account", "UPDATE ServiceInstall SET StartName='.\\\\gp' WHERE Name='ClinicProAgent'", "want LocalSystem"},
		{"service on demand", "UPDATE ServiceInstall SET StartType=3 WHERE Name='ClinicProAgent'", "not automatic"},
		{"service not vital", "UPDATE ServiceInstall SET ErrorControl=1 WHERE Name='ClinicProAgent'", "not vital"},
		{"service never started", "UPDATE ServiceControl SET Event=162 WHERE Name='ClinicProAgent'", "lacks flag 1"},
		{"no URL scheme command", "DELETE FROM Registry WHERE `Key`='Software\\Classes\\clinicpro\\shell\\open\\command'", "opens the tray with the URL"},
		{"no Run key", "DELETE FROM Registry WHERE Name='ClinicPro Images'", "log-on"},
		{"properties not secure", "UPDATE Property SET Value='WIX_UPGRADE_DETECTED' WHERE Property='SecureCustomProperties'", "lacks ENROLCODE"},
		{"enrol code logged", "DELETE FROM Property WHERE Property='MsiHiddenProperties'", "MsiHiddenProperties"},
		{"enrol code readable by every user", "UPDATE MsiLockPermissionsEx SET SDDL='D:PAI(A;CI;KA;;;SY)(A;CI;KA;;;BA)(A;CI;KR;;;BU)' WHERE LockObject='RolloutEnrolCode'", "someone other than SYSTEM"},
		{"enrol code inherits", "UPDATE MsiLockPermissionsEx SET SDDL='D:AI(A;CI;KA;;;SY)(A;CI;KA;;;BA)' WHERE LockObject='RolloutEnrolCode'", "or inherits"},
		{"enrol code unprotected", "DELETE FROM MsiLockPermissionsEx WHERE LockObject='RolloutEnrolCode'", "every user could read it"},
		{"data folder inherits ProgramData", "DELETE FROM MsiLockPermissionsEx WHERE LockObject='DATADIR'", "would inherit ProgramData"},
		{"data folder readable by Users", "UPDATE MsiLockPermissionsEx SET SDDL='O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)' WHERE LockObject='DATADIR'", "gets SDDL"},
		{"data folder not created", "DELETE FROM CreateFolder WHERE Directory_='DATADIR'", "creates the data folder"},
		{"toolbar folder locked to administrators", "UPDATE MsiLockPermissionsEx SET SDDL='O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)' WHERE LockObject='TOOLBARROOT'", "toolbar icon folder"},
		{"localised account names", "CREATE TABLE `LockPermissions` (`LockObject` CHAR(72) NOT NULL, `Table` CHAR(32) NOT NULL, `Domain` CHAR(255), `User` CHAR(255) NOT NULL, `Permission` LONG PRIMARY KEY `LockObject`, `Table`, `Domain`, `User`) ;; INSERT INTO LockPermissions (LockObject, `Table`, `User`, Permission) VALUES ('RolloutEnrolCode', 'Registry', 'Administrators', 268435456)", "LockPermissions table is used"},
		{"rollout value unconditional", "UPDATE Component SET Condition='' WHERE Component='RolloutEnrolCode'", "only when ENROLCODE is given"},
		{"no upgrade", "DELETE FROM Upgrade", "older and same versions are upgraded"},
		{"deferred action outside the script", "UPDATE InstallExecuteSequence SET Sequence=6700 WHERE Action='StopTray'", "outside InstallInitialize"},
		{"service configured outside the transaction", "DELETE FROM InstallExecuteSequence WHERE Action='MsiConfigureServices'", "MsiConfigureServices"},
		{"service not delayed", "DELETE FROM MsiServiceConfig", "delayed (MsiServiceConfig)"},
		{"service without recovery", "DELETE FROM MsiServiceConfigFailureActions", "no MsiServiceConfigFailureActions"},
		{"service recovery does nothing", "UPDATE MsiServiceConfigFailureActions SET Actions='0[~]0[~]0'", "want a restart"},
		{"sc.exe custom action", "INSERT INTO CustomAction (Action, Type, Source, Target) VALUES ('AgentRecovery', 3186, 'SCEXE', 'failure ClinicProAgent reset= 86400 actions= restart/5000')", "runs sc.exe"},
		{"data removal without rollback", "UPDATE CustomAction SET Type=3186 WHERE Action='RemoveData'", "not a commit action"},
		{"no removal where rollback is disabled", "DELETE FROM InstallExecuteSequence WHERE Action='RemoveDataNoRollback'", "RemoveDataNoRollback removes instead"},
		{"no support link", "DELETE FROM Property WHERE Property='ARPHELPLINK'", "ARPHELPLINK is empty"},
		{"comments are a commit", "UPDATE Property SET Value='v0.3.0-12-gabc1234-dirty' WHERE Property='ARPCOMMENTS'", "a version or commit"},
		{"no Start menu shortcut", "DELETE FROM Shortcut", "no Start menu shortcut"},
		{"trays killed without asking", "DELETE FROM InstallExecuteSequence WHERE Action='CloseTrays'", "no CloseTrays action"},
		{"trays asked after the agent stopped", "UPDATE InstallExecuteSequence SET Sequence=1910 WHERE Action='CloseTrays'", "after StopServices"},
		{"shortcut without AppUserModelID", "DELETE FROM MsiShortcutProperty", "AppUserModelID"},
		{"upgrade outside the transaction", "UPDATE InstallExecuteSequence SET Sequence=1401 WHERE Action='RemoveExistingProducts'", "roll back"},
		{"data removed on upgrade", "UPDATE InstallExecuteSequence SET Condition='REMOVE=\"ALL\" AND REMOVEDATA=\"1\"' WHERE Action='RemoveData'", "never during an upgrade"},
		{"tray not shipped", "DELETE FROM File WHERE FileName='clinicpro-tray.exe'", "no clinicpro-tray.exe"},
		{"agent unversioned", "UPDATE File SET Version='' WHERE FileName='clinicpro.exe'", "clinicpro.exe has File.Version ''"},
		{"exes from two builds", "UPDATE File SET Version='0.1.1.1' WHERE FileName='clinicpro-tray.exe'", "different builds"},
		{"icon folder renamed", "UPDATE Directory SET DefaultDir='Images' WHERE Directory='TOOLBARDIR'", "'ClinicPro Images'"},
		{"product icon missing", "UPDATE Property SET Value='Missing' WHERE Property='ARPPRODUCTICON'", "Icon table lacks"},
		{"alexsim shipped", "INSERT INTO File (File, Component_, FileName, FileSize, Attributes, Sequence) VALUES ('Sim', 'AgentExe', 'alexsim.exe', 1, 512, 9)", "alexsim is in the MSI"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			broken := filepath.Join(t.TempDir(), "broken.msi")
			if err := os.WriteFile(broken, data, 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{broken}
			for _, q := range strings.Split(tc.query, " ;; ") {
				args = append(args, "-q", q)
			}
			if out, err := run(t, nil, "msibuild", args...); err != nil {
				t.Fatalf("msibuild %q: %v\n%s", tc.query, err, out)
			}
			out, err := run(t, nil, "./check-msi.sh", broken)
			if err == nil {
				t.Fatalf("check-msi.sh passed an MSI with %s:\n%s", tc.name, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("check-msi.sh failed, but without naming the problem (want %q):\n%s", tc.want, out)
			}
		})
	}
}

// TestVersionRule runs version.sh in a scratch repository: BUILD is the commit's UTC
// date as YYDDD and REVISION its time, so a later commit never reads as a downgrade,
// even one made on a branch from an older commit; MAJOR.MINOR follow the newest v-tag;
// a tag Windows Installer cannot express is refused.
func TestVersionRule(t *testing.T) {
	needTools(t, "git")
	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, "installer"), 0o755); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("version.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "installer", "version.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	git := func(date string, args ...string) {
		t.Helper()
		env := []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid",
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_COMMITTER_DATE=" + date, "GIT_AUTHOR_DATE=" + date}
		if out, err := run(t, env, "git", append([]string{"-C", repo}, args...)...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	version := func(args ...string) (string, error) {
		out, err := run(t, nil, filepath.Join(repo, "installer", "version.sh"), args...)
		return strings.TrimSpace(out), err
	}
	want := func(what, wantV, wantFile string) {
		t.Helper()
		if v, err := version(); err != nil || v != wantV {
			t.Errorf("%s: version %q (%v), want %s", what, v, err, wantV)
		}
		if v, err := version("--file"); err != nil || v != wantFile {
			t.Errorf("%s: file version %q (%v), want %s", what, v, err, wantFile)
		}
	}
	git("2026-12-03T09:15:00Z", "init", "-q", "-b", "main")
	git("2026-12-03T09:15:00Z", "commit", "-q", "--allow-empty", "-m", "c")
	want("untagged", "0.1.26337", "0.1.26337.915")
	// Committed in New Zealand the next morning: still the UTC date.
	git("2026-12-04T08:30:00+13:00", "commit", "-q", "--allow-empty", "-m", "c")
	want("a later commit, NZ time", "0.1.26337", "0.1.26337.1930")
	git("2026-12-04T08:30:00+13:00", "tag", "v1.2.0")
	git("2027-01-02T00:05:00Z", "commit", "-q", "--allow-empty", "-m", "c")
	want("after v1.2.0, across the new year", "1.2.27002", "1.2.27002.5")
	// A hotfix branched from the tag, committed later, is newer, unlike with a commit count.
	git("2027-01-03T10:00:00Z", "checkout", "-q", "-b", "hotfix", "v1.2.0")
	git("2027-01-03T10:00:00Z", "commit", "-q", "--allow-empty", "-m", "fix")
	want("a hotfix branch", "1.2.27003", "1.2.27003.1000")
	git("2027-01-03T10:00:00Z", "tag", "v300.0")
	if v, err := version(); err == nil {
		t.Errorf("tag v300.0 gave %q; a major version above 255 must be refused", v)
	}
}

// unversioned is a directory with both exes built without resources, as a bare
// `go build` makes them.
func unversioned(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module x\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	for _, name := range []string{"clinicpro.exe", "clinicpro-tray.exe"} {
		c := exec.Command("go", "build", "-o", filepath.Join(dir, name), ".")
		c.Dir = src
		c.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=")
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	return dir
}

// fakeMesa is a folder shaped like a Mesa for Windows build (the DLLs' contents do not
// matter to the packaging).
func fakeMesa(t *testing.T) string {
	dir := t.TempDir()
	for _, dll := range []string{"opengl32.dll", "libgallium_wgl.dll"} {
		if err := os.WriteFile(filepath.Join(dir, dll), []byte("MZ not really a DLL"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestSoftwareOpenGLIsOptionalAndApart: with MESA_DIR the package ships Mesa's
// software OpenGL in Program Files\ClinicPro\mesa for Remote Desktop hosts without a
// GPU; check-msi.sh refuses it beside the tray, where it would replace the GPU's
// OpenGL on every PC.
func TestSoftwareOpenGLIsOptionalAndApart(t *testing.T) {
	needTools(t, "wixl", "msibuild", "msiinfo")
	msi := build{fakeBinaries(t), toolbarIcon(t), "0.1.7", "", fakeMesa(t)}.mustMSI(t)
	if out, err := run(t, nil, "./check-msi.sh", msi); err != nil {
		t.Fatalf("check-msi.sh rejected an MSI with the software OpenGL: %v\n%s", err, out)
	}
	files, _ := run(t, nil, "msiinfo", "export", msi, "File")
	if !strings.Contains(files, "opengl32.dll") || !strings.Contains(files, "libgallium_wgl.dll") {
		t.Fatalf("the software OpenGL is not in the package:\n%s", files)
	}
	if _, err := run(t, nil, "msibuild", msi, "-q", "UPDATE Component SET Directory_='INSTALLDIR' WHERE Component='SoftwareGL'"); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, nil, "./check-msi.sh", msi); err == nil || !strings.Contains(out, "not beside the tray") {
		t.Fatalf("opengl32.dll beside the tray passed check-msi.sh: %v\n%s", err, out)
	}
	notMesa := t.TempDir()
	os.WriteFile(filepath.Join(notMesa, "opengl32.dll"), []byte("MZ"), 0o644)
	if _, out, err := (build{fakeBinaries(t), toolbarIcon(t), "0.1.7", "", notMesa}).msi(t); err == nil || !strings.Contains(out, "libgallium_wgl.dll") {
		t.Fatalf("a MESA_DIR without libgallium_wgl.dll was packaged: %v\n%s", err, out)
	}
}
