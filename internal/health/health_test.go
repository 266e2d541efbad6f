package health

import (
	"testing"
	"time"
)

func TestAggregate(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		checks      []Check
		wantState   State
		wantSummary string
	}{
		{"empty is ok", nil, OK, "Everything is working."},
		{"unknown does not degrade", []Check{{Name: "a", State: Unknown}}, OK, "Everything is working."},
		{"non-critical offline is degraded", []Check{
			{Name: "a", State: OK},
			{Name: "b", State: Offline, Detail: "Spool disk is almost full.", Fix: "Free disk space."},
		}, Degraded, "Spool disk is almost full. Free disk space."},
		{"critical offline wins", []Check{
			{Name: "a", State: Degraded, Detail: "Queue is long."},
			{Name: "b", State: Offline, Critical: true, Detail: "Medtech is not reachable.", Fix: "Check HCM."},
		}, Offline, "Medtech is not reachable. Check HCM."},
	}
	for _, tt := range tests {
		r := Aggregate(now, tt.checks)
		if r.State != tt.wantState || r.Summary != tt.wantSummary {
			t.Errorf("%s: got %s %q, want %s %q", tt.name, r.State, r.Summary, tt.wantState, tt.wantSummary)
		}
	}
}
