package queue

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
)

// State is where an item is on its way to Medtech. The queue owns it: the agent maps
// it to the local API's wire state, so renaming either is not the other's migration.
type State string

// States, as stored in the database.
const (
	StateStaged     State = "staged"     // in a capture window, waiting for Save
	StateUnassigned State = "unassigned" // no patient: a person must assign or reject it
	StateQueued     State = "queued"     // waiting to upload
	StateUploading  State = "uploading"
	StateSent       State = "sent"     // stored in ALEX and read back
	StateParked     State = "parked"   // waiting for a person: Reason says why
	StateRejected   State = "rejected" // moved to a Rejected folder by a person
)

// Counts summarises the queue; SentToday counts items sent since the day began.
type Counts struct {
	Queued, Uploading, Parked, Unassigned, SentToday int
}

// Patient says whose record an item belongs to. Either NHI (from a file or folder
// name) or PatientID (from a launch) identifies the patient; SessionID records the
// launch it came through. Stored in the database because uploads need it; never
// logged.
type Patient struct {
	NHI       string
	PatientID string
	SessionID string
	// ProviderID is the launch's provider (the ALEX Practitioner id): the author of
	// what is filed for this patient through that launch.
	ProviderID string
}

// Known reports whether the patient is identified.
func (p Patient) Known() bool { return p.NHI != "" || p.PatientID != "" }

// key is the stable identity used in the idempotency key. The patient id from ALEX
// wins because it is what the relay writes into the DocumentReference subject.
func (p Patient) key() string {
	if p.PatientID != "" {
		return "id:" + p.PatientID
	}
	return "nhi:" + p.NHI
}

// Meta is what the GP set on an item in the capture window (or a watched folder's
// configuration set for it). Values are the relay API's vocabulary; the agent checks
// them before they are stored.
type Meta struct {
	Title        string
	Rotation     int // extra clockwise degrees: 0, 90, 180, 270
	Laterality   string
	BodySite     string
	BodySiteCode string // SNOMED CT, when the body site was picked from the list
	Kind         string // photo or document; "" decides by the converted file
	// Crop is the part of the image sent; the zero Crop sends it whole.
	Crop Crop
}

// Crop is the part of an image the GP kept: a rectangle in fractions (0 to 1) of
// the image standing upright (after its EXIF orientation, before Meta.Rotation).
// The agent checks it before it is stored; the zero Crop keeps the whole image.
type Crop struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// Whole reports whether c keeps the whole image.
func (c Crop) Whole() bool { return c == Crop{} || c == Crop{W: 1, H: 1} }

// Valid reports whether c lies inside the image (the agent checks the minimum size).
func (c Crop) Valid() bool {
	const eps = 1e-9
	return c.X >= 0 && c.Y >= 0 && c.W > 0 && c.H > 0 && c.X+c.W <= 1+eps && c.Y+c.H <= 1+eps
}

// Item is one row of the queue.
type Item struct {
	ID           string
	State        State
	Source       string              // drop, camera, phone or capture (the relay API's vocabulary)
	Folder       string              // the watched folder's label; "" for files added in a window
	SourcePath   string              // the original file; empty when the spool copy is the only one
	SourceAction config.SourceAction // what to do with SourcePath once sent
	Format       config.Format
	FileName     string // base name of the original
	Size         int64
	SHA256       string // hex, of the original bytes
	Patient      Patient
	Facility     string
	// IdempotencyKey is derived from content, patient and facility; empty while the
	// patient is unknown. The relay puts it in DocumentReference.identifier so a
	// retry never creates a second document.
	IdempotencyKey string
	// KeyGen is the key's generation: 1 until a person chooses Send again, which
	// moves it on so the relay writes afresh instead of answering the earlier claim.
	KeyGen      int
	Meta        Meta
	Taken       time.Time // when the photo was taken (EXIF), else the file's time; zero: unknown
	Attempts    int
	NextAttempt time.Time
	// Cause is the relay's cause (api.Cause) of the last failure, kept while the item
	// is parked or back in Unassigned; Reason is the sentence a person reads.
	Cause       string
	Reason      string // last error or why parked/unassigned: redacted, a sentence
	Correlation string
	DocumentID  string // ALEX DocumentReference id once sent
	Added       time.Time
	Updated     time.Time
	Sent        time.Time
	// SpoolPath is the agent's own copy, present until the item is sent or rejected.
	SpoolPath string
}

// SendKey is the idempotency key of the current generation: the plain key first,
// then "<key>.<generation>" after each Send again.
func (it Item) SendKey() string { return keyOfGen(it.IdempotencyKey, it.KeyGen) }

// PreviousKey is the key Send again left behind, "" before any Send again.
func (it Item) PreviousKey() string {
	if it.KeyGen <= 1 || it.IdempotencyKey == "" {
		return ""
	}
	return keyOfGen(it.IdempotencyKey, it.KeyGen-1)
}

func keyOfGen(key string, gen int) string {
	if gen <= 1 || key == "" {
		return key
	}
	return fmt.Sprintf("%s.%d", key, gen)
}

// cropText is how a crop is stored: JSON, or empty for the whole image.
func cropText(c Crop) string {
	if c.Whole() {
		return ""
	}
	b, _ := json.Marshal(c)
	return string(b)
}

func parseCrop(s string) Crop {
	var c Crop
	if s != "" && json.Unmarshal([]byte(s), &c) == nil && c.Valid() {
		return c
	}
	return Crop{}
}

// IdempotencyKey derives the key for content (hex SHA-256) sent to one patient at one
// facility. Versioned so the derivation can change without colliding with old keys.
func IdempotencyKey(contentSHA256 string, p Patient, facility string) string {
	h := sha256.Sum256(fmt.Appendf(nil, "clinicpro-idem-v1\x00%s\x00%s\x00%s", facility, p.key(), contentSHA256))
	return hex.EncodeToString(h[:16])
}

// transitions lists every allowed state change. Anything else is a bug or a race
// between two people acting on the same item, and is refused.
var transitions = map[State][]State{
	StateStaged:     {StateQueued, StateUnassigned, StateRejected},
	StateUnassigned: {StateQueued, StateStaged, StateRejected},
	StateQueued:     {StateUploading, StateParked},
	StateUploading:  {StateSent, StateQueued, StateParked, StateUnassigned},
	StateParked:     {StateQueued, StateRejected},
	StateSent:       nil,
	StateRejected:   nil,
}

// CanTransition reports whether an item may move from one state to another.
func CanTransition(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}
