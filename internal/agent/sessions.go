package agent

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/clinicpro/medtech-images/internal/imaging"
	"github.com/clinicpro/medtech-images/internal/launch"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/nhi"
	"github.com/clinicpro/medtech-images/internal/queue"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/client"
)

// session is one launch. The ALEX patient id stays here, in memory, and in queue
// rows; it is never sent to the tray.
type session struct {
	localapi.Session
	patientID string
	lastUsed  time.Time
	// launched is the session's most recent Medtech launch: a click on a patient
	// whose window is open launches that window again. "Session" folders' files go
	// to the most recent launch.
	launched time.Time
	// window is true for Medtech launches (a capture window is open); sessions opened
	// by NHI for `clinicpro send` never receive files from "session" folders.
	window bool
	// owner is the Windows session and user that opened it, when the transport said:
	// only they may read it back (Session).
	owner localapi.Peer
}

func (s *session) patient() queue.Patient {
	return queue.Patient{NHI: s.Banner.NHI, PatientID: s.patientID, SessionID: s.ID, ProviderID: s.ProviderID}
}

func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var errLaunchUsed = localapi.NewError(localapi.CodeLaunch,
	"This Medtech link has already been used: click the ClinicPro icon in Medtech again.")

var errNoPatient = localapi.NewError(localapi.CodeConflict,
	"No patient is selected in Medtech: open the patient in Medtech and click the ClinicPro icon again.")

// Launch resolves a toolbar launch through the relay and opens a session.
func (a *Agent) Launch(ctx context.Context, req localapi.LaunchRequest) (localapi.Session, error) {
	if req.NHI == "" && (req.Context == "" || req.Signature == "") {
		return localapi.Session{}, localapi.NewError(localapi.CodeBadRequest, launch.ErrIncomplete.Error())
	}
	if a.relay == nil {
		return localapi.Session{}, localapi.ErrNotEnrolled
	}
	var l client.Launch
	if req.NHI != "" {
		n, err := nhi.Parse(req.NHI)
		if err != nil {
			return localapi.Session{}, localapi.NewError(localapi.CodeBadRequest, "That is not a valid NHI number: check it and try again.")
		}
		p, err := a.relay.LookupPatient(ctx, n.String())
		if err != nil {
			a.log.Warn("patient lookup failed", "err", err)
			return localapi.Session{}, relayError(err, localapi.CodeNotFound)
		}
		l = client.Launch{Patient: &p, Facility: a.facility()}
	} else {
		// Claimed before asking the relay, so two copies of one link racing each other
		// cannot both open the patient.
		token := launch.Launch{Context: req.Context, Signature: req.Signature}
		if !a.launches.Claim(token) {
			a.log.Warn("launch refused: already used")
			return localapi.Session{}, errLaunchUsed
		}
		var err error
		if l, err = a.relay.Launch(ctx, req.Context, req.Signature); err != nil {
			a.log.Warn("launch refused", "err", err)
			rerr := relayError(err, localapi.CodeLaunch)
			if errors.Is(rerr, localapi.ErrUnavailable) {
				a.launches.Release(token) // not checked: the GP may click the same link again
			}
			return localapi.Session{}, rerr
		}
	}
	now := a.opt.Now().UTC()
	s := &session{Session: localapi.Session{ID: newSessionID(), ProviderID: l.ProviderID, Facility: l.Facility, Opened: now},
		lastUsed: now, launched: now, window: req.NHI == ""}
	if s.Facility == "" {
		s.Facility = a.facility()
	}
	s.owner, _ = localapi.PeerFrom(ctx)
	if l.Patient != nil {
		s.PatientSelected = true
		s.Banner = localapi.Banner{Name: l.Patient.Name, NHI: l.Patient.NHI, BirthDate: l.Patient.BirthDate,
			Family: l.Patient.Family, Given: l.Patient.Given, Sex: l.Patient.Sex}
		s.patientID = l.Patient.ID
	}
	a.mu.Lock()
	if open := a.openWindow(s); open != nil {
		// One window per patient: the GP clicked a patient whose window is open.
		open.launched, open.lastUsed = now, now
		out := open.Session
		a.mu.Unlock()
		a.log.Info("session launched again")
		out.Items = a.windowItems(ctx, open)
		return out, nil
	}
	a.sessions[s.ID] = s
	a.mu.Unlock()
	a.log.Info("session opened", "patientSelected", s.PatientSelected)
	out := s.Session
	out.Items = a.windowItems(ctx, s)
	return out, nil
}

