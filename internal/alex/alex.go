// Package alex is the client of Medtech's ALEX FHIR R4 API: client-credentials OAuth2,
// the mt-* headers, the few resources this product reads and writes, and errors as
// types a caller can act on (see errors.go). Only the relay calls ALEX, because ALEX
// answers only allow-listed source IPs.
//
// Patient identifiers travel only in request bodies, ALEX's own query strings (which
// ALEX requires) and results; they never appear in error strings or CallInfo.
package alex

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	_ "time/tzdata" // Pacific/Auckland must load on Windows hosts without zoneinfo.

	"github.com/clinicpro/medtech-images/internal/nhi"
)

// BodySiteMode says where ScanDocument.Laterality/BodySite go on the wire. R4
// DocumentReference has no bodySite element and Medtech has not published how Evolution
// shows one, so this is configuration until Medtech confirms.
type BodySiteMode int

const (
	// BodySiteInDescription appends "Left knee" style text to description: always
	// visible in Evolution, never rejected.
	BodySiteInDescription BodySiteMode = iota
	// BodySiteExtension sends the R5 DocumentReference.bodySite as the standard
	// cross-version extension (unconfirmed whether ALEX keeps it).
	BodySiteExtension
	// BodySiteOmit sends neither.
	BodySiteOmit
)

// BodySiteExtensionURL is the FHIR cross-version extension for R5 DocumentReference.bodySite.
const BodySiteExtensionURL = "http://hl7.org/fhir/5.0/StructureDefinition/extension-DocumentReference.bodySite"

// DefaultMaxBytes is ALEX's reported attachment cap (8 MB).
const DefaultMaxBytes = 8 << 20

// Config configures a Client. BaseURL, TokenURL, ClientID, ClientSecret and Scope are
// required; all of them are per-environment configuration, never constants.
type Config struct {
	// BaseURL is the FHIR base, e.g. https://alexapiuat.medtechglobal.com/FHIR.
	BaseURL string
	// TokenURL is the Entra ID token endpoint.
	TokenURL     string
	ClientID     string
	ClientSecret string
	// Scope is api://<ALEX app GUID>/.default.
	Scope string
	// AppID is sent as mt-appid when set (accepted, not required).
	AppID string
	// HTTPClient carries the calls (and the token request); nil means a fresh client.
	// Its Timeout is ignored in favour of Timeout below.
	HTTPClient *http.Client
	// Timeout bounds each call, including a token refresh; default 60s.
	Timeout time.Duration
	// ReferenceBase is the absolute base for subject/author references; default BaseURL
	// with its trailing /FHIR in lowercase, as ALEX returns references.
	ReferenceBase string
	// IdentifierSystem, when set, is sent as DocumentReference/Media identifier.system.
	// CP's accepted payloads sent value only, so the default is empty.
	IdentifierSystem string
	// IdentifierSearch enables FindDocumentsByIdentifier. Whether ALEX supports
	// DocumentReference?identifier= is unconfirmed; alexsim does.
	IdentifierSearch bool
	// BodySite chooses where laterality/body site go (default BodySiteInDescription).
	BodySite BodySiteMode
	// MaxBytes caps a ScanDocument's size before any call; default DefaultMaxBytes.
	MaxBytes int64
	// ScanType is DocumentReference.type; default LOINC 72170-4 "Photographic image",
	// the code CP aligned to Medtech's v1.33 requirements (unconfirmed for PDFs).
	ScanTypeSystem, ScanTypeCode, ScanTypeDisplay string
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Client calls ALEX. It is safe for concurrent use.
type Client struct {
	cfg Config
}

var errNotImplemented = errors.New("alex: not implemented yet")

// New checks cfg and returns a Client. Tokens are fetched lazily, cached and refreshed
// before expiry; a call that gets 401 is repeated once with a fresh token.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" || cfg.TokenURL == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("alex: base URL, token URL, client id and client secret are required: check the relay's ALEX configuration")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Client{cfg: cfg}, nil
}

// FindPatientByNHI searches Patient?identifier=<NHI system>|<nhi>. No match gives
// ErrPatientNotFound.
func (c *Client) FindPatientByNHI(ctx context.Context, facility string, n nhi.NHI) (Patient, CallInfo, error) {
	return Patient{}, CallInfo{}, errNotImplemented
}

// ReadPatient reads Patient/{id}.
func (c *Client) ReadPatient(ctx context.Context, facility, id string) (Patient, CallInfo, error) {
	return Patient{}, CallInfo{}, errNotImplemented
}

// CreateScanDocument posts d as a DocumentReference for the Inbox Scan folder. It
// refuses (ErrContentType, ErrTooLarge, ErrInvalidDocument) before calling when d is
// not TIFF or PDF, does not match its declared type, is too large or lacks required
// fields. A failure after the body was sent is Ambiguous: look the document up with
// FindDocumentsByIdentifier before writing it again.
func (c *Client) CreateScanDocument(ctx context.Context, facility string, d ScanDocument) (Created, CallInfo, error) {
	return Created{}, CallInfo{}, errNotImplemented
}

// ReadDocumentReference reads DocumentReference/{id} (read-back after a create).
func (c *Client) ReadDocumentReference(ctx context.Context, facility, id string) (DocumentReference, CallInfo, error) {
	return DocumentReference{}, CallInfo{}, errNotImplemented
}

// FindDocumentsByIdentifier searches DocumentReference?identifier=<key>. It returns
// ErrNotSupported unless Config.IdentifierSearch is set. An empty result is not an
// error.
func (c *Client) FindDocumentsByIdentifier(ctx context.Context, facility, identifier string) ([]DocumentReference, CallInfo, error) {
	return nil, CallInfo{}, errNotImplemented
}

// CreateMedia posts m as a Media (Inbox Media folder).
func (c *Client) CreateMedia(ctx context.Context, facility string, m Media) (Created, CallInfo, error) {
	return Created{}, CallInfo{}, errNotImplemented
}

// SearchMediaByNHI searches Media?patient.identifier=<NHI system>|<nhi>, the only
// Media search shape ALEX accepts.
func (c *Client) SearchMediaByNHI(ctx context.Context, facility string, n nhi.NHI) ([]MediaSummary, CallInfo, error) {
	return nil, CallInfo{}, errNotImplemented
}

// ResolveLaunch decodes an Evolution toolbar launch through
// /vendorforms/api/getlaunchcontextstring/{context}/{signature}. ALEX checks the
// signature; we never verify it locally.
func (c *Client) ResolveLaunch(ctx context.Context, facility, launchContext, signature string) (LaunchContext, CallInfo, error) {
	return LaunchContext{}, CallInfo{}, errNotImplemented
}

// Ping checks that ALEX answers for facility with GET Location, which (unlike
// metadata) has to reach the practice's database, so an offline HCM shows as
// *FacilityOfflineError.
func (c *Client) Ping(ctx context.Context, facility string) (CallInfo, error) {
	return CallInfo{}, errNotImplemented
}
