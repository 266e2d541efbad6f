// Package client is the agent's side of clinicpro-relay: enrolment, OAuth2 client
// credentials (golang.org/x/oauth2/clientcredentials) and one method per relay
// endpoint. Errors are *Error carrying an api.Cause: this package is the one place
// the relay's codes and statuses, and failures to reach it, are interpreted.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// Wire types, re-exported so callers need only this package.
type (
	Launch   = api.Launch
	Patient  = api.Patient
	Document = api.Document
	Health   = api.Health
)

// Credentials are what enrolment returns. The agent stores them protected (DPAPI on
// Windows); Secret is never logged.
type Credentials struct {
	ClientID string `json:"clientId"`
	Secret   string `json:"secret"`
	Facility string `json:"facility"`
}

// DocumentUpload is one document to file in the patient's Inbox Scan folder.
type DocumentUpload struct {
	IdempotencyKey string // stable for this item across every retry, e.g. the queue item id
	// Supersedes is the key of the attempt this one replaces after a person chose
	// Send again; "" otherwise.
	Supersedes   string
	PatientID    string // ALEX patient id; or NHI
	NHI          string
	Title        string
	Description  string
	Kind         string // api.KindPhoto or api.KindDocument; "": by content type
	Source       string // api.Source*
	Laterality   string
	BodySite     string
	BodySiteCode string    // SNOMED CT, from api.BodySites
	ClinicalDate time.Time // when the photo was taken; zero: the relay uses the time of upload
	ProviderID   string    // the launch's provider: the document's author
	ContentType  string    // image/tiff or application/pdf
	Size         int64     // exact length of Body
	Body         io.Reader
}

// DocumentResult is the outcome of an upload.
type DocumentResult struct {
	ID          string // ALEX DocumentReference id
	Replayed    bool   // the relay had already stored this idempotency key
	Correlation string
	Document    api.Document
}

// Option configures a Client or Enrol.
type Option func(*options)

type options struct{ http *http.Client }

// WithHTTPClient sets the HTTP client used for every call (custom TLS roots,
// timeouts, proxies). It must not add its own authentication.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http = c } }

func buildOptions(opts []Option) options {
	o := options{http: &http.Client{Timeout: 2 * time.Minute, Transport: transport}}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// transport writes request bodies in 64 KiB pieces instead of net/http's 4 KiB, so
// a 1 MB upload is ~16 writes rather than ~250.
var transport = func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.WriteBufferSize = 64 << 10
	return t
}()

type ctxKey struct{}

