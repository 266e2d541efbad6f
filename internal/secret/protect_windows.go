//go:build windows

package secret

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/clinicpro/medtech-images/internal/datadir"
)

// KeyFileName holds this installation's DPAPI entropy: 32 random bytes, readable by
// SYSTEM and Administrators only.
//
// Machine-scope DPAPI lets any process on the PC decrypt a blob if it has the blob and
// the entropy: the agent runs as LocalSystem and `clinicpro enrol` as an
// administrator, and both must open the same file, so user scope is not an option.
// The protection therefore rests on a standard user being able to read neither file:
// both are written with an explicit SYSTEM-and-Administrators ACL, inside a folder
// with the same ACL. A copy taken to another PC stays useless (machine key).
const KeyFileName = "connector.key"

const keySize = 32

// legacyEntropy is what versions before the per-install key used; a file sealed
// with it is opened once more and sealed again with a fresh key.
var legacyEntropy = []byte("ClinicPro Images connector v1")

const flags = windows.CRYPTPROTECT_LOCAL_MACHINE | windows.CRYPTPROTECT_UI_FORBIDDEN

func blob(b []byte) *windows.DataBlob {
	if len(b) == 0 {
		return &windows.DataBlob{}
	}
	return &windows.DataBlob{Size: uint32(len(b)), Data: &b[0]}
}

func take(out *windows.DataBlob) []byte {
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return append([]byte(nil), unsafe.Slice(out.Data, out.Size)...)
}

// entropy reads this installation's key, creating it when create is set.
func entropy(dir string, create bool) ([]byte, error) {
	path := filepath.Join(dir, KeyFileName)
	k, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		k = make([]byte, keySize)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		if err := datadir.WritePrivate(path, k); err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
		return k, nil
	}
	if err != nil {
		return nil, err
	}
	if len(k) != keySize {
		return nil, fmt.Errorf("%s is damaged", path)
	}
	return k, nil
}

func protect(b []byte, dir string) ([]byte, error) {
	e, err := entropy(dir, true)
	if err != nil {
		return nil, err
	}
	var out windows.DataBlob
	name, _ := windows.UTF16PtrFromString("ClinicPro connector")
	if err := windows.CryptProtectData(blob(b), name, blob(e), 0, nil, flags, &out); err != nil {
		return nil, err
	}
	return take(&out), nil
}

// unprotect opens a sealed file; legacy reports that it was sealed before the
// per-install key existed, so the caller seals it again.
func unprotect(b []byte, dir string) (plain []byte, legacy bool, err error) {
	if len(b) == 0 {
		return nil, false, errors.New("empty credentials file")
	}
	e, err := entropy(dir, false)
	if errors.Is(err, fs.ErrNotExist) {
		e, legacy = legacyEntropy, true
	} else if err != nil {
		return nil, false, err
	}
	var out windows.DataBlob
	if err := windows.CryptUnprotectData(blob(b), nil, blob(e), 0, nil, flags, &out); err != nil {
		return nil, false, err
	}
	return take(&out), legacy, nil
}
