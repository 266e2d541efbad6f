package eventlog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
)

func TestRecordChangeLevelsAndScrubbing(t *testing.T) {
	var buf bytes.Buffer
	w := Slog{Log: slog.New(slog.NewTextHandler(&buf, nil))}
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	changes := []health.Change{
		{At: at, Name: "facility.reachable", Title: "Medtech", From: health.OK, To: health.Offline, Detail: "ALEX answered 503 for ZZZ0016.", Fix: "Check HCM."},
		{At: at, Name: "queue.parked", From: health.OK, To: health.Degraded, Detail: "2 parked."},
		{At: at, Name: "facility.reachable", Title: "Medtech", From: health.Offline, To: health.OK, Detail: "reachable"},
		{At: at, Name: "clock", From: health.OK, To: health.Unknown},
	}
	for _, c := range changes {
		if err := RecordChange(w, c); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 entries (unknown skipped), got %d:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"level=ERROR", "level=WARN", "level=INFO"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("entry %d: want %s: %s", i, want, lines[i])
		}
	}
	if !strings.Contains(lines[0], "event_id=102") || !strings.Contains(lines[0], "Medtech: offline (was ok)") {
		t.Errorf("offline entry: %s", lines[0])
	}
	if strings.Contains(buf.String(), "ZZZ0016") {
		t.Errorf("NHI reached the event log: %s", buf.String())
	}
}

func TestIDsAreInTheMessageFilesRange(t *testing.T) {
	seen := map[uint32]bool{}
	for _, id := range IDs {
		if id < 1 || id > MaxID {
			t.Errorf("event id %d is outside EventCreate.exe's 1-%d: Event Viewer would say the description cannot be found", id, MaxID)
		}
		if seen[id] {
			t.Errorf("event id %d is used twice", id)
		}
		seen[id] = true
	}
}