// WithCorrelation makes calls made with ctx carry id as their correlation id, so a
// queue item keeps one id across the agent's log, the relay's audit and ALEX.
func WithCorrelation(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

func correlation(ctx context.Context) string {
	if id, ok := ctx.Value(ctxKey{}).(string); ok && id != "" {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Enrol exchanges a one-time enrolment code for credentials. The code is spent even
// if the response is lost on the way back; the relay operator then issues a new one.
func Enrol(ctx context.Context, relayURL, code string, opts ...Option) (Credentials, error) {
	o := buildOptions(opts)
	base, err := baseURL(relayURL)
	if err != nil {
		return Credentials{}, err
	}
	// The host name names this PC in the relay operator's list of a practice's PCs.
	host, _ := os.Hostname()
	body, _ := json.Marshal(api.EnrolRequest{Code: code, Hostname: host})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+api.PathEnrol, bytes.NewReader(body))
	if err != nil {
		return Credentials{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	var out api.EnrolResponse
	if err := do(o.http, req, correlation(ctx), &out, false); err != nil {
		return Credentials{}, err
	}
	return Credentials{ClientID: out.ClientID, Secret: out.ClientSecret, Facility: out.Facility}, nil
}

// Client calls the relay as one connector. It is safe for concurrent use.
type Client struct {
	base  string
	http  *http.Client
	cc    clientcredentials.Config
	creds Credentials

	mu sync.Mutex
	ts oauth2.TokenSource
}

// New returns a client for relayURL (https://host[:port], or http:// on loopback).
// No network call is made until the first request.
func New(relayURL string, creds Credentials, opts ...Option) (*Client, error) {
	o := buildOptions(opts)
	base, err := baseURL(relayURL)
	if err != nil {
		return nil, err
	}
	if creds.ClientID == "" || creds.Secret == "" {
		return nil, errors.New("relay credentials are missing: enrol this PC with `clinicpro enrol`")
	}
	c := &Client{
		base:  base,
		http:  o.http,
		creds: creds,
		cc: clientcredentials.Config{
			ClientID:     creds.ClientID,
			ClientSecret: creds.Secret,
			TokenURL:     base + api.PathToken,
			AuthStyle:    oauth2.AuthStyleInHeader,
		},
	}
	return c, nil
}

// Facility is the HPI facility this connector is bound to.
func (c *Client) Facility() string { return c.creds.Facility }

func (c *Client) token(ctx context.Context) (*oauth2.Token, error) {
	c.mu.Lock()
	if c.ts == nil {
		// The token source outlives ctx, so it gets its own context carrying only
		// our HTTP client.
		c.ts = c.cc.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, c.http))
	}
	ts := c.ts
	c.mu.Unlock()
	t, err := ts.Token()
	if err == nil {
		return t, nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		status := re.Response.StatusCode
		var te api.TokenError
		_ = json.Unmarshal(re.Body, &te)
		kind, cause := classify(status, "")
		e := &Error{Kind: kind, Cause: cause, Status: status, Code: re.ErrorCode,
			Message: te.Description, Correlation: te.Correlation, RetryAfter: retryAfter(re.Response.Header)}
		if status == http.StatusUnauthorized || re.ErrorCode == codeInvalidClient {
			e.Kind, e.Cause = Permanent, api.CauseCredentials
			e.Message = api.CauseCredentials.Sentence() + " " + api.CauseCredentials.Fix()
		}
		if e.Message == "" {
			e.Message = "The relay refused to issue an access token: check the relay's log for this correlation id."
		}
		return nil, e
	}
	return nil, &Error{Kind: Retryable, Cause: api.CauseRelayUnreachable, Err: err,
		Message: "Could not reach the relay for an access token: check the PC's internet connection. " + netDetail(err)}
}

// dropToken forgets the cached token after the relay refused it, so the next call
// fetches a new one.
func (c *Client) dropToken() {
	c.mu.Lock()
	c.ts = nil
	c.mu.Unlock()
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(ctx, req, out, false)
}

func (c *Client) send(ctx context.Context, req *http.Request, out any, ambiguousOnNetErr bool) error {
	tok, err := c.token(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	err = do(c.http, req, correlation(ctx), out, ambiguousOnNetErr)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusUnauthorized {
		c.dropToken()
	}
	return err
}

// Launch decodes a Medtech toolbar launch into the patient banner. It fails with a
// Permanent error when the launch came from another facility.
func (c *Client) Launch(ctx context.Context, launchContext, signature string) (Launch, error) {
	var out Launch
	err := c.call(ctx, http.MethodPost, api.PathLaunch, api.LaunchRequest{Context: launchContext, Signature: signature}, &out)
	return out, err
}

// LookupPatient finds a patient by NHI in this connector's facility. An invalid NHI
// is refused by the relay before ALEX is called.
func (c *Client) LookupPatient(ctx context.Context, nhi string) (Patient, error) {
	var out Patient
	err := c.call(ctx, http.MethodPost, api.PathLookup, api.LookupRequest{NHI: nhi}, &out)
	return out, err
}

// ReadDocument reads back a document this connector wrote.
func (c *Client) ReadDocument(ctx context.Context, id string) (Document, error) {
	var out Document
	err := c.call(ctx, http.MethodGet, api.PathDocument+"/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Health returns the connector-scoped health. A 503 answer (the relay or the
// facility is down) still carries a Health body and is returned with a nil error.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var out Health
	err := c.call(ctx, http.MethodGet, api.PathHealth, nil, &out)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusServiceUnavailable && out.State != "" {
		return out, nil
	}
	return out, err
}

// UploadDocument streams d.Body to the relay, which files it in the patient's Inbox
// Scan folder. Calling it again with the same IdempotencyKey after any failure is
// safe: the relay stores a key at most once and answers a replay with the first
// result (Replayed set).
func (c *Client) UploadDocument(ctx context.Context, d DocumentUpload) (DocumentResult, error) {
	meta := api.DocumentMetadata{
		IdempotencyKey: d.IdempotencyKey, Supersedes: d.Supersedes, PatientID: d.PatientID, NHI: d.NHI,
		Title: d.Title, Description: d.Description, Kind: d.Kind, Source: d.Source, Laterality: d.Laterality,
		BodySite: d.BodySite, BodySiteCode: d.BodySiteCode, ProviderID: d.ProviderID, ContentType: d.ContentType, Size: d.Size,
	}
	if !d.ClinicalDate.IsZero() {
		meta.ClinicalDate = d.ClinicalDate.Format(time.RFC3339)
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return DocumentResult{}, err
	}
	if d.Body == nil {
		return DocumentResult{}, errors.New("upload has no body")
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeUpload(mw, metaJSON, d.Body, d.Size))
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+api.PathDocument, pr)
	if err != nil {
		pr.Close()
		return DocumentResult{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var out Document
	err = c.send(ctx, req, &out, true)
	pr.CloseWithError(errors.New("upload finished"))
	if err != nil {
		return DocumentResult{}, err
	}
	return DocumentResult{ID: out.ID, Replayed: out.Replayed, Correlation: out.Correlation, Document: out}, nil
}

func writeUpload(mw *multipart.Writer, meta []byte, body io.Reader, size int64) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+api.PartMetadata+`"`)
	h.Set("Content-Type", "application/json")
	p, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := p.Write(meta); err != nil {
		return err
	}
	h = textproto.MIMEHeader{}
	// A fixed file name: the real one may contain an NHI.
	h.Set("Content-Disposition", `form-data; name="`+api.PartFile+`"; filename="document"`)
	h.Set("Content-Type", "application/octet-stream")
	if p, err = mw.CreatePart(h); err != nil {
		return err
	}
	n, err := io.Copy(p, body)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("upload body was %d bytes, not the %d declared", n, size)
	}
	return mw.Close()
}

// do sends req and decodes a 2xx JSON body into out, or returns an *Error.
func do(hc *http.Client, req *http.Request, corr string, out any, ambiguousOnNetErr bool) error {
	req.Header.Set(api.HeaderCorrelation, corr)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		kind := Retryable
		if ambiguousOnNetErr && !dialFailure(err) {
			kind = Ambiguous
		}
		return &Error{Kind: kind, Cause: api.CauseRelayUnreachable, Err: err, Correlation: corr,
			Message: "Could not reach the relay: check the PC's internet connection. " + netDetail(err)}
	}
	defer resp.Body.Close()
	if c := resp.Header.Get(api.HeaderCorrelation); c != "" {
		corr = c
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		kind := Retryable
		if ambiguousOnNetErr {
			kind = Ambiguous
		}
		return &Error{Kind: kind, Cause: api.CauseRelayUnreachable, Err: err, Correlation: corr, Message: "The relay's answer was cut off: try again."}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return &Error{Kind: Retryable, Cause: api.CauseRelayUnreachable, Status: resp.StatusCode, Correlation: corr, Err: err,
					Message: "The relay's answer could not be read: check that the relay URL points at clinicpro-relay."}
			}
		}
		return nil
	}
	var ae api.Error
	_ = json.Unmarshal(raw, &ae)
	if resp.StatusCode == http.StatusServiceUnavailable && out != nil {
		// Health answers 503 with a full body.
		_ = json.Unmarshal(raw, out)
	}
	if ae.Correlation != "" {
		corr = ae.Correlation
	}
	kind, cause := classify(resp.StatusCode, ae.Code)
	e := &Error{Kind: kind, Cause: cause, Status: resp.StatusCode, Code: ae.Code,
		Message: ae.Message, Correlation: corr, RetryAfter: retryAfter(resp.Header)}
	if e.Message == "" {
		e.Message = "The relay answered with an unexpected error: check that the relay URL points at clinicpro-relay."
	}
	return e
}

// dialFailure reports whether err happened before a connection existed, so nothing
// can have been sent.
func dialFailure(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

func netDetail(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return "(" + err.Error() + ")"
}

func baseURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("relay URL %q is not an http(s) URL: set it to the address the relay operator gave you", s)
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		return "", fmt.Errorf("relay URL %q uses plain http to another machine: use https", s)
	}
	return u.Scheme + "://" + u.Host + u.Path, nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
