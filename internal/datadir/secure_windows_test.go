//go:build windows

package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

func security(t *testing.T, p string) Security {
	t.Helper()
	s, err := readSecurity(p)
	if err != nil {
		t.Fatalf("reading %s: %v", p, err)
	}
	return s
}

// createWith makes a file with an explicit security descriptor, as another program
// (or a user before the installer ran) could.
func createWith(t *testing.T, p, sddl string) error {
	t.Helper()
	sa, err := securityAttributes(sddl)
	if err != nil {
		t.Fatal(err)
	}
	p16, _ := windows.UTF16PtrFromString(p)
	h, err := windows.CreateFile(p16, windows.GENERIC_WRITE, 0, sa, windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return err
	}
	return windows.CloseHandle(h)
}

// needStoredSecurity skips where file security descriptors are not kept: Wine 8
// (the CI's Windows) synthesises them from Unix modes and drops what is set. The
// checks then run on real Windows (docs/security.md, "Only real Windows can confirm").
func needStoredSecurity(t *testing.T) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "probe")
	if err := createWith(t, p, fileSDDL); err != nil {
		t.Fatal(err)
	}
	if !security(t, p).Protected {
		t.Skip("this Windows does not store file security descriptors (Wine); checked on real Windows instead")
	}
}

func explicit(s Security) []string {
	var sids []string
	for _, a := range s.ACEs {
		if !a.Inherited {
			sids = append(sids, a.SID)
		}
	}
	return sids
}

func TestSecureSetsAndRepairsACLs(t *testing.T) {
	self, err := selfSID()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ClinicPro")
	if _, err := Secure(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := Secure(dir); err != nil {
		t.Fatal(err)
	}
	needStoredSecurity(t)
	s := security(t, dir)
	if judgeWindows(s, self, false) != keep {
		t.Fatalf("new data folder: %+v; want protected, SYSTEM and Administrators only", s)
	}

	// Users given read on the folder, and a file with an entry for Everyone.
	if err := setDACL(dir, "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)", true); err != nil {
		t.Fatal(err)
	}
	leaky := filepath.Join(dir, "queue.db")
	if err := createWith(t, leaky, "D:P(A;;FA;;;WD)"); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, ToolbarFolder, "ClinicPro Images"), 0o755)
	res, err := Secure(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Repaired, dir) || !slices.Contains(res.Repaired, leaky) {
		t.Fatalf("repaired %v, want the folder and queue.db", res.Repaired)
	}
	if s := security(t, dir); judgeWindows(s, self, false) != keep {
		t.Fatalf("folder after repair: %+v", s)
	}
	if s := security(t, leaky); s.Protected || slices.Contains(explicit(s), "S-1-1-0") {
		t.Fatalf("queue.db after repair: %+v; want it to inherit only", s)
	}
	// The toolbar folder stays readable by Users, for MT Icon Loader.
	tb := security(t, filepath.Join(dir, ToolbarFolder))
	if judgeWindows(tb, self, true) != keep || !slices.ContainsFunc(tb.ACEs, func(a ACE) bool { return a.SID == SIDUsers }) {
		t.Fatalf("toolbar folder: %+v; want Users' read kept", tb)
	}
	if res, err := Secure(dir); err != nil || len(res.Repaired) != 0 {
		t.Fatalf("second run: %v, %v; want nothing to repair", res.Repaired, err)
	}
}

func TestSecureRefusesAFileAStandardUserOwns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ClinicPro")
	if _, err := Secure(dir); err != nil {
		t.Fatal(err)
	}
	needStoredSecurity(t)
	planted := filepath.Join(dir, "config.toml")
	const gp = "S-1-5-21-1-2-3-1105"
	if err := createWith(t, planted, "O:"+gp+"D:(A;;FA;;;"+gp+")"); err != nil {
		t.Skipf("this Windows does not let a test set another owner: %v", err)
	}
	if o := security(t, planted).Owner; o != gp {
		t.Skipf("this Windows ignored the owner (%s); the rule itself is TestJudgeWindowsChild", o)
	}
	_, err := Secure(dir)
	var ue *UntrustedError
	if !errors.As(err, &ue) || ue.Path != planted || !strings.Contains(ue.Owner, gp) {
		t.Fatalf("err = %v, want config.toml refused", err)
	}
}

func TestWritePrivateACL(t *testing.T) {
	p := filepath.Join(t.TempDir(), "connector.key")
	if err := WritePrivate(p, []byte("k")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "k" {
		t.Fatalf("read back %q, %v", b, err)
	}
	needStoredSecurity(t)
	s := security(t, p)
	self, _ := selfSID()
	if judgeWindows(s, self, false) != keep {
		t.Fatalf("private file: %+v; want protected, SYSTEM and Administrators only", s)
	}
}
