package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// PhoneSession is a phone session as the relay reports it; URL is set by OpenPhone.
type PhoneSession struct {
	api.PhoneSession
	// URL is the link for the QR code: the relay URL this PC uses, which must be a
	// name the phone can reach too, and the page's path with its token.
	URL string
}

// OpenPhone opens a phone session for the capture session capture (the agent's own
// opaque id).
func (c *Client) OpenPhone(ctx context.Context, capture string) (PhoneSession, error) {
	var out api.PhoneSession
	if err := c.call(ctx, http.MethodPost, api.PathPhoneSessions, api.PhoneOpen{Capture: capture}, &out); err != nil {
		return PhoneSession{}, err
	}
	return PhoneSession{PhoneSession: out, URL: c.base + out.Path}, nil
}

// ClosePhone ends a phone session; photos the agent has not taken are erased.
func (c *Client) ClosePhone(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, api.PathPhoneSessions+"/"+url.PathEscape(id), nil, nil)
}

// PollPhone waits up to wait seconds (at most api.PhoneMaxWait) for a change to the
// known sessions and returns their state.
func (c *Client) PollPhone(ctx context.Context, known []api.PhoneKnown, wait int) (api.PhoneUpdate, error) {
	var out api.PhoneUpdate
	err := c.call(ctx, http.MethodPost, api.PathPhonePoll, api.PhonePoll{Known: known, WaitSeconds: wait}, &out)
	return out, err
}

// PhotoDownload is a phone photo's bytes on their way; close Body when done.
type PhotoDownload struct {
	Body        io.ReadCloser
	Size        int64
	ContentType string
	Taken       string // the camera's DateTimeOriginal (api.HeaderPhotoTaken), or ""
}

// DownloadPhoto fetches a ready photo. Reading Body to the end with no error means
// the whole photo arrived (a cut answer fails the read); then AckPhoto.
func (c *Client) DownloadPhoto(ctx context.Context, id string) (PhotoDownload, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+api.PathPhonePhotos+"/"+url.PathEscape(id), nil)
	if err != nil {
		return PhotoDownload{}, err
	}
	tok, err := c.token(ctx)
	if err != nil {
		return PhotoDownload{}, err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	corr := correlation(ctx)
	req.Header.Set(api.HeaderCorrelation, corr)
	resp, err := c.http.Do(req)
	if err != nil {
		return PhotoDownload{}, &Error{Kind: Retryable, Cause: api.CauseRelayUnreachable, Err: err, Correlation: corr,
			Message: "Could not reach the relay: check the PC's internet connection. " + netDetail(err)}
	}
	if resp.StatusCode != http.StatusOK {
		// Read the JSON error the usual way.
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return PhotoDownload{}, c.errorFrom(resp, raw, corr)
	}
	if resp.ContentLength < 0 {
		resp.Body.Close()
		return PhotoDownload{}, errors.New("the relay sent a phone photo without its length")
	}
	return PhotoDownload{Body: resp.Body, Size: resp.ContentLength, ContentType: resp.Header.Get("Content-Type"),
		Taken: resp.Header.Get(api.HeaderPhotoTaken)}, nil
}

// AckPhoto tells the relay the photo is safely on this PC; the relay erases it.
func (c *Client) AckPhoto(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, api.PathPhonePhotos+"/"+url.PathEscape(id), nil, nil)
}

// errorFrom reads a refused download's api.Error as do does for every other call.
func (c *Client) errorFrom(resp *http.Response, raw []byte, corr string) error {
	var ae api.Error
	_ = json.Unmarshal(raw, &ae)
	if ae.Correlation != "" {
		corr = ae.Correlation
	}
	if resp.StatusCode == http.StatusUnauthorized {
		c.dropToken()
	}
	kind, cause := classify(resp.StatusCode, ae.Code)
	e := &Error{Kind: kind, Cause: cause, Status: resp.StatusCode, Code: ae.Code, Message: ae.Message, Correlation: corr,
		RetryAfter: retryAfter(resp.Header)}
	if e.Message == "" {
		e.Message = fmt.Sprintf("The relay answered %s to a phone photo download.", resp.Status)
	}
	return e
}
