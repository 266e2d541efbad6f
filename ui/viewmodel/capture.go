package viewmodel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/clinicpro/medtech-images/internal/launch"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// Phase is where a capture window is with its launch.
type Phase int

const (
	PhaseNoLaunch     Phase = iota // opened from the tray without a Medtech launch
	PhaseOpening                   // the launch is being resolved by the agent
	PhaseNoPatient                 // Medtech launched with no patient in the palette
	PhasePatient                   // the banner is shown; items can be added and saved
	PhaseLaunchFailed              // the agent, relay or ALEX refused or could not resolve the launch
)

// ItemStatus is an item's progress as the capture window shows it.
type ItemStatus int

const (
	ItemStaged    ItemStatus = iota // editable, waiting for Save
	ItemSaving                      // Save sent to the agent, no answer yet
	ItemQueued                      // in the agent's durable queue
	ItemUploading                   // on its way to Medtech
	ItemSent                        // stored in Medtech and read back
	ItemParked                      // Medtech refused it; Message says why; Retry re-queues
	ItemFailed                      // the agent did not take the save; Retry saves again
)

// Label is the short progress word under a thumbnail.
func (s ItemStatus) Label() string {
	switch s {
	case ItemSaving:
		return "Saving…"
	case ItemQueued:
		return "Waiting to upload"
	case ItemUploading:
		return "Uploading…"
	case ItemSent:
		return "Saved"
	case ItemParked:
		return "Not saved"
	case ItemFailed:
		return "Not saved"
	}
	return ""
}

// Lateralities offered in the window, in the order shown, with their labels. The
// relay maps the localapi values to SNOMED CT codes.
var Lateralities = []struct{ Value, Label string }{
	{api.LateralityNone, "Laterality"},
	{api.LateralityRight, "Right"},
	{api.LateralityLeft, "Left"},
	{api.LateralityBilateral, "Bilateral"},
	{api.LateralityNA, "Not applicable"},
}

// LateralityLabel returns the label for a localapi laterality value.
func LateralityLabel(v string) string {
	for _, l := range Lateralities {
		if l.Value == v {
			return l.Label
		}
	}
	return Lateralities[0].Label
}

// LateralityValue returns the localapi value for a label shown in the window.
func LateralityValue(label string) string {
	for _, l := range Lateralities {
		if l.Label == label {
			return l.Value
		}
	}
	return api.LateralityNone
}

// CaptureItem is one thumbnail in the window with the GP's edits.
type CaptureItem struct {
	ID         string
	FileName   string
	Source     string // relay/api's vocabulary: drop, camera, phone, capture
	Folder     string // the watched folder's label, when it came from one
	Title      string
	Rotation   int // clockwise degrees: 0, 90, 180, 270
	Laterality string
	BodySite   string
	// BodySiteCode is the SNOMED CT concept when BodySite was picked from the list.
	BodySiteCode string
	// Crop is the part of the upright image that is sent (zero: all of it).
	Crop    localapi.Crop
	Status  ItemStatus
	Message string // why it was not saved, when Status is ItemParked or ItemFailed
	// Earlier: saved for this patient from a window closed before this one opened
	// (kept on this PC while Medtech could not be reached); shown with its progress.
	Earlier bool
}

// SourceLabel says where an item came from, shown under its thumbnail.
func (it CaptureItem) SourceLabel() string {
	if it.Earlier {
		return TextEarlier
	}
	return sourceLabel(it.Source, it.Folder)
}

// TextEarlier marks an item saved from an earlier window for this patient.
const TextEarlier = "Saved earlier on this PC"

// ItemSource is SourceLabel for an item of any list (Unassigned, Queue).
func ItemSource(it localapi.Item) string { return sourceLabel(it.Source, it.Folder) }

func sourceLabel(source, folder string) string {
	if folder != "" {
		return "From " + folder
	}
	switch source {
	case api.SourceDrop:
		return "Added here"
	case api.SourceCapture:
		return "Taken here"
	case api.SourceCamera:
		return "From a camera"
	case api.SourcePhone:
		return "From a phone"
	}
	return ""
}

// Editable reports whether the GP may still change or remove the item.
func (it CaptureItem) Editable() bool { return it.Status == ItemStaged || it.Status == ItemFailed }

