package viewmodel

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/health/checks"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/ui/fakeagent"
)

// parkedItem saves a capture and parks it with a cause, as the uploader does.
func parkedItem(t *testing.T, a *fakeagent.Agent, c *Capture, name string, cause api.Cause) string {
	t.Helper()
	id := add(t, c, name)
	if err := c.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.ParkWithCause(id, cause)
	return id
}

func TestNeedsAttentionOffersWhatEachCauseAllows(t *testing.T) {
	a, c := launched(t)
	n := NewAttention(a, nil)
	pump(t, a, n.HandleItem)
	refused := parkedItem(t, a, c, "a.jpg", api.CauseALEXForbidden)
	unsure := parkedItem(t, a, c, "b.jpg", api.CauseUnresolved)
	eventually(t, "both listed", func() bool { return n.Count() == 2 })
	if err := n.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, _ := n.Items()
	byID := map[string]AttentionItem{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	r := byID[refused]
	if r.Sentence != api.CauseALEXForbidden.Sentence() || !strings.HasPrefix(r.Fix, api.CauseALEXForbidden.Fix()) ||
		!r.CanRetry || r.CanSendAgain || !r.CanGive || !r.CanDiscard {
		t.Fatalf("refused row %+v", r)
	}
	u := byID[unsure]
	// Medtech may hold it already: Send again (after a look in Medtech), not Retry.
	if u.Sentence != api.CauseUnresolved.Sentence() || !u.CanSendAgain || u.CanRetry {
		t.Fatalf("unresolved row %+v", u)
	}

	if err := n.SendAgain(context.Background(), unsure); err != nil {
		t.Fatal(err)
	}
	if it, _ := a.Item(context.Background(), unsure); it.State != localapi.StateQueued {
		t.Fatalf("sent again: %s", it.State)
	}
	// Give to the open patient: filed under the capture window's session.
	other := NewCapture(a, nil)
	_ = other.Launch(context.Background(), fakeagent.PatientURL)
	if err := n.Give(context.Background(), refused, other); err != nil {
		t.Fatal(err)
	}
	s, _ := other.Session()
	if it, _ := a.Item(context.Background(), refused); it.State != localapi.StateQueued || it.SessionID != s.ID {
		t.Fatalf("given: %+v", it)
	}
	third := parkedItem(t, a, c, "c.jpg", api.CauseRefused)
	if err := n.Discard(context.Background(), third); err != nil {
		t.Fatal(err)
	}
	if it, _ := a.Item(context.Background(), third); it.State != localapi.StateRejected {
		t.Fatalf("discarded: %s", it.State)
	}
	eventually(t, "empty", func() bool { return n.Count() == 0 })
	// The discarded image leaves the capture window too (its event is asynchronous).
	eventually(t, "discarded gone from the window", func() bool { return len(c.View().Items) == 2 })
	// Without a patient window nothing can be given, and the GP is told what to do.
	fourth := parkedItem(t, a, c, "d.jpg", api.CauseRefused)
	if err := n.Give(context.Background(), fourth, NewCapture(a, nil)); err == nil {
		t.Fatal("given to no patient")
	}
	if _, msg := n.Items(); !strings.Contains(msg, "click the ClinicPro icon") {
		t.Fatalf("message %q", msg)
	}
}

// Every sentence that sends a person somewhere in the tray names a place that exists:
// the causes' sentences and fixes, the health checks' fixes, and the tray's own.
func TestFixSentencesNameTrayPlacesThatExist(t *testing.T) {
	var texts []string
	for _, c := range api.Causes() {
		texts = append(texts, c.Sentence(), c.Fix())
	}
	texts = append(texts, checks.FixParked)
	tr := NewTray()
	for _, st := range []localapi.Status{
		status(func(s *localapi.Status) { s.Counts.Parked = 2 }),
		status(func(s *localapi.Status) { s.Counts.Unassigned = 2 }),
		status(func(s *localapi.Status) { s.Paused = true }),
	} {
		tr.SetStatus(st, day("2026-01-01"))
		texts = append(texts, tr.View().Sentence)
	}
	for _, nt := range NewTray().HandleItem(localapi.Item{State: localapi.StateParked}, day("2026-01-01")) {
		texts = append(texts, nt.Body)
	}
	places := regexp.MustCompile(`ClinicPro Images > ([A-Z][a-z]+(?: [a-z]+)?)|[Oo]pen ([A-Z][a-z]+(?: [a-z]+)?) in the (?:ClinicPro Images )?tray menu|choose ([A-Z][a-z]+(?: [a-z]+)?) in the tray menu`)
	named := 0
	for _, txt := range texts {
		for _, m := range places.FindAllStringSubmatch(txt, -1) {
			place := m[1] + m[2] + m[3]
			named++
			ok := false
			for _, p := range append(TrayPlaces, "Resume uploads") {
				if place == p {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%q names %q, which is not in the tray menu %v", txt, place, TrayPlaces)
			}
		}
		if strings.Contains(txt, "> Queue") {
			t.Errorf("%q names a Queue window the tray does not have", txt)
		}
	}
	if named < 4 {
		t.Fatalf("only %d places named: the pattern no longer finds them", named)
	}
}
