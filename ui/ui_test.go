package ui

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/localapi/localapitest"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/ui/fakeagent"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// mainQueue stands in for Fyne's main loop: work from background goroutines is
// queued and run on the test goroutine, so widgets are never touched concurrently.
type mainQueue struct {
	mu  sync.Mutex
	fns []func()
}

func (q *mainQueue) do(f func()) {
	q.mu.Lock()
	q.fns = append(q.fns, f)
	q.mu.Unlock()
}

func (q *mainQueue) drain() {
	for {
		q.mu.Lock()
		fns := q.fns
		q.fns = nil
		q.mu.Unlock()
		if len(fns) == 0 {
			return
		}
		for _, f := range fns {
			f()
		}
	}
}

type fakeCamera struct {
	mu     sync.Mutex
	opened int
	err    error
}

func (c *fakeCamera) Open() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opened++
	return c.err
}

type harness struct {
	t       testing.TB
	fa      fyne.App
	agent   *fakeagent.Agent
	app     *App
	q       *mainQueue
	camera  *fakeCamera
	diag    string
	mu      sync.Mutex
	notices []viewmodel.Notice
}

func newHarness(t testing.TB, svc localapi.Service) *harness {
	t.Helper()
	return newHarnessWith(t, svc, Options{})
}

// newHarnessWith runs the tray on svc (a fresh fake agent when nil) with opt's
// seams, the test's own filling the rest.
func newHarnessWith(t testing.TB, svc localapi.Service, opt Options) *harness {
	t.Helper()
	h := &harness{t: t, fa: test.NewTempApp(t), q: &mainQueue{}, camera: &fakeCamera{}, diag: t.TempDir()}
	switch a := svc.(type) {
	case nil:
		h.agent = fakeagent.New()
		svc = h.agent
	case *fakeagent.Agent:
		h.agent = a
	case *flakyAgent:
		h.agent = a.Agent
	}
	opt.Do, opt.Camera, opt.DiagnosticsDir = h.q.do, h.camera, h.diag
	opt.Notify = func(n viewmodel.Notice) {
		h.mu.Lock()
		h.notices = append(h.notices, n)
		h.mu.Unlock()
	}
	h.app = New(h.fa, svc, opt)
	// The tray's streams carry its Windows session and user, as the agent's server
	// would identify them, so launches addressed to it arrive.
	ctx, cancel := context.WithCancel(localapi.WithPeer(context.Background(), trayPeer))
	t.Cleanup(cancel)
	h.app.Start(ctx)
	return h
}

// trayPeer is the GP whose tray the harness runs.
var trayPeer = localapi.Peer{User: "S-1-5-21-1-2-3-1001", Session: 2}

// eventually drains the main queue and polls cond; the bound is generous for a
// loaded 2-core machine and nothing sleeps a fixed time.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		h.q.drain()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) launch(url string) *CaptureWindow {
	h.t.Helper()
	c := h.app.Launch(url)
	h.eventually("launch resolved", func() bool {
		p := c.model.View().Phase
		return p != viewmodel.PhaseOpening && p != viewmodel.PhaseNoLaunch
	})
	return c
}

func (h *harness) patient() *CaptureWindow {
	h.t.Helper()
	c := h.launch(fakeagent.PatientURL)
	h.eventually("banner", func() bool { return c.banner.Visible() && c.band.shown.Family == localapitest.TestFamily })
	return c
}

// other launches the second test patient and waits for its band.
func (h *harness) other() *CaptureWindow {
	h.t.Helper()
	c := h.launch(fakeagent.OtherPatientURL)
	h.eventually("banner", func() bool { return c.banner.Visible() && c.band.shown.Family == localapitest.OtherFamily })
	return c
}

