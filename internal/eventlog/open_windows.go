//go:build windows

package eventlog

import (
	"strings"

	"golang.org/x/sys/windows/svc/eventlog"
)

// Open returns the Windows Event Log under Source and the function that closes it.
func Open() (Writer, func() error, error) {
	l, err := eventlog.Open(Source)
	if err != nil {
		return nil, nil, err
	}
	return l, l.Close, nil
}

// Install registers Source in the Application log (admin rights needed); the
// installer and `clinicpro service install` call it. Already registered is fine.
func Install() error {
	err := eventlog.InstallAsEventCreate(Source, eventlog.Error|eventlog.Warning|eventlog.Info)
	// x/sys reports an existing source only as text.
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return nil
	}
	return err
}
