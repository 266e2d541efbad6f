package ui

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/ui/fakeagent"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// variant pins the default theme to light or dark, whatever the OS prefers.
type variant struct {
	fyne.Theme
	v fyne.ThemeVariant
}

func (t variant) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.v)
}

// TestScreenshots renders every screen to PNG files for a person to look at
// (`make screenshots`). It runs only when SCREENSHOTS_DIR is set.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("SCREENSHOTS_DIR")
	if dir == "" {
		t.Skip("set SCREENSHOTS_DIR (make screenshots) to render the screens")
	}
	for name, v := range map[string]fyne.ThemeVariant{"light": theme.VariantLight, "dark": theme.VariantDark} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, name)
			if err := os.MkdirAll(out, 0o755); err != nil {
				t.Fatal(err)
			}
			renderScreens(t, out, variant{theme.DefaultTheme(), v})
		})
	}
}

func renderScreens(t *testing.T, out string, th fyne.Theme) {
	shot := func(h *harness, w fyne.Window, file string) {
		t.Helper()
		h.q.drain()
		img := w.Canvas().Capture()
		savePNG(t, filepath.Join(out, file+".png"), img)
	}
	fresh := func() *harness {
		h := newHarness(t, nil)
		h.fa.Settings().SetTheme(th)
		// As a practice that watches each GP's Camera Roll is configured.
		h.agent.SetSessionFolders([]localapi.SessionFolder{{Label: "Camera Roll", PerUser: true, CameraRoll: true}})
		return h
	}

	renderPhoneScreens(t, out, fresh)

	h := fresh()
	h.app.ShowMain()
	shot(h, h.app.Captures()[0].win, "01-capture-no-launch")

	h = fresh()
	shot(h, h.launch(fakeagent.NoPatientURL).win, "02-capture-no-patient")

	h = fresh()
	h.agent.FailLaunch(localapi.ErrUnavailable)
	shot(h, h.launch(fakeagent.PatientURL).win, "03-capture-relay-down")

	h = fresh()
	c := h.patient()
	shot(h, c.win, "04-capture-patient-empty")
	test.Tap(c.camera) // the Camera Roll is watched: photos come to this window
	shot(h, c.win, "04b-capture-camera")
	h.drop(c, "ZZZ0016 left shin.jpg", "wound-close-up.jpg", "referral-scan.pdf.jpg")
	h.eventually("thumbnails", func() bool {
		for _, id := range c.order {
			if c.cards[id].thumb == nil {
				return false
			}
		}
		return true
	})
	k := h.card(c, 0)
	k.title.SetText("Left shin wound, day 5")
	k.lat.SetSelected("Left")
	k.site.SetText("Shin")
	c.model.Rotate(c.order[1])
	shot(h, c.win, "05-capture-items")
	k2 := h.card(c, 1)
	c.win.Canvas().Focus(k2.site)
	test.Type(k2.site, "sh")
	shot(h, c.win, "05b-capture-body-site-list")
	k2.site.take(k2.site.matches[0])
	test.Tap(h.card(c, 0).enlarge)
	h.eventually("preview", func() bool { return c.win.Canvas().Overlays().Top() != nil })
	shot(h, c.win, "05c-capture-enlarge")
	c.win.Canvas().Overlays().Top().Hide()
	c.win.Canvas().Overlays().Remove(c.win.Canvas().Overlays().Top())
	test.Tap(h.card(c, 1).cropBtn)
	c.crop.edit.Set(viewmodel.EdgeLeft, 20)
	c.crop.edit.Set(viewmodel.EdgeTop, 15)
	c.crop.edit.Set(viewmodel.EdgeRight, 70)
	c.crop.edit.Set(viewmodel.EdgeBottom, 85)
	c.crop.sync()
	shot(h, c.win, "05e-capture-crop")
	c.crop.close(true)
	pickDir := t.TempDir()
	for _, n := range []string{"IMG_2041.jpg", "IMG_2042.jpg", "IMG_2043.jpg", "scan-referral.pdf"} {
		writeJPEG(t, pickDir, n)
	}
	h.app.setPickDir(pickDir)
	c.pick()
	c.picker.list.Select(0)
	c.picker.list.Select(1)
	shot(h, c.win, "05d-capture-add-files")
	c.picker.dlg.Hide()
	c.win.Canvas().(test.WindowlessCanvas).SetScale(1.5)
	c.win.Resize(fyne.NewSize(820, 560))
	shot(h, c.win, "06-capture-items-150pct")
	c.win.Canvas().(test.WindowlessCanvas).SetScale(1)
	c.win.Resize(fyne.NewSize(820, 560))

	c.Save()
	h.eventually("saving", func() bool { return c.summary.Text == "Saving to Medtech: 0 of 3 saved" })
	h.agent.Progress(c.order[0], localapi.StateSent)
	h.agent.Progress(c.order[1], localapi.StateUploading)
	h.eventually("progress", func() bool { return c.summary.Text == "Saving to Medtech: 1 of 3 saved" })
	shot(h, c.win, "07-capture-saving")
	h.agent.Park(c.order[2], "Medtech refused the file: the patient's record is locked by another user. Close the record in Medtech, then Retry.")
	h.agent.Progress(c.order[1], localapi.StateSent)
	h.eventually("parked", func() bool { return c.retry.Visible() })
	shot(h, c.win, "08-capture-parked")
	test.Tap(c.retry)
	h.eventually("retried", func() bool { return !c.retry.Visible() })
	h.agent.Progress(c.order[2], localapi.StateSent)
	h.eventually("saved", func() bool { return c.summary.Text == viewmodel.TextSaved })
	shot(h, c.win, "09-capture-saved")

	h = fresh()
	c = h.patient()
	h.drop(c, "wound.jpg", "wound-2.jpg")
	c.Save()
	h.eventually("saving", func() bool { return strings.HasPrefix(c.summary.Text, "Saving") })
	h.agent.SetHealth(health.Aggregate(time.Now(), []health.Check{{Name: "hcm.service", Title: "Hybrid Connection Manager", State: health.Offline,
		Critical: true, Detail: "Medtech is not reachable: the practice's Hybrid Connection Manager is offline."}}))
	h.eventually("offline", func() bool { return c.summary.Text == viewmodel.TextOffline(2) })
	shot(h, c.win, "09b-capture-offline")

	// The window opened again for the patient: the images kept while offline, with
	// their progress.
	c.discard = true
	c.win.Close()
	h.q.drain()
	c = h.patient()
	h.eventually("earlier images", func() bool { return len(c.order) == 2 })
	shot(h, c.win, "09c-capture-reopened")

	h = fresh()
	c = h.patient()
	h.drop(c, "wound.jpg")
	o := h.app.Launch(fakeagent.OtherPatientURL)
	h.eventually("the question", func() bool { return o.ask != nil })
	shot(h, o.win, "15-another-patient")
	test.Tap(findButton(t, o.win.Canvas().Overlays().Top(), "Open PATIENT, Other"))
	h.eventually("both open", func() bool { return len(h.app.Captures()) == 2 })
	shot(h, c.win, "16-capture-older-window")

	h = fresh()
	c = h.patient()
	h.drop(c, "wound.jpg")
	h.agent.FailSave(localapi.ErrUnavailable)
	test.Tap(c.save)
	h.eventually("error", func() bool { return c.retry.Visible() })
	shot(h, c.win, "10-capture-save-failed")

	h = fresh()
	h.agent.AddUnassigned("scan0001.pdf", []byte("%PDF-1.4"), "No NHI in the file name or folder.")
	h.agent.AddUnassigned("IMG_2044.jpg", []byte("x"), "No NHI in the file name or folder.")
	h.agent.AddUnassigned("IMG_2045.jpg", []byte("x"), "No ClinicPro capture window was open when the file arrived: choose the patient in ClinicPro.")
	h.patient()
	h.app.ShowUnassigned()
	u := h.app.unWin
	h.eventually("listed", func() bool { return len(u.list.Objects) == 3 && len(u.thumbs) == 3 })
	shot(h, u.win, "11-unassigned")
	test.Tap(findButton(t, u.list.Objects[0], "Assign to open patient"))
	h.eventually("confirm images", func() bool { return !u.confirmOK.Disabled() })
	shot(h, u.win, "12-unassigned-confirm")
	u.confirm.Hide()
	items, _ := u.app.unassigned.Items()
	u.app.unassigned.Select(items[1].ID, true)
	u.app.unassigned.Select(items[2].ID, true)
	h.q.drain()
	test.Tap(u.assignSel)
	h.eventually("confirm images", func() bool { return !u.confirmOK.Disabled() })
	shot(h, u.win, "12b-unassigned-confirm-several")

	h = fresh()
	c = h.patient()
	h.drop(c, "wound-day5.jpg", "referral-letter.jpg", "IMG_2050.jpg")
	c.Save()
	h.eventually("queued", func() bool { return strings.HasPrefix(c.summary.Text, "Saving") })
	h.agent.ParkWithCause(c.order[0], api.CauseUnresolved)
	h.agent.ParkWithCause(c.order[1], api.CauseALEXForbidden)
	h.agent.ParkWithCause(c.order[2], api.CauseRefused)
	h.app.ShowAttention()
	w := h.app.atWin
	h.eventually("attention rows", func() bool { return len(w.list.Objects) == 3 && len(w.thumbs) == 3 })
	shot(h, w.win, "14-needs-attention")

	// The Status window draws a real agent's Status, recorded in the demo stack with
	// the practice offline (internal/demo TestRecordedStatusIsTheRealAgents), its
	// times moved to now.
	f := &flakyAgent{Agent: fakeagent.New()}
	h = newHarnessWith(t, f, Options{Paths: config.DefaultPaths(t.TempDir())})
	h.fa.Settings().SetTheme(th)
	f.SetStatus(recordedStatus(t, time.Now()))
	h.eventually("status", func() bool { icon, _ := h.app.TrayIcon(); return icon == viewmodel.IconOffline })
	h.app.ShowStatus()
	shot(h, h.app.stWin.win, "13-status")
	f.stop()
	h.eventually("stale", func() bool { return h.app.stWin.stale.Visible() })
	test.Tap(h.app.stWin.copyBtn)
	h.eventually("copied", func() bool { return strings.HasPrefix(h.app.stWin.copied.Text, "The agent is not answering") })
	shot(h, h.app.stWin.win, "13b-status-agent-gone")
}

// recordedStatus is the real agent's recorded Status with its times moved so that
// it was checked at now.
func recordedStatus(t *testing.T, now time.Time) localapi.Status {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "status-real.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st localapi.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	shift := now.Sub(st.Health.At)
	st.Health.At = now
	st.LastUpload = st.LastUpload.Add(shift)
	for i := range st.Health.Checks {
		st.Health.Checks[i].Since = st.Health.Checks[i].Since.Add(shift)
	}
	return st
}

func savePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}
