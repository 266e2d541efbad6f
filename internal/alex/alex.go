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
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	_ "time/tzdata" // Pacific/Auckland must load on Windows hosts without zoneinfo.

	"golang.org/x/oauth2"

	"github.com/clinicpro/medtech-images/internal/fhir"
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
	// BodySiteBoth sends the text in description and the coded extension.
	BodySiteBoth
)

// ParseBodySiteMode reads relay.toml's body_site: description (the default),
// extension, both or omit.
func ParseBodySiteMode(s string) (BodySiteMode, error) {
	switch s {
	case "", "description":
		return BodySiteInDescription, nil
	case "extension":
		return BodySiteExtension, nil
	case "both":
		return BodySiteBoth, nil
	case "omit":
		return BodySiteOmit, nil
	}
	return 0, fmt.Errorf("body_site %q is not one of description, extension, both or omit", s)
}

// BodySiteExtensionURL is the FHIR cross-version extension for R5 DocumentReference.bodySite.
const BodySiteExtensionURL = "http://hl7.org/fhir/5.0/StructureDefinition/extension-DocumentReference.bodySite"

// SearchShape is how FindDocuments looks for our own document in ALEX. Medtech has
// not said which DocumentReference search it allows, so this is configuration.
type SearchShape string

const (
	// SearchByPatientNHI sends DocumentReference?patient.identifier=<NHI system>|<nhi>,
	// the chained shape ALEX allows for clinical resources (recorded for Media; not
	// yet for DocumentReference), and matches our identifier among the results.
	SearchByPatientNHI SearchShape = "patient.identifier"
	// SearchByIdentifier sends DocumentReference?identifier=<value>: no patient filter,
	// which real ALEX refuses with 403 "Authorization failed.".
	SearchByIdentifier SearchShape = "identifier"
	// SearchNone never searches: an ambiguous write waits for a person.
	SearchNone SearchShape = "none"
)

// ParseSearchShape checks a configured shape; "" is the default.
func ParseSearchShape(s string) (SearchShape, error) {
	switch SearchShape(s) {
	case "":
		return SearchByPatientNHI, nil
	case SearchByPatientNHI, SearchByIdentifier, SearchNone:
		return SearchShape(s), nil
	}
	return "", fmt.Errorf("document search %q is not one of %s, %s or %s", s, SearchByPatientNHI, SearchByIdentifier, SearchNone)
}

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
	// DocumentSearch is the search FindDocuments sends to find a document after an
	// ambiguous write; default SearchByPatientNHI.
	DocumentSearch SearchShape
	// BodySite chooses where laterality/body site go (default BodySiteInDescription).
	BodySite BodySiteMode
	// MaxBytes caps a ScanDocument's size before any call; default DefaultMaxBytes.
	MaxBytes int64
	// ScanType is DocumentReference.type; default LOINC 72170-4 "Photographic image",
	// the code CP aligned to Medtech's v1.33 requirements (unconfirmed for PDFs).
	ScanTypeSystem, ScanTypeCode, ScanTypeDisplay string
	// LaunchBaseURL is where /vendorforms/api/getlaunchcontextstring lives; default the
	// BaseURL without its /FHIR segment, as that endpoint is not a FHIR resource
	// (unconfirmed: set it if Medtech's host differs).
	LaunchBaseURL string
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Client calls ALEX. It is safe for concurrent use.
type Client struct {
	cfg     Config
	http    *http.Client
	tokens  *tokens
	refBase string
}

// New checks cfg and returns a Client. Tokens are fetched lazily, cached and refreshed
// before expiry; a call that gets 401 is repeated once with a fresh token.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" || cfg.TokenURL == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("alex: base URL, token URL, client id and client secret are required: check the relay's ALEX configuration")
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("alex: the ALEX base URL must be an http(s) URL such as https://alexapiuat.medtechglobal.com/FHIR: fix the relay's configuration")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DocumentSearch == "" {
		cfg.DocumentSearch = SearchByPatientNHI
	}
	if _, err := ParseSearchShape(string(cfg.DocumentSearch)); err != nil {
		return nil, fmt.Errorf("alex: %w: fix the relay's configuration", err)
	}
	if cfg.ScanTypeCode == "" {
		cfg.ScanTypeSystem, cfg.ScanTypeCode, cfg.ScanTypeDisplay = "http://loinc.org", "72170-4", "Photographic image"
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	} else {
		// The per-call context deadline is the one timeout; a client-wide one would cut
		// a large upload short without saying so.
		copied := *hc
		copied.Timeout = 0
		hc = &copied
	}
	root := stripFHIR(cfg.BaseURL)
	if cfg.ReferenceBase == "" {
		cfg.ReferenceBase = root + "/fhir"
	}
	if cfg.LaunchBaseURL == "" {
		cfg.LaunchBaseURL = root
	}
	cfg.LaunchBaseURL = strings.TrimRight(cfg.LaunchBaseURL, "/")
	c := &Client{cfg: cfg, http: hc, refBase: strings.TrimRight(cfg.ReferenceBase, "/")}
	c.tokens = &tokens{http: hc, now: cfg.Now}
	c.tokens.cc.ClientID = cfg.ClientID
	c.tokens.cc.ClientSecret = cfg.ClientSecret
	c.tokens.cc.TokenURL = cfg.TokenURL
	c.tokens.cc.AuthStyle = oauth2.AuthStyleInParams // Entra documents the form fields
	if cfg.Scope != "" {
		c.tokens.cc.Scopes = []string{cfg.Scope}
	}
	return c, nil
}

