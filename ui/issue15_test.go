package ui

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/localapi/localapitest"
	"github.com/clinicpro/medtech-images/ui/fakeagent"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// TestOneWindowPerPatientOnScreen: a second click on the open patient brings its
// window forward (no second window); another patient while images are unsaved
// asks first, naming both; Back closes the new window, Open keeps both; the newest
// window says watched files come to it, the older that they go to the newest.
func TestOneWindowPerPatientOnScreen(t *testing.T) {
	h := newHarness(t, nil)
	h.agent.SetSessionFolders([]localapi.SessionFolder{{Label: "Camera Roll", PerUser: true, CameraRoll: true}})
	c := h.patient()
	h.drop(c, "wound.jpg")
	h.app.Launch(fakeagent.PatientURL)
	h.eventually("one window", func() bool { return len(h.app.Captures()) == 1 })
	if len(c.order) != 1 {
		t.Fatalf("the patient's window lost its image: %d cards", len(c.order))
	}
	h.eventually("routing shown", func() bool {
		return c.routing.Visible() && c.routing.Text == "New files from Camera Roll come to this window: it is the patient opened last."
	})

	o := h.app.Launch(fakeagent.OtherPatientURL)
	h.eventually("the question", func() bool { return o.ask != nil })
	q := allText(o.win.Canvas().Overlays().Top())
	for _, want := range []string{viewmodel.TitleAnotherPatient, "TESTING, Fake has 1 image that is not saved", "Open PATIENT, Other as well?"} {
		if !strings.Contains(q, want) {
			t.Fatalf("question lacks %q:\n%s", want, q)
		}
	}
	other, _ := o.model.Session()
	test.Tap(findButton(t, o.win.Canvas().Overlays().Top(), "Back to TESTING, Fake"))
	h.eventually("back", func() bool { return len(h.app.Captures()) == 1 && h.app.Captures()[0] == c })
	h.eventually("the other session closed", func() bool {
		_, err := h.agent.Session(context.Background(), other.ID)
		return err != nil
	})

	o = h.app.Launch(fakeagent.OtherPatientURL)
	h.eventually("the question", func() bool { return o.ask != nil })
	test.Tap(findButton(t, o.win.Canvas().Overlays().Top(), "Open PATIENT, Other"))
	h.eventually("both open", func() bool { return len(h.app.Captures()) == 2 })
	h.eventually("routing moved", func() bool {
		return strings.HasSuffix(o.routing.Text, "come to this window: it is the patient opened last.") &&
			c.routing.Text == "New files from Camera Roll go to the patient opened last, not to this window."
	})
	for _, title := range h.allTitles() {
		if localapitest.Contains(title) || strings.Contains(title, localapitest.OtherNHI) || strings.Contains(title, localapitest.OtherFamily) {
			t.Fatalf("a window title names a patient: %q", title)
		}
	}
}

// TestCameraSaysWhatTheConfigurationDoes: with each user's Camera Roll watched the
// Camera button promises the photos in this window; without, it says to add them.
func TestCameraSaysWhatTheConfigurationDoes(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	test.Tap(c.camera)
	if !strings.Contains(c.summary.Text, "does not bring them here by itself") {
		t.Fatalf("no Camera Roll watched: %q", c.summary.Text)
	}
	h.agent.SetSessionFolders([]localapi.SessionFolder{{Label: "Camera Roll", PerUser: true, CameraRoll: true}})
	h.agent.SetCounts(localapi.Counts{}) // announces the status
	h.eventually("routing", func() bool { return c.routing.Visible() })
	test.Tap(c.camera)
	if !strings.Contains(c.summary.Text, "appear in this window within a few seconds") {
		t.Fatalf("Camera Roll watched: %q", c.summary.Text)
	}
}

