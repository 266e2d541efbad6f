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
// Errors are understood through these optional methods, so the relay client's own
// error types can be returned unchanged: StatusCode() int (the HTTP status; 0 or
// absent means the request did not get an answer), RetryAfter() time.Duration, and
// Error() text that is a sentence a person can act on. *Error implements them all.
type Relay interface {
	Upload(ctx context.Context, d Document) (Receipt, error)
	ReadBack(ctx context.Context, documentID, correlation string) (Stored, error)
}

// Error is a relay failure in the form the uploader understands.
type Error struct {
	Status int           // HTTP status; 0: no answer (network failure, timeout)
	After  time.Duration // Retry-After, if the answer carried one
	Msg    string        // a sentence a person can act on
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

func (e *Error) StatusCode() int           { return e.Status }
func (e *Error) RetryAfter() time.Duration { return e.After }

// class is how a failure is handled.
type class int

const (
	// outage: the relay, ALEX or the practice is unreachable; trips the breaker and
	// does not count against the item.
	outage class = iota
	// transient: try this item again later (429, 408, a read-back hiccup).
	transient
	// permanent: the far side refused this item; park it.
	permanent
)

// classify sorts an error from the relay. Only a definite 4xx refusal is permanent:
// an error we do not understand is retried, because parking loses nothing but
// retrying never loses a chance either, and the backoff keeps it cheap.
func classify(err error) (class, time.Duration) {
	var after time.Duration
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		after = ra.RetryAfter()
	}
	status := statusOf(err)
	switch {
	case status == 429 || status == 408 || status == 425:
		return transient, after
	case status == 401:
		// The relay client refreshes tokens itself; a 401 that reaches us means
		// this PC's credentials are refused, which affects every item.
		return outage, after
	case status >= 400 && status < 500:
		return permanent, 0
	case errors.Is(err, context.Canceled):
		return transient, 0
	default: // 5xx (503: the practice is offline), no answer, timeouts
		return outage, after
	}
}

// temporary reports whether a converter error says it may pass.
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