// openWindow is the open capture window of s's patient for the same Windows user
// and session, facility and provider, if any. Called with a.mu held.
func (a *Agent) openWindow(s *session) *session {
	if !s.window || !s.PatientSelected {
		return nil
	}
	for _, o := range a.sessions {
		if o.window && o.PatientSelected && o.patientID == s.patientID && o.Banner.NHI == s.Banner.NHI &&
			o.Facility == s.Facility && o.ProviderID == s.ProviderID && sameOwner(o.owner, s.owner) {
			return o
		}
	}
	return nil
}

func sameOwner(a, b localapi.Peer) bool { return a.Same(b) || !a.Known() && !b.Known() }

// maxWindowItems bounds what a window opening shows from earlier windows.
const maxWindowItems = 50

// windowItems is what a window shows as it opens: the session's own staged items,
// and the patient's items saved from earlier capture windows that Medtech has not
// confirmed, or confirmed within localapi.RecentWindow, so a GP who closed the
// window while offline sees their progress when the patient is opened again.
func (a *Agent) windowItems(ctx context.Context, s *session) []localapi.Item {
	if !s.PatientSelected {
		return nil
	}
	items, err := a.q.List(ctx, queue.StateStaged, queue.StateQueued, queue.StateUploading, queue.StateParked)
	if err != nil {
		a.log.Warn("could not list the patient's earlier items", "err", err)
		return nil
	}
	sent, err := a.q.ListSentSince(ctx, a.opt.Now().Add(-localapi.RecentWindow))
	if err == nil {
		items = append(items, sent...)
	}
	var out []localapi.Item
	for _, it := range items {
		switch {
		case it.State == queue.StateStaged:
			if it.Patient.SessionID != s.ID {
				continue
			}
		case it.Patient.SessionID == "" || it.Facility != s.Facility:
			continue // not from a capture window, or another practice's
		case it.Patient.PatientID != "" && s.patientID != "":
			if it.Patient.PatientID != s.patientID {
				continue
			}
		case it.Patient.NHI != s.Banner.NHI:
			continue
		}
		out = append(out, apiItem(it))
	}
	slices.SortStableFunc(out, func(x, y localapi.Item) int { return x.Added.Compare(y.Added) })
	if len(out) > maxWindowItems {
		out = out[len(out)-maxWindowItems:]
	}
	return out
}

// OpenWebLaunch is the localapi.LaunchOpener for the loopback launch page: the
// session's id goes, as an EventLaunch, only to the trays of the Windows session and
// user whose browser opened the URL, never to every tray on a shared PC or Remote
// Desktop server. A caller the OS cannot identify opens nothing.
func (a *Agent) OpenWebLaunch(ctx context.Context, req localapi.LaunchRequest) (bool, error) {
	peer, ok := localapi.PeerFrom(ctx)
	if !ok {
		a.log.Warn("web launch refused: the caller's Windows session and user are unknown")
		return false, localapi.ErrUnknownCaller
	}
	s, err := a.Launch(ctx, req)
	if err != nil {
		return false, err
	}
	n := a.hub.PublishTo(peer, localapi.Event{Type: localapi.EventLaunch, Session: &localapi.Session{ID: s.ID}})
	if n == 0 {
		a.log.Info("web launch: no tray is running for the caller", "caller", peer.String())
	}
	return n > 0, nil
}