// TestCropToolByKeyboard: Crop opens on the image; Tab and the arrow keys move the
// edges, Enter applies; the card shows the cropped image; Save sends the crop.
func TestCropToolByKeyboard(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "wound.jpg")
	k := h.card(c, 0)
	h.eventually("thumbnail", func() bool { return k.thumb != nil })
	before := k.img.Image.Bounds()
	if k.cropBtn.Text != viewmodel.LabelCrop || k.cropBtn.Tip != viewmodel.TipCrop || k.cropBtn.Icon == k.rotate.Icon {
		t.Fatalf("crop button %q %q", k.cropBtn.Text, k.cropBtn.Tip)
	}
	test.Tap(k.cropBtn)
	tool := c.crop
	if tool == nil || c.win.Canvas().Focused() != tool.sliders[0] {
		t.Fatal("the crop tool did not open with the keyboard on its first edge")
	}
	cv := c.win.Canvas()
	for range 25 {
		sendKey(cv, fyne.KeyRight) // left edge to 25 %
	}
	cv.FocusNext() // the right edge, beside the left
	if cv.Focused() != tool.sliders[2] {
		t.Fatalf("Tab reached %T, want the right edge", cv.Focused())
	}
	for range 25 {
		sendKey(cv, fyne.KeyLeft) // right edge to 75 %
	}
	sendKey(cv, fyne.KeyReturn)
	h.q.drain()
	want := localapi.Crop{X: 0.25, W: 0.5, H: 1}
	if got := c.model.View().Items[0].Crop; got != want {
		t.Fatalf("crop %+v, want %+v", got, want)
	}
	if after := k.img.Image.Bounds(); after.Dx() >= before.Dx() {
		t.Fatalf("the card still shows the whole image: %v then %v", before, after)
	}
	sendShortcut(cv, shortcutSave)
	h.eventually("saved", func() bool {
		it, err := h.agent.Item(context.Background(), c.order[0])
		return err == nil && it.Crop != nil && *it.Crop == want
	})
}

// TestReopenedWindowShowsProgressOnScreen: images saved while offline are there when
// the patient is opened again, marked as saved earlier, with their progress.
func TestReopenedWindowShowsProgressOnScreen(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "wound.jpg", "rash.jpg")
	c.Save()
	h.eventually("saving", func() bool { return strings.HasPrefix(c.summary.Text, "Saving") })
	ids := append([]string(nil), c.order...)
	c.win.Close()
	h.eventually("closed", func() bool { return len(h.app.Captures()) == 0 })
	h.agent.SetHealth(health.Aggregate(time.Now(), []health.Check{{Name: "hcm.service", Title: "Hybrid Connection Manager", State: health.Offline,
		Critical: true, Detail: "Medtech is not reachable: the practice's Hybrid Connection Manager is offline."}}))
	h.eventually("offline", func() bool { icon, _ := h.app.TrayIcon(); return icon == viewmodel.IconOffline })
	again := h.patient()
	h.eventually("earlier images", func() bool { return len(again.order) == 2 })
	k := h.card(again, 0)
	if k.source.Text != viewmodel.TextEarlier || k.status.Text != "Waiting to upload" || !k.title.Disabled() || k.remove.Visible() {
		t.Fatalf("earlier card: source %q status %q", k.source.Text, k.status.Text)
	}
	if again.summary.Text != viewmodel.TextOffline(2) || !again.save.Disabled() {
		t.Fatalf("summary %q", again.summary.Text)
	}
	h.agent.SetHealth(health.Aggregate(time.Now(), nil))
	for _, id := range ids {
		h.agent.Progress(id, localapi.StateSent)
	}
	h.eventually("saved", func() bool { return again.summary.Text == viewmodel.TextSaved })
}

// flakyAgent is an agent that can stop answering, as a stopped service does.
type flakyAgent struct {
	*fakeagent.Agent
	down atomic.Bool
}

func (f *flakyAgent) stop() {
	f.down.Store(true)
	f.Hub.CloseAll()
}

func (f *flakyAgent) Events(ctx context.Context) (<-chan localapi.Event, error) {
	if f.down.Load() {
		return nil, localapi.ErrAgentDown
	}
	return f.Agent.Events(ctx)
}

