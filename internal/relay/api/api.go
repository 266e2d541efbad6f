// Package api is the wire contract between clinicpro-relay and its agents: paths,
// request and response bodies, error codes and the document upload format. The
// server (internal/relay) and the agent's client (internal/relay/client) share it so
// the two cannot drift apart.
//
// Patient identifiers travel only in request and response bodies, never in a path or
// query string, so they cannot reach an access log or a reverse proxy's log. That is
// why patient lookup is POST /v1/patients/lookup with a JSON body, not the
// GET /v1/patients?nhi= the first sketch of the API had.
package api

import "time"

// Paths served by the relay's public listener.
const (
	PathEnrol    = "/v1/enrol"           // POST EnrolRequest → EnrolResponse (no auth: the code is the credential)
	PathToken    = "/oauth2/token"       // POST RFC 6749 client-credentials grant, form encoded
	PathLaunch   = "/v1/launch"          // POST LaunchRequest → Launch
	PathLookup   = "/v1/patients/lookup" // POST LookupRequest → Patient
	PathDocument = "/v1/documents"       // POST multipart (see below) → Document; GET /v1/documents/{id} → Document
	PathHealth   = "/v1/health"          // GET → Health (connector scoped)
	PathHealthz  = "/healthz"            // GET, no auth, no detail: the process is up
	PathReadyz   = "/readyz"             // GET, no auth, no detail: the registry answers
)

// HeaderCorrelation carries the correlation id in both directions. A client may set
// it; the relay keeps a well-formed one and otherwise makes its own. It is forwarded
// to ALEX as mt-correlationid so Medtech support can trace a request.
const HeaderCorrelation = "X-Correlation-Id"

// Document upload format (POST /v1/documents): multipart/form-data with exactly two
// parts, in this order, so the relay can validate everything about the request before
// it reads a single byte of the file and can stream the file without holding it:
//
//  1. name="metadata", Content-Type application/json: a DocumentMetadata, at most
//     MaxMetadataBytes.
//  2. name="file": the TIFF or PDF bytes. The relay sniffs the type from the bytes;
//     DocumentMetadata.ContentType must agree with what it finds.
//
// Any other part, order or an extra part is refused with 400 before ALEX is called.
const (
	PartMetadata     = "metadata"
	PartFile         = "file"
	MaxMetadataBytes = 16 << 10
	// MaxJSONBytes bounds every JSON request body.
	MaxJSONBytes = 16 << 10
)

// Content types ALEX accepts for the Inbox Scan folder.
const (
	ContentTypeTIFF = "image/tiff"
	ContentTypePDF  = "application/pdf"
)

// EnrolRequest exchanges an enrolment code for credentials. The code is a connector
// code (one PC, once) or a practice code (up to N PCs of one practice); the PC's host
// name names the connector a practice code creates, so the operator can tell the
// practice's PCs apart and revoke one.
type EnrolRequest struct {
	Code     string `json:"code"`
	Hostname string `json:"hostname,omitempty"` // at most 255 characters; the relay keeps a tidy 63
}

// EnrolResponse holds the connector's credentials. The secret is shown once: the
// relay keeps only its hash.
type EnrolResponse struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	Facility     string `json:"facility"`
	TokenURL     string `json:"tokenUrl"` // path relative to the relay URL, normally PathToken
}

// TokenResponse is the RFC 6749 section 5.1 access token response.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// TokenError is the RFC 6749 section 5.2 error response of the token endpoint, with
// our message and correlation id added so a person can act on it.
type TokenError struct {
	Error       string `json:"error"` // invalid_request, invalid_client, unsupported_grant_type, ...
	Description string `json:"error_description,omitempty"`
	Correlation string `json:"correlationId,omitempty"`
}

// LaunchRequest is the context and signature from a Medtech toolbar launch.
type LaunchRequest struct {
	Context   string `json:"context"`
	Signature string `json:"signature"`
}