// CaptureView is everything the capture window draws.
type CaptureView struct {
	Phase   Phase
	Heading string          // TextNoLaunch, TextNoPatient, TextOpening or the launch error; empty with a patient
	Banner  localapi.Banner // set in PhasePatient only
	Items   []CaptureItem
	Summary string // progress, TextSaved, or the error sentence
	Error   bool   // Summary is an error the GP must act on
	// CanSave: there are staged items and nothing is in flight. CanRetry: a save was
	// refused or an item parked.
	CanSave, CanRetry bool
	// CanAdd: the window has a patient, so files may be added.
	CanAdd bool
	// Routing says which watched folders' files arrive in this window, or that they
	// go to the patient opened last instead; RoutingHere is true in the former case.
	Routing     string
	RoutingHere bool
	// Camera is what the window says once the Camera app is opened.
	Camera string
}

// Capture is one capture window: one launch, one patient, its items.
type Capture struct {
	agent    localapi.Service
	onChange func()

	mu        sync.Mutex
	phase     Phase
	launchErr string
	session   localapi.Session
	items     []*CaptureItem
	saveErr   string
	saving    bool
	// offline: Medtech, the relay or the agent cannot be reached; saved items wait
	// on this PC and the window says so.
	offline bool
	// folders are the agent's "session" folders; newest is true while this is the
	// tray's window of the most recent launch.
	folders []localapi.SessionFolder
	newest  bool
}

// TextOffline is what the window says while images wait for Medtech or the relay:
// they are safe, they go by themselves, and the window may be closed.
func TextOffline(n int) string {
	what := "These images are"
	if n == 1 {
		what = "This image is"
	}
	return "Medtech or the ClinicPro relay cannot be reached just now. " + what +
		" kept safely on this PC and will be sent by themselves when the connection is back. You can close this window."
}

// SetOffline tells the window whether uploads can reach Medtech (from the tray's status).
func (c *Capture) SetOffline(offline bool) {
	c.mu.Lock()
	changed := c.offline != offline
	c.offline = offline
	c.mu.Unlock()
	if changed {
		c.changed()
	}
}

// SetRouting tells the window which "session" folders the agent watches (from its
// Status) and whether it is this tray's window of the most recent launch, which is
// where their files go.
func (c *Capture) SetRouting(folders []localapi.SessionFolder, newest bool) {
	c.mu.Lock()
	c.folders, c.newest = folders, newest
	c.mu.Unlock()
	c.changed()
}

// receivesLocked lists the labels of the folders whose files come to this window,
// and of those that go elsewhere.
func (c *Capture) receivesLocked() (here, elsewhere []string) {
	for _, f := range c.folders {
		mine := c.newest
		if !f.PerUser && f.Receiver != "" {
			mine = f.Receiver == c.session.ID
		}
		if mine {
			here = append(here, f.Label)
		} else {
			elsewhere = append(elsewhere, f.Label)
		}
	}
	return here, elsewhere
}

// RoutingText is the window's sentence about watched folders.
func RoutingText(here, elsewhere []string) string {
	switch {
	case len(here) > 0:
		return "New files from " + andList(here) + " come to this window: it is the patient opened last."
	case len(elsewhere) > 0:
		return "New files from " + andList(elsewhere) + " go to the patient opened last, not to this window."
	}
	return ""
}

// CameraText is what the window says once the Windows Camera app is open: where its
// photos go, as the agent is configured, so nobody waits for photos that will not come.
func CameraText(folders []localapi.SessionFolder, here bool) string {
	for _, f := range folders {
		if !f.CameraRoll {
			continue
		}
		if here {
			return "Take the photos in Camera: they are saved to your Camera Roll and appear in this window within a few seconds."
		}
		return "Take the photos in Camera: they are saved to your Camera Roll and go to the patient opened last. Open this patient again from Medtech to bring them here."
	}
	return "Take the photos in Camera: they are saved to your Pictures\\Camera Roll folder. This PC does not bring them here by itself: then use Add files (Ctrl+O) and pick them there."
}

func andList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// NewCapture returns a window model in PhaseNoLaunch. onChange is called (without
// locks held, from any goroutine) whenever the view changed.
func NewCapture(agent localapi.Service, onChange func()) *Capture {
	if onChange == nil {
		onChange = func() {}
	}
	return &Capture{agent: agent, onChange: onChange}
}

func (c *Capture) changed() { c.onChange() }