func writeJPEG(t testing.TB, dir, name string) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	img.Set(0, 0, color.White)
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(f, img, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func (h *harness) drop(c *CaptureWindow, names ...string) {
	h.t.Helper()
	dir := h.t.TempDir()
	var uris []fyne.URI
	for _, n := range names {
		uris = append(uris, storage.NewFileURI(writeJPEG(h.t, dir, n)))
	}
	want := len(c.model.View().Items) + len(names)
	c.Drop(uris)
	h.eventually("dropped cards", func() bool { return len(c.grid.Objects) == want })
}

func (h *harness) card(c *CaptureWindow, i int) *itemCard {
	h.t.Helper()
	return c.cards[c.order[i]]
}

func (h *harness) allTitles() []string {
	var out []string
	for _, w := range h.fa.Driver().AllWindows() {
		if w.Title() == "" && w.Content() == nil {
			continue // the test driver's own rendering window
		}
		out = append(out, w.Title())
	}
	return out
}

func TestOpenWithoutLaunchAsksForMedtech(t *testing.T) {
	h := newHarness(t, nil)
	h.app.ShowMain()
	h.q.drain()
	cs := h.app.Captures()
	if len(cs) != 1 {
		t.Fatalf("%d capture windows", len(cs))
	}
	c := cs[0]
	if c.heading.Text != viewmodel.TextNoLaunch || !c.heading.Visible() || c.banner.Visible() {
		t.Fatalf("heading %q visible %v", c.heading.Text, c.heading.Visible())
	}
	if !c.add.Disabled() || !c.camera.Disabled() || !c.save.Disabled() {
		t.Fatal("adding or saving offered without a patient")
	}
	if c.win.Title() != viewmodel.TitleCapture {
		t.Fatalf("title %q", c.win.Title())
	}
	// Open again brings the same window forward rather than opening another.
	h.app.ShowMain()
	if n := len(h.app.Captures()); n != 1 {
		t.Fatalf("%d windows after a second Open", n)
	}
}

func TestLaunchShowsTheBanner(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	if c.heading.Visible() {
		t.Fatal("heading shown with a patient")
	}
	// The band: FAMILY in capitals, given names, date of birth with age, sex, NHI.
	for _, want := range []string{"TESTING,", "Fake", "1-Jan-1970 (", "Female", "ZZZ 0016"} {
		if !strings.Contains(canvasText(c.banner), want) {
			t.Fatalf("band lacks %q:\n%s", want, canvasText(c.banner))
		}
	}
	if c.add.Disabled() || c.camera.Disabled() {
		t.Fatal("adding not offered with a patient")
	}
	for _, title := range h.allTitles() {
		if localapitest.Contains(title) {
			t.Fatalf("window title %q names the patient", title)
		}
	}
}

func TestLaunchStatesCopy(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		fail      error
		want      string
		danger    bool
	}{
		{"no patient", fakeagent.NoPatientURL, nil, viewmodel.TextNoPatient, false},
		{"refused", fakeagent.RefusedURL, nil, localapi.ErrLaunch.Message, true},
		{"relay down", fakeagent.PatientURL, localapi.ErrUnavailable, localapi.ErrUnavailable.Message, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.agent.FailLaunch(tc.fail)
			c := h.launch(tc.url)
			if c.heading.Text != tc.want || c.banner.Visible() {
				t.Fatalf("heading %q", c.heading.Text)
			}
			if (c.heading.Importance == widget.DangerImportance) != tc.danger {
				t.Fatalf("danger styling %v, want %v", c.heading.Importance, tc.danger)
			}
			if !c.add.Disabled() {
				t.Fatal("adding offered")
			}
		})
	}
}

func TestEachLaunchOpensItsOwnWindow(t *testing.T) {
	h := newHarness(t, nil)
	h.patient()
	h.launch(fakeagent.NoPatientURL)
	if n := len(h.app.Captures()); n != 2 {
		t.Fatalf("%d capture windows, want 2", n)
	}
}

func TestWebLaunchEventOpensAWindow(t *testing.T) {
	h := newHarness(t, nil)
	h.eventually("subscribed", func() bool { return h.agent.Hub.Subscribers() > 0 })
	// Another GP's web launch on the same Remote Desktop server opens nothing here.
	other := localapi.WithPeer(context.Background(), localapi.Peer{User: "S-1-5-21-1-2-3-1002", Session: 3})
	if notified, err := h.agent.OpenWebLaunch(other, localapi.LaunchRequest{
		Context: localapitest.ContextPatient, Signature: localapitest.SignatureFor(localapitest.ContextPatient)}); err != nil || notified {
		t.Fatalf("another GP's web launch: notified %v, %v", notified, err)
	}
	notified, err := h.agent.OpenWebLaunch(localapi.WithPeer(context.Background(), trayPeer), localapi.LaunchRequest{
		Context: localapitest.ContextPatient, Signature: localapitest.SignatureFor(localapitest.ContextPatient)})
	if err != nil || !notified {
		t.Fatalf("web launch: %v %v", notified, err)
	}
	h.eventually("window with banner", func() bool {
		cs := h.app.Captures()
		return len(cs) == 1 && cs[0].band.shown.Family == localapitest.TestFamily && cs[0].banner.Visible()
	})
	if n := len(h.app.Captures()); n != 1 {
		t.Fatalf("%d capture windows, want only the GP's own launch", n)
	}
}

func TestDropEditSaveToSaved(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "wound1.jpg", "wound2.jpg")
	first := h.card(c, 0)
	h.eventually("thumbnail", func() bool { return first.thumb != nil })
	if first.source.Text != "Added here" || first.file.Text != "wound1.jpg" {
		t.Fatalf("card source %q file %q", first.source.Text, first.file.Text)
	}
	test.Type(first.title, "Left shin wound")
	first.lat.SetSelected("Left")
	test.Type(first.site, "Shin")
	test.Tap(first.rotate)
	h.q.drain()
	if b := first.img.Image.Bounds(); b.Dx() >= b.Dy() {
		t.Fatalf("rotated thumbnail is %v, want portrait", b)
	}
	if c.save.Disabled() {
		t.Fatal("Save disabled with staged items")
	}
	test.Tap(c.save)
	h.eventually("saving", func() bool { return c.summary.Text == "Saving to Medtech: 0 of 2 saved" })
	if !first.title.Disabled() || !first.remove.Disabled() {
		t.Fatal("saved item still editable")
	}
	got, _ := h.agent.Item(context.Background(), first.id)
	if got.Title != "Left shin wound" || got.Laterality != api.LateralityLeft || got.BodySite != "Shin" || got.Rotation != 90 {
		t.Fatalf("agent got %+v", got)
	}
	for _, id := range c.order {
		h.agent.Progress(id, localapi.StateUploading)
		h.agent.Progress(id, localapi.StateSent)
	}
	h.eventually("saved", func() bool { return c.summary.Text == viewmodel.TextSaved })
	if c.summary.Importance != widget.SuccessImportance || first.status.Text != "Saved" {
		t.Fatalf("summary importance %v, card %q", c.summary.Importance, first.status.Text)
	}
}

