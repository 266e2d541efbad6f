package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/queue"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/relay/phone"
)

// PhoneRelay is the relay's phone capture as the agent uses it; *client.Client
// implements it.
type PhoneRelay interface {
	OpenPhone(ctx context.Context, capture string) (client.PhoneSession, error)
	ClosePhone(ctx context.Context, id string) error
	PollPhone(ctx context.Context, known []api.PhoneKnown, wait int) (api.PhoneUpdate, error)
	DownloadPhoto(ctx context.Context, id string) (client.PhotoDownload, error)
	AckPhoto(ctx context.Context, id string) error
}

var _ PhoneRelay = (*client.Client)(nil)

// phoneSession is a capture window's phone session as the agent follows it. Its
// URL holds the link's token: it goes to the tray and nowhere else (never a log).
type phoneSession struct {
	localapi.PhoneSession
	relayID string
	taken   map[string]bool // photos added to the window, by relay photo id
}

func (p *phoneSession) open() bool {
	return p.State == localapi.PhoneWaiting || p.State == localapi.PhonePaired
}

var errPhoneOff = localapi.NewError(localapi.CodeUnavailable,
	"Phone photos need this PC to be enrolled with the relay: run clinicpro enrol, or ask practice IT.")

// OpenPhone opens a phone session for a capture window with a patient, or returns
// the one it has open.
func (a *Agent) OpenPhone(ctx context.Context, sessionID string) (localapi.PhoneSession, error) {
	s, err := a.use(sessionID)
	if err != nil {
		return localapi.PhoneSession{}, err
	}
	if !s.PatientSelected {
		return localapi.PhoneSession{}, errNoPatient
	}
	if a.relay == nil {
		return localapi.PhoneSession{}, errPhoneOff
	}
	a.mu.Lock()
	if p, ok := a.phones[sessionID]; ok && p.open() {
		out := p.PhoneSession
		a.mu.Unlock()
		return out, nil
	}
	a.mu.Unlock()
	rs, err := a.relay.OpenPhone(ctx, sessionID)
	if err != nil {
		a.log.Warn("phone session refused", "err", err)
		return localapi.PhoneSession{}, relayError(err, localapi.CodeConflict)
	}
	p := &phoneSession{relayID: rs.ID, taken: map[string]bool{}, PhoneSession: localapi.PhoneSession{
		SessionID: sessionID, URL: rs.URL, Word: rs.Word, Practice: rs.Practice, State: rs.State, Expires: rs.Expires}}
	a.mu.Lock()
	old := a.phones[sessionID]
	a.phones[sessionID] = p
	a.mu.Unlock()
	if old != nil && old.open() {
		a.endPhoneAtRelay(old)
	}
	a.log.Info("phone session opened")
	a.wakePhone()
	a.publishPhone(p.PhoneSession)
	return p.PhoneSession, nil
}

// Phone returns a capture window's phone session.
func (a *Agent) Phone(ctx context.Context, sessionID string) (localapi.PhoneSession, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.phones[sessionID]
	if !ok {
		return localapi.PhoneSession{}, localapi.ErrNotFound
	}
	return p.PhoneSession, nil
}

// ClosePhone ends a capture window's phone session.
func (a *Agent) ClosePhone(ctx context.Context, sessionID string) error {
	a.mu.Lock()
	p, ok := a.phones[sessionID]
	a.mu.Unlock()
	if !ok {
		return localapi.ErrNotFound
	}
	a.endPhone(sessionID, localapi.PhoneClosed)
	if p.relayID != "" {
		if err := a.relay.ClosePhone(ctx, p.relayID); err != nil {
			a.log.Warn("could not end the phone session at the relay; it ends by itself within 30 minutes", "err", err)
		}
	}
	return nil
}

// endPhone marks the window's phone session ended, and tells the relay (in the
// background: a Save or a close is not held up by it) when it was still open.
func (a *Agent) endPhone(sessionID, state string) {
	a.mu.Lock()
	p, ok := a.phones[sessionID]
	wasOpen := ok && p.open()
	var out localapi.PhoneSession
	if wasOpen {
		p.State, p.Uploading = state, 0
		out = p.PhoneSession
	}
	a.mu.Unlock()
	if !wasOpen {
		return
	}
	a.wakePhone()
	a.publishPhone(out)
}

// endPhoneForWindow ends a window's phone session when the window saves or closes,
// and at the relay too.
func (a *Agent) endPhoneForWindow(sessionID string, forget bool) {
	a.mu.Lock()
	p, ok := a.phones[sessionID]
	wasOpen := ok && p.open()
	if forget {
		delete(a.phones, sessionID)
	}
	a.mu.Unlock()
	if !ok {
		return
	}
	if wasOpen {
		a.endPhone(sessionID, localapi.PhoneClosed)
		a.endPhoneAtRelay(p)
	}
}

func (a *Agent) endPhoneAtRelay(p *phoneSession) {
	if a.relay == nil || p.relayID == "" {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.relay.ClosePhone(ctx, p.relayID); err != nil {
			a.log.Warn("could not end the phone session at the relay; it ends by itself within 30 minutes", "err", err)
		}
	}()
}

func (a *Agent) publishPhone(p localapi.PhoneSession) {
	a.hub.Publish(localapi.Event{Type: localapi.EventPhone, Phone: &p})
}

