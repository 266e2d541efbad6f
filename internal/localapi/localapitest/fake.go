// Package localapitest offers an in-memory localapi.Service and a behaviour suite
// that any Service (the fake, the HTTP client in front of it, the real agent) must
// pass. The tray's tests use Fake in place of an agent.
package localapitest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// Launch tokens the Fake accepts: a launch verifies when Signature is "sig:"+Context.
// Context ContextPatient opens the canonical test patient; ContextNoPatient opens a
// session with no patient selected.
const (
	ContextPatient   = "ctx-patient"
	ContextNoPatient = "ctx-none"
	TestNHI          = "ZZZ0016"
	TestName         = "TESTING, Fake"
	TestFamily       = "TESTING"
	TestGiven        = "Fake"
	TestBirthDate    = "1970-01-01"
	TestSex          = "female"
	TestFacility     = "F2N060-E"

	// ContextOther opens a second test patient, for "another patient" cases.
	ContextOther   = "ctx-other"
	OtherNHI       = "ZAA0067"
	OtherName      = "PATIENT, Other"
	OtherFamily    = "PATIENT"
	OtherGiven     = "Other"
	OtherBirthDate = "1982-03-12"
	OtherSex       = "male"
	OtherPatientID = "b8d3c9a4e1f2a3b4c5d6e7f8a9b0c1d2"
	TestPatientID  = "14e52e16edb7a435bfa05e307afd008b"
)

// Again returns another launch of the patient that launch context c opens: every
// Medtech click is a new link, and the agent takes each link once.
func Again(c string, n int) string { return fmt.Sprintf("%s#%d", c, n) }

// PatientOf returns the patient a launch context opens, and ok false for a context
// with no patient (ContextNoPatient) or one the fakes do not know.
func PatientOf(c string) (b localapi.Banner, patientID string, ok bool) {
	base, _, _ := strings.Cut(c, "#")
	switch base {
	case ContextPatient:
		return localapi.Banner{Name: TestName, NHI: TestNHI, BirthDate: TestBirthDate, Family: TestFamily, Given: TestGiven, Sex: TestSex}, TestPatientID, true
	case ContextOther:
		return localapi.Banner{Name: OtherName, NHI: OtherNHI, BirthDate: OtherBirthDate, Family: OtherFamily, Given: OtherGiven, Sex: OtherSex}, OtherPatientID, true
	}
	return localapi.Banner{}, "", false
}

// SignatureFor returns the signature the Fake accepts for a launch context.
func SignatureFor(context string) string { return "sig:" + context }

// Fake is an in-memory Service with the agent's state rules.
type Fake struct {
	Hub *localapi.Hub

	mu        sync.Mutex
	paused    bool
	sessions  map[string]localapi.Session
	owners    map[string]localapi.Peer // who opened each session, when the transport said
	launched  map[string]time.Time     // each session's most recent launch
	items     map[string]*fakeItem
	folders   []localapi.SessionFolder
	checkedAt time.Time
	rechecks  int
	phones    map[string]*localapi.PhoneSession // by capture session
}

type fakeItem struct {
	localapi.Item
	data []byte
	nhi  string // the patient, kept after the session closed
}

var _ localapi.Service = (*Fake)(nil)

// NewFake returns an empty, enrolled Fake.
func NewFake() *Fake {
	return &Fake{Hub: localapi.NewHub(64), sessions: map[string]localapi.Session{}, owners: map[string]localapi.Peer{},
		launched: map[string]time.Time{}, items: map[string]*fakeItem{}, checkedAt: time.Now().UTC(),
		phones: map[string]*localapi.PhoneSession{}}
}

// SetSessionFolders sets the "session" folders Status reports, as the agent's
// configuration would.
func (f *Fake) SetSessionFolders(fs []localapi.SessionFolder) {
	f.mu.Lock()
	f.folders = slices.Clone(fs)
	f.mu.Unlock()
}

// Rechecks counts Recheck calls.
func (f *Fake) Rechecks() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rechecks
}