// Session returns an open session to the Windows session and user that opened it.
// Anyone else gets not found, as if it did not exist: a session id seen in a log or
// over a shoulder does not show another GP's patient.
func (a *Agent) Session(ctx context.Context, sessionID string) (localapi.Session, error) {
	a.mu.Lock()
	s, ok := a.sessions[sessionID]
	if ok && s.owner.Known() {
		if p, _ := localapi.PeerFrom(ctx); !s.owner.Same(p) {
			ok = false
		}
	}
	if !ok {
		a.mu.Unlock()
		return localapi.Session{}, localapi.ErrNotFound
	}
	s.lastUsed = a.opt.Now()
	out := s.Session
	a.mu.Unlock()
	out.Items = a.windowItems(ctx, s)
	return out, nil
}

// relayError turns a relay client failure into the local API's answer. A refusal
// (4xx) gets refused, anything that may pass is "unavailable"; the relay's sentence
// and correlation id travel on so practice IT can quote them.
func relayError(err error, refused string) error {
	var ce *client.Error
	if errors.As(err, &ce) {
		code := localapi.CodeUnavailable
		if ce.Kind == client.Permanent {
			code = refused
		}
		msg := ce.Message
		if msg == "" {
			msg = localapi.ErrUnavailable.Message
		}
		return &localapi.APIError{Code: code, Message: redact.String(msg), Correlation: ce.Correlation}
	}
	return localapi.ErrUnavailable
}

// use returns the open session id, refreshing its idle timer.
func (a *Agent) use(id string) (*session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[id]
	if !ok {
		return nil, localapi.NewError(localapi.CodeNotFound, "That capture window's session has ended: click the ClinicPro icon in Medtech again.")
	}
	s.lastUsed = a.opt.Now()
	return s, nil
}

// CloseSession ends a session; see releaseStaged for where its staged items go.
func (a *Agent) CloseSession(ctx context.Context, sessionID string) error {
	a.mu.Lock()
	_, ok := a.sessions[sessionID]
	delete(a.sessions, sessionID)
	a.mu.Unlock()
	if !ok {
		return localapi.ErrNotFound
	}
	a.endPhoneForWindow(sessionID, true)
	return a.releaseStaged(ctx, sessionID)
}

// releaseStaged drops a closed session's unsaved captures (their only copy is in the
// spool and the GP chose not to save them) and returns watched-folder files to
// Unassigned, since their originals are still waiting in the folder.
func (a *Agent) releaseStaged(ctx context.Context, sessionID string) error {
	staged, err := a.q.List(ctx, queue.StateStaged)
	if err != nil {
		return err
	}
	var first error
	for _, it := range staged {
		if it.Patient.SessionID != sessionID {
			continue
		}
		if err := a.unstage(ctx, it); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (a *Agent) unstage(ctx context.Context, it queue.Item) error {
	if it.SourcePath == "" {
		return a.q.Drop(ctx, it.ID)
	}
	_, err := a.q.Unstage(ctx, it.ID, "It was in a capture window that closed without saving: assign it to a patient or reject it.")
	return err
}

func (a *Agent) expireSessions(ctx context.Context) {
	cutoff := a.opt.Now().Add(-a.opt.SessionIdle)
	a.mu.Lock()
	var idle []string
	for id, s := range a.sessions {
		if s.lastUsed.Before(cutoff) {
			idle = append(idle, id)
			delete(a.sessions, id)
		}
	}
	a.mu.Unlock()
	for _, id := range idle {
		a.endPhoneForWindow(id, true)
		if err := a.releaseStaged(ctx, id); err != nil {
			a.log.Warn("releasing an idle session's items failed", "err", err)
		}
	}
}

// cleanName keeps only the base name a client sent: it is shown to the GP and kept
// as the item's FileName, never used as a path.
func cleanName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" || name == "" {
		return "capture"
	}
	return name
}

var (
	errNotImage = localapi.NewError(localapi.CodeBadRequest,
		"ClinicPro can send photos (JPEG, PNG, TIFF, WebP) and PDF documents only: choose another file.")
)

