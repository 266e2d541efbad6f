package alex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/clinicpro/medtech-images/internal/fhir"
)

// Response size limits. A DocumentReference read-back carries up to 8 MB base64-encoded.
const (
	maxBody      = 32 << 20
	maxErrorBody = 64 << 10
)

// request is one logical call; body, when set, is called per attempt so the 401 retry
// can replay it.
type request struct {
	op     string
	method string
	url    string
	body   func() (io.ReadCloser, int64, error)
}

// response is a successful (2xx) answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (c *Client) do(ctx context.Context, facility string, r request) (response, CallInfo, error) {
	start := c.cfg.Now()
	info := CallInfo{Correlation: correlationFrom(ctx)}
	write := r.method != http.MethodGet
	fail := func(status int, sent bool, err error) (response, CallInfo, error) {
		info.Status = status
		info.Duration = c.cfg.Now().Sub(start)
		return response{}, info, &CallError{Op: r.op, Facility: facility, Correlation: info.Correlation,
			Status: status, Write: write, Sent: sent, Err: err}
	}
	if facility == "" {
		return fail(0, false, errors.New("no practice facility id is configured for this call: enrol the connector with its HPI facility id"))
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	stale := ""
	for attempt := 1; attempt <= 2; attempt++ {
		info.Attempts = attempt
		token, err := c.tokens.get(ctx, stale)
		if err != nil {
			return fail(0, false, c.ctxErr(ctx, err))
		}
		var body io.ReadCloser
		var length int64
		if r.body != nil {
			if body, length, err = r.body(); err != nil {
				return fail(0, false, err)
			}
		}
		var sent atomic.Bool
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { sent.Store(true) }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), r.method, r.url, body)
		if err != nil {
			if body != nil {
				body.Close()
			}
			return fail(0, false, fmt.Errorf("building the ALEX request failed: %w", err))
		}
		if body != nil {
			req.ContentLength = length
			req.Header.Set("Content-Type", fhir.ContentType)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", fhir.ContentType)
		req.Header.Set("mt-facilityid", facility)
		req.Header.Set("mt-correlationid", info.Correlation)
		if c.cfg.AppID != "" {
			req.Header.Set("mt-appid", c.cfg.AppID)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return fail(0, sent.Load(), c.ctxErr(ctx, &TransportError{Err: unwrapURL(err)}))
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 1 {
			drain(resp)
			stale = token
			continue
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
			resp.Body.Close()
			if err != nil {
				// The status arrived, so a write did happen; only the body was lost.
				return fail(resp.StatusCode, true, c.ctxErr(ctx, &TransportError{Err: unwrapURL(err)}))
			}
			info.Status = resp.StatusCode
			info.Duration = c.cfg.Now().Sub(start)
			return response{status: resp.StatusCode, header: resp.Header, body: b}, info, nil
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		return fail(resp.StatusCode, true, classify(resp.StatusCode, resp.Header, b))
	}
	return fail(http.StatusUnauthorized, true, ErrUnauthorized)
}

// ctxErr turns our own deadline into ErrTimeout and keeps a caller's cancellation.
func (c *Client) ctxErr(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ErrTimeout
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// classify turns a non-2xx answer into the error type a caller acts on.
func classify(status int, h http.Header, body []byte) error {
	switch status {
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusTooManyRequests:
		return &RateLimitedError{RetryAfter: retryAfter(h.Get("Retry-After"))}
	case http.StatusServiceUnavailable:
		return &FacilityOfflineError{RetryAfter: retryAfter(h.Get("Retry-After"))}
	}
	if oo, ok := ParseOperationOutcome(body); ok {
		return &OperationOutcomeError{Status: status, Issues: oo.Issue}
	}
	if status == http.StatusNotFound {
		var m struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &m)
		if m.Message == "" {
			m.Message = "Resource not found"
		}
		return &NotExposedError{Status: status, Message: m.Message}
	}
	return &StatusError{Status: status, Body: scrub(string(body))}
}

// retryAfter parses Retry-After as seconds or an HTTP date; 0 when absent or odd.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// unwrapURL drops *url.Error's URL, which can hold a patient id or NHI.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
}

// fhirURL joins the FHIR base with a path and an optional query.
func (c *Client) fhirURL(path string, q url.Values) string {
	u := c.cfg.BaseURL + "/" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// jsonBody marshals v once and replays the bytes per attempt.
func jsonBody(v any) (func() (io.ReadCloser, int64, error), error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return func() (io.ReadCloser, int64, error) {
		return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
	}, nil
}