// stripFHIR removes a trailing /FHIR (any case) from a base URL.
func stripFHIR(base string) string {
	if i := strings.LastIndex(strings.ToLower(base), "/fhir"); i >= 0 && i == len(base)-len("/fhir") {
		return base[:i]
	}
	return base
}

// ReferenceBase is the absolute base used in subject/author references.
func (c *Client) ReferenceBase() string { return c.refBase }

// FindPatientByNHI searches Patient?identifier=<NHI system>|<nhi>. No match gives
// ErrPatientNotFound and more than one ErrMultiplePatients (inside a *CallError).
func (c *Client) FindPatientByNHI(ctx context.Context, facility string, n nhi.NHI) (Patient, CallInfo, error) {
	const op = "search Patient by NHI"
	q := url.Values{"identifier": {fhir.NHISystem + "|" + string(n)}}
	res, info, err := c.do(ctx, facility, request{op: op, method: http.MethodGet, url: c.fhirURL("Patient", q)})
	if err != nil {
		return Patient{}, info, err
	}
	sr, err := ParseSearch(res.body, "Patient")
	if err != nil {
		return Patient{}, info, c.wrap(op, facility, info, err)
	}
	switch len(sr.Resources) {
	case 0:
		return Patient{}, info, c.wrap(op, facility, info, ErrPatientNotFound)
	case 1:
	default:
		return Patient{}, info, c.wrap(op, facility, info, ErrMultiplePatients)
	}
	p, err := toPatient(sr.Resources[0])
	if err != nil {
		return Patient{}, info, c.wrap(op, facility, info, err)
	}
	return p, info, nil
}

// errNoID guards reads: "Patient/" with no id would turn into a search.
var errNoID = errors.New("no resource id was given to read: this is a bug in the caller")

// wrap makes a *CallError for a failure found after a successful HTTP exchange.
func (c *Client) wrap(op, facility string, info CallInfo, err error) error {
	return &CallError{Op: op, Facility: facility, Correlation: info.Correlation, Status: info.Status, Err: err}
}

// ReadPatient reads Patient/{id}.
func (c *Client) ReadPatient(ctx context.Context, facility, id string) (Patient, CallInfo, error) {
	const op = "read Patient"
	if id == "" {
		info := CallInfo{Correlation: correlationFrom(ctx)}
		return Patient{}, info, c.wrap(op, facility, info, errNoID)
	}
	res, info, err := c.do(ctx, facility, request{op: op, method: http.MethodGet, url: c.fhirURL("Patient/"+url.PathEscape(id), nil)})
	if err != nil {
		return Patient{}, info, err
	}
	p, err := toPatient(res.body)
	if err != nil {
		return Patient{}, info, c.wrap(op, facility, info, err)
	}
	return p, info, nil
}

// CreateScanDocument posts d as a DocumentReference for the Inbox Scan folder. It
// refuses (ErrContentType, ErrTooLarge, ErrInvalidDocument) before calling when d is
// not TIFF or PDF, does not match its declared type, is too large or lacks required
// fields. The base64 body is streamed from d, so memory does not grow with the file.
// A failure for which Ambiguous is true may have stored the document: look it up with
// FindDocumentsByIdentifier before writing it again.
func (c *Client) CreateScanDocument(ctx context.Context, facility string, d ScanDocument) (Created, CallInfo, error) {
	const op = "create DocumentReference"
	info := CallInfo{Correlation: correlationFrom(ctx)}
	ctx = WithCorrelation(ctx, info.Correlation)
	if err := c.checkScan(d); err != nil {
		return Created{}, info, &CallError{Op: op, Facility: facility, Correlation: info.Correlation, Write: true, Err: err}
	}
	body, err := c.scanBody(d)
	if err != nil {
		return Created{}, info, &CallError{Op: op, Facility: facility, Correlation: info.Correlation, Write: true, Err: err}
	}
	res, info, err := c.do(ctx, facility, request{op: op, method: http.MethodPost, url: c.fhirURL("DocumentReference", nil), body: body})
	if err != nil {
		return Created{}, info, err
	}
	return created(res, "DocumentReference"), info, nil
}

