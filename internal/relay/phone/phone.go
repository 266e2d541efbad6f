// Package phone holds the relay's phone-capture sessions: a GP presses Phone in a
// capture window, the agent opens a session here bound to its connector and that
// capture session, and the phone that scans the QR code sends photos which wait here
// until the agent has taken them.
//
// Everything lives in a Store (internal/relay/store: SQLite for one relay,
// PostgreSQL shared by several), photo bytes included, so a phone's upload may reach
// one relay and the agent's download another, and a relay may restart between the
// two. Nothing is kept in one process's memory but rate limits.
//
// Secrets: the link's token and the phone's cookie are 256-bit random values stored
// only as SHA-256 hashes. The token is spent by the first page load, which swaps it
// for the cookie (Pair), so the link alone never works twice.
package phone

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"time"
)

// Limits fixed by the product (issue 16). A relay's operator cannot raise them:
// they bound what one practice can leave on the relay's disk.
const (
	// UnpairedTTL is how long a link waits for a phone; PairedTTL how long a phone
	// may send once it has opened the link (from the moment it did).
	UnpairedTTL = 10 * time.Minute
	PairedTTL   = 30 * time.Minute
	// MaxPhotoBytes bounds one photo; the page sends at most 4032 px JPEGs, a few MB.
	MaxPhotoBytes = 25 << 20
	// MaxPhotos bounds the photos of one session, delivered or not.
	MaxPhotos = 40
	// MaxPieceBytes bounds one upload request: the page sends a photo in pieces of
	// PieceBytes so a dropped connection costs one piece, not the photo.
	PieceBytes    = 1 << 20
	MaxPieceBytes = 2 << 20
	// MaxOpenPerConnector bounds the sessions one PC holds open at once (one per
	// capture window; a GP has a few at most).
	MaxOpenPerConnector = 4
	// MaxConnectorBytes bounds the bytes one PC's sessions hold at the relay, counted
	// by the sizes the phone declared for photos not yet taken by the PC.
	MaxConnectorBytes = 256 << 20
)

// State is where a session is.
type State string

const (
	Waiting State = "waiting" // the link has not been opened
	Paired  State = "paired"  // a phone opened it and holds the cookie
	Closed  State = "closed"  // the capture window closed or saved, or the agent ended it
	Expired State = "expired" // UnpairedTTL or PairedTTL passed
)

// Open reports whether a session can still pair or take photos.
func (s State) Open() bool { return s == Waiting || s == Paired }

// Session is one phone-capture session. It carries no patient data: the capture
// session id is the agent's opaque random id, Practice is the practice's name.
type Session struct {
	ID         string // opaque, random: how the agent names it
	Connector  string
	Facility   string
	Capture    string // the agent's capture session id (opaque)
	Practice   string // shown on the phone
	Word       string // the match word, shown on the phone and in the capture window
	TokenHash  []byte
	DeviceHash []byte // the paired phone's cookie, hashed; nil until paired
	State      State
	Created    time.Time
	Paired     time.Time
	Expires    time.Time
	Ended      time.Time
	Photos     int   // photos started, any state
	Bytes      int64 // declared bytes of photos not yet delivered
}

// PhotoState is where one photo is.
type PhotoState string

const (
	Receiving PhotoState = "receiving" // pieces are arriving
	Ready     PhotoState = "ready"     // complete, waiting for the PC
	Delivered PhotoState = "delivered" // the PC took it; its bytes are erased
)

// Photo is one photo of a session. Key is the page's own idempotency key.
type Photo struct {
	ID          string
	Session     string
	Key         string
	Size        int64 // declared by the page; the photo is complete at Size bytes
	Received    int64
	ContentType string
	Taken       string // the camera's DateTimeOriginal as 2006-01-02T15:04:05, or ""
	State       PhotoState
	Created     time.Time
	Updated     time.Time
}

// Errors the store returns; the relay turns them into answers.
var (
	ErrNotFound      = errors.New("no such phone session or photo")
	ErrNotOpen       = errors.New("the phone session has ended")
	ErrTooManyOpen   = errors.New("this PC already has the most phone sessions open at once: close a capture window's phone code first")
	ErrConnectorFull = errors.New("this PC already has as many photos waiting at the relay as it may hold: wait for them to reach the PC")
	ErrTooManyPhotos = errors.New("this phone session already has 40 photos: open a new code in the capture window for more")
	ErrPhotoChanged  = errors.New("a photo with this key was started with another size")
	ErrAlreadyPaired = errors.New("the link was already opened")
	ErrNotReady      = errors.New("the photo has not arrived whole yet")
)

// OffsetError says a piece did not start where the photo stands: the page resumes
// from Received.
type OffsetError struct{ Received int64 }

func (e *OffsetError) Error() string {
	return "the piece does not start at the photo's received length"
}

// Secret returns a new 256-bit random value, base64url without padding (43
// characters), and its hash as stored.
func Secret() (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	s := base64.RawURLEncoding.EncodeToString(b)
	return s, Hash(s)
}

// Hash is how a token or cookie is stored and looked up.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

var secretRe = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// WellFormed reports whether s could be a Secret, so anything else is refused
// without a database lookup.
func WellFormed(s string) bool { return secretRe.MatchString(s) }

// NewID returns an opaque random id for a session or photo.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var idRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidID reports whether s could be an id from NewID.
func ValidID(s string) bool { return idRe.MatchString(s) }

var keyRe = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// ValidKey reports whether s is an acceptable photo idempotency key.
func ValidKey(s string) bool { return keyRe.MatchString(s) }

// NewWord returns a match word: one of a list of short, plain words and a number,
// e.g. "maple 47". Its job is to let the GP see that the phone reached this window
// and not another; it is not a secret.
func NewWord() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(words)*90)))
	i := int(n.Int64())
	return words[i/90] + " " + itoa(10+i%90)
}

func itoa(n int) string {
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}

// words are easy to say aloud and read on a small screen: no homophones, no words a
// patient could take amiss.
var words = strings.Fields(`amber anchor apple arrow aspen badger basil beacon berry birch
bison cedar cherry clover cobalt comet coral cotton cricket crystal daisy delta dolphin
ember falcon fern fig finch flint forest garnet ginger glacier harbor hazel heron honey
indigo iris ivory jasper juniper kestrel kiwi lagoon lantern lemon lilac linen lotus
magnet mango maple marble meadow mint nectar olive onyx orchid otter panda pebble pepper
pine planet plum polar poppy quartz quill raven reef ribbon river robin saffron sage
salmon sierra silver sparrow spruce summit tango thistle tiger topaz tulip valley velvet
violet walnut willow wren zephyr`)

// TakenLayout is how the page sends the camera's DateTimeOriginal (local time, as
// the camera wrote it: EXIF has no zone unless OffsetTimeOriginal is set).
const TakenLayout = "2006-01-02T15:04:05"

// ValidTaken reports whether s is "" or a plausible TakenLayout time.
func ValidTaken(s string) bool {
	if s == "" {
		return true
	}
	t, err := time.Parse(TakenLayout, s)
	return err == nil && t.Year() >= 1990 && t.Year() <= 2200
}