func TestSaveFailuresShowTheSentenceAndRetry(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"relay down", localapi.ErrUnavailable, localapi.ErrUnavailable.Message},
		{"not enrolled", localapi.ErrNotEnrolled, localapi.ErrNotEnrolled.Message},
		{"agent gone", context.DeadlineExceeded, "The ClinicPro agent is not answering"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			c := h.patient()
			h.drop(c, "a.jpg")
			h.agent.FailSave(tc.err)
			test.Tap(c.save)
			h.eventually("error", func() bool { return strings.HasPrefix(c.summary.Text, tc.want) })
			if c.summary.Importance != widget.DangerImportance || !c.retry.Visible() {
				t.Fatal("error not styled or Retry not offered")
			}
			h.agent.FailSave(nil)
			test.Tap(c.retry)
			h.eventually("queued", func() bool { return strings.HasPrefix(c.summary.Text, "Saving to Medtech") })
			if c.retry.Visible() {
				t.Fatal("Retry still offered")
			}
		})
	}
}

func TestParkedItemCanBeRetried(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "a.jpg")
	test.Tap(c.save)
	h.eventually("queued", func() bool { return strings.HasPrefix(c.summary.Text, "Saving") })
	const reason = "Medtech refused the file: it is larger than 8 MB. Retake the photo at a lower resolution."
	h.agent.Park(c.order[0], reason)
	h.eventually("parked", func() bool { return c.summary.Text == reason })
	if !c.retry.Visible() || !strings.Contains(h.card(c, 0).status.Text, reason) {
		t.Fatal("parked item without Retry or reason")
	}
	h.eventually("notice", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.notices) == 1 && !localapitest.Contains(h.notices[0].Body)
	})
	test.Tap(c.retry)
	h.eventually("re-queued", func() bool { return !c.retry.Visible() && strings.HasPrefix(c.summary.Text, "Saving") })
}

// sendKey delivers a key as the desktop driver does: to the focused widget, else to
// the window.
func sendKey(c fyne.Canvas, k fyne.KeyName) {
	if f := c.Focused(); f != nil {
		f.TypedKey(&fyne.KeyEvent{Name: k})
		return
	}
	c.OnTypedKey()(&fyne.KeyEvent{Name: k})
}

// typeText types into the focused widget, as the desktop driver does.
func typeText(c fyne.Canvas, s string) {
	for _, r := range s {
		c.Focused().TypedRune(r)
	}
}

// sendShortcut delivers a shortcut as the desktop driver does: to the focused widget
// if it takes shortcuts, else to the window's.
func sendShortcut(c fyne.Canvas, s fyne.Shortcut) {
	if f, ok := c.Focused().(fyne.Shortcutable); ok {
		f.TypedShortcut(s)
		return
	}
	c.(fyne.Shortcutable).TypedShortcut(s)
}

func TestEnterMovesOnCtrlEnterSavesEscapeCloses(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "a.jpg", "b.jpg")
	cv := c.win.Canvas()
	a, b := h.card(c, 0), h.card(c, 1)
	// Enter with nothing focused starts the chain; Enter in a field moves to the next.
	sendKey(cv, fyne.KeyReturn)
	for i, want := range []fyne.Focusable{a.title, a.lat, a.site, b.title, b.lat, b.site, c.save} {
		if cv.Focused() != want {
			t.Fatalf("after %d Enters the focus is on %T, want %T", i, cv.Focused(), want)
		}
		if i < 6 {
			sendKey(cv, fyne.KeyReturn)
		}
	}
	h.q.drain()
	if s := c.model.View().Items[0].Status; s != viewmodel.ItemStaged {
		t.Fatalf("Enter saved: item is %v", s)
	}
	// Ctrl+Enter saves from a field.
	cv.Focus(a.title)
	sendShortcut(cv, shortcutSave)
	h.eventually("saved by Ctrl+Enter", func() bool { return strings.HasPrefix(c.summary.Text, "Saving") })

	c2 := h.other()
	h.drop(c2, "c.jpg")
	s, _ := c2.model.Session()
	c2.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	test.Tap(findButton(t, c2.win.Canvas().Overlays().Top(), "Discard and close"))
	h.eventually("closed", func() bool { return len(h.app.Captures()) == 1 })
	h.eventually("session closed", func() bool {
		_, err := h.agent.Save(context.Background(), s.ID, localapi.SaveRequest{})
		return errors.Is(err, localapi.ErrNotFound)
	})
}

