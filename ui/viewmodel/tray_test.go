package viewmodel

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/localapi/localapitest"
	"github.com/clinicpro/medtech-images/ui/fakeagent"
)

func status(mod func(*localapi.Status)) localapi.Status {
	st := localapi.Status{Enrolled: true, Health: health.Aggregate(time.Time{}, nil)}
	mod(&st)
	return st
}

func TestTrayIcon(t *testing.T) {
	offline := health.Aggregate(time.Time{}, []health.Check{{Name: "hcm", Title: "HCM", State: health.Offline, Critical: true,
		Detail: "Medtech is not reachable.", Fix: "Check that the PC running HCM is awake."}})
	degraded := health.Aggregate(time.Time{}, []health.Check{{Name: "disk", State: health.Degraded, Detail: "Disk nearly full."}})
	cases := []struct {
		name string
		st   localapi.Status
		icon Icon
		says string
	}{
		{"ok", status(func(*localapi.Status) {}), IconOK, "All images are saved to Medtech."},
		{"uploading", status(func(s *localapi.Status) { s.Counts.Queued, s.Counts.Uploading = 2, 1 }), IconUploading, "Sending 3 images to Medtech."},
		{"parked", status(func(s *localapi.Status) { s.Counts.Parked, s.Counts.Queued = 1, 4 }), IconAttention, "1 image was not saved"},
		{"unassigned", status(func(s *localapi.Status) { s.Counts.Unassigned = 2 }), IconAttention, "2 files are waiting"},
		{"paused", status(func(s *localapi.Status) { s.Paused = true; s.Counts.Queued = 1 }), IconAttention, "Uploads are paused"},
		{"degraded", status(func(s *localapi.Status) { s.Health = degraded }), IconAttention, "Disk nearly full."},
		{"offline", status(func(s *localapi.Status) { s.Health = offline; s.Counts.Parked = 1 }), IconOffline, "Medtech is not reachable. Check that the PC running HCM is awake."},
		{"not enrolled", status(func(s *localapi.Status) { s.Enrolled = false }), IconAttention, "not enrolled"},
		{"parked, with the cause's sentence", status(func(s *localapi.Status) {
			s.Counts.Parked = 1
			s.Health = health.Aggregate(time.Time{}, []health.Check{{Name: "queue.parked", State: health.Degraded,
				Detail: "1 images could not be sent. The latest: This file may already be in Medtech.", Fix: "Check the patient's Inbox Scan."}})
		}), IconAttention, "This file may already be in Medtech. Check the patient's Inbox Scan."},
	}
	for _, tc := range cases {
		tr := NewTray()
		tr.SetStatus(tc.st, time.Now())
		v := tr.View()
		if v.Icon != tc.icon || !strings.Contains(v.Sentence, tc.says) {
			t.Errorf("%s: icon %s %q, want %s containing %q", tc.name, v.Icon, v.Sentence, tc.icon, tc.says)
		}
	}
}

func TestTrayWithoutAgentIsOffline(t *testing.T) {
	tr := NewTray()
	if v := tr.View(); v.Icon != IconOffline || v.Sentence != agentDown || v.Connected {
		t.Fatalf("before connecting: %+v", v)
	}
	tr.SetStatus(status(func(*localapi.Status) {}), time.Now())
	tr.Disconnected(time.Now())
	if v := tr.View(); v.Icon != IconOffline || v.Sentence != agentDown {
		t.Fatalf("after disconnect: %+v", v)
	}
}

func TestMenuLabels(t *testing.T) {
	tr := NewTray()
	tr.SetStatus(status(func(s *localapi.Status) { s.Counts.Unassigned = 3; s.Paused = true }), time.Now())
	if v := tr.View(); v.Unassigned != "Unassigned (3)" || v.Pause != "Resume uploads" {
		t.Fatalf("%+v", v)
	}
	tr.SetStatus(status(func(*localapi.Status) {}), time.Now())
	if v := tr.View(); v.Unassigned != "Unassigned (0)" || v.Pause != "Pause uploads" {
		t.Fatalf("%+v", v)
	}
}

func TestOfflineNoticeAfterFiveMinutesOnce(t *testing.T) {
	offline := status(func(s *localapi.Status) {
		s.Health = health.Aggregate(time.Time{}, []health.Check{{State: health.Offline, Critical: true, Detail: "HCM stopped."}})
	})
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	tr := NewTray()
	if n := tr.SetStatus(offline, t0); len(n) != 0 {
		t.Fatal("notified at once")
	}
	if n := tr.Tick(t0.Add(OfflineNotifyAfter - time.Second)); len(n) != 0 {
		t.Fatal("notified too early")
	}
	// A status refresh while still offline keeps the original start.
	tr.SetStatus(offline, t0.Add(4*time.Minute))
	n := tr.Tick(t0.Add(OfflineNotifyAfter))
	if len(n) != 1 || !strings.Contains(n[0].Body, "HCM stopped.") {
		t.Fatalf("notices %+v", n)
	}
	if n := tr.Tick(t0.Add(time.Hour)); len(n) != 0 {
		t.Fatal("notified twice")
	}
	// Back online, then offline again: a new episode deserves a new notice.
	tr.SetStatus(status(func(*localapi.Status) {}), t0.Add(2*time.Hour))
	tr.SetStatus(offline, t0.Add(3*time.Hour))
	if n := tr.Tick(t0.Add(3*time.Hour + OfflineNotifyAfter)); len(n) != 1 {
		t.Fatal("second episode not notified")
	}
}