func (f *flakyAgent) Status(ctx context.Context) (localapi.Status, error) {
	if f.down.Load() {
		return localapi.Status{}, localapi.ErrAgentDown
	}
	return f.Agent.Status(ctx)
}

func (f *flakyAgent) DiagnosticsBundle(ctx context.Context, w io.Writer) error {
	if f.down.Load() {
		return localapi.ErrAgentDown
	}
	return f.Agent.DiagnosticsBundle(ctx, w)
}

// TestStatusWindowForPracticeIT: the verdict, queue and last upload come first;
// checks say since when; Re-check now runs the agent's checks; when the agent goes,
// the results are marked out of date and Copy diagnostics still makes a bundle,
// here, from the configuration and logs.
func TestStatusWindowForPracticeIT(t *testing.T) {
	f := &flakyAgent{Agent: fakeagent.New()}
	data := t.TempDir()
	os.WriteFile(filepath.Join(data, "config.toml"), []byte("relay_url = \"https://relay.example\"\n"), 0o600)
	os.MkdirAll(filepath.Join(data, "logs"), 0o700)
	os.WriteFile(filepath.Join(data, "logs", "agent.log"), []byte("time=x level=INFO msg=\"agent started\"\n"), 0o600)
	h := newHarnessWith(t, f, Options{Paths: config.DefaultPaths(data)})
	since := time.Now().Add(-20 * time.Minute)
	f.SetCounts(localapi.Counts{Queued: 3, SentToday: 14})
	f.SetHealth(health.Aggregate(time.Now(), []health.Check{
		{Name: "hcm.service", Title: "Hybrid Connection Manager", State: health.Offline, Critical: true, Since: since,
			Detail: "The service is stopped.", Fix: "Start it."},
	}))
	h.eventually("offline", func() bool { icon, _ := h.app.TrayIcon(); return icon == viewmodel.IconOffline })
	h.app.ShowStatus()
	s := h.app.stWin
	top := allText(s.sentence) + "\n" + allText(s.summary)
	for _, want := range []string{"The service is stopped.", "3 waiting, 0 uploading, 0 not saved, 0 unassigned, 14 sent today", "never"} {
		if !strings.Contains(top, want) {
			t.Fatalf("the top of the window lacks %q:\n%s", want, top)
		}
	}
	if text := allText(s.checks); !strings.Contains(text, viewmodel.SinceText(since, time.Now())) || !strings.Contains(text, "Fix: Start it.") {
		t.Fatalf("checks:\n%s", text)
	}
	test.Tap(s.recheck)
	h.eventually("re-checked", func() bool { return f.Rechecks() == 1 && !s.recheck.Disabled() })

	f.stop()
	h.eventually("marked stale", func() bool { return s.stale.Visible() && strings.HasPrefix(s.stale.Text, "Not up to date") })
	if !s.recheck.Disabled() || s.copyBtn.Disabled() {
		t.Fatalf("agent gone: re-check enabled %v, copy disabled %v", !s.recheck.Disabled(), s.copyBtn.Disabled())
	}
	test.Tap(s.copyBtn)
	h.eventually("copied", func() bool {
		return strings.HasPrefix(s.copied.Text, "The agent is not answering, so the diagnostics were made on this PC")
	})
	files, _ := filepath.Glob(filepath.Join(h.diag, "ClinicPro diagnostics *.zip"))
	if len(files) != 1 {
		t.Fatalf("bundles %v", files)
	}
	zr, err := zip.OpenReader(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	got := map[string]string{}
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		got[zf.Name] = string(b)
	}
	if !strings.Contains(got["health.txt"], "did not answer") || !strings.Contains(got["health.txt"], "Last reported by the agent") ||
		!strings.Contains(got["log.txt"], "agent started") || !strings.Contains(got["config.json"], "relay.example") {
		t.Fatalf("local bundle:\n%s\n%s", got["health.txt"], got["log.txt"])
	}
	if clip := h.fa.Clipboard().Content(); !strings.HasPrefix(clip, "Not up to date") || !strings.Contains(clip, files[0]) {
		t.Fatalf("clipboard:\n%s", clip)
	}
}