func TestRotateAndRetryLookDifferent(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "a.jpg")
	k := h.card(c, 0)
	if k.rotate.Text != "Rotate" || c.retry.Text != "Retry" || k.rotate.Icon.Name() == c.retry.Icon.Name() {
		t.Fatalf("rotate %q %s, retry %q %s", k.rotate.Text, k.rotate.Icon.Name(), c.retry.Text, c.retry.Icon.Name())
	}
	if k.rotate.Tip == "" || c.retry.Tip == "" || k.rotate.Tip == c.retry.Tip || !strings.Contains(k.rotate.Tip, "original file is not changed") {
		t.Fatalf("tips %q / %q", k.rotate.Tip, c.retry.Tip)
	}
	// The tip shows while the pointer rests on the button.
	k.rotate.MouseIn(&desktop.MouseEvent{})
	if k.rotate.pop == nil || !k.rotate.pop.Visible() || !strings.Contains(allText(k.rotate.pop.Content), "quarter turn") {
		t.Fatal("no tooltip on hover")
	}
	k.rotate.MouseOut()
	if k.rotate.pop != nil {
		t.Fatal("tooltip stays after the pointer left")
	}
}

func TestBodySiteListCodesTheSite(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "a.jpg")
	k := h.card(c, 0)
	cv := c.win.Canvas()
	cv.Focus(k.site)
	test.Type(k.site, "sh")
	if got := k.site.Listed(); len(got) == 0 || !slices.Contains(got, "Shoulder") {
		t.Fatalf("listed %v", got)
	}
	test.Type(k.site, "in") // "shin": an everyday word for Lower leg
	if got := k.site.Listed(); len(got) == 0 || got[0] != "Lower leg" {
		t.Fatalf("listed %v", got)
	}
	sendKey(cv, fyne.KeyReturn)
	h.q.drain()
	it := c.model.View().Items[0]
	if it.BodySite != "Lower leg" || it.BodySiteCode != "30021000" || k.site.Text != "Lower leg" || k.site.Listed() != nil {
		t.Fatalf("item %q %q, field %q", it.BodySite, it.BodySiteCode, k.site.Text)
	}
	// Free text when nothing fits: typed, no code.
	k.site.SetText("")
	test.Type(k.site, "old burn scar")
	sendKey(cv, fyne.KeyReturn)
	h.q.drain()
	if it := c.model.View().Items[0]; it.BodySite != "old burn scar" || it.BodySiteCode != "" {
		t.Fatalf("free text: %+v", it)
	}
}

func TestEnlargeShowsTheAgentsPreview(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "a.jpg")
	k := h.card(c, 0)
	c.model.Rotate(k.id)
	test.Tap(k.enlarge)
	h.eventually("preview dialog", func() bool { return c.win.Canvas().Overlays().Top() != nil })
	var img *canvas.Image
	h.eventually("preview loaded", func() bool {
		for _, o := range test.LaidOutObjects(c.win.Canvas().Overlays().Top()) {
			if ci, ok := o.(*canvas.Image); ok && ci.Image != nil && ci.Image.Bounds().Dy() == 160 {
				img = ci
			}
		}
		return img != nil
	})
	// The fake's preview is 160x120; turned a quarter, as Save will send it.
	if b := img.Image.Bounds(); b.Dx() != 120 {
		t.Fatalf("preview %v", b)
	}
}

func TestAddFilesPicksSeveral(t *testing.T) {
	h := newHarness(t, nil)
	dir := t.TempDir()
	writeJPEG(t, dir, "wound-1.jpg")
	writeJPEG(t, dir, "wound-2.jpg")
	writeJPEG(t, dir, "wound-3.jpg")
	os.WriteFile(filepath.Join(dir, "notes.docx"), []byte("x"), 0o600)
	os.Mkdir(filepath.Join(dir, "older"), 0o700)
	h.app.opt.PickerDir = dir
	c := h.patient()
	sendShortcut(c.win.Canvas(), shortcutAdd)
	p := c.picker
	if p == nil || len(p.entries) != 4 || p.entries[3].name != "older" || !p.entries[3].dir {
		t.Fatalf("picker lists %+v", p.entries)
	}
	p.list.Select(0)
	p.list.Select(2)
	if got := p.Ticked(); len(got) != 2 || filepath.Base(got[1]) != "wound-3.jpg" {
		t.Fatalf("ticked %v", got)
	}
	test.Tap(p.add)
	h.eventually("two cards", func() bool { return len(c.order) == 2 })
	h.eventually("keyboard on the first new title", func() bool { return c.win.Canvas().Focused() == h.card(c, 0).title })
}

func TestRemoveTakesTheCardAway(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "a.jpg", "b.jpg")
	id := c.order[0]
	test.Tap(h.card(c, 0).remove)
	h.eventually("removed", func() bool { return len(c.grid.Objects) == 1 && c.order[0] != id })
}

func TestDropRefusesOtherFiles(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	p := filepath.Join(t.TempDir(), "letter.docx")
	os.WriteFile(p, []byte("x"), 0o600)
	c.Drop([]fyne.URI{storage.NewFileURI(p)})
	h.eventually("refusal", func() bool { return strings.HasPrefix(c.summary.Text, "letter.docx is not a photo") })
	if len(c.grid.Objects) != 0 {
		t.Fatal("refused file shown")
	}
}

