// Package datadir keeps the agent's data folder (configuration, credentials, the queue
// with its patient identifiers, the spool, logs) to the agent and administrators. The
// folder is checked and repaired at every start, and refused outright when someone
// else owns it: a standard user who created C:\ProgramData\ClinicPro before the
// installer ran could otherwise feed the SYSTEM agent their own config.toml.
//
// On Unix that means owner root or the agent's user, folders 0700 and files 0600. On
// Windows, where file modes mean nothing, it means an owner of SYSTEM, Administrators
// (or the agent's own account) and a protected DACL granting SYSTEM and Administrators
// full control and nobody else; only the toolbar icon folder that Medtech's MT Icon
// Loader reads is also readable by Users.
package datadir

import (
	"errors"
	"fmt"
)

// ToolbarFolder is the subfolder holding the Medtech toolbar icon (installed by the
// MSI): every user may read it, because MT Icon Loader runs as the signed-in user.
const ToolbarFolder = "Toolbar Icon"

// Result says what Secure changed.
type Result struct {
	// Repaired lists the paths whose owner-only permissions had to be restored.
	Repaired []string
}

// UntrustedError is a data folder, or something in it, owned by an account that is
// neither the agent's nor an administrator's.
type UntrustedError struct {
	Path  string
	Owner string // a SID or "uid:N"
}

func (e *UntrustedError) Error() string {
	return fmt.Sprintf("%s is owned by %s, not by an administrator or the ClinicPro agent: someone else created it, so the agent will not use it. "+
		"Check what it holds; if it is not yours, delete %s and reinstall ClinicPro Images (or, after checking it, make Administrators its owner: %s)",
		e.Path, e.Owner, e.Path, ownerFix(e.Path))
}

// ErrUntrusted matches any *UntrustedError with errors.Is.
var ErrUntrusted = errors.New("the data folder is owned by someone else")

func (e *UntrustedError) Is(target error) bool { return target == ErrUntrusted }

// Secure creates dir if needed, refuses it when an untrusted account owns it or
// anything in it, and restores owner-only permissions where they were loosened.
// Symbolic links are never followed.
func Secure(dir string) (Result, error) { return secure(dir) }

// WritePrivate writes data to path atomically (a temporary file, synced, then
// renamed) with permissions for the agent and administrators only, whatever the
// folder's own permissions are: the credentials use it, so they are protected even
// when `clinicpro enrol` runs before the agent ever secured the folder.
func WritePrivate(path string, data []byte) error { return writePrivate(path, data) }

// Well-known Windows SIDs, as strings so the rules below are testable anywhere.
const (
	SIDSystem           = "S-1-5-18"
	SIDAdministrators   = "S-1-5-32-544"
	SIDUsers            = "S-1-5-32-545"
	SIDTrustedInstaller = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
)

// ACE is one access control entry as the rules see it.
type ACE struct {
	Allow     bool
	SID       string
	Mask      uint32
	Inherited bool // came from the parent folder
}

// Security is an object's owner and DACL as the rules see them.
type Security struct {
	Owner     string
	Protected bool // the DACL does not inherit from the parent
	ACEs      []ACE
}

// fileAllAccess is FILE_ALL_ACCESS; GENERIC_ALL is accepted as its equivalent.
const (
	fileAllAccess = 0x1F01FF
	genericAll    = 0x10000000
)

// verdict is what to do with one object.
type verdict int

const (
	keep verdict = iota
	repair
	refuse
)

// trustedOwner: SYSTEM, Administrators, TrustedInstaller, or the agent's own account
// (a developer's `clinicpro run`, or Wine's user).
func trustedOwner(owner, self string) bool {
	switch owner {
	case SIDSystem, SIDAdministrators, SIDTrustedInstaller:
		return true
	}
	return owner != "" && owner == self
}

// judgeWindows decides for one folder or file: refuse an untrusted owner; repair a
// DACL that inherits, grants anyone but SYSTEM and Administrators (plus Users' read
// on the toolbar folder), denies anything, or lacks SYSTEM's or Administrators' full
// control; keep it otherwise.
func judgeWindows(s Security, self string, usersMayRead bool) verdict {
	if !trustedOwner(s.Owner, self) {
		return refuse
	}
	if !s.Protected {
		return repair
	}
	full := map[string]bool{}
	for _, a := range s.ACEs {
		switch {
		case !a.Allow:
			return repair
		case a.SID == SIDSystem || a.SID == SIDAdministrators:
			if a.Mask&fileAllAccess == fileAllAccess || a.Mask&genericAll != 0 {
				full[a.SID] = true
			}
		case a.SID == SIDUsers && usersMayRead && a.Mask&^readExecute == 0:
		default:
			return repair
		}
	}
	if !full[SIDSystem] || !full[SIDAdministrators] {
		return repair
	}
	return keep
}

// judgeChild decides for something inside the data folder, which should simply
// inherit: refuse an untrusted owner; repair a DACL that stops inheriting or has
// entries of its own for anyone but SYSTEM and Administrators (Users' read inside
// the toolbar folder excepted).
func judgeChild(s Security, self string, inToolbar bool) verdict {
	if !trustedOwner(s.Owner, self) {
		return refuse
	}
	if s.Protected {
		return repair
	}
	for _, a := range s.ACEs {
		if a.Inherited {
			continue
		}
		switch {
		case !a.Allow:
			return repair
		case a.SID == SIDSystem || a.SID == SIDAdministrators:
		case a.SID == SIDUsers && inToolbar && a.Mask&^readExecute == 0:
		default:
			return repair
		}
	}
	return keep
}

// readExecute is FILE_GENERIC_READ | FILE_GENERIC_EXECUTE plus the generic bits an
// inheritable "read & execute" entry may carry.
const readExecute = 0x1200A9 | 0xA0000000

// judgeUnix decides for one folder or file: refuse an owner other than root or the
// agent's user; repair any group or other permission bit.
func judgeUnix(owner, self uint32, perm uint32) verdict {
	if owner != 0 && owner != self {
		return refuse
	}
	if perm&0o077 != 0 {
		return repair
	}
	return keep
}