// Launch resolves a toolbar launch URL through the agent.
func (c *Capture) Launch(ctx context.Context, rawURL string) error {
	l, err := launch.Parse(rawURL)
	if err != nil {
		c.mu.Lock()
		c.phase, c.launchErr = PhaseLaunchFailed, err.Error()
		c.mu.Unlock()
		c.changed()
		return err
	}
	c.mu.Lock()
	c.phase = PhaseOpening
	c.mu.Unlock()
	c.changed()
	s, err := c.agent.Launch(ctx, localapi.LaunchRequest{Context: l.Context, Signature: l.Signature})
	if err != nil {
		c.mu.Lock()
		c.phase, c.launchErr = PhaseLaunchFailed, Sentence(err)
		c.mu.Unlock()
		c.changed()
		return err
	}
	c.Adopt(s)
	return nil
}

// Adopt shows a session the agent already opened (a launch through the loopback web
// URL arrives as an event with its session).
func (c *Capture) Adopt(s localapi.Session) {
	c.mu.Lock()
	items := s.Items
	s.Items = nil
	c.session, c.launchErr = s, ""
	if s.PatientSelected {
		c.phase = PhasePatient
	} else {
		c.phase = PhaseNoPatient
	}
	// What the session already holds (its staged items), and the patient's items
	// saved from earlier windows, with their progress.
	for _, in := range items {
		if c.find(in.ID) != nil {
			continue
		}
		it := newCaptureItem(in)
		it.Earlier = in.SessionID != s.ID
		c.items = append(c.items, it)
		c.applyLocked(it, in)
	}
	c.mu.Unlock()
	c.changed()
}

func newCaptureItem(in localapi.Item) *CaptureItem {
	it := &CaptureItem{ID: in.ID, FileName: in.FileName, Source: in.Source, Folder: in.Folder, Title: in.Title,
		Rotation: in.Rotation, Laterality: in.Laterality, BodySite: in.BodySite, BodySiteCode: in.BodySiteCode}
	if in.Crop != nil {
		it.Crop = *in.Crop
	}
	return it
}

// Session returns the window's session; ok is false before a launch resolved.
func (c *Capture) Session() (s localapi.Session, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session, c.session.ID != ""
}

// HasPatient reports whether items can be assigned to this window's patient.
func (c *Capture) HasPatient() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.phase == PhasePatient
}

// Add stages a file (dropped, picked, or from the camera) in the window's session.
func (c *Capture) Add(ctx context.Context, fileName string, r io.Reader) error {
	c.mu.Lock()
	id, ok := c.session.ID, c.phase == PhasePatient
	c.mu.Unlock()
	if !ok {
		return errNoPatient
	}
	it, err := c.agent.AddFile(ctx, id, localapi.NewFile{Name: fileName, Source: api.SourceDrop}, r)
	if err != nil {
		c.mu.Lock()
		c.saveErr = Sentence(err)
		c.mu.Unlock()
		c.changed()
		return err
	}
	c.mu.Lock()
	c.saveErr = ""
	c.mu.Unlock()
	c.HandleItem(it)
	return nil
}

func (c *Capture) find(id string) *CaptureItem {
	for _, it := range c.items {
		if it.ID == id {
			return it
		}
	}
	return nil
}

// edit applies f to an editable item and reports the change.
func (c *Capture) edit(id string, f func(*CaptureItem)) {
	c.mu.Lock()
	it := c.find(id)
	if it == nil || !it.Editable() {
		c.mu.Unlock()
		return
	}
	f(it)
	c.mu.Unlock()
	c.changed()
}

// Rotate turns an item a quarter turn clockwise.
func (c *Capture) Rotate(id string) {
	c.edit(id, func(it *CaptureItem) { it.Rotation = (it.Rotation + 90) % 360 })
}

// SetTitle sets the attachment title Medtech shows.
func (c *Capture) SetTitle(id, title string) { c.edit(id, func(it *CaptureItem) { it.Title = title }) }

// SetLaterality sets one of the localapi laterality values.
func (c *Capture) SetLaterality(id, v string) {
	c.edit(id, func(it *CaptureItem) { it.Laterality = v })
}

// SetBodySite sets the body site as typed. Typing keeps a picked code only while the
// text is still that code's term; anything else is free text.
func (c *Capture) SetBodySite(id, site string) {
	c.edit(id, func(it *CaptureItem) {
		it.BodySite = site
		if s, ok := api.LookupBodySite(it.BodySiteCode); !ok || s.Term != site {
			it.BodySiteCode = ""
		}
	})
}

// SetCrop sets the part of the upright image to send; a crop that is not Valid is
// ignored, the whole image (or the zero Crop) clears it.
func (c *Capture) SetCrop(id string, cr localapi.Crop) {
	if !cr.Valid() {
		return
	}
	if cr.Whole() {
		cr = localapi.Crop{}
	}
	c.edit(id, func(it *CaptureItem) { it.Crop = cr })
}

