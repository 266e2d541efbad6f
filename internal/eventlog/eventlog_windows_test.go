//go:build windows

package eventlog

import (
	"os"
	"testing"

	"github.com/clinicpro/medtech-images/internal/health"
)

// TestWindowsEventLog registers the source and writes one entry of each level
// through the real API. It needs administrator rights, so it runs only where asked
// (make test-wine).
func TestWindowsEventLog(t *testing.T) {
	if os.Getenv("CLINICPRO_WINE") != "1" {
		t.Skip("set CLINICPRO_WINE=1 to register an event source (make test-wine does)")
	}
	if err := Install(); err != nil {
		t.Fatalf("install: %v", err)
	}
	if err := Install(); err != nil {
		t.Fatalf("second install must be a no-op: %v", err)
	}
	w, closeFn, err := Open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer closeFn()
	for _, to := range []health.State{health.Offline, health.Degraded, health.OK} {
		if err := RecordChange(w, health.Change{Name: "hcm.service", From: health.Unknown, To: to, Detail: "test"}); err != nil {
			t.Fatalf("write %s: %v", to, err)
		}
	}
}
