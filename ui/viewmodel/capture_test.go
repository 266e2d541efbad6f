package viewmodel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/localapi/localapitest"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/testutil"
	"github.com/clinicpro/medtech-images/ui/fakeagent"
)

// eventually polls cond: the event stream is asynchronous, and a loaded 2-core CI
// machine may take a while, so the bound is generous and nothing sleeps a fixed time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, what, 30*time.Second, 5*time.Millisecond, cond)
}

// pump feeds the agent's item events to c, as the tray's event loop does.
func pump(t *testing.T, a localapi.Service, handle func(localapi.Item)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := a.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for e := range ch {
			if e.Item != nil {
				handle(*e.Item)
			}
		}
	}()
}

func launched(t *testing.T) (*fakeagent.Agent, *Capture) {
	t.Helper()
	a := fakeagent.New()
	c := NewCapture(a, nil)
	pump(t, a, c.HandleItem)
	if err := c.Launch(context.Background(), fakeagent.PatientURL); err != nil {
		t.Fatal(err)
	}
	return a, c
}

func add(t *testing.T, c *Capture, name string) string {
	t.Helper()
	// Other items may leave the view meanwhile (their events arrive on the pump's
	// goroutine), so the new one is found by being new, not by counting.
	seen := map[string]bool{}
	for _, it := range c.View().Items {
		seen[it.ID] = true
	}
	if err := c.Add(context.Background(), name, bytes.NewReader(localapitest.JPEG(t))); err != nil {
		t.Fatal(err)
	}
	for _, it := range c.View().Items {
		if !seen[it.ID] && it.FileName == name {
			return it.ID
		}
	}
	t.Fatalf("%s is not in the capture view after adding", name)
	return ""
}

func TestLaunchStates(t *testing.T) {
	unavailable := localapi.ErrUnavailable
	cases := []struct {
		name    string
		url     string
		fail    error
		phase   Phase
		heading string
	}{
		{"patient", fakeagent.PatientURL, nil, PhasePatient, ""},
		{"no patient", fakeagent.NoPatientURL, nil, PhaseNoPatient, TextNoPatient},
		{"refused", fakeagent.RefusedURL, nil, PhaseLaunchFailed, localapi.ErrLaunch.Message},
		{"relay down", fakeagent.PatientURL, unavailable, PhaseLaunchFailed, unavailable.Message},
		{"agent down", fakeagent.PatientURL, &net.OpError{Op: "dial", Err: errors.New("refused")}, PhaseLaunchFailed, agentDown},
		// The real client wraps a pipe that is not there (no net.Error on Windows).
		{"agent pipe missing", fakeagent.PatientURL, fmt.Errorf("%w (open \\\\.\\pipe\\ClinicProAgent: file not found)", localapi.ErrAgentDown), PhaseLaunchFailed, agentDown},
		{"not a launch", "https://example.org/", nil, PhaseLaunchFailed, "this is not a Medtech launch link: open ClinicPro Images from the Medtech Evolution toolbar"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := fakeagent.New()
			a.FailLaunch(tc.fail)
			c := NewCapture(a, nil)
			if v := c.View(); v.Phase != PhaseNoLaunch || v.Heading != TextNoLaunch || v.CanAdd {
				t.Fatalf("before launch: %+v", v)
			}
			_ = c.Launch(context.Background(), tc.url)
			v := c.View()
			if v.Phase != tc.phase || v.Heading != tc.heading {
				t.Fatalf("phase %v heading %q, want %v %q", v.Phase, v.Heading, tc.phase, tc.heading)
			}
			if tc.phase == PhasePatient {
				if v.Banner.NHI != localapitest.TestNHI || v.Banner.Name != localapitest.TestName || !v.CanAdd {
					t.Fatalf("banner %+v", v.Banner)
				}
			} else if v.Banner != (localapi.Banner{}) || v.CanAdd {
				t.Fatalf("banner or adding offered without a patient: %+v", v)
			}
		})
	}
}

func TestOpeningIsShownWhileTheRelayAnswers(t *testing.T) {
	a := fakeagent.New()
	a.SetLaunchDelay(time.Hour)
	c := NewCapture(a, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Launch(ctx, fakeagent.PatientURL) }()
	eventually(t, "opening", func() bool { return c.View().Heading == TextOpening })
	cancel()
	if err := <-done; err == nil {
		t.Fatal("cancelled launch succeeded")
	}
	if v := c.View(); v.Phase != PhaseLaunchFailed || v.Heading != textCancelled {
		t.Fatalf("after cancel: %v %q", v.Phase, v.Heading)
	}
}

func TestAddingNeedsAPatient(t *testing.T) {
	a := fakeagent.New()
	c := NewCapture(a, nil)
	_ = c.Launch(context.Background(), fakeagent.NoPatientURL)
	if err := c.Add(context.Background(), "knee.jpg", strings.NewReader("x")); err == nil {
		t.Fatal("added a file with no patient selected")
	}
	if q, _ := a.Queue(context.Background()); len(q) != 0 {
		t.Fatalf("agent holds %d items", len(q))
	}
}

