//go:build !windows

package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"image/jpeg"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/fhir"
	"github.com/clinicpro/medtech-images/internal/health/checks"
	"github.com/clinicpro/medtech-images/internal/localapi"
	relayapi "github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// follow feeds the real agent's item events to the tray's view models, as the
// tray's event loop does.
func follow(t *testing.T, api localapi.Service, handle ...func(localapi.Item)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := api.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for e := range ch {
			if e.Item != nil {
				for _, h := range handle {
					h(*e.Item)
				}
			}
		}
	}()
}

func setFaults(t *testing.T, d *Demo, f alexsim.Faults) {
	t.Helper()
	b, _ := json.Marshal(f)
	resp, err := http.Post(d.AlexsimURL+"/_sim/faults", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("alexsim refused the faults: %s", resp.Status)
	}
}

func withTitle(docs []alexsim.Document, title string) []alexsim.Document {
	var out []alexsim.Document
	for _, d := range docs {
		if d.Title == title {
			out = append(out, d)
		}
	}
	return out
}

// TestTrayViewModelsAgainstTheRealAgent drives the tray's own view models (what
// its windows draw and what their buttons do) against the real agent, relay and
// alexsim:
//   - an Unassigned scan is filed to the open patient only after its preview was
//     shown: before that, the view model refuses and nothing reaches ALEX;
//   - a photo saved from the capture window with a coded body site and a crop is
//     stored cropped, with the laterality and body site in the configured mode;
//   - an item Medtech refused (ALEX 403) parks, shows in Needs attention with its
//     cause's sentence, and Retry from there stores it exactly once;
//   - the window opened again for the patient shows what was saved, with progress.
func TestTrayViewModelsAgainstTheRealAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the whole product")
	}
	d := startDemo(t, nil)
	ctx := context.Background()
	api := d.Agent()
	defer api.Close()

	capture := viewmodel.NewCapture(api, nil)
	un := viewmodel.NewUnassigned(api, nil)
	att := viewmodel.NewAttention(api, nil)
	follow(t, api, capture.HandleItem, un.HandleItem, att.HandleItem)
	launchURL, err := d.LaunchURL(ctx, "ZZZ0016")
	if err != nil {
		t.Fatal(err)
	}
	if err := capture.Launch(ctx, launchURL); err != nil {
		t.Fatal(err)
	}
	if v := capture.View(); v.Phase != viewmodel.PhasePatient || v.Banner.NHI != "ZZZ0016" {
		t.Fatalf("capture window after the launch: %+v", v)
	}

	// (1) A scan with no NHI waits in Unassigned.
	scan, err := A4Scan(150)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.Scans, "scan 002.png"), scan, 0o644); err != nil {
		t.Fatal(err)
	}
	var item localapi.Item
	waitFor(t, "the scan in Unassigned", func() bool {
		if err := un.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		items, _ := un.Items()
		for _, it := range items {
			if it.FileName == "scan 002.png" {
				item = it
			}
		}
		return item.ID != ""
	})
	if err := un.AssignAll(ctx, []string{item.ID}, capture); err == nil {
		t.Fatal("the view model filed a scan nobody was shown")
	}
	if it, _ := api.Item(ctx, item.ID); it.State != localapi.StateUnassigned || len(documents(t, d)) != 0 {
		t.Fatalf("refused filing changed something: %s, %d documents", it.State, len(documents(t, d)))
	}
	// The preview, as the tray fetches and draws it: the agent's upright JPEG.
	pv, err := api.Preview(ctx, item.ID)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(pv))
	if err != nil || img.Bounds().Dy() <= img.Bounds().Dx() || max(img.Bounds().Dx(), img.Bounds().Dy()) > localapi.PreviewEdge {
		t.Fatalf("preview of an A4 scan: %v %v", img.Bounds(), err)
	}
	un.Seen(item.ID)
	if err := un.AssignAll(ctx, []string{item.ID}, capture); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the scan stored", func() bool { return len(withTitle(documents(t, d), "scan 002.tif")) == 1 })

	// (2) A photo from the capture window, coded and cropped.
	photo, err := PhonePhoto(1200, 1600, 9, 90) // stored sideways with EXIF orientation 6
	if err != nil {
		t.Fatal(err)
	}
	if err := capture.Add(ctx, "knee.jpg", bytes.NewReader(photo)); err != nil {
		t.Fatal(err)
	}
	knee := capture.View().Items[len(capture.View().Items)-1].ID
	capture.SetTitle(knee, "Left knee wound")
	capture.SetLaterality(knee, relayapi.LateralityLeft)
	sites := viewmodel.BodySiteChoices("knee")
	if len(sites) == 0 || sites[0].Term != "Knee" {
		t.Fatalf("body site choices for knee: %+v", sites)
	}
	capture.PickBodySite(knee, sites[0])
	capture.SetCrop(knee, localapi.Crop{X: 0, Y: 0, W: 1, H: 0.5}) // the top half of the upright photo
	if err := capture.Save(ctx); err != nil {
		t.Fatal(err)
	}
	var kneeDoc alexsim.Document
	waitFor(t, "the photo stored", func() bool {
		ds := withTitle(documents(t, d), "Left knee wound")
		if len(ds) == 1 {
			kneeDoc = ds[0]
		}
		return len(ds) == 1
	})
	var r fhir.DocumentReference
	if err := json.Unmarshal(kneeDoc.Resource, &r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(r.Description), "left knee") {
		t.Fatalf("laterality and body site not in the description (the demo relay's mode): %q", r.Description)
	}
	page, _, err := readTIFF(content(t, d, kneeDoc.ID))
	if err != nil {
		t.Fatal(err)
	}
	// Upright the photo is 1200 x 1600; its top half is 1200 x 800: landscape.
	if b := page.Bounds(); b.Dx() <= b.Dy() {
		t.Fatalf("stored photo is %v, want the landscape top half", b)
	}
	b := page.Bounds()
	at := func(fx, fy float64) color.RGBA {
		r, g, bl, _ := page.At(b.Min.X+int(fx*float64(b.Dx())), b.Min.Y+int(fy*float64(b.Dy()))).RGBA()
		return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}
	}
	if !near(at(0.25, 0.8), TopLeft) || !near(at(0.75, 0.8), TopRight) {
		t.Fatalf("the stored photo is not the upright photo's top half: %v at the bottom left, %v at the bottom right", at(0.25, 0.8), at(0.75, 0.8))
	}

	// (3) ALEX refuses the next write (403): the item parks; Needs attention says
	// why, and Retry from there stores it once.
	setFaults(t, d, alexsim.Faults{ForbiddenWrites: 1})
	elbow, _ := PhonePhoto(600, 800, 11, 85)
	if err := capture.Add(ctx, "elbow.jpg", bytes.NewReader(elbow)); err != nil {
		t.Fatal(err)
	}
	if err := capture.Save(ctx); err != nil {
		t.Fatal(err)
	}
	var row viewmodel.AttentionItem
	waitFor(t, "the refused photo in Needs attention", func() bool {
		if err := att.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		rows, _ := att.Items()
		for _, r := range rows {
			if r.FileName == "elbow.jpg" && !r.Waiting {
				row = r
			}
		}
		return row.ID != ""
	})
	if row.Sentence != relayapi.CauseALEXForbidden.Sentence() || !row.CanRetry {
		t.Fatalf("Needs attention row: %+v", row)
	}
	if len(withTitle(documents(t, d), "elbow.tif")) != 0 {
		t.Fatal("a refused photo was stored")
	}
	if err := att.Retry(ctx, row.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the retried photo stored", func() bool {
		it, err := api.Item(ctx, row.ID)
		return err == nil && it.State == localapi.StateSent
	})
	if n := len(withTitle(documents(t, d), "elbow.tif")); n != 1 {
		t.Fatalf("the retried photo is stored %d times, want once", n)
	}
	waitFor(t, "the row gone", func() bool { rows, _ := att.Items(); return len(rows) == 0 })

	// (4) The window closed and the patient opened again: what was saved shows.
	if err := capture.Close(ctx); err != nil {
		t.Fatal(err)
	}
	again := viewmodel.NewCapture(api, nil)
	follow(t, api, again.HandleItem)
	launchURL, err = d.LaunchURL(ctx, "ZZZ0016")
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Launch(ctx, launchURL); err != nil {
		t.Fatal(err)
	}
	v := again.View()
	if len(v.Items) != 3 || v.Summary != viewmodel.TextSaved {
		t.Fatalf("reopened window: %d items, summary %q", len(v.Items), v.Summary)
	}
	for _, it := range v.Items {
		if !it.Earlier || it.Status != viewmodel.ItemSent {
			t.Fatalf("reopened window item %+v", it)
		}
	}
}