// created reads the new id from Location, else from the body.
func created(res response, typ string) Created {
	cr := Created{Location: res.header.Get("Location"), ETag: res.header.Get("ETag")}
	cr.ID, cr.VersionID = idFromLocation(cr.Location, typ)
	if cr.ID == "" {
		var b struct {
			ID   string     `json:"id"`
			Meta *fhir.Meta `json:"meta"`
		}
		if json.Unmarshal(res.body, &b) == nil {
			cr.ID = b.ID
			if b.Meta != nil && cr.VersionID == "" {
				cr.VersionID = b.Meta.VersionID
			}
		}
	}
	if typ == "DocumentReference" {
		if d, err := toDocumentReference(res.body); err == nil && d.Size > 0 {
			cr.Stored = &d
		}
	}
	return cr
}

// ReadDocumentReference reads DocumentReference/{id} (read-back after a create).
func (c *Client) ReadDocumentReference(ctx context.Context, facility, id string) (DocumentReference, CallInfo, error) {
	const op = "read DocumentReference"
	if id == "" {
		info := CallInfo{Correlation: correlationFrom(ctx)}
		return DocumentReference{}, info, c.wrap(op, facility, info, errNoID)
	}
	res, info, err := c.do(ctx, facility, request{op: op, method: http.MethodGet, url: c.fhirURL("DocumentReference/"+url.PathEscape(id), nil)})
	if err != nil {
		return DocumentReference{}, info, err
	}
	d, err := toDocumentReference(res.body)
	if err != nil {
		return DocumentReference{}, info, c.wrap(op, facility, info, err)
	}
	return d, info, nil
}

// FindDocuments looks for the document whose identifier value is identifier, with
// the configured search shape; patient is its patient's NHI, which the chained shape
// needs. Our identifier is matched here, on our side, so a search that returns the
// patient's other documents still finds only ours. It returns ErrNoSearch without a
// call when the configuration allows none (or no NHI is known for the chained
// shape), and ALEX's own refusal (403 ErrAuthorizationFailed) as an error. An empty
// result is not an error.
func (c *Client) FindDocuments(ctx context.Context, facility, identifier string, patient nhi.NHI) ([]DocumentReference, CallInfo, error) {
	const op = "search DocumentReference"
	var q url.Values
	switch c.cfg.DocumentSearch {
	case SearchByPatientNHI:
		if patient != "" {
			q = url.Values{"patient.identifier": {fhir.NHISystem + "|" + string(patient)}}
		}
	case SearchByIdentifier:
		v := identifier
		if c.cfg.IdentifierSystem != "" {
			v = c.cfg.IdentifierSystem + "|" + identifier
		}
		q = url.Values{"identifier": {v}}
	}
	if q == nil {
		info := CallInfo{Correlation: correlationFrom(ctx)}
		return nil, info, c.wrap(op, facility, info, ErrNoSearch)
	}
	res, info, err := c.do(ctx, facility, request{op: op, method: http.MethodGet, url: c.fhirURL("DocumentReference", q)})
	if err != nil {
		return nil, info, err
	}
	sr, err := ParseSearch(res.body, "DocumentReference")
	if err != nil {
		return nil, info, c.wrap(op, facility, info, err)
	}
	var out []DocumentReference
	for _, raw := range sr.Resources {
		d, err := toDocumentReference(raw)
		if err != nil {
			return nil, info, c.wrap(op, facility, info, err)
		}
		if slices.Contains(d.Identifiers, identifier) {
			out = append(out, d)
		}
	}
	return out, info, nil
}