func TestCameraButton(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	test.Tap(c.camera)
	if h.camera.opened != 1 || !strings.HasPrefix(c.summary.Text, "Take the photos in Camera") {
		t.Fatalf("opened %d, summary %q", h.camera.opened, c.summary.Text)
	}
	h.camera.err = SystemCamera().Open() // off Windows: the explanation
	if h.camera.err == nil {
		t.Skip("a real camera app exists here")
	}
	test.Tap(c.camera)
	if !strings.HasPrefix(c.summary.Text, "The Camera button opens the Windows Camera app") || c.summary.Importance != widget.DangerImportance {
		t.Fatalf("summary %q", c.summary.Text)
	}
}

func TestCameraRollPhotosArriveWithTheirSource(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	s, _ := c.model.Session()
	if _, err := h.agent.Arrive(s.ID, "Camera Roll", "WIN_20261127_09_00.jpg", localapitest.JPEG(t)); err != nil {
		t.Fatal(err)
	}
	h.eventually("arrival", func() bool { return len(c.order) == 1 && h.card(c, 0).source.Text == "From Camera Roll" })
}

func TestTrayIconAndMenu(t *testing.T) {
	h := newHarness(t, nil)
	h.eventually("connected", func() bool { icon, _ := h.app.TrayIcon(); return icon == viewmodel.IconOK })
	menu := h.app.TrayMenu()
	var labels []string
	for _, it := range menu.Items {
		labels = append(labels, it.Label)
	}
	if got := strings.Join(labels, "|"); got != "Open|Unassigned (0)|Needs attention (0)|Status|Pause uploads||Quit" {
		t.Fatalf("menu %q", got)
	}
	h.agent.SetCounts(localapi.Counts{Queued: 2})
	h.eventually("uploading", func() bool { icon, _ := h.app.TrayIcon(); return icon == viewmodel.IconUploading })
	h.agent.SetCounts(localapi.Counts{Unassigned: 2})
	h.eventually("attention", func() bool {
		icon, _ := h.app.TrayIcon()
		return icon == viewmodel.IconAttention && menu.Items[1].Label == "Unassigned (2)"
	})
	menu.Items[4].Action() // Pause uploads
	h.eventually("paused", func() bool { return menu.Items[4].Label == "Resume uploads" })
	h.agent.SetHealth(health.Aggregate(time.Now(), []health.Check{{Name: "hcm", Title: "Hybrid Connection Manager", State: health.Offline,
		Critical: true, Detail: "Medtech is not reachable: the practice's Hybrid Connection Manager is offline.", Fix: "Check that the PC running it is awake."}}))
	h.eventually("offline", func() bool {
		icon, sentence := h.app.TrayIcon()
		return icon == viewmodel.IconOffline && strings.Contains(sentence, "Hybrid Connection Manager is offline")
	})
}

// downAgent is an agent whose pipe does not answer.
type downAgent struct{ *fakeagent.Agent }

func (downAgent) Events(context.Context) (<-chan localapi.Event, error) {
	return nil, errors.New("dial: connection refused")
}

func TestTrayWithoutAgentShowsOffline(t *testing.T) {
	h := newHarness(t, downAgent{fakeagent.New()})
	h.eventually("offline", func() bool {
		icon, sentence := h.app.TrayIcon()
		return icon == viewmodel.IconOffline && strings.Contains(sentence, "not answering")
	})
	if !h.app.TrayMenu().Items[4].Disabled {
		t.Fatal("Pause offered without an agent")
	}
}

func TestUnassignedAssignAfterConfirmation(t *testing.T) {
	h := newHarness(t, nil)
	first := h.agent.AddUnassigned("scan0001.pdf", []byte("%PDF-1.4"), "No NHI in the file name or folder.")
	second := h.agent.AddUnassigned("scan0002.pdf", []byte("%PDF-1.4"), "No NHI in the file name or folder.")
	h.app.ShowUnassigned()
	u := h.app.unWin
	h.eventually("listed with thumbnails", func() bool { return len(u.list.Objects) == 2 && len(u.thumbs) == 2 })
	assign := findButton(t, u.list.Objects[0], "Assign to open patient")
	if !assign.Disabled() || !strings.Contains(u.hint.Text, "click the ClinicPro icon") {
		t.Fatal("assign offered with no patient window")
	}

	h.patient()
	h.eventually("assign offered", func() bool {
		return !findButton(t, u.list.Objects[0], "Assign to open patient").Disabled()
	})
	test.Tap(findButton(t, u.list.Objects[0], "Assign to open patient"))
	if u.confirm == nil {
		t.Fatal("no confirmation")
	}
	overlay := u.win.Canvas().Overlays().Top()
	// The band of the patient it will be filed to, beside the image itself.
	band := canvasText(overlay)
	for _, want := range []string{"TESTING,", "Fake", "1-Jan-1970", "Female", "ZZZ 0016"} {
		if !strings.Contains(band, want) {
			t.Fatalf("confirmation band lacks %q: %s", want, band)
		}
	}
	if !strings.Contains(allText(overlay), "scan0001.pdf") || !strings.Contains(allText(overlay), "File this image to this patient?") {
		t.Fatalf("confirmation:\n%s", allText(overlay))
	}
	h.eventually("Assign offered once the image is shown", func() bool { return !u.confirmOK.Disabled() })
	if !u.confirmShown[first.ID] {
		t.Fatal("Assign offered before the image was on screen")
	}
	test.Tap(u.confirmOK)
	h.eventually("assigned", func() bool {
		it, _ := h.agent.Item(context.Background(), first.ID)
		return it.State == localapi.StateQueued && len(u.list.Objects) == 1
	})
	test.Tap(findButton(t, u.list.Objects[0], "Reject"))
	test.Tap(findButton(t, u.win.Canvas().Overlays().Top(), "Reject"))
	h.eventually("rejected", func() bool {
		it, _ := h.agent.Item(context.Background(), second.ID)
		return it.State == localapi.StateRejected && len(u.list.Objects) == 0
	})
	if !strings.HasPrefix(u.hint.Text, "Nothing is waiting") {
		t.Fatalf("hint %q", u.hint.Text)
	}
}