// Patient is the banner: what a person needs to confirm it is the right patient, and
// the opaque ALEX id documents are filed against.
type Patient struct {
	ID        string `json:"id"` // ALEX Patient id, opaque, differs per facility
	NHI       string `json:"nhi"`
	Name      string `json:"name"`
	BirthDate string `json:"birthDate"` // YYYY-MM-DD as ALEX returns it
	// Family, Given and Sex let the tray draw the patient band: family name as ALEX
	// has it, given names space-separated, Sex as ALEX's Patient.gender code (male,
	// female, other, unknown; empty when ALEX sent none). Name stays "FAMILY, Given".
	Family string `json:"family,omitempty"`
	Given  string `json:"given,omitempty"`
	Sex    string `json:"sex,omitempty"`
}

// Launch is a decoded toolbar launch. Patient is nil when Medtech had no patient
// selected.
type Launch struct {
	Patient    *Patient  `json:"patient,omitempty"`
	ProviderID string    `json:"providerId,omitempty"`
	Facility   string    `json:"facility"`
	Created    time.Time `json:"created,omitzero"`
}

// LookupRequest finds a patient by NHI in the connector's facility.
type LookupRequest struct {
	NHI string `json:"nhi"`
}

// DocumentMetadata describes one upload. Exactly one of PatientID and NHI is set.
type DocumentMetadata struct {
	// IdempotencyKey names this document for good: replaying it returns the first
	// result and never writes to ALEX twice. 8 to 64 characters of [A-Za-z0-9._:-].
	IdempotencyKey string `json:"idempotencyKey"`
	// Supersedes is the key this upload replaces after a person chose Send again
	// (the earlier attempt's outcome could not be checked). The relay releases that
	// claim and records it in its audit; if that key is in fact stored, the answer
	// is that document, never a second one.
	Supersedes string `json:"supersedes,omitempty"`
	PatientID  string `json:"patientId,omitempty"`
	NHI        string `json:"nhi,omitempty"`
	// ProviderID is the launch's provider, the DocumentReference's author.
	ProviderID string `json:"providerId,omitempty"`
	// Title (at most MaxTitle characters) and Description (MaxDescription) are
	// cleaned with CleanText on both sides.
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Kind is KindPhoto or KindDocument; "" means DefaultKind(ContentType).
	Kind string `json:"kind,omitempty"`
	// Source is how the file came (Source* constants), kept in the relay's audit.
	Source     string `json:"source,omitempty"`
	Laterality string `json:"laterality,omitempty"` // Laterality* constants
	// BodySite is the site's text; BodySiteCode its SNOMED CT concept when picked
	// from BodySites (ValidateBodySite).
	BodySite     string `json:"bodySite,omitempty"`
	BodySiteCode string `json:"bodySiteCode,omitempty"`
	// ClinicalDate is when the photo was taken (EXIF DateTimeOriginal, else the
	// file's time), RFC 3339; it becomes DocumentReference.date. Defaults to the time
	// of upload.
	ClinicalDate string `json:"clinicalDate,omitempty"`
	ContentType  string `json:"contentType"` // image/tiff or application/pdf; checked against the bytes
	Size         int64  `json:"size"`        // exact byte count of the file part
}

// Document is what the relay reports about a document it wrote.
type Document struct {
	ID             string `json:"id"` // ALEX DocumentReference id
	IdempotencyKey string `json:"idempotencyKey"`
	Replayed       bool   `json:"replayed,omitempty"` // true when this key was already stored
	ContentType    string `json:"contentType"`
	Size           int64  `json:"size"`
	// SHA256 is the hex SHA-256 of the document. On upload: of the bytes the relay
	// received. On read-back: of the bytes ALEX returned when it returns them inline
	// (SHA256Source "alex"); otherwise of the bytes the relay sent, given only when
	// ALEX reports the same size (SHA256Source "relay").
	SHA256       string    `json:"sha256,omitempty"`
	SHA256Source string    `json:"sha256Source,omitempty"`
	Created      time.Time `json:"created"`
	Correlation  string    `json:"correlationId"` // of the request that wrote it
}