// receiverLocked is the session a shared "session" folder's files go to: the most
// recent launch with a patient.
func (f *Fake) receiverLocked() string {
	var best string
	var at time.Time
	for id, s := range f.sessions {
		if s.PatientSelected && (best == "" || f.launched[id].After(at)) {
			best, at = id, f.launched[id]
		}
	}
	return best
}

func newID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// AddUnassigned puts a file in the Unassigned list, as a watched folder would.
func (f *Fake) AddUnassigned(fileName string, data []byte, reason string) localapi.Item {
	now := time.Now().UTC()
	it := &fakeItem{Item: localapi.Item{ID: newID(), State: localapi.StateUnassigned, Source: "Scans", FileName: fileName,
		Size: int64(len(data)), Reason: reason, Added: now, Updated: now}, data: data}
	f.mu.Lock()
	f.items[it.ID] = it
	f.mu.Unlock()
	f.publishItem(it.Item)
	return it.Item
}

// Park marks an item as permanently failed, as the uploader does on a 4xx.
func (f *Fake) Park(itemID, reason string) { f.ParkCause(itemID, "", reason) }

// ParkCause parks an item with the relay API's cause code behind its reason, as the
// uploader does for a typed failure.
func (f *Fake) ParkCause(itemID, cause, reason string) {
	f.mu.Lock()
	it := f.items[itemID]
	it.State, it.Cause, it.Reason, it.Updated = localapi.StateParked, cause, reason, time.Now().UTC()
	cp := it.Item
	f.mu.Unlock()
	f.publishItem(cp)
}

func (f *Fake) publishItem(it localapi.Item) {
	f.Hub.Publish(localapi.Event{Type: localapi.EventItem, Item: &it})
}

func (f *Fake) statusLocked() localapi.Status {
	st := localapi.Status{Version: "test", Relay: "http://127.0.0.1:1", Facility: TestFacility, Enrolled: true, Paused: f.paused}
	for _, it := range f.items {
		switch it.State {
		case localapi.StateQueued:
			st.Counts.Queued++
		case localapi.StateUploading:
			st.Counts.Uploading++
		case localapi.StateParked:
			st.Counts.Parked++
		case localapi.StateUnassigned:
			st.Counts.Unassigned++
		case localapi.StateSent:
			st.Counts.SentToday++
		}
	}
	st.Health = health.Aggregate(f.checkedAt, []health.Check{{Name: "relay", Title: "ClinicPro relay", State: health.OK, Detail: "The relay answers.", Since: f.checkedAt}})
	for _, sf := range f.folders {
		if !sf.PerUser {
			sf.Receiver = f.receiverLocked()
		}
		st.SessionFolders = append(st.SessionFolders, sf)
	}
	return st
}

// Recheck stamps the checks with the time they ran again and announces the status.
func (f *Fake) Recheck(ctx context.Context) (localapi.Status, error) {
	f.mu.Lock()
	f.rechecks++
	f.checkedAt = time.Now().UTC()
	st := f.statusLocked()
	f.mu.Unlock()
	f.Hub.Publish(localapi.Event{Type: localapi.EventStatus, Status: &st})
	return st, nil
}

func (f *Fake) Status(ctx context.Context) (localapi.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.statusLocked(), nil
}

