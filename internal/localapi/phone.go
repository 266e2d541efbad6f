package localapi

import (
	"context"
	"net/http"
	"time"
)

// Phone capture: a capture window's Phone button asks the agent for a phone session;
// the tray shows its URL as a QR code with the match word, and photos the phone sends
// arrive as staged items with Source "phone" (see internal/relay/phone).

// PhoneSession is a capture window's phone session. URL holds the link's secret
// token: it is shown only as the QR code (and under it) in that window, never logged.
type PhoneSession struct {
	SessionID string    `json:"sessionId"` // the capture session
	URL       string    `json:"url"`
	Word      string    `json:"word"`     // the match word the phone shows too
	Practice  string    `json:"practice"` // the name the phone shows
	State     string    `json:"state"`    // PhoneWaiting, PhonePaired, PhoneClosed or PhoneExpired
	Uploading int       `json:"uploading"`
	Received  int       `json:"received"` // photos that reached this window
	Expires   time.Time `json:"expires"`
}

// Phone session states (the relay's own words).
const (
	PhoneWaiting = "waiting" // the code is shown; no phone has opened it
	PhonePaired  = "paired"  // a phone opened it; only that phone may send
	PhoneClosed  = "closed"  // the window closed or saved, or Phone was pressed again to stop
	PhoneExpired = "expired" // 10 minutes unscanned, or 30 minutes after the phone opened it
)

// PhoneService is what the agent offers for phone capture. Service includes it.
type PhoneService interface {
	// OpenPhone opens a phone session for a capture window with a patient, or returns
	// the one it has open.
	OpenPhone(ctx context.Context, sessionID string) (PhoneSession, error)
	// Phone returns the window's phone session (ErrNotFound when it has none).
	Phone(ctx context.Context, sessionID string) (PhoneSession, error)
	// ClosePhone ends it: photos the phone has not finished sending are erased at
	// the relay.
	ClosePhone(ctx context.Context, sessionID string) error
}

func (h *handler) phone(f func(PhoneService, context.Context, string) (PhoneSession, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		ps, err := f(h.svc, r.Context(), id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, ps)
	}
}

func (h *handler) closePhone(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := h.svc.ClosePhone(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *Client) OpenPhone(ctx context.Context, sessionID string) (PhoneSession, error) {
	var ps PhoneSession
	return ps, c.call(ctx, http.MethodPost, PathSessions+seg(sessionID)+"/phone", nil, &ps)
}

func (c *Client) Phone(ctx context.Context, sessionID string) (PhoneSession, error) {
	var ps PhoneSession
	return ps, c.call(ctx, http.MethodGet, PathSessions+seg(sessionID)+"/phone", nil, &ps)
}

func (c *Client) ClosePhone(ctx context.Context, sessionID string) error {
	return c.call(ctx, http.MethodDelete, PathSessions+seg(sessionID)+"/phone", nil, nil)
}
