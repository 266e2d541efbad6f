package api

import "time"

// Phone capture (issue 16). The agent opens a phone session for one capture window
// and shows its link as a QR code; the phone opens the link, which is the relay's own
// page (PathPhonePage + token), and sends photos there; the agent long-polls for
// them, downloads each and acknowledges it, and the relay erases it.
const (
	PathPhoneSessions = "/v1/phone/sessions" // POST PhoneOpen → PhoneSession; DELETE /v1/phone/sessions/{id} ends it
	PathPhonePoll     = "/v1/phone/poll"     // POST PhonePoll → PhoneUpdate, held up to WaitSeconds until something changed
	PathPhonePhotos   = "/v1/phone/photos"   // GET /v1/phone/photos/{id} → the photo's bytes; DELETE acknowledges (the relay erases it)
	PathPhonePage     = "/m/"                // GET /m/{token}: the phone's page (no auth: the token, then a cookie)
)

// Headers of a phone photo's download.
const (
	// HeaderPhotoTaken is the camera's DateTimeOriginal as the phone read it before
	// re-encoding (2006-01-02T15:04:05, the camera's local time), or absent.
	HeaderPhotoTaken = "X-Photo-Taken"
)

// PhoneMaxWait bounds PhonePoll.WaitSeconds: under every proxy's idle timeout.
const PhoneMaxWait = 25

// Phone session states, as PhoneSession.State.
const (
	PhoneWaiting = "waiting" // the link has not been opened
	PhonePaired  = "paired"  // a phone opened it; only that phone may send
	PhoneClosed  = "closed"  // ended by the PC (the capture window closed or saved)
	PhoneExpired = "expired" // 10 minutes unpaired or 30 minutes paired passed
)

// PhoneOpen asks for a phone session for one capture window. Capture is the agent's
// own opaque capture session id (32 hex digits): it carries no patient data.
type PhoneOpen struct {
	Capture string `json:"capture"`
}

// PhoneSession is a phone session as the agent sees it.
type PhoneSession struct {
	ID string `json:"id"`
	// Path is the page's path with the link's token, PathPhonePage + token, only in
	// the answer to PhoneOpen: the agent joins it to the relay URL it was enrolled
	// with, which must be a name the phone can reach. The relay keeps only a hash.
	Path     string    `json:"path,omitempty"`
	Word     string    `json:"word"`     // the match word the phone shows too
	Practice string    `json:"practice"` // the practice name the phone shows
	State    string    `json:"state"`    // Phone* states
	Expires  time.Time `json:"expires"`
	// Uploading counts photos the phone has started and not finished sending.
	Uploading int `json:"uploading"`
	// Ready are the photos waiting for the PC: download each, then acknowledge it.
	Ready []PhonePhoto `json:"ready,omitempty"`
}

// PhonePhoto is one photo waiting at the relay.
type PhonePhoto struct {
	ID          string `json:"id"`
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"` // image/jpeg or image/png, sniffed by the relay
	Taken       string `json:"taken,omitempty"`
}

// PhonePoll asks about the agent's sessions. The relay answers at once when any of
// them differs from what the agent knows (state or uploading count) or has photos
// ready, and otherwise within WaitSeconds (at most PhoneMaxWait).
type PhonePoll struct {
	Known       []PhoneKnown `json:"known"`
	WaitSeconds int          `json:"waitSeconds"`
}

// PhoneKnown is what the agent last saw of one session.
type PhoneKnown struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	Uploading int    `json:"uploading"`
}

// PhoneUpdate answers PhonePoll with every known session the relay still has, in
// the order asked; a session the relay no longer has comes back Expired.
type PhoneUpdate struct {
	Sessions []PhoneSession `json:"sessions"`
}