func TestParkedNoticeNamesNoPatient(t *testing.T) {
	tr := NewTray()
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	parked := localapi.Item{State: localapi.StateParked, FileName: "ZZZ0016 knee.jpg", Reason: "TESTING refused"}
	n := tr.HandleItem(parked, t0)
	if len(n) != 1 || localapitest.Contains(n[0].Title+n[0].Body) {
		t.Fatalf("notices %+v", n)
	}
	if n := tr.HandleItem(localapi.Item{State: localapi.StateSent}, t0); len(n) != 0 {
		t.Fatal("notice for a sent item")
	}
	// A batch parked together is one notice.
	if n := tr.HandleItem(parked, t0.Add(ParkedNoticeEvery-time.Second)); len(n) != 0 {
		t.Fatal("second notice within the spacing")
	}
	if n := tr.HandleItem(parked, t0.Add(ParkedNoticeEvery)); len(n) != 1 {
		t.Fatal("no notice after the spacing")
	}
}

func TestUnassignedAssignAndReject(t *testing.T) {
	a := fakeagent.New()
	u := NewUnassigned(a, nil)
	pump(t, a, u.HandleItem)
	first := a.AddUnassigned("scan001.pdf", []byte("%PDF-1.4"), "No NHI in the file name or folder.")
	second := a.AddUnassigned("scan002.pdf", []byte("%PDF-1.4"), "No NHI in the file name or folder.")
	if err := u.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if items, _ := u.Items(); len(items) != 2 {
		t.Fatalf("%d items", len(items))
	}
	// Without a capture window on a patient, nothing can be assigned.
	none := NewCapture(a, nil)
	_ = none.Launch(context.Background(), fakeagent.NoPatientURL)
	if err := u.Assign(context.Background(), first.ID, none); err == nil {
		t.Fatal("assigned without a patient")
	}
	if _, msg := u.Items(); msg == "" {
		t.Fatal("no sentence for the refused assign")
	}
	c := NewCapture(a, nil)
	_ = c.Launch(context.Background(), fakeagent.PatientURL)
	s, _ := c.Session()
	if txt := ConfirmText(s.Banner, first.FileName, time.Now()); !strings.Contains(txt, "ZZZ 0016") || !strings.Contains(txt, "1-Jan-1970") {
		t.Fatalf("confirmation %q does not show the banner", txt)
	}
	if err := u.Assign(context.Background(), first.ID, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Item(context.Background(), first.ID); got.State != localapi.StateQueued || got.SessionID != s.ID {
		t.Fatalf("assigned item %+v", got)
	}
	if err := u.Reject(context.Background(), second.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Item(context.Background(), second.ID); got.State != localapi.StateRejected {
		t.Fatalf("rejected item %+v", got)
	}
	if items, msg := u.Items(); len(items) != 0 || msg != "" {
		t.Fatalf("left %d items, %q", len(items), msg)
	}
}

func TestDiagnosticsSummaryHasNoPatientData(t *testing.T) {
	a := fakeagent.New()
	a.AddUnassigned("ZZZ0016 knee.jpg", []byte("x"), "")
	st, _ := a.Status(context.Background())
	s := DiagnosticsSummary(st, "/tmp/diag.zip", time.Now())
	if localapitest.Contains(s) || !strings.Contains(s, localapitest.TestFacility) || !strings.Contains(s, "1 unassigned") {
		t.Fatalf("summary:\n%s", s)
	}
}

func TestUnassignedFilesOnlySeenImagesAfterOneConfirmation(t *testing.T) {
	a := fakeagent.New()
	u := NewUnassigned(a, nil)
	var ids []string
	for _, n := range []string{"scan001.pdf", "scan002.pdf", "scan003.pdf"} {
		ids = append(ids, a.AddUnassigned(n, []byte("%PDF-1.4"), "No NHI in the file name or folder.").ID)
	}
	if err := u.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := NewCapture(a, nil)
	_ = c.Launch(context.Background(), fakeagent.PatientURL)
	u.Select(ids[0], true)
	u.Select(ids[2], true)
	if got := u.Selected(); len(got) != 2 || got[0] != ids[0] || got[1] != ids[2] {
		t.Fatalf("selected %v", got)
	}
	// Not shown yet: nothing is filed, and the GP is told why.
	u.Seen(ids[0])
	if err := u.AssignAll(context.Background(), u.Selected(), c); err == nil {
		t.Fatal("filed an image nobody saw")
	}
	if it, _ := a.Item(context.Background(), ids[0]); it.State != localapi.StateUnassigned {
		t.Fatalf("a refused batch filed %+v", it)
	}
	if _, msg := u.Items(); msg != TextNotSeen {
		t.Fatalf("message %q", msg)
	}
	u.Seen(ids[2])
	if err := u.AssignAll(context.Background(), u.Selected(), c); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{ids[0], ids[2]} {
		if it, _ := a.Item(context.Background(), id); it.State != localapi.StateQueued {
			t.Fatalf("%s is %s", id, it.State)
		}
	}
	if len(u.Selected()) != 0 {
		t.Fatal("filed rows stay ticked")
	}
	u.SelectAll(true)
	if err := u.RejectAll(context.Background(), u.Selected()); err != nil {
		t.Fatal(err)
	}
	if it, _ := a.Item(context.Background(), ids[1]); it.State != localapi.StateRejected {
		t.Fatalf("rejected %+v", it)
	}
	if ConfirmQuestion(1) != "File this image to this patient?" || ConfirmQuestion(3) != "File these 3 images to this patient?" {
		t.Fatal("question wording")
	}
}
