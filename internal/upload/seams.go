// Package upload drains the durable queue: convert, send through the relay, verify
// by reading back, apply the source action, mark sent. Failures that may pass are
// retried with jittered backoff (honouring Retry-After); while the relay, ALEX or the
// practice is down a circuit breaker pauses everything and probes until it is back;
// anything the far side refuses outright is parked with a reason a person can act on.
package upload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/queue"
)

// ConvertRequest is one file to turn into what Medtech accepts.
type ConvertRequest struct {
	Path       string // the spool copy; read only
	FileName   string // original base name, for format sniffing hints
	Format     config.Format
	ByteBudget int64
	Rotation   int // extra clockwise degrees the GP asked for
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
	Correlation    string // mt-correlationid
	Facility       string
	Patient        queue.Patient
	Title          string
	Laterality     string
	BodySite       string
	FileName       string
	ContentType    string
	Data           []byte
	Created        time.Time // when the item was taken
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
// Verdict: the client knows the relay's wire format, so it alone decides what a
// status means and the uploader never reads statuses to decide. Any other error is
// an Outage, since nothing is known to have answered.
type Relay interface {
	Upload(ctx context.Context, d Document) (Receipt, error)
	ReadBack(ctx context.Context, documentID, correlation string) (Stored, error)
}

// Verdict is how a relay failure is handled.
type Verdict int

const (
	// Outage: the relay, ALEX or the practice is unreachable, or this PC's
	// credentials are refused; every item would fail alike, so it trips the breaker
	// and does not count against the item. The zero value, because an error nobody
	// classified is one nothing is known to have answered.
	Outage Verdict = iota
	// Transient: try this item again later (429, 408, 425, a refused token).
	Transient
	// Refused: the far side refused this item; park it.
	Refused
)

func (v Verdict) String() string {
	switch v {
	case Outage:
		return "outage"
	case Transient:
		return "transient"
	case Refused:
		return "refused"
	}
	return "unknown"
}

// Error is a relay failure in the form the uploader understands.
type Error struct {
	Verdict Verdict
	Status  int           // HTTP status, for the park reason and health text; 0: no answer
	After   time.Duration // Retry-After, if the answer carried one
	Msg     string        // a sentence a person can act on
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	if e.Status == 0 {
		return "The relay could not be reached."
	}
	return fmt.Sprintf("The relay answered HTTP %d.", e.Status)
}

// classify reads the verdict off a relay error. Retry-After is ignored on a refusal:
// the item is parked, not retried.
func classify(err error) (Verdict, time.Duration) {
	var e *Error
	switch {
	case errors.As(err, &e):
		if e.Verdict == Refused {
			return Refused, 0
		}
		return e.Verdict, e.After
	case errors.Is(err, context.Canceled):
		return Transient, 0
	}
	return Outage, 0
}

// temporary reports whether a converter error says it may pass.
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
