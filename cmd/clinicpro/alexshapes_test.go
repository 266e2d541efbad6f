package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/demo"
	"github.com/clinicpro/medtech-images/internal/fhir"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/testutil"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// The suite in this file drives the real agent and relay binaries against alexsim
// answering as real ALEX answers by default (internal/alexsim TestRecordedALEXShapes
// holds it to each recorded shape): the 403 "Authorization failed." on a search
// without a patient filter, the facility's 403, the non-FHIR 404, an empty search as
// a Bundle with an OperationOutcome entry, and the lowercase /fhir Location every
// upload here is read back through.

// shapeStack is one practice: alexsim, the relay (with extra relay.toml lines), an
// enrolled agent watching an NHI-routed folder, and a local API client.
type shapeStack struct {
	t       *testing.T
	sim     *alexsim.Server
	bin     string
	data    string
	watched string
	api     *localapi.Client
	ctx     context.Context
	files   int
}

type shapeOpts struct {
	facility        string // the connector's facility; alexsim.DefaultFacility when empty
	relayTop, alexs string // extra relay.toml lines, top level and under [alex]
}

func startShape(t *testing.T, o shapeOpts) *shapeStack {
	t.Helper()
	if o.facility == "" {
		o.facility = alexsim.DefaultFacility
	}
	bin := build(t, "clinicpro", ".")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sim, err := alexsim.Start(ctx, "", alexsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	relayURL, code := startRelay(t, sim, o.facility, o.relayTop, o.alexs)
	data, err := os.MkdirTemp("", "cpshape") // short: the unix socket lives here
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	if out, err := enrolPrinted(t, bin, relayURL, code, data); err != nil {
		t.Fatalf("the enrol command the relay printed: %v %s", err, out)
	}
	watched := filepath.Join(data, "inbox")
	os.MkdirAll(watched, 0o755)
	cfgPath := filepath.Join(data, "config.toml")
	cfg, _ := os.ReadFile(cfgPath)
	cfg = bytes.Replace(cfg, []byte(`stability_window = "1s"`), []byte(`stability_window = "200ms"`), 1)
	cfg = bytes.Replace(cfg, []byte(`health_interval = "30s"`), []byte(`health_interval = "1s"`), 1)
	cfg = append(cfg, "\n[[folder]]\npath = '"+watched+"'\nlabel = \"Inbox\"\nrouting = \"nhi\"\n"...)
	os.WriteFile(cfgPath, cfg, 0o644)
	var logs testutil.Buffer
	agent := exec.Command(bin, "run", "--data", data)
	agent.Stdout, agent.Stderr = &logs, &logs
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Signal(syscall.SIGTERM); agent.Wait() })
	s := &shapeStack{t: t, sim: sim, bin: bin, data: data, watched: watched, api: localapi.Dial(localapi.DefaultAddress(data)), ctx: ctx}
	t.Cleanup(func() { s.api.Close() })
	waitFor(t, "the agent", func() bool { _, err := s.api.Status(ctx); return err == nil })
	return s
}

