package localapitest

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// Harness is a Service under test plus the hooks the suite needs to create states
// that only the agent's own machinery (watched folders, the uploader) can reach.
type Harness struct {
	Svc localapi.Service
	// Launches the Service accepts and refuses.
	Patient, NoPatient, Tampered localapi.LaunchRequest
	// PatientAgain is a second Medtech click on the test patient (a new link); Other
	// opens another patient.
	PatientAgain, Other localapi.LaunchRequest
	// AddUnassigned makes an item appear in Unassigned, as a watched folder would.
	AddUnassigned func(t *testing.T, fileName string, data []byte) localapi.Item
	// Park drives a queued item to parked, as a permanent upload failure would.
	Park func(t *testing.T, itemID string)
	// PhoneSend is the window's phone sending a photo through the relay.
	PhoneSend func(t *testing.T, sessionID string, jpg []byte)
}

// FakeHarness returns a Harness around f; wrap Svc to test a transport.
func FakeHarness(f *Fake) Harness {
	return Harness{
		Svc:          f,
		Patient:      localapi.LaunchRequest{Context: ContextPatient, Signature: SignatureFor(ContextPatient)},
		NoPatient:    localapi.LaunchRequest{Context: ContextNoPatient, Signature: SignatureFor(ContextNoPatient)},
		Tampered:     localapi.LaunchRequest{Context: ContextPatient, Signature: SignatureFor(ContextPatient) + "x"},
		PatientAgain: localapi.LaunchRequest{Context: Again(ContextPatient, 2), Signature: SignatureFor(Again(ContextPatient, 2))},
		Other:        localapi.LaunchRequest{Context: ContextOther, Signature: SignatureFor(ContextOther)},
		AddUnassigned: func(t *testing.T, name string, data []byte) localapi.Item {
			return f.AddUnassigned(name, data, "No NHI in the file name or folder.")
		},
		Park:      func(t *testing.T, id string) { f.Park(id, "Medtech refused the file: it is not a supported image.") },
		PhoneSend: func(t *testing.T, id string, jpg []byte) { f.PhoneSend(id, jpg) },
	}
}

