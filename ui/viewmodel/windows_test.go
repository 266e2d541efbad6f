package viewmodel

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/localapi/localapitest"
	"github.com/clinicpro/medtech-images/ui/fakeagent"
)

var now = time.Date(2026, 12, 3, 10, 30, 0, 0, time.UTC)

// TestOneWindowPerPatient: a click on a patient whose window is open is that
// window; a click on another patient while a window holds unsaved images asks
// first, naming both patients; with nothing unsaved it just opens.
func TestOneWindowPerPatient(t *testing.T) {
	a, c := launched(t)
	add(t, c, "wound.jpg")
	again := NewCapture(a, nil)
	if err := again.Launch(context.Background(), fakeagent.PatientURL); err != nil {
		t.Fatal(err)
	}
	s, _ := again.Session()
	if p := PlanLaunch([]OpenWindow{c.Window()}, s, true, now); p.Existing != 0 {
		t.Fatalf("same patient again: %+v, want the open window", p)
	}
	other := NewCapture(a, nil)
	if err := other.Launch(context.Background(), fakeagent.OtherPatientURL); err != nil {
		t.Fatal(err)
	}
	so, _ := other.Session()
	p := PlanLaunch([]OpenWindow{c.Window()}, so, true, now)
	if p.Existing != -1 || p.Ask != 0 || !strings.Contains(p.Question, "TESTING, Fake") || !strings.Contains(p.Question, "1 image that is not saved") ||
		!strings.Contains(p.Question, "PATIENT, Other") || !strings.Contains(p.Question, "watched folders will then go to PATIENT, Other") ||
		p.Open != "Open PATIENT, Other" || p.Back != "Back to TESTING, Fake" {
		t.Fatalf("another patient with unsaved images: %+v", p)
	}
	if err := c.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := PlanLaunch([]OpenWindow{c.Window()}, so, true, now); p.Ask != -1 || p.Existing != -1 {
		t.Fatalf("nothing unsaved: %+v, want it simply opened", p)
	}
}

// TestWindowSaysWhereWatchedFilesGo: the window of the patient opened last says
// files from the "session" folders arrive in it; an older one says they go to the
// newest; the Camera button's sentence says what the configuration does.
func TestWindowSaysWhereWatchedFilesGo(t *testing.T) {
	_, c := launched(t)
	s, _ := c.Session()
	folders := []localapi.SessionFolder{{Label: "Camera Roll", PerUser: true, CameraRoll: true}, {Label: "Scanner", Receiver: s.ID}}
	c.SetRouting(folders, true)
	v := c.View()
	if !v.RoutingHere || v.Routing != "New files from Camera Roll and Scanner come to this window: it is the patient opened last." ||
		!strings.Contains(v.Camera, "appear in this window within a few seconds") {
		t.Fatalf("newest window: %q / %q", v.Routing, v.Camera)
	}
	folders[1].Receiver = "another-session"
	c.SetRouting(folders, false)
	v = c.View()
	if v.RoutingHere || v.Routing != "New files from Camera Roll and Scanner go to the patient opened last, not to this window." ||
		strings.Contains(v.Camera, "appear in this window") {
		t.Fatalf("older window: %q / %q", v.Routing, v.Camera)
	}
	c.SetRouting(nil, true)
	if v = c.View(); v.Routing != "" || !strings.Contains(v.Camera, "does not bring them here by itself") || !strings.Contains(v.Camera, "Add files") {
		t.Fatalf("no watched Camera Roll: %q / %q", v.Routing, v.Camera)
	}
}

// TestReopenedWindowShowsProgress: images saved while Medtech could not be reached
// are on this PC when the GP opens the patient again: the new window shows them
// with their progress, follows them to Saved, and offers nothing to save.
func TestReopenedWindowShowsProgress(t *testing.T) {
	a, c := launched(t)
	id := add(t, c, "wound.jpg")
	if err := c.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	again := NewCapture(a, nil)
	pump(t, a, again.HandleItem)
	again.SetOffline(true)
	if err := again.Launch(context.Background(), fakeagent.PatientURL); err != nil {
		t.Fatal(err)
	}
	v := again.View()
	if len(v.Items) != 1 || v.Items[0].ID != id || !v.Items[0].Earlier || v.Items[0].Status != ItemQueued ||
		v.Items[0].SourceLabel() != TextEarlier || v.Items[0].Editable() || v.CanSave || v.Summary != TextOffline(1) {
		t.Fatalf("reopened while offline: %+v (summary %q)", v, v.Summary)
	}
	again.SetOffline(false)
	a.Progress(id, localapi.StateSent)
	eventually(t, "saved", func() bool { return again.View().Summary == TextSaved })
	// Another patient's window shows none of it.
	other := NewCapture(a, nil)
	if err := other.Launch(context.Background(), fakeagent.OtherPatientURL); err != nil {
		t.Fatal(err)
	}
	if n := len(other.View().Items); n != 0 {
		t.Fatalf("another patient's window shows %d items", n)
	}
	if localapitest.Contains(v.Summary) {
		t.Fatal("the summary names the patient")
	}
}

// TestRolloutQuotesTheWindow: docs/rollout.md quotes what the capture window says
// about the Camera Roll; the quotes must be the window's words.
func TestRolloutQuotesTheWindow(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "rollout.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(b)), " ")
	roll := []localapi.SessionFolder{{Label: "Camera Roll", PerUser: true, CameraRoll: true}}
	for _, quote := range []string{
		strings.TrimSuffix(CameraText(roll, true), "."),
		strings.TrimSuffix(strings.SplitAfter(RoutingText([]string{"Camera Roll"}, nil), ":")[0], ":"),
	} {
		if !strings.Contains(doc, quote) {
			t.Errorf("docs/rollout.md does not quote the window: %q", quote)
		}
	}
}