func (a *Agent) wakePhone() {
	select {
	case a.phoneWake <- struct{}{}:
	default:
	}
}

// runPhone holds the long poll to the relay while any window has a phone session
// open: each photo ready at the relay is downloaded, added to its window and
// acknowledged (the relay then erases it). A window opening or ending a phone
// session cuts the poll short so the next one asks about it.
func (a *Agent) runPhone(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		known := a.phoneKnown()
		if len(known) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-a.phoneWake:
			}
			continue
		}
		pctx, cancel := context.WithCancel(ctx)
		woken := make(chan struct{})
		go func() {
			select {
			case <-a.phoneWake:
				close(woken)
				cancel()
			case <-pctx.Done():
			}
		}()
		up, err := a.relay.PollPhone(pctx, known, api.PhoneMaxWait)
		cancel()
		select {
		case <-woken:
			continue
		default:
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("phone poll failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-a.phoneWake:
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		failed := false
		for _, rs := range up.Sessions {
			failed = !a.phoneUpdate(ctx, rs) || failed
		}
		if !failed {
			backoff = time.Second
			continue
		}
		// A photo that could not be taken is listed again at once: wait before asking.
		select {
		case <-ctx.Done():
			return
		case <-a.phoneWake:
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// phoneKnown is what the agent knows of its open phone sessions, for the poll.
func (a *Agent) phoneKnown() []api.PhoneKnown {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []api.PhoneKnown
	for _, p := range a.phones {
		if p.open() && p.relayID != "" {
			out = append(out, api.PhoneKnown{ID: p.relayID, State: p.State, Uploading: p.Uploading})
		}
	}
	return out
}

func (a *Agent) phoneByRelay(id string) (*phoneSession, bool) {
	for _, p := range a.phones {
		if p.relayID == id {
			return p, true
		}
	}
	return nil, false
}

// phoneUpdate applies one session's state and takes its ready photos; false when a
// photo could not be taken.
func (a *Agent) phoneUpdate(ctx context.Context, rs api.PhoneSession) bool {
	a.mu.Lock()
	p, ok := a.phoneByRelay(rs.ID)
	if !ok || !p.open() {
		a.mu.Unlock()
		return true
	}
	changed := p.State != rs.State || p.Uploading != rs.Uploading
	p.State, p.Uploading = rs.State, rs.Uploading
	if !rs.Expires.IsZero() {
		p.Expires = rs.Expires
	}
	capture, out := p.SessionID, p.PhoneSession
	a.mu.Unlock()
	if changed {
		a.publishPhone(out)
	}
	ok = true
	for _, photo := range rs.Ready {
		if err := a.takePhoto(ctx, capture, rs.ID, photo); err != nil {
			a.log.Warn("a phone photo could not be taken yet; it stays at the relay and is tried again", "err", err)
			ok = false
		}
	}
	return ok
}

// takePhoto downloads one photo into its window as a staged item and acknowledges
// it. The queue's duplicate check makes a repeat after a crash between the two a
// no-op: the photo is acknowledged, not added twice.
func (a *Agent) takePhoto(ctx context.Context, capture, relayID string, photo api.PhonePhoto) error {
	a.mu.Lock()
	s, live := a.sessions[capture]
	p, known := a.phoneByRelay(relayID)
	done := known && p.taken[photo.ID]
	a.mu.Unlock()
	if !live {
		// The window closed while the photo was on its way: end the phone session.
		a.endPhoneForWindow(capture, true)
		return nil
	}
	if !known {
		// No window follows this code any more: leave the photo to be erased with it.
		return nil
	}
	if !done {
		d, err := a.relay.DownloadPhoto(ctx, photo.ID)
		if err != nil {
			return err
		}
		a.mu.Lock()
		n := p.Received + 1
		a.mu.Unlock()
		var taken time.Time
		if t, err := time.ParseInLocation(phone.TakenLayout, d.Taken, time.Local); err == nil && d.Taken != "" {
			taken = t
		}
		ext := ".jpg"
		if d.ContentType == "image/png" {
			ext = ".png"
		}
		_, err = a.q.AddReader(ctx, queue.New{Source: api.SourcePhone, FileName: fmt.Sprintf("Phone photo %d%s", n, ext),
			Patient: s.patient(), Facility: s.Facility, State: queue.StateStaged, Taken: taken}, &exactly{r: d.Body, n: d.Size})
		d.Body.Close()
		if err != nil && !errors.Is(err, queue.ErrDuplicate) {
			return err
		}
		a.mu.Lock()
		p.taken[photo.ID] = true
		p.Received++
		out := p.PhoneSession
		a.mu.Unlock()
		a.publishPhone(out)
		a.log.Info("phone photo received", "bytes", d.Size)
	}
	return a.relay.AckPhoto(ctx, photo.ID)
}

// exactly reads r and fails unless it gives exactly n bytes: a download cut short
// must not become a truncated photo in the window.
type exactly struct {
	r    io.Reader
	n, a int64
}

func (e *exactly) Read(b []byte) (int, error) {
	k, err := e.r.Read(b)
	e.a += int64(k)
	if e.a > e.n {
		return k, errors.New("the relay sent more than the photo's length")
	}
	if err == io.EOF && e.a != e.n {
		return k, io.ErrUnexpectedEOF
	}
	return k, err
}