// Run is the behaviour every Service keeps, whether called directly or over the pipe.
func Run(t *testing.T, setup func(t *testing.T) Harness) {
	ctx := func(t *testing.T) context.Context {
		c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		t.Cleanup(cancel)
		return c
	}
	open := func(t *testing.T, h Harness) localapi.Session {
		s, err := h.Svc.Launch(ctx(t), h.Patient)
		if err != nil {
			t.Fatalf("Launch: %v", err)
		}
		return s
	}
	stage := func(t *testing.T, h Harness, s localapi.Session, name string) localapi.Item {
		// Distinct content per file: the agent refuses the same photo twice for one patient.
		it, err := h.Svc.AddFile(ctx(t), s.ID, localapi.NewFile{Name: name}, bytes.NewReader(UniqueJPEG(t)))
		if err != nil {
			t.Fatalf("AddFile: %v", err)
		}
		return it
	}

	t.Run("LaunchOpensSessionWithBanner", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		if s.ID == "" || !s.PatientSelected || s.Banner.NHI != TestNHI || s.Facility == "" {
			t.Fatalf("session = %+v, want the test patient selected", s)
		}
		// The patient band needs the family name apart and the sex (FHIR's code).
		if s.Banner.Family == "" || s.Banner.Sex == "" || s.Banner.BirthDate == "" {
			t.Fatalf("banner = %+v, want family name, sex and birth date", s.Banner)
		}
	})
	t.Run("SessionReadBackByItsOpener", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		got, err := h.Svc.Session(ctx(t), s.ID)
		if err != nil || got.ID != s.ID || got.Banner != s.Banner || got.PatientSelected != s.PatientSelected {
			t.Fatalf("Session = %+v, %v; want %+v", got, err, s)
		}
		if _, err := h.Svc.Session(ctx(t), "nosuchsession"); !errors.Is(err, localapi.ErrNotFound) {
			t.Fatalf("unknown session: err = %v, want not found", err)
		}
	})
	t.Run("LaunchWithoutPatient", func(t *testing.T) {
		h := setup(t)
		s, err := h.Svc.Launch(ctx(t), h.NoPatient)
		if err != nil {
			t.Fatal(err)
		}
		if s.PatientSelected || s.Banner.NHI != "" {
			t.Fatalf("session = %+v, want no patient", s)
		}
		if _, err := h.Svc.AddFile(ctx(t), s.ID, localapi.NewFile{Name: "a.jpg"}, bytes.NewReader(jpegBytes(t))); !errors.Is(err, localapi.ErrConflict) {
			t.Fatalf("AddFile without patient: err = %v, want conflict", err)
		}
	})
	t.Run("LaunchByNHI", func(t *testing.T) {
		h := setup(t)
		s, err := h.Svc.Launch(ctx(t), localapi.LaunchRequest{NHI: TestNHI})
		if err != nil {
			t.Fatal(err)
		}
		if !s.PatientSelected || s.Banner.NHI != TestNHI {
			t.Fatalf("session = %+v, want the test patient", s)
		}
		_, err = h.Svc.Launch(ctx(t), localapi.LaunchRequest{NHI: "ZZZ0024"})
		if !errors.Is(err, localapi.ErrNotFound) {
			t.Fatalf("unknown NHI: err = %v, want not found", err)
		}
		if Contains(err.Error()) || strings.Contains(err.Error(), "ZZZ0024") {
			t.Fatal("error text names the patient")
		}
	})
	t.Run("TamperedLaunchRefused", func(t *testing.T) {
		h := setup(t)
		_, err := h.Svc.Launch(ctx(t), h.Tampered)
		if !errors.Is(err, localapi.ErrLaunch) {
			t.Fatalf("err = %v, want ErrLaunch", err)
		}
		if Contains(err.Error()) {
			t.Fatal("error text names the patient")
		}
	})
	t.Run("StageSaveQueue", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		a, b := stage(t, h, s, "knee.jpg"), stage(t, h, s, "elbow.jpg")
		if a.State != localapi.StateStaged || a.SessionID != s.ID || a.FileName != "knee.jpg" || a.Size == 0 {
			t.Fatalf("staged item = %+v", a)
		}
		got, err := h.Svc.Item(ctx(t), a.ID)
		if err != nil || got.ID != a.ID {
			t.Fatalf("Item = %+v, %v", got, err)
		}
		th, err := h.Svc.Thumbnail(ctx(t), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jpeg.Decode(bytes.NewReader(th)); err != nil {
			t.Fatalf("thumbnail is not a JPEG: %v", err)
		}
		pv, err := h.Svc.Preview(ctx(t), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(pv)); err != nil || max(cfg.Width, cfg.Height) > localapi.PreviewEdge {
			t.Fatalf("preview is not a JPEG within %d px: %+v %v", localapi.PreviewEdge, cfg, err)
		}
		if _, err := h.Svc.Preview(ctx(t), "nosuchitem"); !errors.Is(err, localapi.ErrNotFound) {
			t.Fatalf("preview of no item: %v", err)
		}
		saved, err := h.Svc.Save(ctx(t), s.ID, localapi.SaveRequest{Items: []localapi.ItemEdit{
			{ID: a.ID, Title: "Left knee wound", Rotation: 90, Laterality: api.LateralityLeft, BodySite: "Knee", BodySiteCode: "72696002"},
			{ID: b.ID},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(saved) != 2 {
			t.Fatalf("saved %d items, want 2", len(saved))
		}
		for _, it := range saved {
			if it.State != localapi.StateQueued && it.State != localapi.StateUploading && it.State != localapi.StateSent {
				t.Fatalf("saved item state = %s", it.State)
			}
			if it.ID == a.ID && (it.Title != "Left knee wound" || it.Rotation != 90 || it.Laterality != api.LateralityLeft || it.BodySiteCode != "72696002") {
				t.Fatalf("edits lost: %+v", it)
			}
		}
		q, err := h.Svc.Queue(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if !hasIDs(q, a.ID, b.ID) {
			t.Fatalf("queue %v lacks the saved items", ids(q))
		}
		if _, err := h.Svc.Save(ctx(t), s.ID, localapi.SaveRequest{Items: []localapi.ItemEdit{{ID: a.ID}}}); !errors.Is(err, localapi.ErrConflict) {
			t.Fatalf("second save: err = %v, want conflict", err)
		}
	})
	// A window says how each file came: the tray's Camera label reads the item's
	// source, so a photo taken in the window must not come back as dropped.
	t.Run("AddFileKeepsItsSource", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		for _, c := range []struct{ give, want string }{{api.SourceCapture, api.SourceCapture}, {api.SourceDrop, api.SourceDrop}, {"", api.SourceDrop}} {
			it, err := h.Svc.AddFile(ctx(t), s.ID, localapi.NewFile{Name: "photo.jpg", Source: c.give}, bytes.NewReader(UniqueJPEG(t)))
			if err != nil {
				t.Fatalf("AddFile with source %q: %v", c.give, err)
			}
			if it.Source != c.want {
				t.Errorf("source %q: the item's source is %q, want %q", c.give, it.Source, c.want)
			}
			if got, err := h.Svc.Item(ctx(t), it.ID); err != nil || got.Source != c.want {
				t.Errorf("source %q read back: %q %v", c.give, got.Source, err)
			}
		}
		if _, err := h.Svc.AddFile(ctx(t), s.ID, localapi.NewFile{Name: "x.jpg", Source: "scanner"}, bytes.NewReader(UniqueJPEG(t))); !errors.Is(err, localapi.ErrBadRequest) {
			t.Fatalf("AddFile with an unknown source: err = %v, want bad request", err)
		}
	})
	t.Run("OneSessionPerPatient", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		a := stage(t, h, s, "a.jpg")
		o, err := h.Svc.Launch(ctx(t), h.Other)
		if err != nil || o.ID == s.ID || o.Banner.NHI != OtherNHI {
			t.Fatalf("another patient's launch = %+v, %v; want a session of its own", o, err)
		}
		again, err := h.Svc.Launch(ctx(t), h.PatientAgain)
		if err != nil {
			t.Fatal(err)
		}
		// The same patient clicked again is the window already open, with what it holds.
		if again.ID != s.ID || !hasIDs(again.Items, a.ID) {
			t.Fatalf("second launch of the patient = %s with %v; want session %s with its staged item", again.ID, ids(again.Items), s.ID)
		}
	})
	t.Run("ReopenedWindowShowsSavedItems", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		a, b := stage(t, h, s, "a.jpg"), stage(t, h, s, "b.jpg")
		if _, err := h.Svc.Save(ctx(t), s.ID, localapi.SaveRequest{Items: []localapi.ItemEdit{{ID: a.ID}}}); err != nil {
			t.Fatal(err)
		}
		if err := h.Svc.CloseSession(ctx(t), s.ID); err != nil {
			t.Fatal(err)
		}
		again, err := h.Svc.Launch(ctx(t), h.PatientAgain)
		if err != nil || again.ID == s.ID {
			t.Fatalf("launch after close = %+v, %v", again, err)
		}
		// The saved item shows with its progress; the one not saved was dropped.
		if !hasIDs(again.Items, a.ID) || hasIDs(again.Items, b.ID) {
			t.Fatalf("reopened window shows %v, want %s only", ids(again.Items), a.ID)
		}
		for _, it := range again.Items {
			if it.State == localapi.StateStaged {
				t.Fatalf("a saved item came back as staged: %+v", it)
			}
		}
		if o, err := h.Svc.Launch(ctx(t), h.Other); err != nil || len(o.Items) != 0 {
			t.Fatalf("another patient's window shows %v, %v", ids(o.Items), err)
		}
	})
	t.Run("SaveKeepsCrop", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		a := stage(t, h, s, "a.jpg")
		for _, bad := range []localapi.Crop{{X: 0.5, Y: 0, W: 0.6, H: 1}, {X: 0, Y: 0, W: 0.01, H: 1}, {X: -0.1, Y: 0, W: 0.5, H: 0.5}} {
			_, err := h.Svc.Save(ctx(t), s.ID, localapi.SaveRequest{Items: []localapi.ItemEdit{{ID: a.ID, Crop: &bad}}})
			if !errors.Is(err, localapi.ErrBadRequest) {
				t.Fatalf("crop %+v: err = %v, want bad request", bad, err)
			}
		}
		c := localapi.Crop{X: 0.25, Y: 0.1, W: 0.5, H: 0.6}
		saved, err := h.Svc.Save(ctx(t), s.ID, localapi.SaveRequest{Items: []localapi.ItemEdit{{ID: a.ID, Crop: &c}}})
		if err != nil || len(saved) != 1 || saved[0].Crop == nil || *saved[0].Crop != c {
			t.Fatalf("Save with a crop = %+v, %v", saved, err)
		}
		if it, err := h.Svc.Item(ctx(t), a.ID); err != nil || it.Crop == nil || *it.Crop != c {
			t.Fatalf("Item after save = %+v, %v; want crop %+v", it, err, c)
		}
	})
	t.Run("RecheckRunsTheChecksNow", func(t *testing.T) {
		h := setup(t)
		before, err := h.Svc.Status(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		c, cancel := context.WithCancel(ctx(t))
		defer cancel()
		ch, err := h.Svc.Events(c)
		if err != nil {
			t.Fatal(err)
		}
		st, err := h.Svc.Recheck(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Health.Checks) == 0 || st.Health.At.Before(before.Health.At) {
			t.Fatalf("Recheck = %+v, want the checks run again (before: %v)", st.Health, before.Health.At)
		}
		waitEvent(t, ch, func(e localapi.Event) bool {
			return e.Type == localapi.EventStatus && !e.Status.Health.At.Before(st.Health.At)
		})
	})
	t.Run("SaveRejectsBadRotation", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		a := stage(t, h, s, "a.jpg")
		_, err := h.Svc.Save(ctx(t), s.ID, localapi.SaveRequest{Items: []localapi.ItemEdit{{ID: a.ID, Rotation: 45}}})
		if !errors.Is(err, localapi.ErrBadRequest) {
			t.Fatalf("err = %v, want bad request", err)
		}
		if it, _ := h.Svc.Item(ctx(t), a.ID); it.State != localapi.StateStaged {
			t.Fatalf("a refused save changed the item: %+v", it)
		}
	})
	t.Run("SaveRejectsUnknownBodySiteCode", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		a := stage(t, h, s, "a.jpg")
		for _, e := range []localapi.ItemEdit{
			{ID: a.ID, BodySite: "Knee", BodySiteCode: "72696003"},  // not a concept in the list
			{ID: a.ID, BodySite: "Elbow", BodySiteCode: "72696002"}, // Knee's code with another term
		} {
			_, err := h.Svc.Save(ctx(t), s.ID, localapi.SaveRequest{Items: []localapi.ItemEdit{e}})
			if !errors.Is(err, localapi.ErrBadRequest) {
				t.Fatalf("%+v: err = %v, want bad request", e, err)
			}
		}
		if it, _ := h.Svc.Item(ctx(t), a.ID); it.State != localapi.StateStaged {
			t.Fatalf("a refused save changed the item: %+v", it)
		}
	})
	t.Run("RemoveAndCloseDropStaged", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		a, b := stage(t, h, s, "a.jpg"), stage(t, h, s, "b.jpg")
		if err := h.Svc.Remove(ctx(t), a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Svc.Item(ctx(t), a.ID); !errors.Is(err, localapi.ErrNotFound) {
			t.Fatalf("removed item: err = %v, want not found", err)
		}
		if err := h.Svc.CloseSession(ctx(t), s.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Svc.Item(ctx(t), b.ID); !errors.Is(err, localapi.ErrNotFound) {
			t.Fatalf("dropped item after close: err = %v, want not found", err)
		}
		if _, err := h.Svc.AddFile(ctx(t), s.ID, localapi.NewFile{Name: "c.jpg"}, bytes.NewReader(jpegBytes(t))); !errors.Is(err, localapi.ErrNotFound) {
			t.Fatalf("AddFile to closed session: err = %v, want not found", err)
		}
		if err := h.Svc.CloseSession(ctx(t), s.ID); !errors.Is(err, localapi.ErrNotFound) {
			t.Fatalf("second close: err = %v, want not found", err)
		}
	})
	t.Run("UnknownIDs", func(t *testing.T) {
		h := setup(t)
		for name, err := range map[string]error{
			"Item":    second(h.Svc.Item(ctx(t), "nope")),
			"Retry":   second(h.Svc.Retry(ctx(t), "nope")),
			"Again":   second(h.Svc.SendAgain(ctx(t), "nope")),
			"Discard": second(h.Svc.Discard(ctx(t), "nope")),
			"Reject":  second(h.Svc.Reject(ctx(t), "nope")),
			"Remove":  h.Svc.Remove(ctx(t), "nope"),
		} {
			if !errors.Is(err, localapi.ErrNotFound) {
				t.Errorf("%s: err = %v, want not found", name, err)
			}
		}
	})
	t.Run("UnassignedAssignReject", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		u1 := h.AddUnassigned(t, "scan-001.pdf", []byte("%PDF-1.4\n%%EOF\n"))
		u2 := h.AddUnassigned(t, "scan-002.pdf", []byte("%PDF-1.4\n%%EOF\n"))
		list, err := h.Svc.Unassigned(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if !hasIDs(list, u1.ID, u2.ID) || list[0].Reason == "" {
			t.Fatalf("unassigned = %+v", list)
		}
		it, err := h.Svc.Assign(ctx(t), u1.ID, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if it.State == localapi.StateUnassigned || it.State == localapi.StateRejected {
			t.Fatalf("assigned item state = %s", it.State)
		}
		it, err = h.Svc.Reject(ctx(t), u2.ID)
		if err != nil || it.State != localapi.StateRejected {
			t.Fatalf("Reject = %+v, %v", it, err)
		}
		list, _ = h.Svc.Unassigned(ctx(t))
		if hasIDs(list, u1.ID) || hasIDs(list, u2.ID) {
			t.Fatalf("unassigned still lists handled items: %v", ids(list))
		}
		if _, err := h.Svc.Assign(ctx(t), u2.ID, s.ID); !errors.Is(err, localapi.ErrConflict) {
			t.Fatalf("assigning a rejected item: err = %v, want conflict", err)
		}
	})
	t.Run("ParkedRetryDiscard", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		a, b := stage(t, h, s, "a.jpg"), stage(t, h, s, "b.jpg")
		c, d := stage(t, h, s, "c.jpg"), stage(t, h, s, "d.jpg")
		if _, err := h.Svc.Save(ctx(t), s.ID, localapi.SaveRequest{Items: []localapi.ItemEdit{{ID: a.ID}, {ID: b.ID}, {ID: c.ID}, {ID: d.ID}}}); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{a.ID, b.ID, c.ID, d.ID} {
			h.Park(t, id)
		}
		if it, err := h.Svc.SendAgain(ctx(t), c.ID); err != nil || it.State == localapi.StateParked || it.State == localapi.StateRejected {
			t.Fatalf("SendAgain = %+v, %v", it, err)
		}
		// A parked item can be given another patient.
		if it, err := h.Svc.Assign(ctx(t), d.ID, s.ID); err != nil || it.State == localapi.StateParked || it.State == localapi.StateRejected {
			t.Fatalf("Assign of a parked item = %+v, %v", it, err)
		}
		it, err := h.Svc.Item(ctx(t), a.ID)
		if err != nil || it.State != localapi.StateParked || it.Reason == "" {
			t.Fatalf("parked item = %+v, %v", it, err)
		}
		st, _ := h.Svc.Status(ctx(t))
		if st.Counts.Parked < 2 {
			t.Fatalf("status counts %+v, want 2 parked", st.Counts)
		}
		if it, err = h.Svc.Retry(ctx(t), a.ID); err != nil || it.State == localapi.StateParked {
			t.Fatalf("Retry = %+v, %v", it, err)
		}
		if it, err = h.Svc.Discard(ctx(t), b.ID); err != nil || it.State != localapi.StateRejected {
			t.Fatalf("Discard = %+v, %v", it, err)
		}
		if _, err := h.Svc.Discard(ctx(t), b.ID); !errors.Is(err, localapi.ErrConflict) {
			t.Fatalf("second discard: err = %v, want conflict", err)
		}
	})
	t.Run("PauseAndEvents", func(t *testing.T) {
		h := setup(t)
		c, cancel := context.WithCancel(ctx(t))
		ch, err := h.Svc.Events(c)
		if err != nil {
			t.Fatal(err)
		}
		st, err := h.Svc.Pause(ctx(t), true)
		if err != nil || !st.Paused {
			t.Fatalf("Pause = %+v, %v", st, err)
		}
		if e := waitEvent(t, ch, func(e localapi.Event) bool { return e.Type == localapi.EventStatus && e.Status.Paused }); e.Status == nil {
			t.Fatal("no status event")
		}
		s := open(t, h)
		a := stage(t, h, s, "a.jpg")
		waitEvent(t, ch, func(e localapi.Event) bool { return e.Type == localapi.EventItem && e.Item.ID == a.ID })
		if st, _ := h.Svc.Status(ctx(t)); !st.Paused {
			t.Fatal("status forgot the pause")
		}
		if st, _ = h.Svc.Pause(ctx(t), false); st.Paused {
			t.Fatal("resume did not resume")
		}
		cancel()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					return
				}
			case <-deadline:
				t.Fatal("event channel not closed after its context ended")
			}
		}
	})
	t.Run("PhoneCaptureForAWindow", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		c := ctx(t)
		events, err := h.Svc.Events(c)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := h.Svc.OpenPhone(c, s.ID)
		if err != nil {
			t.Fatalf("OpenPhone: %v", err)
		}
		if ps.SessionID != s.ID || !strings.Contains(ps.URL, "/m/") || ps.Word == "" || ps.State != localapi.PhoneWaiting || ps.Expires.IsZero() {
			t.Fatalf("phone session %+v", ps)
		}
		// Pressing Phone again shows the same code; reading it back too.
		if again, err := h.Svc.OpenPhone(c, s.ID); err != nil || again.URL != ps.URL {
			t.Fatalf("OpenPhone again: %+v %v", again, err)
		}
		if got, err := h.Svc.Phone(c, s.ID); err != nil || got.URL != ps.URL || got.Word != ps.Word {
			t.Fatalf("Phone: %+v %v", got, err)
		}
		h.PhoneSend(t, s.ID, UniqueJPEG(t))
		var item localapi.Item
		for item.ID == "" {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("the event stream ended")
				}
				if ev.Type == localapi.EventItem && ev.Item.Source == api.SourcePhone && ev.Item.SessionID == s.ID && ev.Item.State == localapi.StateStaged {
					item = *ev.Item
				}
			case <-c.Done():
				t.Fatal("no staged phone item in the window")
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, _ := h.Svc.Phone(c, s.ID)
			if got.Received == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("received %d, want 1", got.Received)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// Save takes the photo on the normal path and ends the phone code.
		if _, err := h.Svc.Save(c, s.ID, localapi.SaveRequest{Items: []localapi.ItemEdit{{ID: item.ID, Title: "Phone photo"}}}); err != nil {
			t.Fatalf("Save: %v", err)
		}
		if got, _ := h.Svc.Phone(c, s.ID); got.State != localapi.PhoneClosed {
			t.Fatalf("after Save the phone session is %q", got.State)
		}
		// A new code after the save; closing the window forgets it.
		if _, err := h.Svc.OpenPhone(c, s.ID); err != nil {
			t.Fatalf("a new code after Save: %v", err)
		}
		if err := h.Svc.ClosePhone(c, s.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := h.Svc.Phone(c, s.ID); got.State != localapi.PhoneClosed {
			t.Fatalf("after ClosePhone: %q", got.State)
		}
		if err := h.Svc.CloseSession(c, s.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Svc.Phone(c, s.ID); !errors.Is(err, localapi.ErrNotFound) {
			t.Fatalf("a closed window's phone session: %v", err)
		}
		// No patient, no phone; no such window, not found.
		np, err := h.Svc.Launch(c, h.NoPatient)
		if err != nil {
			t.Fatal(err)
		}
		var ae *localapi.APIError
		if _, err := h.Svc.OpenPhone(c, np.ID); !errors.As(err, &ae) || ae.Code != localapi.CodeConflict {
			t.Fatalf("phone for a window without a patient: %v", err)
		}
		if _, err := h.Svc.OpenPhone(c, "nosuchsession"); !errors.Is(err, localapi.ErrNotFound) {
			t.Fatalf("phone for an unknown window: %v", err)
		}
	})
	t.Run("DiagnosticsBundleIsZipWithoutPatientData", func(t *testing.T) {
		h := setup(t)
		s := open(t, h)
		stage(t, h, s, "ZZZ0016 knee.jpg")
		var b bytes.Buffer
		if err := h.Svc.DiagnosticsBundle(ctx(t), &b); err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
		if err != nil || len(zr.File) == 0 {
			t.Fatalf("bundle is not a non-empty zip: %v", err)
		}
		for _, f := range zr.File {
			rc, _ := f.Open()
			var body bytes.Buffer
			_, _ = body.ReadFrom(rc)
			rc.Close()
			if Contains(body.String()) {
				t.Fatalf("%s in the bundle names the test patient", f.Name)
			}
		}
	})
}

