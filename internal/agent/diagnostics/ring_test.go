package diagnostics

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
)

var at = time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)

func report() health.Report {
	return health.Aggregate(at, []health.Check{
		{Name: "hcm.service", Title: "Hybrid Connection Manager", State: health.OK, Since: at.Add(-78 * time.Minute), Detail: "running", Critical: true},
		{Name: "relay.reachable", Title: "ClinicPro relay", State: health.Offline, Since: at.Add(-2 * time.Minute), Critical: true,
			Detail: "The relay did not answer.", Fix: "Check the network."},
	})
}

func TestRing(t *testing.T) {
	r := NewRing(3)
	r.Write([]byte("a\nb\n"))
	r.Write([]byte("c\nd"))
	r.Write([]byte("\ne\n"))
	if got := strings.Join(r.Lines(), ","); got != "c,d,e" {
		t.Fatalf("lines %q", got)
	}
}

// TestLogTail: the last lines of a log larger than the window read, and nothing for
// a missing file.
func TestLogTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.log")
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "line %d with some padding to make the file larger than the window\n", i)
	}
	os.WriteFile(path, []byte(b.String()), 0o600)
	got := LogTail(path, 3)
	if strings.Join(got, "|") != "line 19997 with some padding to make the file larger than the window|line 19998 with some padding to make the file larger than the window|line 19999 with some padding to make the file larger than the window" {
		t.Fatalf("tail %q", got)
	}
	if LogTail(filepath.Join(t.TempDir(), "missing.log"), 3) != nil {
		t.Fatal("a missing log has lines")
	}
}