// statusRecording is where TestRecordedStatusIsTheRealAgents keeps the real
// agent's Status for the tray's Status screenshot (ui/screenshots_test.go).
const statusRecording = "../../ui/testdata/status-real.json"

// TestRecordedStatusIsTheRealAgents: the README's Status screenshot is drawn from a
// Status the real agent produced in the demo stack with the practice offline (HCM
// stopped) and one photo waiting. RECORD_STATUS=1 writes it again; otherwise the
// recording must still be what the agent says (the same checks, titles, states,
// fixes and sentences, numbers and addresses aside), so it cannot drift.
func TestRecordedStatusIsTheRealAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the whole product")
	}
	d := startDemo(t, nil)
	ctx := context.Background()
	api := d.Agent()
	defer api.Close()
	// One sent photo (the last upload), then the practice goes offline with one waiting.
	ok, _ := PhonePhoto(600, 800, 3, 85)
	os.WriteFile(filepath.Join(d.Inbox, "ZZZ0016 before.jpg"), ok, 0o644)
	waitFor(t, "the first photo sent", func() bool { return len(documents(t, d)) == 1 })
	if err := stopHCM(d); err != nil {
		t.Fatal(err)
	}
	off, _ := PhonePhoto(600, 800, 5, 85)
	os.WriteFile(filepath.Join(d.Inbox, "ZZZ0016 waiting.jpg"), off, 0o644)
	var st localapi.Status
	recheck := func() localapi.Status {
		st, err := api.Recheck(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if os.Getenv("RECORD_STATUS") == "1" {
		waitFor(t, "the agent to report the practice offline with one photo waiting", func() bool {
			st = recheck()
			return st.Health.State == "offline" && st.Counts.Queued+st.Counts.Uploading == 1 && !st.LastUpload.IsZero() &&
				hasCheck(st, "hcm.service", "offline") && hasCheck(st, "hcm.tunnel", "offline") &&
				hasCheck(st, checks.NameFacility, "offline") && hasCheck(st, "upload.relay", "offline")
		})
		b, _ := json.MarshalIndent(st, "", "  ")
		if err := os.WriteFile(statusRecording, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(statusRecording)
	if err != nil {
		t.Fatalf("no recording (run with RECORD_STATUS=1): %v", err)
	}
	var rec localapi.Status
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	want := shape(rec)
	deadline := time.Now().Add(3 * time.Minute)
	for st = recheck(); shape(st) != want; st = recheck() {
		if time.Now().After(deadline) {
			t.Fatalf("the recorded status is not what the real agent says; run RECORD_STATUS=1 go test -run TestRecordedStatusIsTheRealAgents ./internal/demo\nnow:\n%s\nrecorded:\n%s", shape(st), want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func hasCheck(st localapi.Status, name, state string) bool {
	for _, c := range st.Health.Checks {
		if c.Name == name && string(c.State) == state {
			return true
		}
	}
	return false
}

var (
	uuids  = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	digits = regexp.MustCompile(`[0-9]+`)
	urls   = regexp.MustCompile(`https?://[^\s,;)]+`)
	paths  = regexp.MustCompile(`/[^\s"]*cpe2e[^\s"]*`)
)

// shape is a status with what differs from run to run (times, sizes, ports,
// temporary paths) taken out.
func shape(st localapi.Status) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s queued+uploading %d, sent %v\n", st.Health.State, norm(st.Health.Summary), st.Counts.Queued+st.Counts.Uploading, !st.LastUpload.IsZero())
	for _, c := range st.Health.Checks {
		fmt.Fprintf(&b, "%s|%s|%s|%v|%s|%s\n", c.Name, c.Title, c.State, c.Critical, norm(c.Detail), norm(c.Fix))
	}
	return b.String()
}

func norm(s string) string {
	s = paths.ReplaceAllString(s, "PATH")
	s = urls.ReplaceAllString(s, "URL")
	s = uuids.ReplaceAllString(s, "ID")
	return digits.ReplaceAllString(s, "#")
}

// stopHCM stops the stand-in HCM the agent watches (recovery "report": it stays down).
func stopHCM(d *Demo) error {
	b, err := os.ReadFile(d.HCMPIDFile)
	if err != nil {
		return err
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		return err
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if p.Signal(syscall.Signal(0)) != nil {
			return nil
		}
	}
	return fmt.Errorf("the stand-in HCM (pid %d) did not stop", pid)
}