func second[T any](_ T, err error) error { return err }

func waitEvent(t *testing.T, ch <-chan localapi.Event, match func(localapi.Event) bool) localapi.Event {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatal("event stream closed early")
			}
			if match(e) {
				return e
			}
		case <-deadline:
			t.Fatal("expected event never arrived")
		}
	}
}

func ids(items []localapi.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func hasIDs(items []localapi.Item, want ...string) bool {
	have := map[string]bool{}
	for _, it := range items {
		have[it.ID] = true
	}
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}

// JPEG returns a small valid JPEG for tests.
func JPEG(t testing.TB) []byte { return jpegBytes(t) }

var unique atomic.Int64

// UniqueJPEG returns a small valid JPEG whose bytes differ from every other call's.
func UniqueJPEG(t testing.TB) []byte {
	n := unique.Add(1)
	img := image.NewGray(image.Rect(0, 0, 16, 12))
	for i := range img.Pix {
		img.Pix[i] = byte(n * 7)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	// A comment segment makes the bytes unique even where pixels repeat.
	out := append([]byte{0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x0A}, []byte(fmt.Sprintf("%08d", n%1e8))...)
	return append(out, b.Bytes()[2:]...)
}

func jpegBytes(t testing.TB) []byte {
	th, err := NewFake().thumb()
	if err != nil {
		t.Fatal(err)
	}
	return th
}
