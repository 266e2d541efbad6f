//go:build windows

package ui

import (
	"errors"

	"golang.org/x/sys/windows"
)

type systemCamera struct{}

// Open starts Windows Camera through its URI scheme, the documented way to launch it
// without knowing its package path.
func (systemCamera) Open() error {
	uri, err := windows.UTF16PtrFromString("microsoft.windows.camera:")
	if err != nil {
		return err
	}
	verb, _ := windows.UTF16PtrFromString("open")
	if err := windows.ShellExecute(0, verb, uri, nil, nil, windows.SW_SHOWNORMAL); err != nil {
		return errors.New("Windows Camera did not open: check it is installed (Microsoft Store, \"Windows Camera\"), or use Add files")
	}
	return nil
}