// PickBodySite codes the body site with a concept from the list.
func (c *Capture) PickBodySite(id string, s api.BodySite) {
	c.edit(id, func(it *CaptureItem) { it.BodySite, it.BodySiteCode = s.Term, s.Code })
}

// BodySiteChoices is what the body-site field offers for what the GP typed.
func BodySiteChoices(typed string) []api.BodySite {
	return api.SearchBodySites(typed, MaxBodySiteChoices)
}

// MaxBodySiteChoices is how many matches the body-site field lists at once.
const MaxBodySiteChoices = 6

// Remove takes a staged item out of the window (the agent decides where it goes).
func (c *Capture) Remove(ctx context.Context, id string) error {
	c.mu.Lock()
	it := c.find(id)
	ok := it != nil && it.Editable()
	c.mu.Unlock()
	if !ok {
		return nil
	}
	if err := c.agent.Remove(ctx, id); err != nil && !errors.Is(err, localapi.ErrNotFound) {
		c.mu.Lock()
		c.saveErr = Sentence(err)
		c.mu.Unlock()
		c.changed()
		return err
	}
	c.mu.Lock()
	c.items = slices.DeleteFunc(c.items, func(it *CaptureItem) bool { return it.ID == id })
	c.mu.Unlock()
	c.changed()
	return nil
}

// Save sends every staged item with its edits to the agent's queue. Progress then
// arrives as item events (HandleItem).
func (c *Capture) Save(ctx context.Context) error {
	c.mu.Lock()
	if c.phase != PhasePatient || c.saving {
		c.mu.Unlock()
		return nil
	}
	var req localapi.SaveRequest
	for _, it := range c.items {
		if it.Editable() {
			e := localapi.ItemEdit{ID: it.ID, Title: it.Title, Rotation: it.Rotation,
				Laterality: it.Laterality, BodySite: it.BodySite, BodySiteCode: it.BodySiteCode}
			if !it.Crop.Whole() {
				cr := it.Crop
				e.Crop = &cr
			}
			req.Items = append(req.Items, e)
			it.Status, it.Message = ItemSaving, ""
		}
	}
	if len(req.Items) == 0 {
		c.mu.Unlock()
		return nil
	}
	c.saving, c.saveErr = true, ""
	sid := c.session.ID
	c.mu.Unlock()
	c.changed()

	saved, err := c.agent.Save(ctx, sid, req)

	c.mu.Lock()
	c.saving = false
	if err != nil {
		c.saveErr = Sentence(err)
		for _, e := range req.Items {
			if it := c.find(e.ID); it != nil && it.Status == ItemSaving {
				it.Status, it.Message = ItemFailed, c.saveErr
			}
		}
	} else {
		for _, s := range saved {
			if it := c.find(s.ID); it != nil {
				c.applyLocked(it, s)
			}
		}
	}
	c.mu.Unlock()
	c.changed()
	return err
}