func TestUnassignedSeveralAtOnce(t *testing.T) {
	h := newHarness(t, nil)
	var ids []string
	for _, n := range []string{"IMG_2044.jpg", "IMG_2045.jpg", "IMG_2046.jpg"} {
		ids = append(ids, h.agent.AddUnassigned(n, localapitest.JPEG(t), "No NHI in the file name or folder.").ID)
	}
	h.patient()
	h.app.ShowUnassigned()
	u := h.app.unWin
	h.eventually("listed", func() bool { return len(u.list.Objects) == 3 })
	if !u.assignSel.Disabled() {
		t.Fatal("assign offered with nothing ticked")
	}
	// A click on a thumbnail shows the image large.
	thumb := findTappableImage(t, u.list.Objects[1])
	test.Tap(thumb)
	h.eventually("preview shown", func() bool { return u.win.Canvas().Overlays().Top() != nil })
	u.win.Canvas().Overlays().Remove(u.win.Canvas().Overlays().Top())

	u.all.SetChecked(true)
	h.q.drain()
	if len(u.app.unassigned.Selected()) != 3 || u.assignSel.Disabled() {
		t.Fatal("select all")
	}
	test.Tap(u.assignSel)
	overlay := u.win.Canvas().Overlays().Top()
	if !strings.Contains(allText(overlay), "File these 3 images to this patient?") {
		t.Fatalf("confirmation:\n%s", allText(overlay))
	}
	h.eventually("all three shown", func() bool { return len(u.confirmShown) == 3 && !u.confirmOK.Disabled() })
	test.Tap(u.confirmOK)
	h.eventually("all filed after one confirmation", func() bool {
		for _, id := range ids {
			if it, _ := h.agent.Item(context.Background(), id); it.State != localapi.StateQueued {
				return false
			}
		}
		return len(u.list.Objects) == 0
	})
}

func findTappableImage(t testing.TB, root fyne.CanvasObject) *tappableImage {
	t.Helper()
	for _, o := range test.LaidOutObjects(root) {
		if ti, ok := o.(*tappableImage); ok {
			return ti
		}
	}
	t.Fatal("no clickable image")
	return nil
}

func TestStatusWindowAndDiagnostics(t *testing.T) {
	h := newHarness(t, nil)
	h.agent.AddUnassigned("ZZZ0016 knee.jpg", []byte("x"), "")
	h.agent.SetHealth(health.Aggregate(time.Now(), []health.Check{
		{Name: "relay", Title: "ClinicPro relay", State: health.OK, Detail: "The relay answers."},
		{Name: "hcm", Title: "Hybrid Connection Manager", State: health.Degraded, Detail: "HCM restarted twice in the last hour.", Fix: "Check the PC's network connection."},
	}))
	// Unassigned items and a degraded check: the tray says the check's own sentence.
	h.eventually("status", func() bool { _, s := h.app.TrayIcon(); return strings.Contains(s, "HCM restarted twice") })
	h.app.ShowStatus()
	s := h.app.stWin
	text := allText(s.win.Content())
	for _, want := range []string{"Hybrid Connection Manager: Needs attention", "Fix: Check the PC's network connection.", localapitest.TestFacility, "http://127.0.0.1:1", "ClinicPro relay: OK"} {
		if !strings.Contains(text, want) {
			t.Fatalf("status window lacks %q:\n%s", want, text)
		}
	}
	test.Tap(s.copyBtn)
	h.eventually("copied", func() bool { return strings.HasPrefix(s.copied.Text, "Saved ") })
	files, _ := filepath.Glob(filepath.Join(h.diag, "ClinicPro diagnostics *.zip"))
	if len(files) != 1 {
		t.Fatalf("bundles %v", files)
	}
	if b, _ := os.ReadFile(files[0]); len(b) < 22 || string(b[:2]) != "PK" {
		t.Fatal("bundle is not a zip")
	}
	clip := h.fa.Clipboard().Content()
	if !strings.Contains(clip, localapitest.TestFacility) || !strings.Contains(clip, files[0]) || localapitest.Contains(clip) {
		t.Fatalf("clipboard:\n%s", clip)
	}
}

