package datadir

import (
	"errors"
	"strings"
	"testing"
)

const self = "S-1-5-21-1-2-3-500"

var (
	sysFull   = ACE{Allow: true, SID: SIDSystem, Mask: fileAllAccess}
	adminFull = ACE{Allow: true, SID: SIDAdministrators, Mask: fileAllAccess}
)

func TestJudgeWindowsFolder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     Security
		users bool
		want  verdict
	}{
		{"as the MSI sets it", Security{Owner: SIDAdministrators, Protected: true, ACEs: []ACE{sysFull, adminFull}}, false, keep},
		{"owned by SYSTEM", Security{Owner: SIDSystem, Protected: true, ACEs: []ACE{sysFull, adminFull}}, false, keep},
		{"owned by the agent's own account", Security{Owner: self, Protected: true, ACEs: []ACE{sysFull, adminFull}}, false, keep},
		{"GENERIC_ALL counts as full", Security{Owner: SIDSystem, Protected: true, ACEs: []ACE{{Allow: true, SID: SIDSystem, Mask: genericAll}, adminFull}}, false, keep},
		// ProgramData's defaults flowing in: Users read, CREATOR OWNER full.
		{"inheriting from ProgramData", Security{Owner: SIDAdministrators, Protected: false, ACEs: []ACE{sysFull, adminFull,
			{Allow: true, SID: SIDUsers, Mask: readExecute}, {Allow: true, SID: "S-1-3-0", Mask: genericAll}}}, false, repair},
		{"Users may read", Security{Owner: SIDAdministrators, Protected: true, ACEs: []ACE{sysFull, adminFull, {Allow: true, SID: SIDUsers, Mask: 0x1200A9}}}, false, repair},
		{"Users may read the toolbar folder", Security{Owner: SIDAdministrators, Protected: true, ACEs: []ACE{sysFull, adminFull, {Allow: true, SID: SIDUsers, Mask: 0x1200A9}}}, true, keep},
		{"Users may write the toolbar folder", Security{Owner: SIDAdministrators, Protected: true, ACEs: []ACE{sysFull, adminFull, {Allow: true, SID: SIDUsers, Mask: 0x1201BF}}}, true, repair},
		{"a deny entry", Security{Owner: SIDAdministrators, Protected: true, ACEs: []ACE{{SID: SIDSystem, Mask: 1}, sysFull, adminFull}}, false, repair},
		{"SYSTEM lost full control", Security{Owner: SIDAdministrators, Protected: true, ACEs: []ACE{{Allow: true, SID: SIDSystem, Mask: 0x1200A9}, adminFull}}, false, repair},
		{"no entries at all", Security{Owner: SIDAdministrators, Protected: true}, false, repair},
		{"a standard user pre-created it", Security{Owner: "S-1-5-21-1-2-3-1105", Protected: true, ACEs: []ACE{sysFull, adminFull}}, false, refuse},
		{"no owner", Security{Protected: true, ACEs: []ACE{sysFull, adminFull}}, false, refuse},
	} {
		if got := judgeWindows(tc.s, self, tc.users); got != tc.want {
			t.Errorf("%s: verdict %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestJudgeWindowsChild(t *testing.T) {
	inherited := func(a ACE) ACE { a.Inherited = true; return a }
	for _, tc := range []struct {
		name    string
		s       Security
		toolbar bool
		want    verdict
	}{
		{"inherits only", Security{Owner: SIDSystem, ACEs: []ACE{inherited(sysFull), inherited(adminFull)}}, false, keep},
		{"explicit SYSTEM entry", Security{Owner: SIDSystem, ACEs: []ACE{sysFull, inherited(adminFull)}}, false, keep},
		{"explicit Everyone entry", Security{Owner: SIDSystem, ACEs: []ACE{{Allow: true, SID: "S-1-1-0", Mask: 0x1200A9}, inherited(sysFull)}}, false, repair},
		{"stops inheriting", Security{Owner: SIDSystem, Protected: true, ACEs: []ACE{sysFull, adminFull}}, false, repair},
		{"icon readable by Users", Security{Owner: SIDAdministrators, ACEs: []ACE{{Allow: true, SID: SIDUsers, Mask: 0x1200A9}, inherited(sysFull)}}, true, keep},
		{"config.toml left by a standard user", Security{Owner: "S-1-5-21-1-2-3-1105", ACEs: []ACE{inherited(sysFull)}}, false, refuse},
	} {
		if got := judgeChild(tc.s, self, tc.toolbar); got != tc.want {
			t.Errorf("%s: verdict %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestJudgeUnix(t *testing.T) {
	for _, tc := range []struct {
		owner, self, perm uint32
		want              verdict
	}{
		{0, 0, 0o700, keep}, {1000, 1000, 0o600, keep}, {0, 1000, 0o600, keep},
		{0, 0, 0o755, repair}, {0, 0, 0o644, repair}, {0, 0, 0o640, repair}, {0, 0, 0o602, repair},
		{1001, 0, 0o700, refuse}, {1001, 1000, 0o600, refuse},
	} {
		if got := judgeUnix(tc.owner, tc.self, tc.perm); got != tc.want {
			t.Errorf("owner %d self %d perm %o: verdict %d, want %d", tc.owner, tc.self, tc.perm, got, tc.want)
		}
	}
}

func TestUntrustedErrorSaysWhatToDo(t *testing.T) {
	err := error(&UntrustedError{Path: "/var/lib/clinicpro/config.toml", Owner: "uid:1105"})
	if !errors.Is(err, ErrUntrusted) {
		t.Fatal("not ErrUntrusted")
	}
	for _, want := range []string{"/var/lib/clinicpro/config.toml", "uid:1105", "reinstall", ownerFix("/var/lib/clinicpro/config.toml")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %s", want, err)
		}
	}
}