func (f *Fake) Launch(ctx context.Context, req localapi.LaunchRequest) (localapi.Session, error) {
	if req.NHI != "" {
		if req.NHI != TestNHI {
			return localapi.Session{}, localapi.NewError(localapi.CodeNotFound, "No patient with that NHI number at this practice: check the number.")
		}
		req.Context, req.Signature = ContextPatient, SignatureFor(ContextPatient)
	}
	if req.Context == "" || req.Signature != SignatureFor(req.Context) {
		return localapi.Session{}, localapi.ErrLaunch
	}
	now := time.Now().UTC()
	s := localapi.Session{ID: newID(), Facility: TestFacility, Opened: now}
	if b, _, ok := PatientOf(req.Context); ok {
		s.PatientSelected, s.Banner, s.ProviderID = true, b, "prov-1"
	}
	owner, _ := localapi.PeerFrom(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	// One window per patient: a launch for a patient whose window is open (for the
	// same user and session) is that window's session, now the most recent launch.
	if s.PatientSelected && req.NHI == "" {
		for id, open := range f.sessions {
			if open.PatientSelected && open.Banner.NHI == s.Banner.NHI && sameOwner(f.owners[id], owner) {
				f.launched[id] = now
				open.Items = f.itemsForLocked(open)
				return open, nil
			}
		}
	}
	f.sessions[s.ID] = s
	f.launched[s.ID] = now
	if owner.Known() {
		f.owners[s.ID] = owner
	}
	s.Items = f.itemsForLocked(s)
	return s, nil
}

func sameOwner(a, b localapi.Peer) bool { return a.Same(b) || !a.Known() && !b.Known() }

// itemsForLocked is what a window opening for s shows: its own staged items, and
// the patient's items from earlier windows not yet confirmed or confirmed lately.
func (f *Fake) itemsForLocked(s localapi.Session) []localapi.Item {
	if !s.PatientSelected {
		return nil
	}
	var out []localapi.Item
	cutoff := time.Now().Add(-localapi.RecentWindow)
	for _, it := range f.items {
		if it.nhi != s.Banner.NHI {
			continue
		}
		switch it.State {
		case localapi.StateStaged:
			if it.SessionID != s.ID {
				continue
			}
		case localapi.StateQueued, localapi.StateUploading, localapi.StateParked:
		case localapi.StateSent:
			if it.Updated.Before(cutoff) {
				continue
			}
		default:
			continue
		}
		out = append(out, it.Item)
	}
	slices.SortFunc(out, func(a, b localapi.Item) int { return a.Added.Compare(b.Added) })
	return out
}

// Session returns an open session to the peer that opened it, as the agent does.
func (f *Fake) Session(ctx context.Context, sessionID string) (localapi.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[sessionID]
	if !ok {
		return localapi.Session{}, localapi.ErrNotFound
	}
	if owner, owned := f.owners[sessionID]; owned {
		if p, _ := localapi.PeerFrom(ctx); !owner.Same(p) {
			return localapi.Session{}, localapi.ErrNotFound
		}
	}
	s.Items = f.itemsForLocked(s)
	return s, nil
}

func (f *Fake) CloseSession(ctx context.Context, sessionID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sessions[sessionID]; !ok {
		return localapi.ErrNotFound
	}
	delete(f.sessions, sessionID)
	delete(f.owners, sessionID)
	delete(f.phones, sessionID)
	delete(f.launched, sessionID)
	for id, it := range f.items {
		if it.SessionID == sessionID && it.State == localapi.StateStaged {
			if it.Source == api.SourceCapture || it.Source == api.SourceDrop || it.Source == api.SourcePhone {
				delete(f.items, id)
			} else {
				it.State, it.SessionID = localapi.StateUnassigned, ""
			}
		}
	}
	return nil
}

func (f *Fake) AddFile(ctx context.Context, sessionID string, nf localapi.NewFile, r io.Reader) (localapi.Item, error) {
	if err := api.ValidateSource(nf.Source); err != nil {
		return localapi.Item{}, localapi.NewError(localapi.CodeBadRequest, err.Error()+".")
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return localapi.Item{}, err
	}
	f.mu.Lock()
	s, ok := f.sessions[sessionID]
	if !ok {
		f.mu.Unlock()
		return localapi.Item{}, localapi.ErrNotFound
	}
	if !s.PatientSelected {
		f.mu.Unlock()
		return localapi.Item{}, localapi.NewError(localapi.CodeConflict, "No patient is selected in Medtech; open the patient and click the ClinicPro icon again.")
	}
	now := time.Now().UTC()
	it := &fakeItem{Item: localapi.Item{ID: newID(), State: localapi.StateStaged, SessionID: sessionID, Source: nf.SourceOrDrop(),
		FileName: nf.Name, Size: int64(len(data)), Added: now, Updated: now}, data: data, nhi: s.Banner.NHI}
	f.items[it.ID] = it
	cp := it.Item
	f.mu.Unlock()
	f.publishItem(cp)
	return cp, nil
}

func (f *Fake) Save(ctx context.Context, sessionID string, req localapi.SaveRequest) ([]localapi.Item, error) {
	f.mu.Lock()
	if _, ok := f.sessions[sessionID]; !ok {
		f.mu.Unlock()
		return nil, localapi.ErrNotFound
	}
	for _, e := range req.Items {
		it, ok := f.items[e.ID]
		if !ok || it.SessionID != sessionID || it.State != localapi.StateStaged {
			f.mu.Unlock()
			return nil, localapi.NewError(localapi.CodeConflict, "An item in this save is no longer staged in this window; refresh and try again.")
		}
		if e.Rotation%90 != 0 || e.Rotation < 0 || e.Rotation >= 360 {
			f.mu.Unlock()
			return nil, localapi.NewError(localapi.CodeBadRequest, "Rotation must be 0, 90, 180 or 270.")
		}
		if err := api.ValidateBodySite(e.BodySiteCode, e.BodySite); err != nil {
			f.mu.Unlock()
			return nil, localapi.NewError(localapi.CodeBadRequest, upperFirst(err.Error())+".")
		}
		if e.Crop != nil && !e.Crop.Valid() {
			f.mu.Unlock()
			return nil, localapi.ErrBadCrop
		}
	}
	var out []localapi.Item
	now := time.Now().UTC()
	for _, e := range req.Items {
		it := f.items[e.ID]
		it.Title, it.Rotation, it.Laterality, it.BodySite, it.BodySiteCode = e.Title, e.Rotation, e.Laterality, e.BodySite, e.BodySiteCode
		it.Crop = nil
		if e.Crop != nil && !e.Crop.Whole() {
			c := *e.Crop
			it.Crop = &c
		}
		it.State, it.Updated = localapi.StateQueued, now
		out = append(out, it.Item)
	}
	ph := f.endPhoneLocked(sessionID)
	f.mu.Unlock()
	for _, it := range out {
		f.publishItem(it)
	}
	f.publishPhone(ph)
	return out, nil
}

func (f *Fake) Remove(ctx context.Context, itemID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[itemID]
	if !ok {
		return localapi.ErrNotFound
	}
	if it.State != localapi.StateStaged {
		return localapi.ErrConflict
	}
	delete(f.items, itemID)
	return nil
}

func (f *Fake) Item(ctx context.Context, itemID string) (localapi.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[itemID]
	if !ok {
		return localapi.Item{}, localapi.ErrNotFound
	}
	return it.Item, nil
}

// Thumbnail returns a small grey JPEG whatever the item holds.
func (f *Fake) Thumbnail(ctx context.Context, itemID string) ([]byte, error) {
	if _, err := f.Item(ctx, itemID); err != nil {
		return nil, err
	}
	return f.thumb()
}

// Preview returns a larger grey JPEG, so a test can tell it from the thumbnail.
func (f *Fake) Preview(ctx context.Context, itemID string) ([]byte, error) {
	if _, err := f.Item(ctx, itemID); err != nil {
		return nil, err
	}
	return grey(160, 120)
}

func (f *Fake) thumb() ([]byte, error) { return grey(16, 12) }

func grey(w, h int) ([]byte, error) {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	img.Set(0, 0, color.Gray{Y: 0})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (f *Fake) listWhere(keep func(localapi.ItemState) bool) []localapi.Item {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []localapi.Item
	for _, it := range f.items {
		if keep(it.State) {
			out = append(out, it.Item)
		}
	}
	slices.SortFunc(out, func(a, b localapi.Item) int { return a.Added.Compare(b.Added) })
	return out
}

func (f *Fake) Queue(ctx context.Context) ([]localapi.Item, error) {
	return f.listWhere(func(s localapi.ItemState) bool {
		return s == localapi.StateQueued || s == localapi.StateUploading || s == localapi.StateParked || s == localapi.StateSent
	}), nil
}

func (f *Fake) Unassigned(ctx context.Context) ([]localapi.Item, error) {
	return f.listWhere(func(s localapi.ItemState) bool { return s == localapi.StateUnassigned }), nil
}

// transition moves an item from one of from to to, under the lock.
func (f *Fake) transition(itemID string, to localapi.ItemState, from ...localapi.ItemState) (localapi.Item, error) {
	f.mu.Lock()
	it, ok := f.items[itemID]
	if !ok {
		f.mu.Unlock()
		return localapi.Item{}, localapi.ErrNotFound
	}
	if !slices.Contains(from, it.State) {
		f.mu.Unlock()
		return localapi.Item{}, localapi.ErrConflict
	}
	it.State, it.Updated = to, time.Now().UTC()
	if to == localapi.StateQueued {
		it.Reason, it.Cause = "", ""
	}
	cp := it.Item
	f.mu.Unlock()
	f.publishItem(cp)
	return cp, nil
}

func (f *Fake) Assign(ctx context.Context, itemID, sessionID string) (localapi.Item, error) {
	f.mu.Lock()
	s, ok := f.sessions[sessionID]
	if it, found := f.items[itemID]; ok && found && s.PatientSelected && (it.State == localapi.StateUnassigned || it.State == localapi.StateParked) {
		it.SessionID, it.nhi = sessionID, s.Banner.NHI
	}
	f.mu.Unlock()
	if !ok {
		return localapi.Item{}, localapi.ErrNotFound
	}
	if !s.PatientSelected {
		return localapi.Item{}, localapi.NewError(localapi.CodeConflict, "No patient is selected in Medtech; open the patient and click the ClinicPro icon again.")
	}
	return f.transition(itemID, localapi.StateQueued, localapi.StateUnassigned, localapi.StateParked)
}

func (f *Fake) Reject(ctx context.Context, itemID string) (localapi.Item, error) {
	return f.transition(itemID, localapi.StateRejected, localapi.StateUnassigned)
}

func (f *Fake) Retry(ctx context.Context, itemID string) (localapi.Item, error) {
	return f.transition(itemID, localapi.StateQueued, localapi.StateParked)
}

func (f *Fake) SendAgain(ctx context.Context, itemID string) (localapi.Item, error) {
	return f.transition(itemID, localapi.StateQueued, localapi.StateParked)
}

func (f *Fake) Discard(ctx context.Context, itemID string) (localapi.Item, error) {
	return f.transition(itemID, localapi.StateRejected, localapi.StateParked)
}

func (f *Fake) Pause(ctx context.Context, paused bool) (localapi.Status, error) {
	f.mu.Lock()
	f.paused = paused
	st := f.statusLocked()
	f.mu.Unlock()
	f.Hub.Publish(localapi.Event{Type: localapi.EventStatus, Status: &st})
	return st, nil
}

func (f *Fake) Events(ctx context.Context) (<-chan localapi.Event, error) {
	return f.Hub.Subscribe(ctx), nil
}

func (f *Fake) DiagnosticsBundle(ctx context.Context, w io.Writer) error {
	st, _ := f.Status(ctx)
	zw := zip.NewWriter(w)
	fw, err := zw.Create("status.json")
	if err != nil {
		return err
	}
	if err := json.NewEncoder(fw).Encode(st); err != nil {
		return err
	}
	return zw.Close()
}

// OpenWebLaunch is a localapi.LaunchOpener over the Fake: it resolves the launch and
// announces its session id to the caller's own streams only, as the agent does.
func (f *Fake) OpenWebLaunch(ctx context.Context, req localapi.LaunchRequest) (bool, error) {
	p, ok := localapi.PeerFrom(ctx)
	if !ok {
		return false, localapi.ErrUnknownCaller
	}
	s, err := f.Launch(ctx, req)
	if err != nil {
		return false, err
	}
	return f.Hub.PublishTo(p, localapi.Event{Type: localapi.EventLaunch, Session: &localapi.Session{ID: s.ID}}) > 0, nil
}

// Contains reports whether s mentions the test patient; tests use it to prove an
// answer or a log carries no identifier.
func Contains(s string) bool { return strings.Contains(s, TestNHI) || strings.Contains(s, "TESTING") }

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
