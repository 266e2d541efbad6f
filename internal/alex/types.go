package alex

import (
	"io"
	"log/slog"
	"time"

	"github.com/clinicpro/medtech-images/internal/fhir"
	"github.com/clinicpro/medtech-images/internal/nhi"
)

// Content types ALEX accepts for the Inbox Scan folder. Anything else is refused before
// a call is made (ALEX rejects JPEG there and has no Binary POST).
const (
	ContentTypeTIFF = "image/tiff"
	ContentTypePDF  = "application/pdf"
)

// CallInfo describes one completed exchange with ALEX, for audit and support.
type CallInfo struct {
	// Correlation is the mt-correlationid sent; quote it to Medtech support.
	Correlation string
	// Status is the final HTTP status (0 when no response arrived).
	Status int
	// Duration is the wall time of the call including a token refresh and retry.
	Duration time.Duration
	// Attempts is 2 when the call was repeated once with a fresh token after a 401.
	Attempts int
}

// Patient is what we need of an ALEX Patient. It is patient data: never log it (its
// LogValue redacts everything but whether an id is present).
type Patient struct {
	// ID is ALEX's opaque 32-hex id, which differs per facility.
	ID        string
	NHI       nhi.NHI // zero when ALEX returned no valid NHI
	Family    string
	Given     []string
	BirthDate string // YYYY-MM-DD as sent by ALEX (FHIR date; may be partial)
	Gender    string
}

// LogValue keeps patient data out of logs even when a Patient is logged by mistake.
func (p Patient) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("has_id", p.ID != ""), slog.Bool("has_nhi", p.NHI != ""))
}

// ScanDocument is one file for the Evolution Inbox Scan folder (POST DocumentReference).
//
// Give the bytes either as Data or as Content+Size. Content is read with ReadAt so the
// body can be streamed (base64 on the fly, bounded memory) and replayed after a 401;
// an *os.File fits.
type ScanDocument struct {
	// Identifier is the idempotency key, sent as DocumentReference.identifier. Required:
	// it lets a caller find the document after an ambiguous failure.
	Identifier string
	// PatientID is ALEX's Patient id in this facility. Required.
	PatientID string
	// ProviderID is the Practitioner id of the author; optional.
	ProviderID string
	// Title becomes content.attachment.title (Medtech shows it as the file name).
	Title string
	// Description becomes DocumentReference.description.
	Description string
	// ContentType must be ContentTypeTIFF or ContentTypePDF and must match the bytes.
	ContentType string
	Data        []byte
	Content     io.ReaderAt
	Size        int64
	// Date is when the image was taken or scanned: DocumentReference.date and the
	// attachment's creation, sent with the Pacific/Auckland offset. Zero means now.
	Date time.Time
	// Type is DocumentReference.type; zero means Config's default (a photograph).
	Type fhir.Coding
	// Laterality (a SNOMED CT qualifier) and BodySite (Display is its text, Code its
	// SNOMED CT concept when known) are optional. Where they go on the wire is not
	// confirmed by Medtech: see Config.BodySite.
	Laterality fhir.Coding
	BodySite   fhir.Coding
}

// Created is what ALEX returned for a successful create (201).
type Created struct {
	// ID is the new resource's id, from the Location header or the body.
	ID        string
	VersionID string
	// Location is the absolute Location header (ALEX spells it with lowercase /fhir).
	Location string
	ETag     string
	// Stored is the resource as ALEX's answer to the create gave it, when that answer
	// carried the attachment (its data or its size); nil otherwise. It lets the relay
	// answer a read-back without a second call.
	Stored *DocumentReference
}

// DocumentReference is what a read-back returns.
type DocumentReference struct {
	ID          string
	VersionID   string
	Identifiers []string
	Status      string
	// PatientID is the id part of subject.reference.
	PatientID   string
	Date        string
	Description string
	ContentType string
	Title       string
	// Size is the attachment size: the "size" field when present, else len(Data).
	Size int64
	// Data is the attachment when ALEX returned it inline.
	Data []byte
}

// Media is an image for the Evolution Inbox Media folder (POST Media). Media show only
// as an external "View" link, so the product writes ScanDocument instead; Media exists
// for completeness and diagnostics.
type Media struct {
	Identifier  string // required by ALEX (400 business-rule without it)
	PatientID   string
	ProviderID  string
	Title       string
	ContentType string // e.g. image/jpeg
	Data        []byte
	Created     time.Time // zero means now
}

// MediaSummary is one Media from a search.
type MediaSummary struct {
	ID          string
	Identifiers []string
	ContentType string
	Title       string
	Created     string
}

// LaunchContext is the decoded Evolution toolbar launch.
type LaunchContext struct {
	// PatientID is empty when no patient was selected in Evolution.
	PatientID string
	// FacilityCode is the HPI facility id to use as mt-facilityid.
	FacilityCode string
	ProviderID   string
	// CreatedTime is parsed from createdTime when it is RFC 3339 or a similar form;
	// CreatedRaw keeps ALEX's text because its format is not published.
	CreatedTime time.Time
	CreatedRaw  string
}
