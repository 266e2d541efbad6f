//go:build windows

package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The security descriptors the MSI sets (installer/clinicpro.wxs, MsiLockPermissionsEx)
// and the agent restores. SDDL names well-known SIDs, so they hold on non-English
// Windows where "Administrators" has another name.
const (
	// FolderSDDL: SYSTEM and Administrators full control, inherited by everything
	// inside; protected so ProgramData's "Users may read" does not flow in.
	FolderSDDL = "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
	// ToolbarSDDL adds Users' read and execute for the toolbar icon folder.
	ToolbarSDDL = "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"
	// fileSDDL is for a file written with WritePrivate.
	fileSDDL = "D:P(A;;FA;;;SY)(A;;FA;;;BA)"
)

func ownerFix(path string) string {
	return `icacls "` + path + `" /setowner *S-1-5-32-544 /T /C`
}

func selfSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", err
	}
	return u.User.Sid.String(), nil
}

func securityAttributes(sddl string) (*windows.SecurityAttributes, error) {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return nil, err
	}
	return &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}, nil
}

func secure(dir string) (Result, error) {
	var res Result
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return res, err
	}
	// Created with its ACL in one call: a folder made first and locked after would
	// give a standard user a moment to drop a file in it.
	sa, err := securityAttributes(FolderSDDL)
	if err != nil {
		return res, err
	}
	p16, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return res, err
	}
	if err := windows.CreateDirectory(p16, sa); err != nil && !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		return res, fmt.Errorf("creating the data folder %s: %w", dir, err)
	}
	self, err := selfSID()
	if err != nil {
		return res, err
	}
	toolbar := filepath.Join(dir, ToolbarFolder)
	// The two folders with an ACL of their own first, since restoring one propagates
	// to everything that inherits from it.
	for _, root := range []struct {
		path, sddl string
		users      bool
	}{{dir, FolderSDDL, false}, {toolbar, ToolbarSDDL, true}} {
		sec, err := readSecurity(root.path)
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
			continue
		}
		if err != nil {
			return res, fmt.Errorf("reading the permissions of %s: %w", root.path, err)
		}
		switch judgeWindows(sec, self, root.users) {
		case refuse:
			return res, &UntrustedError{Path: root.path, Owner: accountName(sec.Owner)}
		case repair:
			if err := setDACL(root.path, root.sddl, true); err != nil {
				return res, err
			}
			res.Repaired = append(res.Repaired, root.path)
		}
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir || p == toolbar || (!d.IsDir() && !d.Type().IsRegular()) {
			return nil // roots done above; links and junctions are never followed
		}
		sec, err := readSecurity(p)
		if err != nil {
			return fmt.Errorf("reading the permissions of %s: %w", p, err)
		}
		inToolbar := strings.HasPrefix(p, toolbar+string(filepath.Separator))
		switch judgeChild(sec, self, inToolbar) {
		case refuse:
			return &UntrustedError{Path: p, Owner: accountName(sec.Owner)}
		case repair:
			// Back to inheriting from its folder, with no entries of its own.
			if err := setDACL(p, "D:AI", false); err != nil {
				return err
			}
			res.Repaired = append(res.Repaired, p)
		}
		return nil
	})
	return res, err
}

func readSecurity(path string) (Security, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return Security{}, err
	}
	var s Security
	if owner, _, err := sd.Owner(); err == nil && owner != nil {
		s.Owner = owner.String()
	}
	if control, _, err := sd.Control(); err == nil {
		s.Protected = control&windows.SE_DACL_PROTECTED != 0
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		// No DACL at all grants everyone everything.
		s.ACEs = []ACE{{Allow: true, SID: "S-1-1-0", Mask: fileAllAccess}}
		return s, nil
	}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return Security{}, err
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		s.ACEs = append(s.ACEs, ACE{
			// Only plain allow entries are understood; anything else counts as a
			// deny, which the rules repair.
			Allow:     ace.Header.AceType == windows.ACCESS_ALLOWED_ACE_TYPE,
			SID:       sid.String(),
			Mask:      uint32(ace.Mask),
			Inherited: ace.Header.AceFlags&windows.INHERITED_ACE != 0,
		})
	}
	return s, nil
}

func setDACL(path, sddl string, protected bool) error {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	info := windows.SECURITY_INFORMATION(windows.DACL_SECURITY_INFORMATION)
	if protected {
		info |= windows.PROTECTED_DACL_SECURITY_INFORMATION
	} else {
		info |= windows.UNPROTECTED_DACL_SECURITY_INFORMATION
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, info, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("restoring the permissions of %s: %w", path, err)
	}
	return nil
}

func writePrivate(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	sa, err := securityAttributes(fileSDDL)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	t16, err := windows.UTF16PtrFromString(tmp)
	if err != nil {
		return err
	}
	h, err := windows.CreateFile(t16, windows.GENERIC_WRITE, 0, sa, windows.CREATE_ALWAYS, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return err
	}
	return finish(os.NewFile(uintptr(h), tmp), tmp, path, data)
}

// RestrictNewFiles does nothing on Windows: new files inherit the folder's ACL.
func RestrictNewFiles() {}

// accountName is "PC01\reception (S-1-5-21-…)" where Windows can name the SID, so
// practice IT see who created the file.
func accountName(sidString string) string {
	sid, err := windows.StringToSid(sidString)
	if err != nil {
		return sidString
	}
	user, domain, _, err := sid.LookupAccount("")
	if err != nil || user == "" {
		return sidString
	}
	if domain != "" {
		user = domain + `\` + user
	}
	return user + " (" + sidString + ")"
}
