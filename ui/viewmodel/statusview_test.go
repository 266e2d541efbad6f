package viewmodel

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/ui/fakeagent"
)

// TestStatusViewPutsTheVerdictFirst: the verdict, the queue and the last upload
// head the window; each check says since when it has been in its state (today as a
// time, before as a date); a fix shows only on a failing check.
func TestStatusViewPutsTheVerdictFirst(t *testing.T) {
	loc := time.FixedZone("NZDT", 13*3600)
	now := time.Date(2026, 12, 3, 10, 30, 0, 0, loc)
	tr := NewTray()
	tr.SetStatus(status(func(s *localapi.Status) {
		s.Version, s.Relay, s.Facility = "1.2.3", "https://relay.example", "F2N060-E"
		s.Counts = localapi.Counts{Queued: 3, Parked: 1, Unassigned: 2, SentToday: 14}
		s.LastUpload = now.Add(-12 * time.Minute)
		s.Health = health.Aggregate(now.Add(-time.Minute), []health.Check{
			{Name: "relay", Title: "ClinicPro relay", State: health.OK, Detail: "The relay answers.", Since: now.Add(-48 * time.Hour), Fix: "never shown"},
			{Name: "hcm.service", Title: "Hybrid Connection Manager", State: health.Offline, Critical: true,
				Detail: "The service is stopped.", Fix: "Start it.", Since: now.Add(-20 * time.Minute)},
		})
	}), now)
	v := tr.StatusView(now)
	if v.Icon != IconOffline || v.State != "Offline" || !strings.HasPrefix(v.Verdict, "The service is stopped.") {
		t.Fatalf("verdict %s %q %q", v.Icon, v.State, v.Verdict)
	}
	if v.Queue != "3 waiting, 0 uploading, 1 not saved, 2 unassigned, 14 sent today" || v.LastUpload != "today 10:18 (12 min ago)" {
		t.Fatalf("queue %q, last upload %q", v.Queue, v.LastUpload)
	}
	if v.Stale != "" || !v.CanRecheck {
		t.Fatalf("fresh status marked stale %q or without re-check", v.Stale)
	}
	hcm, relay := v.Checks[0], v.Checks[1] // failing checks first
	if relay.Title != "ClinicPro relay: OK" || relay.Since != "since 1 Dec 10:30" || relay.Fix != "" {
		t.Fatalf("relay row %+v", relay)
	}
	if hcm.Title != "Hybrid Connection Manager: Offline" || hcm.Since != "since 10:10" || hcm.Fix != "Start it." {
		t.Fatalf("HCM row %+v", hcm)
	}
	if v.Facts[0] != [2]string{"Relay", "https://relay.example"} || v.Facts[4][1] != "3 Dec 2026 10:29:00" {
		t.Fatalf("facts %v", v.Facts)
	}
}

// TestStatusViewMarksStaleResults: once the agent stops answering, the window says
// its results are what the agent last reported, and since when it has not answered;
// Re-check is not offered until it is back.
func TestStatusViewMarksStaleResults(t *testing.T) {
	tr := NewTray()
	if v := tr.StatusView(now); !strings.Contains(v.Stale, "has not answered since this tray started") || v.CanRecheck {
		t.Fatalf("never connected: %+v", v)
	}
	tr.SetStatus(status(func(*localapi.Status) {}), now)
	tr.Disconnected(now.Add(2 * time.Minute))
	tr.Disconnected(now.Add(3 * time.Minute)) // each reconnection attempt: the first loss counts
	v := tr.StatusView(now.Add(5 * time.Minute))
	if v.State != "Agent not answering" || v.Stale != "Not up to date: the ClinicPro agent has not answered since 10:32. What follows is what it reported at 10:30:00." || v.CanRecheck {
		t.Fatalf("after losing the agent: %+v", v)
	}
	tr.SetStatus(status(func(*localapi.Status) {}), now.Add(6*time.Minute))
	if v := tr.StatusView(now.Add(6 * time.Minute)); v.Stale != "" || !v.CanRecheck {
		t.Fatalf("back: %+v", v)
	}
}

// TestRecheckRunsTheAgentsChecks: Re-check now asks the agent, which runs its
// checks and answers with them; a failure is said in the window.
func TestRecheckRunsTheAgentsChecks(t *testing.T) {
	a := fakeagent.New()
	tr := NewTray()
	st, _ := a.Status(context.Background())
	tr.SetStatus(st, now)
	if err := tr.Recheck(context.Background(), a, func() time.Time { return now.Add(time.Minute) }); err != nil {
		t.Fatal(err)
	}
	if a.Rechecks() != 1 {
		t.Fatalf("the agent ran its checks %d times", a.Rechecks())
	}
	if v := tr.StatusView(now.Add(time.Minute)); v.RecheckNote != "" || v.Rechecking || !v.CanRecheck {
		t.Fatalf("after re-check: %+v", v)
	}
	down := recheckDown{a}
	if err := tr.Recheck(context.Background(), down, time.Now); err == nil {
		t.Fatal("re-check against a stopped agent succeeded")
	}
	if v := tr.StatusView(now); !strings.HasPrefix(v.RecheckNote, "Re-check failed: The ClinicPro agent is not answering") {
		t.Fatalf("failed re-check says %q", v.RecheckNote)
	}
}

type recheckDown struct{ *fakeagent.Agent }

func (recheckDown) Recheck(context.Context) (localapi.Status, error) {
	return localapi.Status{}, errors.Join(localapi.ErrAgentDown)
}