// CreateMedia posts m as a Media (Inbox Media folder).
func (c *Client) CreateMedia(ctx context.Context, facility string, m Media) (Created, CallInfo, error) {
	const op = "create Media"
	at := m.Created
	if at.IsZero() {
		at = c.cfg.Now()
	}
	fm := fhir.Media{
		ResourceType:    "Media",
		Status:          "completed",
		Type:            &fhir.CodeableConcept{Coding: []fhir.Coding{{System: fhir.MediaTypeSystem, Code: "image", Display: "Image"}}},
		Subject:         &fhir.Reference{Reference: c.refBase + "/Patient/" + m.PatientID},
		CreatedDateTime: fhirDateTime(at),
		Content:         fhir.Attachment{ContentType: m.ContentType, Data: m.Data, Title: m.Title},
	}
	// An empty identifier is sent as such: ALEX's own 400 is the authority on it.
	if m.Identifier != "" {
		fm.Identifier = []fhir.Identifier{{System: c.cfg.IdentifierSystem, Value: m.Identifier}}
	}
	if m.ProviderID != "" {
		fm.Operator = &fhir.Reference{Reference: c.refBase + "/Practitioner/" + m.ProviderID}
	}
	body, err := jsonBody(fm)
	if err != nil {
		info := CallInfo{Correlation: correlationFrom(ctx)}
		return Created{}, info, c.wrap(op, facility, info, err)
	}
	res, info, err := c.do(ctx, facility, request{op: op, method: http.MethodPost, url: c.fhirURL("Media", nil), body: body})
	if err != nil {
		return Created{}, info, err
	}
	return created(res, "Media"), info, nil
}

// SearchMediaByNHI searches Media?patient.identifier=<NHI system>|<nhi>, the only
// Media search shape ALEX accepts (patient= and subject= give 403).
func (c *Client) SearchMediaByNHI(ctx context.Context, facility string, n nhi.NHI) ([]MediaSummary, CallInfo, error) {
	const op = "search Media by NHI"
	q := url.Values{"patient.identifier": {fhir.NHISystem + "|" + string(n)}}
	res, info, err := c.do(ctx, facility, request{op: op, method: http.MethodGet, url: c.fhirURL("Media", q)})
	if err != nil {
		return nil, info, err
	}
	sr, err := ParseSearch(res.body, "Media")
	if err != nil {
		return nil, info, c.wrap(op, facility, info, err)
	}
	var out []MediaSummary
	for _, raw := range sr.Resources {
		m, err := toMediaSummary(raw)
		if err != nil {
			return nil, info, c.wrap(op, facility, info, err)
		}
		out = append(out, m)
	}
	return out, info, nil
}

// ResolveLaunch decodes an Evolution toolbar launch through
// /vendorforms/api/getlaunchcontextstring/{context}/{signature}. ALEX checks the
// signature; we never verify it locally.
func (c *Client) ResolveLaunch(ctx context.Context, facility, launchContext, signature string) (LaunchContext, CallInfo, error) {
	const op = "resolve launch context"
	if launchContext == "" || signature == "" {
		info := CallInfo{Correlation: correlationFrom(ctx)}
		return LaunchContext{}, info, c.wrap(op, facility, info, errLaunch)
	}
	u := c.cfg.LaunchBaseURL + "/vendorforms/api/getlaunchcontextstring/" + url.PathEscape(launchContext) + "/" + url.PathEscape(signature)
	res, info, err := c.do(ctx, facility, request{op: op, method: http.MethodGet, url: u})
	if err != nil {
		return LaunchContext{}, info, err
	}
	lc, err := ParseLaunchContext(res.body)
	if err != nil {
		return LaunchContext{}, info, c.wrap(op, facility, info, err)
	}
	return lc, info, nil
}

// Ping checks that ALEX answers for facility with GET Location, which (unlike
// metadata) has to reach the practice's database, so an offline HCM shows as
// *FacilityOfflineError.
func (c *Client) Ping(ctx context.Context, facility string) (CallInfo, error) {
	const op = "read Location"
	res, info, err := c.do(ctx, facility, request{op: op, method: http.MethodGet, url: c.fhirURL("Location", nil)})
	if err != nil {
		return info, err
	}
	if _, err := ParseSearch(res.body, "Location"); err != nil {
		return info, c.wrap(op, facility, info, err)
	}
	return info, nil
}

// Get performs an arbitrary GET below the FHIR base (e.g. "Patient?identifier=...")
// with the usual token, headers and error types, and returns the 2xx body. It exists
// for diagnostics (clinicpro doctor, the contract tests); product code uses the typed
// methods above.
func (c *Client) Get(ctx context.Context, facility, pathAndQuery string) ([]byte, CallInfo, error) {
	res, info, err := c.do(ctx, facility, request{op: "GET " + resourceOf(pathAndQuery), method: http.MethodGet,
		url: c.cfg.BaseURL + "/" + strings.TrimLeft(pathAndQuery, "/")})
	return res.body, info, err
}

// resourceOf names the resource type of a relative path without its id or query, so
// an operation name never carries an identifier.
func resourceOf(p string) string {
	p = strings.TrimLeft(p, "/")
	if i := strings.IndexAny(p, "/?"); i >= 0 {
		p = p[:i]
	}
	return p
}
