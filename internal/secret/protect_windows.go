//go:build windows

package secret

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Machine scope, not user scope: the agent runs as LocalSystem and `clinicpro enrol`
// runs as an administrator, and both must open the same file. The entropy ties the
// blob to this product so another program's DPAPI call cannot be fooled into
// decrypting it by accident.
var entropy = []byte("ClinicPro Images connector v1")

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

func protect(b []byte) ([]byte, error) {
	var out windows.DataBlob
	name, _ := windows.UTF16PtrFromString("ClinicPro connector")
	if err := windows.CryptProtectData(blob(b), name, blob(entropy), 0, nil, flags, &out); err != nil {
		return nil, err
	}
	return take(&out), nil
}

func unprotect(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errors.New("empty credentials file")
	}
	var out windows.DataBlob
	if err := windows.CryptUnprotectData(blob(b), nil, blob(entropy), 0, nil, flags, &out); err != nil {
		return nil, err
	}
	return take(&out), nil
}