// Retry saves again what the agent did not take, and re-queues parked items.
func (c *Capture) Retry(ctx context.Context) error {
	c.mu.Lock()
	var parked []string
	failed := false
	for _, it := range c.items {
		switch it.Status {
		case ItemParked:
			parked = append(parked, it.ID)
		case ItemFailed:
			failed = true
		}
	}
	c.mu.Unlock()
	var firstErr error
	for _, id := range parked {
		it, err := c.agent.Retry(ctx, id)
		if err != nil {
			c.mu.Lock()
			c.saveErr = Sentence(err)
			c.mu.Unlock()
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		c.HandleItem(it)
	}
	if failed {
		if err := c.Save(ctx); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	c.changed()
	return firstErr
}

// HandleItem applies an item from the event stream or an agent answer: new items
// routed to this session (a watched folder, the Camera Roll) appear, known ones move on.
func (c *Capture) HandleItem(in localapi.Item) {
	c.mu.Lock()
	it := c.find(in.ID)
	// Items shown here follow their progress whatever window saved them; new ones
	// appear only when routed to this window's session.
	if it == nil && (c.session.ID == "" || in.SessionID != c.session.ID) {
		c.mu.Unlock()
		return
	}
	if it == nil {
		if in.State != localapi.StateStaged {
			c.mu.Unlock()
			return
		}
		it = newCaptureItem(in)
		c.items = append(c.items, it)
	}
	c.applyLocked(it, in)
	c.mu.Unlock()
	c.changed()
}

func (c *Capture) applyLocked(it *CaptureItem, in localapi.Item) {
	switch in.State {
	case localapi.StateStaged:
		if in.Source != "" {
			it.Source = in.Source
		}
		if in.Folder != "" {
			it.Folder = in.Folder
		}
		// A stale staged event must not undo a save already in flight.
		if it.Status != ItemStaged && it.Status != ItemFailed {
			return
		}
	case localapi.StateQueued:
		if it.Status == ItemSent {
			return
		}
		it.Status, it.Message = ItemQueued, ""
	case localapi.StateUploading:
		if it.Status == ItemSent {
			return
		}
		it.Status = ItemUploading
	case localapi.StateSent:
		it.Status, it.Message = ItemSent, ""
	case localapi.StateParked:
		it.Status, it.Message = ItemParked, in.Reason
		if it.Message == "" {
			it.Message = "Medtech did not accept this image: use Retry, or Copy diagnostics in Status for support."
		}
		if in.Correlation != "" {
			it.Message += " (Reference " + in.Correlation + ")"
		}
	case localapi.StateUnassigned, localapi.StateRejected:
		// Gone from this window (removed elsewhere, or the session closed).
		c.items = slices.DeleteFunc(c.items, func(x *CaptureItem) bool { return x.ID == it.ID })
	}
}

// View returns a snapshot for drawing.
func (c *Capture) View() CaptureView {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := CaptureView{Phase: c.phase}
	switch c.phase {
	case PhaseNoLaunch:
		v.Heading = TextNoLaunch
	case PhaseOpening:
		v.Heading = TextOpening
	case PhaseNoPatient:
		v.Heading = TextNoPatient
	case PhaseLaunchFailed:
		v.Heading, v.Error = c.launchErr, true
	case PhasePatient:
		v.Banner, v.CanAdd = c.session.Banner, true
		here, elsewhere := c.receivesLocked()
		v.Routing, v.RoutingHere = RoutingText(here, elsewhere), len(here) > 0
		camHere := false
		for _, f := range c.folders {
			if f.CameraRoll && slices.Contains(here, f.Label) {
				camHere = true
			}
		}
		v.Camera = CameraText(c.folders, camHere)
	}
	var staged, inFlight, sent, parked, failed int
	var firstParked string
	for _, it := range c.items {
		v.Items = append(v.Items, *it)
		switch it.Status {
		case ItemStaged:
			staged++
		case ItemSaving, ItemQueued, ItemUploading:
			inFlight++
		case ItemSent:
			sent++
		case ItemParked:
			parked++
			if firstParked == "" {
				firstParked = it.Message
			}
		case ItemFailed:
			failed++
		}
	}
	total := len(c.items)
	switch {
	case c.saveErr != "":
		v.Summary, v.Error = c.saveErr, true
	case parked > 0:
		v.Summary, v.Error = firstParked, true
		if parked > 1 {
			v.Summary = fmt.Sprintf("%d images were not saved. %s", parked, firstParked)
		}
	case inFlight > 0 && c.offline:
		v.Summary = TextOffline(inFlight)
	case inFlight > 0:
		v.Summary = fmt.Sprintf("Saving to Medtech: %d of %d saved", sent, sent+inFlight)
	case sent > 0 && staged == 0 && failed == 0:
		v.Summary = TextSaved
	case c.phase == PhaseNoLaunch:
		v.Summary = "Open the patient in Medtech Evolution, then click the ClinicPro Images icon on the toolbar."
	case c.phase == PhaseNoPatient:
		v.Summary = "Open a patient in Medtech Evolution, then click the ClinicPro Images icon again."
	case total == 0 && c.phase == PhasePatient:
		v.Summary = "Drop photos or scans here, or use Add files or Camera."
	}
	v.CanSave = c.phase == PhasePatient && !c.saving && staged+failed > 0
	v.CanRetry = !c.saving && (parked > 0 || failed > 0)
	return v
}

// Close ends the window's session: the agent drops unsaved captures and returns
// watched-folder items to Unassigned.
func (c *Capture) Close(ctx context.Context) error {
	c.mu.Lock()
	id := c.session.ID
	c.mu.Unlock()
	if id == "" {
		return nil
	}
	return c.agent.CloseSession(ctx, id)
}

// errNoPatient refuses files in a window without a patient; the window already says
// TextNoPatient, so this is for callers, not for the GP.
var errNoPatient = errors.New("no patient selected in this capture window")