// AddFile stages a dropped, picked or captured file in the session's window. Its
// type is checked from its first bytes so a GP learns at once, not after Save, that
// a file cannot be sent.
func (a *Agent) AddFile(ctx context.Context, sessionID string, f localapi.NewFile, r io.Reader) (localapi.Item, error) {
	if err := api.ValidateSource(f.Source); err != nil {
		return localapi.Item{}, localapi.NewError(localapi.CodeBadRequest, err.Error()+".")
	}
	s, err := a.use(sessionID)
	if err != nil {
		return localapi.Item{}, err
	}
	if !s.PatientSelected {
		return localapi.Item{}, errNoPatient
	}
	br := bufio.NewReaderSize(r, exifHead)
	head, _ := br.Peek(exifHead)
	switch t, err := imaging.Sniff(head); {
	case t == imaging.TypeHEIC:
		// Windows reads HEIC when Microsoft's extensions are installed;
		// otherwise the sentence says how to get them or set the iPhone.
		if err := imaging.HEICReadable(); err != nil {
			return localapi.Item{}, localapi.NewError(localapi.CodeBadRequest, err.Error())
		}
	case err != nil || t == imaging.TypeUnknown:
		return localapi.Item{}, errNotImage
	}
	// A dropped file has no file time of its own here: its EXIF date, else now.
	taken, ok := imaging.TakenAt(head, time.Local)
	if !ok {
		taken = a.opt.Now()
	}
	it, err := a.q.AddReader(ctx, queue.New{
		Source: f.SourceOrDrop(), FileName: cleanName(f.Name), Patient: s.patient(), Facility: s.Facility,
		State: queue.StateStaged, Taken: taken,
	}, br)
	if errors.Is(err, queue.ErrDuplicate) {
		return localapi.Item{}, localapi.NewError(localapi.CodeConflict, "This file is already in the queue for this patient.")
	}
	if err != nil {
		return localapi.Item{}, queueError(err)
	}
	return apiItem(it), nil
}

// exifHead is how much of a file is read for its EXIF date: JPEG keeps EXIF in
// its first 64 KiB segment, PNG and WebP before their pixels.
const exifHead = 128 << 10

// Save queues a session's staged items with the GP's edits. Everything is checked
// before anything changes, so a refused Save leaves the window as it was.
func (a *Agent) Save(ctx context.Context, sessionID string, req localapi.SaveRequest) ([]localapi.Item, error) {
	if _, err := a.use(sessionID); err != nil {
		return nil, err
	}
	if len(req.Items) == 0 {
		return nil, localapi.NewError(localapi.CodeBadRequest, "Nothing to save: add a photo or document first.")
	}
	for _, e := range req.Items {
		switch {
		case e.Rotation != 0 && e.Rotation != 90 && e.Rotation != 180 && e.Rotation != 270:
			return nil, localapi.NewError(localapi.CodeBadRequest, "Rotation must be 0, 90, 180 or 270 degrees.")
		}
		// The upload contract's own checks, the ones the relay makes again.
		for _, err := range []error{api.ValidateLaterality(e.Laterality), api.ValidateKind(e.Kind),
			api.ValidateBodySite(e.BodySiteCode, api.CleanText(e.BodySite, api.MaxBodySite))} {
			if err != nil {
				return nil, localapi.NewError(localapi.CodeBadRequest, "Not saved: "+err.Error()+".")
			}
		}
		it, err := a.q.Get(ctx, e.ID)
		if err != nil {
			return nil, queueError(err)
		}
		if it.State != queue.StateStaged || it.Patient.SessionID != sessionID {
			return nil, localapi.NewError(localapi.CodeConflict, "An item in this save is no longer waiting in this window: refresh and try again.")
		}
		if err := checkCrop(e.Crop, it.SpoolPath); err != nil {
			return nil, err
		}
	}
	out := make([]localapi.Item, 0, len(req.Items))
	for _, e := range req.Items {
		// Titles and body sites are cleaned and cut as the relay does, so what the GP
		// sees queued is what is filed.
		it, err := a.q.Save(ctx, e.ID, queue.Meta{Title: api.CleanTitle(e.Title), Rotation: e.Rotation, Laterality: e.Laterality,
			BodySite: api.CleanText(e.BodySite, api.MaxBodySite), BodySiteCode: e.BodySiteCode, Kind: e.Kind, Crop: cropOf(e.Crop)})
		if err != nil {
			return out, queueError(err)
		}
		out = append(out, apiItem(it))
	}
	// A saved window's phone code ends at once: the next photos are another save.
	a.endPhoneForWindow(sessionID, false)
	a.log.Info("items saved", "count", len(out))
	return out, nil
}