func TestEditsTravelWithTheSave(t *testing.T) {
	a, c := launched(t)
	id := add(t, c, "knee.jpg")
	c.Rotate(id)
	c.Rotate(id)
	c.Rotate(id)
	c.Rotate(id)
	c.Rotate(id) // four turns come back round: 90
	c.SetTitle(id, "Left knee wound")
	c.SetLaterality(id, api.LateralityLeft)
	c.SetBodySite(id, "Knee")
	if err := c.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := a.Item(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != localapi.StateQueued || got.Rotation != 90 || got.Title != "Left knee wound" ||
		got.Laterality != api.LateralityLeft || got.BodySite != "Knee" {
		t.Fatalf("agent got %+v", got)
	}
	// Saved items are no longer editable.
	c.SetTitle(id, "changed")
	if c.View().Items[0].Title != "Left knee wound" {
		t.Fatal("edited an item after saving")
	}
}

func TestBodySiteIsCodedFromTheList(t *testing.T) {
	a, c := launched(t)
	coded, free := add(t, c, "knee.jpg"), add(t, c, "scar.jpg")
	choices := BodySiteChoices("shin")
	if len(choices) == 0 || choices[0].Term != "Lower leg" || choices[0].Code != "30021000" {
		t.Fatalf("choices for shin: %+v", choices)
	}
	c.PickBodySite(coded, choices[0])
	// Free text stays uncoded; typing over a picked term drops its code.
	c.PickBodySite(free, BodySiteChoices("knee")[0])
	c.SetBodySite(free, "Knee, below the old scar")
	v := c.View()
	if v.Items[0].BodySiteCode != "30021000" || v.Items[1].BodySiteCode != "" || v.Items[1].BodySite != "Knee, below the old scar" {
		t.Fatalf("items %+v", v.Items)
	}
	if err := c.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := a.Item(context.Background(), coded)
	if got.BodySite != "Lower leg" || got.BodySiteCode != "30021000" {
		t.Fatalf("agent got %q %q", got.BodySite, got.BodySiteCode)
	}
	got, _ = a.Item(context.Background(), free)
	if got.BodySite != "Knee, below the old scar" || got.BodySiteCode != "" {
		t.Fatalf("agent got %q %q", got.BodySite, got.BodySiteCode)
	}
}

func TestSaveProgressToSaved(t *testing.T) {
	a, c := launched(t)
	ids := []string{add(t, c, "a.jpg"), add(t, c, "b.jpg"), add(t, c, "c.jpg")}
	if v := c.View(); !v.CanSave || v.CanRetry {
		t.Fatalf("before save: %+v", v)
	}
	if err := c.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := c.View(); v.CanSave || v.Summary != "Saving to Medtech: 0 of 3 saved" {
		t.Fatalf("after save: CanSave %v summary %q", v.CanSave, v.Summary)
	}
	a.Progress(ids[0], localapi.StateUploading)
	a.Progress(ids[0], localapi.StateSent)
	eventually(t, "1 of 3", func() bool { return c.View().Summary == "Saving to Medtech: 1 of 3 saved" })
	for _, id := range ids[1:] {
		a.Progress(id, localapi.StateSent)
	}
	eventually(t, "saved", func() bool { return c.View().Summary == TextSaved })
	for _, it := range c.View().Items {
		if it.Status != ItemSent || it.Status.Label() != "Saved" {
			t.Fatalf("item %+v", it)
		}
	}
}

func TestSaveFailuresOfferRetry(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"agent down", &net.OpError{Op: "dial", Err: errors.New("refused")}, agentDown},
		{"not enrolled", localapi.ErrNotEnrolled, localapi.ErrNotEnrolled.Message},
		{"with reference", &localapi.APIError{Code: localapi.CodeUnavailable, Message: "The relay is down.", Correlation: "c-42"}, "The relay is down. (Reference c-42)"},
		{"unexpected", fmt.Errorf("open C:\\secret\\path: denied"), "Something went wrong talking to the ClinicPro agent: try again, and if it keeps happening use Copy diagnostics in Status."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, c := launched(t)
			id := add(t, c, "a.jpg")
			a.FailSave(tc.err)
			if err := c.Save(context.Background()); err == nil {
				t.Fatal("save succeeded")
			}
			v := c.View()
			if v.Summary != tc.want || !v.Error || !v.CanRetry || v.Items[0].Status != ItemFailed {
				t.Fatalf("after failed save: %+v", v)
			}
			// The GP may still fix things before retrying.
			c.SetTitle(id, "fixed")
			a.FailSave(nil)
			if err := c.Retry(context.Background()); err != nil {
				t.Fatal(err)
			}
			v = c.View()
			if v.Error || v.CanRetry || v.Items[0].Status != ItemQueued {
				t.Fatalf("after retry: %+v", v)
			}
			if got, _ := a.Item(context.Background(), id); got.Title != "fixed" || got.State != localapi.StateQueued {
				t.Fatalf("agent has %+v", got)
			}
		})
	}
}

