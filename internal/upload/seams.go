// Package upload drains the durable queue: convert, send through the relay, verify
// by reading back, apply the source action, mark sent. Failures that may pass are
// retried with jittered backoff (honouring Retry-After); while the relay, ALEX or the
// practice is down a circuit breaker pauses everything and probes until it is back;
// anything the far side refuses outright is parked with a reason a person can act on.
package upload

import (
	"context"
	"errors"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/queue"
	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// ConvertRequest is one file to turn into what Medtech accepts.
type ConvertRequest struct {
	Path       string // the spool copy; read only
	FileName   string // original base name, for format sniffing hints
	Format     config.Format
	ByteBudget int64
	Rotation   int // extra clockwise degrees the GP asked for
	// Crop is the part of the upright image to send (before Rotation); the zero
	// Crop sends it whole.
	Crop queue.Crop
}

// Converted is the converter's output.
type Converted struct {
	Data        []byte
	ContentType string // "image/tiff" or "application/pdf"
	FileName    string // attachment title suggestion, e.g. "knee.tiff"
}

// Converter turns a spool file into TIFF or PDF under the byte budget
// (internal/imaging in production). Its errors park the item, with the error text as
// the reason, unless they have a Temporary() bool method that says true.
type Converter interface {
	Convert(ctx context.Context, req ConvertRequest) (Converted, error)
}

// Document is what is sent to the relay for one item.
type Document struct {
	IdempotencyKey string // goes in DocumentReference.identifier
	// Supersedes is the key this upload replaces after a person chose Send again.
	Supersedes   string
	Correlation  string // mt-correlationid
	Facility     string
	Patient      queue.Patient // with the launch's provider, the author
	Title        string        // cleaned and cut to api.MaxTitle
	Kind         string        // api.KindPhoto or api.KindDocument, decided by now
	Source       string        // api.Source*
	Laterality   string
	BodySite     string
	BodySiteCode string
	FileName     string
	ContentType  string
	Data         []byte
	// Taken is when the photo was taken (EXIF, else the file's time), or when the
	// item was queued when neither is known: never when it happened to be sent.
	Taken time.Time
}

// Receipt is the relay's answer to an upload.
type Receipt struct {
	DocumentID string // ALEX DocumentReference id
}

// Stored is what reading a document back returned: the bytes, or, when the relay
// reports only a digest of what ALEX holds, their SHA-256. Either is compared with
// what was sent.
type Stored struct {
	ContentType string
	Data        []byte
	SHA256      string // hex; used when Data is nil
}

// Relay is the agent side of clinicpro-relay (internal/relay/client in production).
// A repeated Upload with the same IdempotencyKey must return the first document's id
// rather than create another.
//
// Its failures should be *Error (wrapped is fine) carrying the relay client's
// api.Cause: the client knows the relay's wire format, so it alone decides what an
// answer means and the uploader acts on the cause's scope. Any other error is
// CauseRelayUnreachable, since nothing is known to have answered.
type Relay interface {
	Upload(ctx context.Context, d Document) (Receipt, error)
	ReadBack(ctx context.Context, documentID, correlation string) (Stored, error)
}

// Error is a relay failure in the form the uploader understands.
type Error struct {
	Cause       api.Cause
	After       time.Duration // Retry-After, if the answer carried one
	Msg         string        // a sentence a person can act on
	Correlation string        // of the failed request, for support
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return e.Cause.Sentence()
}

// RelayCause implements api.Causer.
func (e *Error) RelayCause() api.Cause { return e.Cause }

// classify reads the cause off a relay error. Retry-After counts only for causes
// that wait: an item that is parked or reassigned is not retried.
func classify(err error) (api.Cause, time.Duration, string) {
	var e *Error
	switch {
	case errors.As(err, &e):
		c := e.Cause
		if !c.Known() {
			c = api.CauseRelayFailing
		}
		switch c.Scope() {
		case api.ScopePark, api.ScopeUnassign:
			return c, 0, e.Correlation
		}
		return c, e.After, e.Correlation
	case errors.Is(err, context.Canceled):
		return api.CauseRetry, 0, ""
	}
	if c := api.CauseOf(err); c.Known() {
		return c, 0, ""
	}
	return api.CauseRelayUnreachable, 0, ""
}

// temporary reports whether a converter error says it may pass.
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
