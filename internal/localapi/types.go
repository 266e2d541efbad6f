// Package localapi is the contract between the agent (a service) and its local clients:
// the tray and the `clinicpro` CLI. It is HTTP/JSON over a named pipe on Windows and a
// unix socket on Linux; this file holds the wire types, shared by server and client.
//
// Patient data (the banner) travels only in response bodies on this local transport;
// it never appears in a path or query string, so it cannot reach an access log.
package localapi

import (
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// Paths served by the agent. IDs in paths are opaque, random and carry no patient data.
const (
	PathStatus     = "/v1/status"             // GET → Status
	PathLaunch     = "/v1/launch"             // POST LaunchRequest → Session
	PathSessions   = "/v1/sessions/"          // {id}: GET → Session (its opener only), DELETE closes; {id}/items POST multipart "file" → Item; {id}/save POST SaveRequest → []Item; {id}/phone POST opens → PhoneSession, GET → PhoneSession, DELETE ends it
	PathItems      = "/v1/items/"             // {id}: GET → Item; {id}/thumbnail GET → image/jpeg; {id}/preview GET → image/jpeg (PreviewEdge); {id}/retry, {id}/send-again, {id}/discard, {id}/assign (AssignRequest), {id}/reject POST
	PathQueue      = "/v1/queue"              // GET → []Item (everything not yet sent, plus recently sent)
	PathUnassigned = "/v1/unassigned"         // GET → []Item in StateUnassigned
	PathPause      = "/v1/pause"              // POST PauseRequest → Status
	PathEvents     = "/v1/events"             // GET → newline-delimited JSON Events, until the client goes away
	PathDiagnosis  = "/v1/diagnostics/bundle" // GET → application/zip, no patient data
	PathTraysClose = "/v1/trays/close"        // POST → TraysClosed; only the agent's own account (the installer, as SYSTEM)
	PathRecheck    = "/v1/recheck"            // POST → Status, once the agent has run its health checks again
)

// PreviewEdge bounds the long edge of Service.Preview's image: large enough to check
// a wound or read a scanned letter on a 1080p screen, small enough to send at once.
const PreviewEdge = 1600

// Banner is what identifies the patient on screen. It is shown only inside the
// patient's own capture window: never in a title, a log line or a URL.
type Banner struct {
	Name      string `json:"name"`
	NHI       string `json:"nhi"`
	BirthDate string `json:"birthDate"` // YYYY-MM-DD as ALEX returns it
	// Family, Given and Sex draw the patient band (family name in capitals, given
	// names, sex as FHIR's administrative gender code: male, female, other, unknown).
	// Empty from agents that predate them; the tray then splits Name.
	Family string `json:"family,omitempty"`
	Given  string `json:"given,omitempty"`
	Sex    string `json:"sex,omitempty"`
}

// LaunchRequest carries a Medtech toolbar launch: the two parameters of the URL
// Windows handed to the tray (clinicpro://launch?... or
// http://127.0.0.1:port/launch?...), which the tray reads with launch.Parse.
//
// NHI is the third form, for `clinicpro send` and scripts that have no Medtech launch:
// the agent looks the patient up at this facility through the relay and opens a
// session for them, so files still go through AddFile and Save like any other.
type LaunchRequest struct {
	Context   string `json:"context,omitempty"`
	Signature string `json:"signature,omitempty"`
	NHI       string `json:"nhi,omitempty"`
}

// Session is one launch: the patient Medtech had open when the GP clicked our icon.
// PatientSelected is false when Medtech launched with no patient in the palette; the
// tray then shows "No patient selected".
type Session struct {
	ID              string    `json:"id"`
	PatientSelected bool      `json:"patientSelected"`
	Banner          Banner    `json:"banner"`
	ProviderID      string    `json:"providerId,omitempty"`
	Facility        string    `json:"facility"`
	Opened          time.Time `json:"opened"`
	// Items are what the window shows as it opens: the session's own staged items (a
	// launch for a patient whose window is open is that window's session), and the
	// patient's items saved from earlier windows on this PC that Medtech has not
	// confirmed yet or confirmed within RecentWindow, so a window opened again shows
	// the progress of images kept while offline.
	Items []Item `json:"items,omitempty"`
}

// RecentWindow is how long a confirmed item still shows in Session.Items.
const RecentWindow = 12 * time.Hour

// Crop is the part of an image to keep: a rectangle in fractions (0 to 1) of the
// image standing upright (after the camera's EXIF orientation, before the GP's
// Rotation). It is applied when the image is converted for Medtech; the original
// file is never changed. The zero Crop keeps the whole image.
type Crop struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// MinCropSide is the smallest crop side, as a fraction of the image: anything
// smaller is a slip of the mouse, not a clinical close-up.
const MinCropSide = 0.05

// Whole reports whether c keeps the whole image.
func (c Crop) Whole() bool { return c == Crop{} || c == Crop{W: 1, H: 1} }

// Valid reports whether c is a rectangle inside the image, no side under MinCropSide.
func (c Crop) Valid() bool {
	if c == (Crop{}) {
		return true
	}
	const eps = 1e-9
	return c.X >= 0 && c.Y >= 0 && c.W >= MinCropSide-eps && c.H >= MinCropSide-eps &&
		c.X+c.W <= 1+eps && c.Y+c.H <= 1+eps
}

// ItemState is where an item is on its way to Medtech.
type ItemState string

const (
	StateStaged     ItemState = "staged"     // in a capture window, waiting for Save
	StateUnassigned ItemState = "unassigned" // from a watched folder, no patient: a GP must assign or reject
	StateQueued     ItemState = "queued"     // committed to the durable queue, waiting to upload
	StateUploading  ItemState = "uploading"
	StateSent       ItemState = "sent"     // stored in ALEX and read back
	StateParked     ItemState = "parked"   // permanent failure; Reason says what to do; retry or discard
	StateRejected   ItemState = "rejected" // moved to the Rejected folder by a person
)

// Item is one image or document.
type Item struct {
	ID          string    `json:"id"`
	State       ItemState `json:"state"`
	SessionID   string    `json:"sessionId,omitempty"`
	Source      string    `json:"source"`             // how it came: drop, camera, phone or capture (relay API vocabulary)
	Folder      string    `json:"folder,omitempty"`   // the watched folder's label, when it came from one
	FileName    string    `json:"fileName"`           // base name of the original file (may contain an NHI: show only in the patient's window)
	Kind        string    `json:"kind,omitempty"`     // photo or document; empty until decided
	Title       string    `json:"title,omitempty"`    // becomes the attachment title in Medtech
	Rotation    int       `json:"rotation,omitempty"` // extra clockwise quarter turns the GP asked for: 0, 90, 180, 270
	Laterality  string    `json:"laterality,omitempty"`
	BodySite    string    `json:"bodySite,omitempty"`
	Size        int64     `json:"size"`
	Attempts    int       `json:"attempts,omitempty"`
	Reason      string    `json:"reason,omitempty"` // why parked or unassigned: a sentence a person can act on
	Cause       string    `json:"cause,omitempty"`  // the relay API's cause code behind Reason, when the relay gave one
	Taken       time.Time `json:"taken,omitzero"`   // when the photo was taken (EXIF), else the file's time
	Correlation string    `json:"correlationId,omitempty"`
	Added       time.Time `json:"added"`
	Updated     time.Time `json:"updated"`

	// BodySiteCode is the SNOMED CT concept when BodySite was picked from the body-site
	// list (relay/api.BodySites); empty for free text.
	BodySiteCode string `json:"bodySiteCode,omitempty"`
	// Crop is the part kept when converting; nil keeps the whole image.
	Crop *Crop `json:"crop,omitempty"`
}

// NewFile is a file a capture window stages (AddFile): its name, and how it came in
// relay/api's vocabulary (api.SourceDrop for a dropped or picked file,
// api.SourceCapture for one taken with the window's camera; empty is drop).
type NewFile struct {
	Name   string
	Source string
}

// SourceOrDrop is f's source, drop when none was given (a tray from before sources).
func (f NewFile) SourceOrDrop() string {
	if f.Source == "" {
		return api.SourceDrop
	}
	return f.Source
}

// SaveRequest sends a capture window's staged items to Medtech with the GP's edits.
type SaveRequest struct {
	Items []ItemEdit `json:"items"`
}

// ItemEdit is what the GP set on one item before saving.
type ItemEdit struct {
	ID         string `json:"id"`
	Title      string `json:"title,omitempty"`
	Rotation   int    `json:"rotation,omitempty"`
	Laterality string `json:"laterality,omitempty"`
	BodySite   string `json:"bodySite,omitempty"`

	// BodySiteCode: see Item.BodySiteCode; the agent refuses a code not in the list
	// or whose term is not BodySite.
	BodySiteCode string `json:"bodySiteCode,omitempty"`
	// Kind is photo or document (relay/api's KindPhoto, KindDocument); empty lets the
	// agent decide from the converted file (a PDF is a document).
	Kind string `json:"kind,omitempty"`
	// Crop: see Item.Crop; the agent refuses one that is not Valid, or on a PDF.
	Crop *Crop `json:"crop,omitempty"`
}

// assignRequest routes an Unassigned item to the patient of an open session.
type assignRequest struct {
	SessionID string `json:"sessionId"`
}

// pauseRequest pauses or resumes uploads (the queue keeps accepting items).
type pauseRequest struct {
	Paused bool `json:"paused"`
}

// Counts summarises the queue for the tray icon and `clinicpro status`.
type Counts struct {
	Queued     int `json:"queued"`
	Uploading  int `json:"uploading"`
	Parked     int `json:"parked"`
	Unassigned int `json:"unassigned"`
	SentToday  int `json:"sentToday"`
}

// Status is the agent's state at a glance.
type Status struct {
	Version    string        `json:"version"`
	Relay      string        `json:"relay"`    // relay base URL
	Facility   string        `json:"facility"` // HPI facility id of this connector
	Enrolled   bool          `json:"enrolled"`
	Paused     bool          `json:"paused"`
	Counts     Counts        `json:"counts"`
	LastUpload time.Time     `json:"lastUpload,omitempty"`
	Health     health.Report `json:"health"`
	// SessionFolders are the watched folders whose files go to the capture window of
	// the most recent launch, so the window can say which files will arrive in it.
	SessionFolders []SessionFolder `json:"sessionFolders,omitempty"`
}

// SessionFolder is a watched folder with routing "session".
type SessionFolder struct {
	Label string `json:"label"`
	// PerUser: the folder is in each signed-in user's profile (%USERPROFILE% or ~);
	// its files go to the newest launch of that user only.
	PerUser bool `json:"perUser,omitempty"`
	// CameraRoll: it is each user's Pictures\Camera Roll, where the Windows Camera
	// app saves photos.
	CameraRoll bool `json:"cameraRoll,omitempty"`
	// Receiver is the session its files go to now: for a shared folder the most
	// recent launch with a patient, whoever opened it; empty for a per-user folder
	// (each user's newest launch) or when no window is open.
	Receiver string `json:"receiver,omitempty"`
}

// EventType names what changed.
type EventType string

const (
	EventStatus EventType = "status" // Status is set
	EventItem   EventType = "item"   // Item is set
	// EventLaunch: a launch arrived through the loopback web URL. Session carries only
	// the ID, and only the tray of the Windows session and user whose browser opened the
	// URL receives it; that tray fetches the banner with Service.Session.
	EventLaunch EventType = "launch"
	// EventClose asks every tray to exit: the installer is about to replace its exe.
	EventClose EventType = "close"
	// EventPhone: a capture window's phone session changed (paired, photos arriving,
	// received, ended); Phone is set.
	EventPhone EventType = "phone"
)

// Event is one line of the event stream.
type Event struct {
	Type    EventType     `json:"type"`
	Status  *Status       `json:"status,omitempty"`
	Item    *Item         `json:"item,omitempty"`
	Session *Session      `json:"session,omitempty"`
	Phone   *PhoneSession `json:"phone,omitempty"`
}

// TraysClosed answers PathTraysClose: how many trays were asked to exit, and how many
// had not gone when the agent stopped waiting.
type TraysClosed struct {
	Asked     int `json:"asked"`
	StillOpen int `json:"stillOpen"`
}

// Error is the body of every non-2xx answer: a sentence a person can act on, and a
// correlation id to quote to support when the failure came from the relay or ALEX.
type Error struct {
	Error       string `json:"error"` // short machine code, e.g. "not_enrolled"
	Message     string `json:"message"`
	Correlation string `json:"correlationId,omitempty"`
}