func TestNoIdentifierInAnyTitle(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "ZZZ0016 knee.jpg")
	h.app.ShowUnassigned()
	h.app.ShowStatus()
	h.q.drain()
	titles := h.allTitles()
	if len(titles) < 3 {
		t.Fatalf("titles %v", titles)
	}
	for _, title := range titles {
		if localapitest.Contains(title) || !strings.HasPrefix(title, viewmodel.TitleMain) {
			t.Fatalf("window title %q", title)
		}
	}
}

func findButton(t testing.TB, root fyne.CanvasObject, label string) *widget.Button {
	t.Helper()
	for _, o := range test.LaidOutObjects(root) {
		if b, ok := o.(*widget.Button); ok && b.Text == label {
			return b
		}
		if b, ok := o.(*tipButton); ok && b.Text == label {
			return &b.Button
		}
	}
	t.Fatalf("no button %q", label)
	return nil
}

// canvasText is the text of every canvas.Text under root (the patient band draws
// with them, in its own colours).
func canvasText(root fyne.CanvasObject) string {
	var b strings.Builder
	for _, o := range test.LaidOutObjects(root) {
		if t, ok := o.(*canvas.Text); ok && t.Text != "" {
			b.WriteString(t.Text + " ")
		}
	}
	return b.String()
}

func allText(root fyne.CanvasObject) string {
	var b strings.Builder
	for _, o := range test.LaidOutObjects(root) {
		switch w := o.(type) {
		case *widget.Label:
			b.WriteString(w.Text + "\n")
		case *widget.Form:
			for _, it := range w.Items {
				b.WriteString(it.Text + "\n")
			}
		}
	}
	return b.String()
}

func TestClosingWithUnsavedPhotosAsksFirst(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "a.jpg", "b.jpg")
	c.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if c.confirm == nil || len(h.app.Captures()) != 1 {
		t.Fatal("closed with unsaved photos without asking")
	}
	overlay := c.win.Canvas().Overlays().Top()
	if !strings.Contains(allText(overlay), "2 images have not been saved to Medtech") {
		t.Fatalf("question:\n%s", allText(overlay))
	}
	test.Tap(findButton(t, overlay, "Keep working"))
	h.q.drain()
	if len(h.app.Captures()) != 1 || c.confirm != nil {
		t.Fatal("Keep working closed the window")
	}
	test.Tap(findButton(t, c.win.Content(), "Close"))
	test.Tap(findButton(t, c.win.Canvas().Overlays().Top(), "Discard and close"))
	h.eventually("closed", func() bool { return len(h.app.Captures()) == 0 })
}

func TestQuitClosesSessions(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "a.jpg")
	id := c.order[0]
	h.app.Quit() // no question: the tray is going away, and the GP chose Quit
	h.eventually("windows closed", func() bool { return len(h.app.Captures()) == 0 })
	h.eventually("session closed", func() bool {
		_, err := h.agent.Item(context.Background(), id)
		return errors.Is(err, localapi.ErrNotFound)
	})
}

// TestUpgradeClosesTheTray: the installer's `clinicpro tray close` reaches the tray as
// an event, and the tray quits as if the GP had chosen Quit.
func TestUpgradeClosesTheTray(t *testing.T) {
	h := newHarness(t, nil)
	h.patient()
	h.eventually("subscribed", func() bool { return h.agent.Hub.Subscribers() > 0 })
	h.agent.Hub.Publish(localapi.Event{Type: localapi.EventClose})
	h.eventually("windows closed for the upgrade", func() bool { return len(h.app.Captures()) == 0 })
}

func TestLaunchWithNoAgentRunning(t *testing.T) {
	// The real client, pointed at a socket nobody listens on.
	client := localapi.Dial(filepath.Join(t.TempDir(), "agent.sock"))
	t.Cleanup(client.Close)
	h := newHarness(t, client)
	c := h.launch(fakeagent.PatientURL)
	if !strings.HasPrefix(c.heading.Text, "The ClinicPro agent is not answering") {
		t.Fatalf("heading %q", c.heading.Text)
	}
	h.eventually("tray offline", func() bool { icon, _ := h.app.TrayIcon(); return icon == viewmodel.IconOffline })
}

