//go:build !windows

package ui

import "errors"

type systemCamera struct{}

// Open has nothing to start off Windows; the window says so instead of failing silently.
func (systemCamera) Open() error {
	return errors.New("the Camera button opens the Windows Camera app, which this computer does not have: use Add files instead")
}