// checkCrop refuses a crop outside the image, or on a PDF (a document is sent whole).
func checkCrop(c *localapi.Crop, spool string) error {
	if c == nil || c.Whole() {
		return nil
	}
	if !c.Valid() {
		return localapi.ErrBadCrop
	}
	f, err := os.Open(spool)
	if err != nil {
		return localapi.NewError(localapi.CodeNotFound, "The agent no longer holds this image: add it again.")
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	if t, _ := imaging.Sniff(head[:n]); t == imaging.TypePDF {
		return localapi.ErrCropPDF
	}
	return nil
}

func cropOf(c *localapi.Crop) queue.Crop {
	if c == nil || c.Whole() {
		return queue.Crop{}
	}
	return queue.Crop{X: c.X, Y: c.Y, W: c.W, H: c.H}
}

// Remove takes a staged item out of its window.
func (a *Agent) Remove(ctx context.Context, itemID string) error {
	it, err := a.q.Get(ctx, itemID)
	if err != nil {
		return queueError(err)
	}
	if it.State != queue.StateStaged {
		return localapi.NewError(localapi.CodeConflict, "Only items waiting in a capture window can be removed; reject or discard it instead.")
	}
	return queueError(a.unstage(ctx, it))
}

// Assign gives an Unassigned item to an open session's patient and queues it.
func (a *Agent) Assign(ctx context.Context, itemID, sessionID string) (localapi.Item, error) {
	s, err := a.use(sessionID)
	if err != nil {
		return localapi.Item{}, err
	}
	if !s.PatientSelected {
		return localapi.Item{}, errNoPatient
	}
	it, err := a.q.Assign(ctx, itemID, s.patient(), s.Facility)
	if errors.Is(err, queue.ErrDuplicate) {
		return localapi.Item{}, localapi.NewError(localapi.CodeConflict, "The same file is already queued or sent for this patient: reject this copy.")
	}
	if err != nil {
		return localapi.Item{}, queueError(err)
	}
	a.log.Info("item assigned")
	return apiItem(it), nil
}

// queueError maps the queue's errors onto local API answers.
func queueError(err error) error {
	var te *queue.TransitionError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, queue.ErrNotFound):
		return localapi.ErrNotFound
	case errors.As(err, &te):
		return localapi.NewError(localapi.CodeConflict, te.Error())
	case errors.Is(err, queue.ErrDuplicate):
		return localapi.NewError(localapi.CodeConflict, "This file is already in the queue.")
	case errors.Is(err, queue.ErrTooLarge):
		return localapi.NewError(localapi.CodeBadRequest, queue.ErrTooLarge.Error())
	}
	return err
}

// trayCloseWait is how long CloseTrays waits for the trays' streams to end.
var trayCloseWait = 10 * time.Second

// CloseTrays asks every tray, in every session, to exit so the installer can replace
// its exe, and waits up to trayCloseWait for their event streams to end. Only the
// agent's own account (SYSTEM for the service, as the installer's actions run) may
// ask; the installer ends whatever is still open afterwards.
func (a *Agent) CloseTrays(ctx context.Context) (localapi.TraysClosed, error) {
	me, err := localapi.Self()
	if p, ok := localapi.PeerFrom(ctx); err != nil || !ok || p.User != me.User {
		return localapi.TraysClosed{}, localapi.ErrNotAgentAccount
	}
	asked := a.hub.Publish(localapi.Event{Type: localapi.EventClose})
	a.log.Info("asked the trays to close for an upgrade", "trays", asked)
	deadline := time.Now().Add(trayCloseWait)
	for a.hub.Subscribers() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	return localapi.TraysClosed{Asked: asked, StillOpen: a.hub.Subscribers()}, nil
}

var _ localapi.TrayCloser = (*Agent)(nil)