// Health is the connector-scoped health: the relay, its ALEX token, ALEX itself and
// this connector's facility (503 from ALEX means the practice's Hybrid Connection
// Manager is offline).
type Health struct {
	State       string        `json:"state"` // health.State values
	Summary     string        `json:"summary"`
	Checks      []HealthCheck `json:"checks"`
	LastSuccess time.Time     `json:"lastSuccess,omitzero"` // last ALEX call for this facility that worked
	At          time.Time     `json:"at"`
}

// HealthCheck names in Health: the relay writes them and the agent's checks read
// them, so both sides use these constants.
const (
	CheckRelay         = "relay"
	CheckALEXToken     = "alex.token"
	CheckALEXReachable = "alex.reachable"
	CheckFacility      = "facility.reachable"
)

// HealthCheck is one named check in Health (Check* names). Cause, when set on a
// failing check, is what the agent shows: its sentence and fix (see Cause).
type HealthCheck struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
	Cause  Cause  `json:"cause,omitempty"`
}

// Error is every non-2xx body of the /v1 API.
type Error struct {
	Code        string `json:"error"`   // one of the Code* constants
	Message     string `json:"message"` // one sentence: what happened and what to do
	Correlation string `json:"correlationId"`
}

// Error codes: the code says why, and the relay client turns it into a Cause (in
// the comment). The HTTP status follows HTTP's meaning for other clients and proxies;
// the agent acts on the code alone.
const (
	CodeInvalidRequest   = "invalid_request"        // 400, refused: fix the request, do not retry
	CodeUnauthorized     = "unauthorized"           // 401, retry: token missing, expired or revoked; fetch a new one
	CodeForbidden        = "forbidden"              // 403, refused: e.g. another facility's launch
	CodeNotFound         = "not_found"              // 404, refused
	CodeConflict         = "conflict"               // 409, refused: idempotency key reused for different bytes
	CodeTooLarge         = "too_large"              // 413, refused
	CodeUnsupportedMedia = "unsupported_media_type" // 415, refused
	CodeRateLimited      = "rate_limited"           // 429 with Retry-After, relay_busy: the relay limits this connector
	CodeRelayBusy        = "relay_busy"             // 503 with Retry-After, relay_busy: the relay has no capacity now
	CodeInternal         = "internal"               // 500, relay_failing
	CodeFacilityOffline  = "facility_offline"       // 503, facility_offline: ALEX says the practice is unreachable (HCM)
	CodeFacilityUnknown  = "facility_unknown"       // 403, facility_unknown: ALEX's "Practice Facility not found"
	CodeALEXSignIn       = "alex_sign_in"           // 502, alex_sign_in: ALEX refused the relay's own credentials
	CodeUpstream         = "upstream_unavailable"   // 502/504, alex_unavailable: ALEX failed or is unreachable; retry
	CodeALEXRateLimited  = "alex_rate_limited"      // 429 with Retry-After, alex_rate_limited
	CodeALEXForbidden    = "alex_forbidden"         // 403, alex_forbidden: ALEX's 403 "Authorization failed."
	CodeNotExposed       = "not_exposed"            // 501, not_exposed: ALEX's non-FHIR 404, the endpoint is not offered
	CodePatientNotFound  = "patient_not_found"      // 404, patient_not_found: no patient with that NHI at this facility
	CodePatientAmbiguous = "patient_ambiguous"      // 409, refused: more than one patient with that NHI
	CodeAmbiguous        = "ambiguous"              // 502, ambiguous: ALEX may or may not have stored it; retry with the same key
	CodeUnresolved       = "unresolved"             // 409, unresolved: it may be stored and ALEX cannot be searched to check; a person looks
	CodeEnrolCodeUsed    = "code_used"              // 400, refused: the enrolment code was used, or a practice code has enrolled all its PCs
	CodeEnrolCodeExpired = "code_expired"           // 400, refused: the enrolment code is past its validity
)
