package localapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// DialFunc opens one connection to the agent: a named pipe, a unix socket or, in
// tests, TCP on 127.0.0.1.
type DialFunc func(ctx context.Context) (net.Conn, error)

// Client is the Service on the far side of the local transport. The tray and the
// CLI hold one; it is safe for concurrent use.
type Client struct {
	hc *http.Client
}

var _ Service = (*Client)(nil)

// base's host is a placeholder: the transport ignores it and always dials the agent.
// It is a loopback literal because over TCP the agent refuses any other Host.
const base = "http://127.0.0.1"

// NewClient returns a Client that reaches the agent through dial.
func NewClient(dial DialFunc) *Client {
	tr := &http.Transport{
		DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		MaxIdleConns:        4,
		MaxIdleConnsPerHost: 4,
		DisableCompression:  true,
	}
	return &Client{hc: &http.Client{Transport: tr}}
}

// Dial returns a Client for the agent listening at address (see Listen).
func Dial(address string) *Client { return NewClient(Dialer(address)) }

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// ErrAgentDown wraps transport failures so callers can say "the agent is not running"
// instead of showing a socket error.
var ErrAgentDown = errors.New("the ClinicPro agent is not running or not reachable; start the ClinicPro Agent service")

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w (%v)", ErrAgentDown, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp, nil
}

func decodeError(resp *http.Response) error {
	var e Error
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		return &APIError{Code: CodeInternal, Message: fmt.Sprintf("The ClinicPro agent answered %s; check that the tray and the agent are the same version.", resp.Status)}
	}
	return &APIError{Code: e.Error, Message: e.Message, Correlation: e.Correlation}
}

// call sends in (if not nil) as JSON and decodes the answer into out (if not nil).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	resp, err := c.do(ctx, method, path, body, ct)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the agent's answer: %w", err)
	}
	return nil
}

func seg(id string) string { return url.PathEscape(id) }

func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.call(ctx, http.MethodGet, PathStatus, nil, &s)
}

func (c *Client) Launch(ctx context.Context, req LaunchRequest) (Session, error) {
	var s Session
	return s, c.call(ctx, http.MethodPost, PathLaunch, req, &s)
}

func (c *Client) Session(ctx context.Context, sessionID string) (Session, error) {
	var s Session
	return s, c.call(ctx, http.MethodGet, PathSessions+seg(sessionID), nil, &s)
}

func (c *Client) CloseSession(ctx context.Context, sessionID string) error {
	return c.call(ctx, http.MethodDelete, PathSessions+seg(sessionID), nil, nil)
}

// AddFile streams r to the agent without holding the whole file in memory.
func (c *Client) AddFile(ctx context.Context, sessionID string, f NewFile, r io.Reader) (Item, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("file", f.Name)
		if err == nil {
			_, err = io.Copy(fw, r)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	path := PathSessions + seg(sessionID) + "/items"
	if f.Source != "" {
		path += "?source=" + url.QueryEscape(f.Source)
	}
	resp, err := c.do(ctx, http.MethodPost, path, pr, mw.FormDataContentType())
	// Unblock the writer goroutine if the agent answered before reading everything.
	pr.CloseWithError(errors.New("request finished"))
	if err != nil {
		return Item{}, err
	}
	defer resp.Body.Close()
	var it Item
	if err := json.NewDecoder(resp.Body).Decode(&it); err != nil {
		return Item{}, fmt.Errorf("reading the agent's answer: %w", err)
	}
	return it, nil
}

func (c *Client) Save(ctx context.Context, sessionID string, req SaveRequest) ([]Item, error) {
	var items []Item
	return items, c.call(ctx, http.MethodPost, PathSessions+seg(sessionID)+"/save", req, &items)
}

func (c *Client) Remove(ctx context.Context, itemID string) error {
	return c.call(ctx, http.MethodDelete, PathItems+seg(itemID), nil, nil)
}

func (c *Client) Item(ctx context.Context, itemID string) (Item, error) {
	var it Item
	return it, c.call(ctx, http.MethodGet, PathItems+seg(itemID), nil, &it)
}

func (c *Client) Thumbnail(ctx context.Context, itemID string) ([]byte, error) {
	return c.jpeg(ctx, itemID, "/thumbnail")
}

func (c *Client) Preview(ctx context.Context, itemID string) ([]byte, error) {
	return c.jpeg(ctx, itemID, "/preview")
}

func (c *Client) jpeg(ctx context.Context, itemID, what string) ([]byte, error) {
	resp, err := c.do(ctx, http.MethodGet, PathItems+seg(itemID)+what, nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func (c *Client) Queue(ctx context.Context) ([]Item, error) {
	var items []Item
	return items, c.call(ctx, http.MethodGet, PathQueue, nil, &items)
}

func (c *Client) Unassigned(ctx context.Context) ([]Item, error) {
	var items []Item
	return items, c.call(ctx, http.MethodGet, PathUnassigned, nil, &items)
}

func (c *Client) Assign(ctx context.Context, itemID, sessionID string) (Item, error) {
	var it Item
	return it, c.call(ctx, http.MethodPost, PathItems+seg(itemID)+"/assign", assignRequest{SessionID: sessionID}, &it)
}

func (c *Client) Reject(ctx context.Context, itemID string) (Item, error) {
	var it Item
	return it, c.call(ctx, http.MethodPost, PathItems+seg(itemID)+"/reject", nil, &it)
}

func (c *Client) Retry(ctx context.Context, itemID string) (Item, error) {
	var it Item
	return it, c.call(ctx, http.MethodPost, PathItems+seg(itemID)+"/retry", nil, &it)
}

func (c *Client) SendAgain(ctx context.Context, itemID string) (Item, error) {
	var it Item
	return it, c.call(ctx, http.MethodPost, PathItems+seg(itemID)+"/send-again", nil, &it)
}

func (c *Client) Discard(ctx context.Context, itemID string) (Item, error) {
	var it Item
	return it, c.call(ctx, http.MethodPost, PathItems+seg(itemID)+"/discard", nil, &it)
}

func (c *Client) Pause(ctx context.Context, paused bool) (Status, error) {
	var s Status
	return s, c.call(ctx, http.MethodPost, PathPause, pauseRequest{Paused: paused}, &s)
}

func (c *Client) Recheck(ctx context.Context) (Status, error) {
	var s Status
	return s, c.call(ctx, http.MethodPost, PathRecheck, nil, &s)
}

// Events opens the stream; the channel closes when ctx ends or the connection drops.
// Use Watch for a stream that reconnects by itself.
func (c *Client) Events(ctx context.Context) (<-chan Event, error) {
	resp, err := c.do(ctx, http.MethodGet, PathEvents, nil, "")
	if err != nil {
		return nil, err
	}
	ch := make(chan Event, 16)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue // keep-alive
			}
			var e Event
			if json.Unmarshal([]byte(line), &e) != nil {
				continue // a newer agent's event this client does not know
			}
			select {
			case ch <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// CloseTrays asks the agent to close every tray (the installer's `clinicpro tray close`).
func (c *Client) CloseTrays(ctx context.Context) (TraysClosed, error) {
	var r TraysClosed
	return r, c.call(ctx, http.MethodPost, PathTraysClose, nil, &r)
}

func (c *Client) DiagnosticsBundle(ctx context.Context, w io.Writer) error {
	resp, err := c.do(ctx, http.MethodGet, PathDiagnosis, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("the diagnostics bundle was cut short; try again: %w", err)
	}
	return nil
}