// TestKeyboardOnlyCaptureFlow is the scripted keyboard-only capture: from the launch
// arriving, add two files, code a body site and save, counting every key press (a
// typed word counts as one action). The bound is 10 actions.
func TestKeyboardOnlyCaptureFlow(t *testing.T) {
	h := newHarness(t, nil)
	dir := t.TempDir()
	writeJPEG(t, dir, "knee-front.jpg")
	writeJPEG(t, dir, "knee-side.jpg")
	h.app.opt.PickerDir = dir

	start := time.Now()
	c := h.app.Launch(fakeagent.PatientURL) // the launch arrives
	h.eventually("banner", func() bool { return c.banner.Visible() })
	cv := c.win.Canvas()
	var actions []string
	act := func(what string, f func()) {
		t.Helper()
		actions = append(actions, what)
		f()
		h.q.drain()
	}
	act("Ctrl+O", func() { sendShortcut(cv, shortcutAdd) })
	act("Ctrl+A", func() { sendShortcut(cv, &fyne.ShortcutSelectAll{}) })
	act("Enter", func() { sendKey(cv, fyne.KeyReturn) })
	h.eventually("two cards, keyboard on the first title", func() bool {
		return len(c.order) == 2 && cv.Focused() == h.card(c, 0).title
	})
	act("Enter", func() { sendKey(cv, fyne.KeyReturn) }) // title → laterality
	act("Enter", func() { sendKey(cv, fyne.KeyReturn) }) // laterality → body site
	act(`type "knee"`, func() { typeText(cv, "knee") })
	act("Enter", func() { sendKey(cv, fyne.KeyReturn) }) // takes Knee, moves on
	act("Ctrl+Enter", func() { sendShortcut(cv, shortcutSave) })
	h.eventually("saved", func() bool {
		for _, id := range c.order {
			if it, _ := h.agent.Item(context.Background(), id); it.State != localapi.StateQueued {
				return false
			}
		}
		return true
	})
	first, _ := h.agent.Item(context.Background(), c.order[0])
	if first.BodySite != "Knee" || first.BodySiteCode != "72696002" {
		t.Fatalf("first item's body site %q %q", first.BodySite, first.BodySiteCode)
	}
	t.Logf("keyboard-only capture: %d actions (%s), %v from the launch arriving", len(actions), strings.Join(actions, ", "), time.Since(start).Round(time.Millisecond))
	if len(actions) > 10 {
		t.Fatalf("%d actions, want at most 10", len(actions))
	}
}

func TestNeedsAttentionRecoversParkedItems(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "a.jpg", "b.jpg", "c.jpg")
	test.Tap(c.save)
	h.eventually("queued", func() bool { return strings.HasPrefix(c.summary.Text, "Saving") })
	ids := slices.Clone(c.order)
	h.agent.ParkWithCause(ids[0], api.CauseALEXForbidden)
	h.agent.ParkWithCause(ids[1], api.CauseUnresolved)
	h.agent.ParkWithCause(ids[2], api.CauseRefused)
	h.agent.SetCounts(localapi.Counts{Parked: 3})
	menu := h.app.TrayMenu()
	h.eventually("menu counts them", func() bool { return menu.Items[2].Label == "Needs attention (3)" })
	menu.Items[2].Action()
	w := h.app.atWin
	h.eventually("three rows with thumbnails", func() bool { return len(w.list.Objects) == 3 && len(w.thumbs) == 3 })
	rowOf := func(id string) fyne.CanvasObject {
		rows, _ := h.app.attention.Items()
		for i, r := range rows {
			if r.ID == id {
				return w.list.Objects[i]
			}
		}
		t.Fatalf("no row for %s", id)
		return nil
	}
	// Each row says why in the cause's words, and offers what the cause allows.
	text := allText(rowOf(ids[1]))
	if !strings.Contains(text, api.CauseUnresolved.Sentence()) || !strings.Contains(text, api.CauseUnresolved.Fix()) {
		t.Fatalf("row:\n%s", text)
	}
	for _, step := range []struct {
		id, button string
		want       localapi.ItemState
	}{{ids[1], "Send again", localapi.StateQueued}, {ids[0], "Retry", localapi.StateQueued}, {ids[2], "Discard to Rejected", localapi.StateRejected}} {
		n := len(w.list.Objects)
		test.Tap(findButton(t, rowOf(step.id), step.button))
		h.eventually(step.button, func() bool {
			it, _ := h.agent.Item(context.Background(), step.id)
			return it.State == step.want && len(w.list.Objects) == n-1
		})
	}
	// Give to the open patient: a parked item filed under the open window instead.
	h.drop(c, "d.jpg")
	test.Tap(c.save)
	id := c.order[len(c.order)-1]
	h.eventually("queued", func() bool { it, _ := h.agent.Item(context.Background(), id); return it.State == localapi.StateQueued })
	h.agent.ParkWithCause(id, api.CauseRefused)
	h.eventually("listed", func() bool { return len(w.list.Objects) == 1 })
	other := h.patient()
	h.eventually("give offered", func() bool { return !findButton(t, w.list.Objects[0], "Give to the open patient").Disabled() })
	test.Tap(findButton(t, w.list.Objects[0], "Give to the open patient"))
	s, _ := other.model.Session()
	h.eventually("given", func() bool {
		it, _ := h.agent.Item(context.Background(), id)
		return it.State == localapi.StateQueued && it.SessionID == s.ID
	})
}

func TestOfflineIsExplainedInTheCaptureWindow(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	h.drop(c, "a.jpg", "b.jpg")
	test.Tap(c.save)
	h.eventually("saving", func() bool { return strings.HasPrefix(c.summary.Text, "Saving") })
	h.agent.SetHealth(health.Aggregate(time.Now(), []health.Check{{Name: "hcm", Title: "Hybrid Connection Manager", State: health.Offline,
		Critical: true, Detail: "Medtech is not reachable: the practice's Hybrid Connection Manager is offline."}}))
	h.eventually("explained", func() bool { return c.summary.Text == viewmodel.TextOffline(2) })
	if c.summary.Importance == widget.DangerImportance {
		t.Fatal("waiting images shown as an error")
	}
	// Closing asks nothing: the saved images are the agent's now.
	test.Tap(findButton(t, c.win.Content(), "Close"))
	h.eventually("closed", func() bool { return len(h.app.Captures()) == 0 })
}