// drop writes a new photo for nhi into the watched folder and returns its name.
func (s *shapeStack) drop(nhi string) string {
	s.t.Helper()
	s.files++
	name := fmt.Sprintf("%s shape-%02d.jpg", nhi, s.files)
	if err := os.WriteFile(filepath.Join(s.watched, name), smallPhoto(s.t, 3000+s.files), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return name
}

func (s *shapeStack) cli(args ...string) (int, string) {
	s.t.Helper()
	c := exec.Command(s.bin, append(args, "--data", s.data)...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return 0, out.String()
}

// item waits for the item of the file name to reach state and returns it.
func (s *shapeStack) item(name string, state localapi.ItemState) localapi.Item {
	s.t.Helper()
	var found localapi.Item
	waitFor(s.t, name+" to be "+string(state), func() bool {
		items, err := s.api.Queue(s.ctx)
		if err != nil {
			s.t.Fatal(err)
		}
		un, _ := s.api.Unassigned(s.ctx)
		for _, it := range append(items, un...) {
			if it.FileName == name && it.State == state {
				found = it
				return true
			}
		}
		return false
	})
	return found
}

// saysEverywhere waits until the cause's sentence is in `clinicpro status`, in a
// check of `clinicpro doctor --json` and in the tray's view model, and checks the
// fix travels with it.
func (s *shapeStack) saysEverywhere(c api.Cause) {
	s.t.Helper()
	sentence := c.Sentence()
	waitFor(s.t, "clinicpro status to say: "+sentence, func() bool {
		_, out := s.cli("status")
		return strings.Contains(out, sentence) && strings.Contains(out, c.Fix())
	})
	waitFor(s.t, "doctor --json to say: "+sentence, func() bool {
		_, out := s.cli("doctor", "--json")
		var rep health.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			s.t.Fatalf("doctor --json: %v\n%s", err, out)
		}
		for _, ch := range rep.Checks {
			if strings.Contains(ch.Detail, sentence) && ch.Fix == c.Fix() {
				return true
			}
		}
		return false
	})
	waitFor(s.t, "the tray to say: "+sentence, func() bool {
		st, err := s.api.Status(s.ctx)
		if err != nil {
			s.t.Fatal(err)
		}
		tr := viewmodel.NewTray()
		tr.SetStatus(st, time.Now())
		return strings.Contains(tr.View().Sentence, sentence)
	})
}

// uploadsNotPaused checks the uploader's own check is not blaming everyone.
func (s *shapeStack) uploadsNotPaused() {
	s.t.Helper()
	st, err := s.api.Status(s.ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, ch := range st.Health.Checks {
		if ch.Name == "upload.relay" && ch.State == health.Offline {
			s.t.Fatalf("one document's failure paused every upload: %+v", ch)
		}
	}
}

// TestAmbiguousWritesEndAsOneDocument: a write whose outcome is unknown ends as
// exactly one document, both when the configured search is one ALEX allows and
// when ALEX refuses it; the refused case needs one explicit Send again (or, if the
// document is there after all, a Discard) and never leaves a duplicate.
func TestAmbiguousWritesEndAsOneDocument(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent and relay binaries")
	}
	t.Run("allowed search, write stored", func(t *testing.T) {
		s := startShape(t, shapeOpts{})
		s.sim.SetFaults(alexsim.Faults{DropWrites: 1})
		name := s.drop("ZZZ0016")
		s.item(name, localapi.StateSent)
		if n := len(s.sim.Documents()); n != 1 {
			t.Fatalf("%d documents, want 1", n)
		}
	})
	t.Run("allowed search, nothing stored (empty Bundle with an OperationOutcome)", func(t *testing.T) {
		s := startShape(t, shapeOpts{})
		s.sim.SetFaults(alexsim.Faults{FailWrites: 1})
		name := s.drop("ZZZ0016")
		s.item(name, localapi.StateSent)
		if n := len(s.sim.Documents()); n != 1 {
			t.Fatalf("%d documents, want 1", n)
		}
	})
	t.Run("refused search, nothing stored: one Send again", func(t *testing.T) {
		s := startShape(t, shapeOpts{alexs: `document_search = "identifier"`})
		s.sim.SetFaults(alexsim.Faults{FailWrites: 1})
		name := s.drop("ZZZ0016")
		it := s.item(name, localapi.StateParked)
		if it.Cause != string(api.CauseUnresolved) || !strings.Contains(it.Reason, "Inbox Scan") {
			t.Fatalf("parked as %q: %s", it.Cause, it.Reason)
		}
		s.saysEverywhere(api.CauseUnresolved)
		// Another file goes through meanwhile: the refused search paused nobody.
		other := s.drop("ZZZ0024")
		s.item(other, localapi.StateSent)
		s.uploadsNotPaused()
		// Retry keeps the claim, which the relay still cannot resolve; Send again can.
		if rc, out := s.cli("queue", "retry", it.ID); rc != 0 {
			t.Fatalf("retry: %d %s", rc, out)
		}
		waitFor(t, "the retried item to be parked again", func() bool {
			got, err := s.api.Item(s.ctx, it.ID)
			return err == nil && got.State == localapi.StateParked && got.Attempts > 0 && got.Cause == string(api.CauseUnresolved)
		})
		if rc, out := s.cli("queue", "send-again", it.ID); rc != 0 || !strings.Contains(out, "new key") {
			t.Fatalf("send-again: %d %s", rc, out)
		}
		s.item(name, localapi.StateSent)
		if n := len(s.sim.Documents()); n != 2 {
			t.Fatalf("%d documents after Send again, want 2 (one each)", n)
		}
	})
	t.Run("refused search, write stored: the person finds it and discards", func(t *testing.T) {
		s := startShape(t, shapeOpts{alexs: `document_search = "identifier"`})
		s.sim.SetFaults(alexsim.Faults{DropWrites: 1})
		name := s.drop("ZZZ0016")
		it := s.item(name, localapi.StateParked)
		if rc, out := s.cli("queue", "discard", it.ID); rc != 0 {
			t.Fatalf("discard: %d %s", rc, out)
		}
		if n := len(s.sim.Documents()); n != 1 {
			t.Fatalf("%d documents, want the one stored", n)
		}
	})
}

// TestEachFailureSaysItsOwnSentence: wrong facility, unknown patient, an ALEX 403, a
// non-FHIR 404, the practice's HCM offline and the relay busy each reach `clinicpro
// status`, `clinicpro doctor --json` and the tray's view model as their own
// sentence; none of one document's failures pauses the queue.
func TestEachFailureSaysItsOwnSentence(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent and relay binaries")
	}
	t.Run("wrong facility", func(t *testing.T) {
		s := startShape(t, shapeOpts{facility: alexsim.UnmappedFacility})
		s.drop("ZZZ0016")
		s.saysEverywhere(api.CauseFacilityUnknown)
		if n := len(s.sim.Documents()); n != 0 {
			t.Fatalf("%d documents stored for an unmapped facility", n)
		}
	})
	t.Run("unknown patient", func(t *testing.T) {
		s := startShape(t, shapeOpts{})
		name := s.drop("ZAA0075") // a valid NHI nobody at this practice has
		it := s.item(name, localapi.StateUnassigned)
		if it.Cause != string(api.CausePatientNotFound) {
			t.Fatalf("unassigned as %q: %s", it.Cause, it.Reason)
		}
		s.saysEverywhere(api.CausePatientNotFound)
		s.uploadsNotPaused()
		// Given another patient, it is sent.
		if rc, out := s.cli("queue", "assign", it.ID, "--nhi", "ZZZ0016"); rc != 0 {
			t.Fatalf("assign: %d %s", rc, out)
		}
		s.item(name, localapi.StateSent)
		if docs := s.sim.Documents(); len(docs) != 1 || docs[0].PatientID != s.sim.PatientID(alexsim.DefaultFacility, "ZZZ0016") {
			t.Fatalf("stored %+v", docs)
		}
	})
	t.Run("ALEX 403 Authorization failed", func(t *testing.T) {
		s := startShape(t, shapeOpts{})
		s.sim.SetFaults(alexsim.Faults{ForbiddenWrites: 1})
		name := s.drop("ZZZ0016")
		it := s.item(name, localapi.StateParked)
		if it.Cause != string(api.CauseALEXForbidden) {
			t.Fatalf("parked as %q: %s", it.Cause, it.Reason)
		}
		s.saysEverywhere(api.CauseALEXForbidden)
		s.item(s.drop("ZZZ0024"), localapi.StateSent)
		s.uploadsNotPaused()
	})
	t.Run("non-FHIR 404", func(t *testing.T) {
		s := startShape(t, shapeOpts{})
		s.sim.SetFaults(alexsim.Faults{NotExposedWrites: 1})
		name := s.drop("ZZZ0016")
		it := s.item(name, localapi.StateParked)
		if it.Cause != string(api.CauseNotExposed) {
			t.Fatalf("parked as %q: %s", it.Cause, it.Reason)
		}
		s.saysEverywhere(api.CauseNotExposed)
		s.item(s.drop("ZZZ0024"), localapi.StateSent)
		s.uploadsNotPaused()
		// Retried once Medtech offers it again, it is stored once.
		if rc, out := s.cli("queue", "retry", it.ID); rc != 0 {
			t.Fatalf("retry: %d %s", rc, out)
		}
		s.item(name, localapi.StateSent)
		if n := len(s.sim.Documents()); n != 2 {
			t.Fatalf("%d documents, want 2", n)
		}
	})
	t.Run("HCM offline", func(t *testing.T) {
		s := startShape(t, shapeOpts{})
		s.sim.SetFaults(alexsim.Faults{Offline: []string{alexsim.DefaultFacility}})
		s.drop("ZZZ0016")
		s.saysEverywhere(api.CauseFacilityOffline)
	})
	t.Run("relay busy", func(t *testing.T) {
		s := startShape(t, shapeOpts{relayTop: "rate_per_second = 0.01\nrate_burst = 2\n"})
		s.drop("ZZZ0016")
		s.saysEverywhere(api.CauseRelayBusy)
	})
}