func TestParkedItemShowsReasonAndRetries(t *testing.T) {
	a, c := launched(t)
	id := add(t, c, "a.jpg")
	if err := c.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	const reason = "Medtech refused the image: the patient record is locked. Ask the practice manager to unlock it, then retry."
	a.Park(id, reason)
	eventually(t, "parked", func() bool { return c.View().Summary == reason })
	v := c.View()
	if !v.Error || !v.CanRetry || v.Items[0].Status != ItemParked || v.Items[0].Message != reason {
		t.Fatalf("parked view: %+v", v)
	}
	if err := c.Retry(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "re-queued", func() bool { return c.View().Items[0].Status == ItemQueued })
	if v := c.View(); v.Error || v.CanRetry {
		t.Fatalf("after retry: %+v", v)
	}
}

func TestWatchedFolderArrivalsShowTheirSource(t *testing.T) {
	a, c := launched(t)
	s, _ := c.Session()
	if _, err := a.Arrive(s.ID, "Camera Roll", "WIN_20261127.jpg", localapitest.JPEG(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "arrival", func() bool {
		v := c.View()
		return len(v.Items) == 1 && v.Items[0].SourceLabel() == "From Camera Roll"
	})
	// Items of other sessions never show here. The other window is another patient's:
	// a second launch of the same patient is this very session.
	other := NewCapture(a, nil)
	if err := other.Launch(context.Background(), fakeagent.OtherPatientURL); err != nil {
		t.Fatal(err)
	}
	os, _ := other.Session()
	if s2, _ := c.Session(); os.ID == s2.ID {
		t.Fatal("another patient's launch reused this window's session")
	}
	if _, err := a.Arrive(os.ID, "Scans", "x.jpg", localapitest.JPEG(t)); err != nil {
		t.Fatal(err)
	}
	add(t, c, "mine.jpg")
	// Events arrive in order: once the marker (sent after x.jpg) shows, x.jpg would have.
	if _, err := a.Arrive(s.ID, "Camera Roll", "marker.jpg", localapitest.JPEG(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the marker", func() bool { return len(c.View().Items) >= 3 })
	for _, it := range c.View().Items {
		if it.FileName == "x.jpg" {
			t.Fatal("another session's arrival shows in this window")
		}
	}
}

func TestRemove(t *testing.T) {
	a, c := launched(t)
	id := add(t, c, "a.jpg")
	if err := c.Remove(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if n := len(c.View().Items); n != 0 {
		t.Fatalf("%d items after remove", n)
	}
	if _, err := a.Item(context.Background(), id); !errors.Is(err, localapi.ErrNotFound) {
		t.Fatalf("agent still has the item: %v", err)
	}
	if v := c.View(); v.CanSave {
		t.Fatal("save offered with nothing to save")
	}
}

func TestCloseReleasesTheSession(t *testing.T) {
	a, c := launched(t)
	id := add(t, c, "a.jpg")
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Item(context.Background(), id); !errors.Is(err, localapi.ErrNotFound) {
		t.Fatalf("dropped item still staged: %v", err)
	}
}

func TestLateralityLabels(t *testing.T) {
	for _, l := range Lateralities {
		if LateralityValue(LateralityLabel(l.Value)) != l.Value {
			t.Errorf("round trip of %q", l.Value)
		}
	}
	if LateralityValue("Sideways") != api.LateralityNone {
		t.Error("unknown label mapped to a value")
	}
}

func TestBirthDate(t *testing.T) {
	if got := BirthDate("1985-03-02"); got != "2 Mar 1985" {
		t.Fatalf("BirthDate = %q", got)
	}
	if got := BirthDate("unknown"); got != "unknown" {
		t.Fatalf("BirthDate = %q", got)
	}
}

func TestTitlesCarryNoIdentifier(t *testing.T) {
	for _, s := range []string{TitleMain, TitleCapture} {
		if localapitest.Contains(s) {
			t.Fatal(s)
		}
	}
}

func TestOfflineSaysImagesAreKeptAndTheWindowMayClose(t *testing.T) {
	a, c := launched(t)
	id := add(t, c, "a.jpg")
	if err := c.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.SetOffline(true)
	v := c.View()
	if v.Summary != TextOffline(1) || v.Error || !strings.Contains(v.Summary, "kept safely on this PC") || !strings.Contains(v.Summary, "You can close this window") {
		t.Fatalf("offline summary %q (error %v)", v.Summary, v.Error)
	}
	c.SetOffline(false)
	if v := c.View(); !strings.HasPrefix(v.Summary, "Saving to Medtech") {
		t.Fatalf("back online: %q", v.Summary)
	}
	_ = a
	_ = id
}