// withEXIFDate puts an EXIF APP1 segment with DateTimeOriginal (no offset) right
// after a JPEG's SOI, as a camera writes it.
func withEXIFDate(jpg []byte, when string) []byte {
	le := binary.LittleEndian
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	binary.Write(&tiff, le, uint32(8))
	entry := func(tag, typ uint16, count, value uint32) {
		binary.Write(&tiff, le, tag)
		binary.Write(&tiff, le, typ)
		binary.Write(&tiff, le, count)
		binary.Write(&tiff, le, value)
	}
	binary.Write(&tiff, le, uint16(1))
	entry(0x8769, 4, 1, 26) // IFD0: the Exif directory at 26
	binary.Write(&tiff, le, uint32(0))
	binary.Write(&tiff, le, uint16(1))
	entry(0x9003, 2, uint32(len(when)+1), 26+2+12+4) // DateTimeOriginal
	binary.Write(&tiff, le, uint32(0))
	tiff.WriteString(when + "\x00")
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// TestEveryFieldReachesTheDocumentReference: what a GP and a camera said about each
// file is in the DocumentReference ALEX stores: the launch's provider as author, the
// date the photo was taken (EXIF, else the file's time), the type of its kind (a
// photograph, a letter), and, with body_site = "both", the coded laterality and body
// site the GP chose.
func TestEveryFieldReachesTheDocumentReference(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent and relay binaries")
	}
	s := startShape(t, shapeOpts{alexs: `body_site = "both"`})
	provider := alexsim.ProviderID(alexsim.DefaultFacility)
	lc, sig, err := s.sim.MintLaunch(alexsim.DefaultFacility, "ZZZ0016", provider)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.api.Launch(s.ctx, localapi.LaunchRequest{Context: lc, Signature: sig})
	if err != nil {
		t.Fatal(err)
	}
	photo, err := s.api.AddFile(s.ctx, sess.ID, localapi.NewFile{Name: "knee.jpg"}, bytes.NewReader(withEXIFDate(smallPhoto(t, 1), "2026:11:20 14:05:06")))
	if err != nil {
		t.Fatal(err)
	}
	letter, err := s.api.AddFile(s.ctx, sess.ID, localapi.NewFile{Name: "referral.pdf"}, bytes.NewReader(demo.PDF(1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.api.Save(s.ctx, sess.ID, localapi.SaveRequest{Items: []localapi.ItemEdit{
		{ID: photo.ID, Title: "Knee wound", Laterality: api.LateralityLeft, BodySite: "Knee", BodySiteCode: "72696002"},
		{ID: letter.ID, Title: "Referral letter"},
	}}); err != nil {
		t.Fatal(err)
	}
	// A camera's file in the watched folder: no EXIF date, so the file's own time.
	mtime := time.Date(2026, 11, 18, 8, 30, 0, 0, time.Local)
	folderPhoto := filepath.Join(s.watched, "ZZZ0016 rash.jpg")
	tmp := filepath.Join(s.data, "rash.tmp")
	os.WriteFile(tmp, smallPhoto(t, 2), 0o644)
	os.Chtimes(tmp, mtime, mtime)
	if err := os.Rename(tmp, folderPhoto); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three documents in ALEX", func() bool { return len(s.sim.Documents()) == 3 })

	nz, _ := time.LoadLocation("Pacific/Auckland")
	byTitle := map[string]fhir.DocumentReference{}
	for _, d := range s.sim.Documents() {
		var r fhir.DocumentReference
		if err := json.Unmarshal(d.Resource, &r); err != nil {
			t.Fatal(err)
		}
		byTitle[r.Content[0].Attachment.Title] = r
	}
	knee, ref, rash := byTitle["Knee wound"], byTitle["Referral letter"], byTitle["rash.tif"]
	for title, r := range map[string]fhir.DocumentReference{"Knee wound": knee, "Referral letter": ref} {
		if len(r.Author) != 1 || !strings.HasSuffix(r.Author[0].Reference, "/fhir/Practitioner/"+provider) {
			t.Errorf("%s: author %+v, want the launch's provider", title, r.Author)
		}
	}
	// EXIF without an offset is the camera's local time, taken as the PC's zone.
	if want := time.Date(2026, 11, 20, 14, 5, 6, 0, time.Local).In(nz).Format("2006-01-02T15:04:05-07:00"); knee.Date != want ||
		knee.Type.Coding[0].Code != "72170-4" {
		t.Errorf("photo: date %q type %+v, want its EXIF date and Photographic image", knee.Date, knee.Type)
	}
	codes := map[string]bool{}
	for _, e := range knee.Extension {
		for _, c := range e.ValueCodeableConcept.Coding {
			codes[c.Code] = true
		}
	}
	if !codes["72696002"] || !codes["7771000"] || !strings.Contains(knee.Description, "Left knee") {
		t.Errorf("photo: body site codes %v, description %q", codes, knee.Description)
	}
	if ref.Type == nil || ref.Type.Coding[0].Code != "51852-2" {
		t.Errorf("PDF: type %+v, want the document kind's code, not Photographic image", ref.Type)
	}
	if rash.Content == nil {
		t.Fatalf("no document for the watched file (titles %v)", byTitle)
	}
	if want := mtime.In(nz).Format("2006-01-02T15:04:05-07:00"); rash.Date != want || len(rash.Author) != 0 {
		t.Errorf("watched file: date %q (want its file time %s), author %+v (no launch, no author)", rash.Date, want, rash.Author)
	}
}
