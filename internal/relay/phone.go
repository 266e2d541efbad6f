package relay

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/limit"
	"github.com/clinicpro/medtech-images/internal/relay/phone"
	"github.com/clinicpro/medtech-images/internal/relay/phonepage"
	"github.com/clinicpro/medtech-images/internal/relay/registry"
)

// Phone capture (issue 16): the agent's endpoints (bearer token) and the phone's
// page and its calls (the link's token once, then a cookie). State is in the store
// (phone.Store), so any relay serves any request; this process keeps only rate limits
// and a bell that wakes its own long polls early.

// Limits on the phone's side, per relay (with several relays each enforces its own).
const (
	// PhonePageRate and PhonePageBurst bound a source address's requests to the
	// page; a practice's phones share the practice's address on its Wi-Fi.
	PhonePageRate  = 20
	PhonePageBurst = 200
	// PhoneSessionRate and PhoneSessionBurst bound one phone session's requests:
	// pieces of 1 MB and a status poll a second leave plenty of room.
	PhoneSessionRate  = 10
	PhoneSessionBurst = 100
	// PhoneSweepEvery is how often sessions past their expiry are ended and their
	// photos erased (a session is also ended the moment anyone looks at it late).
	PhoneSweepEvery = 30 * time.Second
	// PhoneKeepEnded is how long an ended session's row (no photos, no bytes) is
	// kept so the PC and the phone can learn how it ended.
	PhoneKeepEnded = time.Hour
	// phonePollTick is how often a long poll looks at the store for changes made
	// through another relay.
	phonePollTick = 500 * time.Millisecond
)

// The phone's cookie. With TLS it is __Host- prefixed: Secure, whole-origin, and no
// other site under the relay's domain can set it.
const (
	phoneCookie       = "cpphone"
	phoneCookieSecure = "__Host-cpphone"
)

// Codes of the page's JSON errors (the page acts on the HTTP status).
const (
	codePhoneEnded  = "phone_ended"
	codePhoneDevice = "phone_other_device"
)

type phoneState struct {
	st    phone.Store
	ip    *limit.Keyed // page requests per source address
	guess *limit.Keyed // unknown links per source address
	sess  *limit.Keyed // requests per phone session
	now   func() time.Time

	mu   sync.Mutex
	bell chan struct{}
}

func newPhoneState(st phone.Store) *phoneState {
	return &phoneState{st: st, now: time.Now, bell: make(chan struct{}),
		ip:    limit.NewKeyed(PhonePageRate, PhonePageBurst, nil),
		guess: limit.NewKeyed(EnrolGuessRate, EnrolGuessBurst, nil),
		sess:  limit.NewKeyed(PhoneSessionRate, PhoneSessionBurst, nil)}
}

// waiter returns a channel closed at the next ring.
func (p *phoneState) waiter() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bell
}

// ring wakes this relay's long polls: something changed.
func (p *phoneState) ring() {
	p.mu.Lock()
	close(p.bell)
	p.bell = make(chan struct{})
	p.mu.Unlock()
}

func (s *Server) phoneRoutes(mux *http.ServeMux) {
	if s.ph == nil {
		return
	}
	mux.HandleFunc("POST "+api.PathPhoneSessions, s.wrap("phone_open", s.authed(s.handlePhoneOpen)))
	mux.HandleFunc("DELETE "+api.PathPhoneSessions+"/{id}", s.wrap("phone_close", s.authed(s.handlePhoneClose)))
	mux.HandleFunc("POST "+api.PathPhonePoll, s.wrap("phone_poll", s.authed(s.handlePhonePoll)))
	mux.HandleFunc("GET "+api.PathPhonePhotos+"/{id}", s.wrap("phone_download", s.authed(s.handlePhoneDownload)))
	mux.HandleFunc("DELETE "+api.PathPhonePhotos+"/{id}", s.wrap("phone_ack", s.authed(s.handlePhoneAck)))

	page := func(op string, h handlerFunc) http.HandlerFunc {
		w := s.wrap(op, h)
		return func(rw http.ResponseWriter, r *http.Request) { phonepage.SetHeaders(rw); w(rw, r) }
	}
	mux.HandleFunc("GET "+api.PathPhonePage+"{token}", page("phone_pair", s.handlePhoneLink))
	mux.HandleFunc("GET "+api.PathPhonePage+"{$}", page("phone_page", s.handlePhoneReload))
	for _, name := range []string{"app.js", "app.css"} {
		mux.HandleFunc("GET "+api.PathPhonePage+name, page("phone_asset", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
			ct, b, _ := phonepage.Asset(name)
			w.Header().Set("Content-Type", ct)
			_, _ = w.Write(b)
			return nil
		}))
	}
	mux.HandleFunc("GET "+api.PathPhonePage+"api/state", page("phone_state", s.phoneAuthed(s.handlePhoneState)))
	mux.HandleFunc("POST "+api.PathPhonePage+"api/photos", page("phone_photo", s.phoneAuthed(s.handlePhonePiece)))
	// Search engines are told twice: here and in every answer's X-Robots-Tag.
	mux.HandleFunc("GET /robots.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "User-agent: *\nDisallow: /\n")
	})
}

// SweepPhone ends every phone session past its expiry, erasing its photos, and
// deletes ended sessions' rows after PhoneKeepEnded. The daemon runs it at start
// and every PhoneSweepEvery; with several relays each does, and ending is idempotent.
func (s *Server) SweepPhone(ctx context.Context) error {
	if s.ph == nil {
		return nil
	}
	now := s.ph.now()
	due, err := s.ph.st.PhoneDue(ctx, now)
	if err != nil {
		return err
	}
	for _, id := range due {
		if _, err := s.endPhone(ctx, id, phone.Expired); err != nil {
			return err
		}
	}
	_, err = s.ph.st.PhonePurge(ctx, now.Add(-PhoneKeepEnded))
	return err
}

// RunPhone sweeps now and every PhoneSweepEvery until ctx ends.
func (s *Server) RunPhone(ctx context.Context) {
	t := time.NewTicker(PhoneSweepEvery)
	defer t.Stop()
	for {
		if err := s.SweepPhone(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("phone session sweep failed; it is retried", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// endPhone ends a session and writes the audit row: how many photos and bytes the
// PC had not taken (erased with it).
func (s *Server) endPhone(ctx context.Context, id string, st phone.State) (phone.Session, error) {
	before, err := s.ph.st.PhoneEnd(ctx, id, st, s.ph.now())
	if err != nil || !before.State.Open() {
		return before, err
	}
	s.ph.ring()
	if err := s.audit.Add(ctx, auditRecord(before, "phone_end", string(st), before.Bytes, 0)); err != nil {
		s.log.Error("audit write failed", "err", err)
	}
	return before, nil
}

func auditRecord(ps phone.Session, op, outcome string, in, out int64) audit.Record {
	return audit.Record{At: time.Now(), Connector: ps.Connector, Facility: ps.Facility, Operation: op, Outcome: outcome,
		BytesIn: in, BytesOut: out, Correlation: newCorrelation()}
}

// live ends a session the moment it is seen past its expiry, so correctness never
// waits for the sweep.
func (s *Server) live(ctx context.Context, ps phone.Session) (phone.Session, error) {
	if ps.State.Open() && !s.ph.now().Before(ps.Expires) {
		if _, err := s.endPhone(ctx, ps.ID, phone.Expired); err != nil {
			return ps, err
		}
		return s.ph.st.PhoneGet(ctx, ps.ID)
	}
	return ps, nil
}

// ---- The agent's side ----

func phoneAPISession(ps phone.Session) api.PhoneSession {
	return api.PhoneSession{ID: ps.ID, Word: ps.Word, Practice: ps.Practice, State: string(ps.State), Expires: ps.Expires}
}

// practiceName is what the phone shows: the practice's name for a PC enrolled by a
// practice code, else the name the operator gave the connector.
func (s *Server) practiceName(ctx context.Context, c registry.Connector) string {
	if c.Practice != "" {
		if p, _, err := s.reg.Practice(ctx, c.Practice); err == nil && p.Name != "" {
			return p.Name
		}
	}
	return c.Name
}

func (s *Server) handlePhoneOpen(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	var req api.PhoneOpen
	if e := decodeJSON(w, r, &req); e != nil {
		return e
	}
	if !phone.ValidID(req.Capture) {
		return badRequest("The capture session id must be the agent's own 32 hex digits: this is a bug in the agent.")
	}
	ctx, now := r.Context(), s.ph.now()
	c, err := s.reg.Get(ctx, rc.connector.ID)
	if err != nil {
		return s.internal(rc, err)
	}
	token, hash := phone.Secret()
	ps := phone.Session{ID: phone.NewID(), Connector: c.ID, Facility: c.Facility, Capture: req.Capture,
		Practice: s.practiceName(ctx, c), Word: phone.NewWord(), TokenHash: hash, State: phone.Waiting,
		Created: now, Expires: now.Add(phone.UnpairedTTL)}
	switch err := s.ph.st.PhoneCreate(ctx, ps, phone.MaxOpenPerConnector); {
	case errors.Is(err, phone.ErrTooManyOpen):
		return fail(http.StatusConflict, api.CodeConflict, phone.Sentence(err))
	case err != nil:
		return s.internal(rc, err)
	}
	out := phoneAPISession(ps)
	out.Path = api.PathPhonePage + token
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// ownSession finds a session of this connector; another connector's is not found.
func (s *Server) ownSession(ctx context.Context, rc *reqCtx, id string) (phone.Session, *apiError) {
	notFound := fail(http.StatusNotFound, api.CodeNotFound, "No such phone session for this PC: open a new one.")
	if !phone.ValidID(id) {
		return phone.Session{}, notFound
	}
	ps, err := s.ph.st.PhoneGet(ctx, id)
	if errors.Is(err, phone.ErrNotFound) || (err == nil && ps.Connector != rc.connector.ID) {
		return ps, notFound
	}
	if err != nil {
		return ps, s.internal(rc, err)
	}
	return ps, nil
}

func (s *Server) handlePhoneClose(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	ps, e := s.ownSession(r.Context(), rc, r.PathValue("id"))
	if e != nil {
		return e
	}
	before, err := s.ph.st.PhoneEnd(r.Context(), ps.ID, phone.Closed, s.ph.now())
	if err != nil {
		return s.internal(rc, err)
	}
	if before.State.Open() {
		s.ph.ring()
	}
	rc.bytesIn = before.Bytes // erased without reaching the PC
	after, err := s.ph.st.PhoneGet(r.Context(), ps.ID)
	if err != nil {
		return s.internal(rc, err)
	}
	writeJSON(w, http.StatusOK, phoneAPISession(after))
	return nil
}

// handlePhonePoll is the agent's long poll: it answers as soon as one of the asked
// sessions changed or has photos ready, or after WaitSeconds. Changes made on this
// relay ring at once; another relay's show within phonePollTick.
func (s *Server) handlePhonePoll(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	var req api.PhonePoll
	if e := decodeJSON(w, r, &req); e != nil {
		return e
	}
	if len(req.Known) > 4*phone.MaxOpenPerConnector {
		return badRequest("Too many phone sessions in one poll: this is a bug in the agent.")
	}
	rc.noAudit = true // held open all day while a code is shown; the metrics count it
	wait := time.Duration(min(max(req.WaitSeconds, 0), api.PhoneMaxWait)) * time.Second
	deadline := time.Now().Add(wait)
	ctx := r.Context()
	for {
		bell := s.ph.waiter()
		out, changed, err := s.phoneUpdate(ctx, rc.connector.ID, req.Known)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return s.internal(rc, err)
		}
		left := time.Until(deadline)
		if changed || left <= 0 {
			writeJSON(w, http.StatusOK, out)
			return nil
		}
		t := time.NewTimer(min(left, phonePollTick))
		select {
		case <-bell:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
		t.Stop()
	}
}

func (s *Server) phoneUpdate(ctx context.Context, connector string, known []api.PhoneKnown) (api.PhoneUpdate, bool, error) {
	out := api.PhoneUpdate{Sessions: []api.PhoneSession{}}
	changed := false
	for _, k := range known {
		ps, err := s.ph.st.PhoneGet(ctx, k.ID)
		if errors.Is(err, phone.ErrNotFound) || (err == nil && ps.Connector != connector) || !phone.ValidID(k.ID) {
			out.Sessions = append(out.Sessions, api.PhoneSession{ID: k.ID, State: api.PhoneExpired})
			changed = changed || k.State != api.PhoneExpired
			continue
		}
		if err != nil {
			return out, false, err
		}
		if ps, err = s.live(ctx, ps); err != nil {
			return out, false, err
		}
		as := phoneAPISession(ps)
		if ps.State.Open() {
			photos, err := s.ph.st.PhonePhotos(ctx, ps.ID)
			if err != nil {
				return out, false, err
			}
			for _, p := range photos {
				switch p.State {
				case phone.Receiving:
					as.Uploading++
				case phone.Ready:
					as.Ready = append(as.Ready, api.PhonePhoto{ID: p.ID, Size: p.Size, ContentType: p.ContentType, Taken: p.Taken})
				}
			}
		}
		changed = changed || as.State != k.State || as.Uploading != k.Uploading || len(as.Ready) > 0
		out.Sessions = append(out.Sessions, as)
	}
	return out, changed, nil
}

// ownPhoto finds a photo of one of this connector's sessions.
func (s *Server) ownPhoto(ctx context.Context, rc *reqCtx, id string) (phone.Photo, *apiError) {
	notFound := fail(http.StatusNotFound, api.CodeNotFound, "No such phone photo for this PC: it was taken already, or its session ended.")
	if !phone.ValidID(id) {
		return phone.Photo{}, notFound
	}
	p, err := s.ph.st.PhonePhoto(ctx, id)
	if errors.Is(err, phone.ErrNotFound) {
		return p, notFound
	}
	if err != nil {
		return p, s.internal(rc, err)
	}
	if _, e := s.ownSession(ctx, rc, p.Session); e != nil {
		return p, notFound
	}
	return p, nil
}

// handlePhoneDownload streams a ready photo, one stored piece at a time.
func (s *Server) handlePhoneDownload(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	ctx := r.Context()
	p, e := s.ownPhoto(ctx, rc, r.PathValue("id"))
	if e != nil {
		return e
	}
	if p.State != phone.Ready {
		return fail(http.StatusConflict, api.CodeConflict, "This phone photo is not ready: it is still arriving, or was taken already.")
	}
	offs, err := s.ph.st.PhonePhotoPieces(ctx, p.ID)
	if err != nil {
		return s.internal(rc, err)
	}
	w.Header().Set("Content-Type", p.ContentType)
	w.Header().Set("Content-Length", strconv.FormatInt(p.Size, 10))
	if p.Taken != "" {
		w.Header().Set(api.HeaderPhotoTaken, p.Taken)
	}
	w.WriteHeader(http.StatusOK)
	var sent int64
	for _, off := range offs {
		b, err := s.ph.st.PhonePhotoPiece(ctx, p.ID, off)
		if err != nil || off != sent {
			// The session ended under us: cut the answer short so the agent sees it.
			rc.outcome = "cut"
			panic(http.ErrAbortHandler)
		}
		if _, err := w.Write(b); err != nil {
			rc.outcome = "client_gone"
			return nil
		}
		sent += int64(len(b))
	}
	return nil
}

func (s *Server) handlePhoneAck(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	p, e := s.ownPhoto(r.Context(), rc, r.PathValue("id"))
	if e != nil {
		return e
	}
	d, err := s.ph.st.PhonePhotoDeliver(r.Context(), p.ID, s.ph.now())
	if errors.Is(err, phone.ErrNotReady) {
		return fail(http.StatusConflict, api.CodeConflict, "This phone photo has not arrived whole yet: download it when the poll lists it.")
	}
	if err != nil {
		return s.internal(rc, err)
	}
	s.ph.ring()
	rc.bytesIn = d.Size
	writeJSON(w, http.StatusOK, map[string]string{"state": string(d.State)})
	return nil
}

// ---- The phone's side ----

// pageAddrOK takes one request from the source address's bucket.
func (s *Server) pageAddrOK(r *http.Request) (bool, time.Duration) {
	return s.ph.ip.Get(addrKey(s.clientAddr(r))).Take(1)
}

// secure reports whether the phone reached us over TLS (directly, or through a
// trusted proxy that says so).
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || (s.trusted(parseAddr(r.RemoteAddr)) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

func (s *Server) setPhoneCookie(w http.ResponseWriter, r *http.Request, value string) {
	c := &http.Cookie{Name: phoneCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		MaxAge: int(phone.PairedTTL / time.Second)}
	if s.secure(r) {
		c.Name, c.Secure = phoneCookieSecure, true
	}
	http.SetCookie(w, c)
}

// device returns the session whose cookie the request carries.
func (s *Server) device(r *http.Request) (phone.Session, bool) {
	for _, name := range []string{phoneCookieSecure, phoneCookie} {
		c, err := r.Cookie(name)
		if err != nil || !phone.WellFormed(c.Value) {
			continue
		}
		if ps, err := s.ph.st.PhoneByDevice(r.Context(), phone.Hash(c.Value)); err == nil {
			return ps, true
		}
	}
	return phone.Session{}, false
}

// Sentences of the page's notices.
var (
	noticeTooFast = [2]string{"Too many requests", "This network has sent too many requests: wait a minute, then scan the code again."}
	noticeInvalid = [2]string{"This link is not valid", "Scan the QR code in the practice's capture window again: the whole link is needed."}
	noticeEnded   = [2]string{"This code has ended", "Codes last 10 minutes until opened, and 30 minutes after. Press Phone in the capture window for a new code."}
	noticeOther   = [2]string{"This code is in use on another phone", "Each code works on one phone only. Press Phone in the capture window for a new code."}
	noticeStart   = [2]string{"Scan the code to start", "Press Phone in the practice's capture window and scan its QR code with this phone's camera."}
)

func notice(w http.ResponseWriter, rc *reqCtx, status int, outcome string, n [2]string) *apiError {
	rc.outcome = outcome
	phonepage.Notice(w, status, n[0], n[1])
	return nil
}

func (s *Server) renderPage(w http.ResponseWriter, ps phone.Session) {
	phonepage.Page(w, phonepage.Data{Practice: ps.Practice, Word: ps.Word, Expires: ps.Expires,
		MaxPhotos: phone.MaxPhotos, PieceSize: phone.PieceBytes})
}

func attribute(rc *reqCtx, ps phone.Session) {
	rc.connector = registry.Connector{ID: ps.Connector, Facility: ps.Facility}
}

// handlePhoneLink serves the link in the QR code. Its first load pairs the phone:
// the token is spent and the phone gets the cookie; the same phone reloading is
// recognised by its cookie, any other phone is refused.
func (s *Server) handlePhoneLink(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	if ok, _ := s.pageAddrOK(r); !ok {
		rc.rejected = "phone_rate"
		return notice(w, rc, http.StatusTooManyRequests, api.CodeRateLimited, noticeTooFast)
	}
	ctx, token := r.Context(), r.PathValue("token")
	// Wrong links spend the address's guesses; a known link gives its guess back.
	guesses := s.ph.guess.Get(addrKey(s.clientAddr(r)))
	if ok, _ := guesses.Take(1); !ok {
		rc.rejected = "phone_guess_limit"
		return notice(w, rc, http.StatusTooManyRequests, api.CodeRateLimited, noticeTooFast)
	}
	ps, err := phone.Session{}, phone.ErrNotFound
	if phone.WellFormed(token) {
		ps, err = s.ph.st.PhoneByToken(ctx, phone.Hash(token))
	}
	if errors.Is(err, phone.ErrNotFound) {
		rc.rejected = "phone_link_unknown"
		return notice(w, rc, http.StatusNotFound, api.CodeNotFound, noticeInvalid)
	}
	guesses.Give(1)
	if err != nil {
		return s.internal(rc, err)
	}
	if ps, err = s.live(ctx, ps); err != nil {
		return s.internal(rc, err)
	}
	attribute(rc, ps)
	switch ps.State {
	case phone.Closed, phone.Expired:
		rc.noAudit = true
		return notice(w, rc, http.StatusGone, codePhoneEnded, noticeEnded)
	case phone.Paired:
		if mine, ok := s.device(r); ok && mine.ID == ps.ID {
			rc.noAudit = true
			s.renderPage(w, ps)
			return nil
		}
		return notice(w, rc, http.StatusForbidden, codePhoneDevice, noticeOther)
	}
	cookie, hash := phone.Secret()
	now := s.ph.now()
	switch err := s.ph.st.PhonePair(ctx, ps.ID, hash, now, now.Add(phone.PairedTTL)); {
	case errors.Is(err, phone.ErrAlreadyPaired):
		return notice(w, rc, http.StatusForbidden, codePhoneDevice, noticeOther)
	case err != nil:
		return s.internal(rc, err)
	}
	s.ph.ring()
	s.setPhoneCookie(w, r, cookie)
	ps.Expires = now.Add(phone.PairedTTL)
	s.renderPage(w, ps)
	return nil
}

// handlePhoneReload serves the page again at /m/, where the page moves itself so the
// spent link leaves the address bar.
func (s *Server) handlePhoneReload(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	if ok, _ := s.pageAddrOK(r); !ok {
		rc.rejected = "phone_rate"
		return notice(w, rc, http.StatusTooManyRequests, api.CodeRateLimited, noticeTooFast)
	}
	ps, ok := s.device(r)
	if !ok {
		rc.rejected = "phone_no_cookie"
		return notice(w, rc, http.StatusOK, "start", noticeStart)
	}
	ps, err := s.live(r.Context(), ps)
	if err != nil {
		return s.internal(rc, err)
	}
	attribute(rc, ps)
	rc.noAudit = true
	if ps.State != phone.Paired {
		return notice(w, rc, http.StatusGone, codePhoneEnded, noticeEnded)
	}
	s.renderPage(w, ps)
	return nil
}

// phoneAuthed requires the phone's cookie for a paired, live session, and applies
// the address's and the session's limits. A POST must carry the page's own header
// and, when the browser says where it comes from, this origin: with the SameSite
// cookie that leaves no way for another site to post on the phone's behalf.
func (s *Server) phoneAuthed(h func(http.ResponseWriter, *http.Request, *reqCtx, phone.Session) *apiError) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
		if ok, wait := s.pageAddrOK(r); !ok {
			rc.rejected = "phone_rate"
			return &apiError{status: http.StatusTooManyRequests, code: api.CodeRateLimited, retryAfter: wait,
				msg: "This network is sending too many requests: the page carries on by itself shortly."}
		}
		if r.Method != http.MethodGet {
			origin := r.Header.Get("Origin")
			if r.Header.Get("X-Requested-With") != "clinicpro-phone" || (origin != "" && !sameOrigin(origin, r.Host)) {
				rc.rejected = "phone_cross_site"
				return fail(http.StatusForbidden, api.CodeForbidden, "Photos can only be sent from this page.")
			}
		}
		ps, ok := s.device(r)
		if !ok {
			rc.rejected = "phone_no_cookie"
			return fail(http.StatusForbidden, codePhoneDevice, noticeOther[1])
		}
		ps, err := s.live(r.Context(), ps)
		if err != nil {
			return s.internal(rc, err)
		}
		attribute(rc, ps)
		if ps.State != phone.Paired {
			rc.noAudit = true
			return fail(http.StatusGone, codePhoneEnded, noticeEnded[1])
		}
		if ok, wait := s.ph.sess.Get(ps.ID).Take(1); !ok {
			return &apiError{status: http.StatusTooManyRequests, code: api.CodeRateLimited, retryAfter: wait,
				msg: "This phone is sending faster than the relay allows: the page carries on by itself shortly."}
		}
		// A piece over a slow mobile connection may take a while.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(2 * time.Minute))
		return h(w, r, rc, ps)
	}
}

func sameOrigin(origin, host string) bool {
	o := strings.TrimPrefix(strings.TrimPrefix(origin, "https://"), "http://")
	return o != origin && strings.EqualFold(o, host)
}

type pagePhoto struct {
	Key      string `json:"key"`
	Size     int64  `json:"size"`
	Received int64  `json:"received"`
	State    string `json:"state"`
}

type pageState struct {
	State    string      `json:"state"`
	Practice string      `json:"practice"`
	Word     string      `json:"word"`
	Expires  time.Time   `json:"expires"`
	Photos   []pagePhoto `json:"photos"`
}

func (s *Server) handlePhoneState(w http.ResponseWriter, r *http.Request, rc *reqCtx, ps phone.Session) *apiError {
	rc.noAudit = true // polled every second while photos are on their way
	photos, err := s.ph.st.PhonePhotos(r.Context(), ps.ID)
	if err != nil {
		return s.internal(rc, err)
	}
	out := pageState{State: string(ps.State), Practice: ps.Practice, Word: ps.Word, Expires: ps.Expires, Photos: []pagePhoto{}}
	for _, p := range photos {
		out.Photos = append(out.Photos, pagePhoto{Key: p.Key, Size: p.Size, Received: p.Received, State: string(p.State)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// pieceForm is one piece as the page sends it: multipart fields key, size, offset,
// taken (optional), then the piece's bytes, in that order.
type pieceForm struct {
	key, taken   string
	size, offset int64
	data         []byte
}

func readPiece(w http.ResponseWriter, r *http.Request) (pieceForm, *apiError) {
	var f pieceForm
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
		return f, fail(http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia, "Photos are sent as a form: reload the page.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, phone.MaxPieceBytes+16<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return f, badRequest("The photo could not be read: reload the page and send it again.")
	}
	fields := map[string]string{}
	for {
		part, err := mr.NextPart()
		if err != nil {
			return f, badRequest("The photo arrived incomplete: the page sends it again by itself.")
		}
		name := part.FormName()
		if name == "piece" {
			f.data, err = io.ReadAll(io.LimitReader(part, phone.MaxPieceBytes+1))
			if err != nil {
				return f, badRequest("The photo arrived incomplete: the page sends it again by itself.")
			}
			break
		}
		if _, dup := fields[name]; dup || (name != "key" && name != "size" && name != "offset" && name != "taken") {
			return f, badRequest("The photo's form has an unexpected field: reload the page.")
		}
		b, _ := io.ReadAll(io.LimitReader(part, 65))
		if len(b) > 64 {
			return f, badRequest("The photo's form has a field that is too long: reload the page.")
		}
		fields[name] = string(b)
	}
	f.key, f.taken = fields["key"], fields["taken"]
	f.size, _ = strconv.ParseInt(fields["size"], 10, 64)
	off, err := strconv.ParseInt(fields["offset"], 10, 64)
	switch {
	case !phone.ValidKey(f.key):
		return f, badRequest("The photo's key is not valid: reload the page.")
	case f.size > phone.MaxPhotoBytes:
		return f, fail(http.StatusRequestEntityTooLarge, api.CodeTooLarge, phone.Sentence(phone.ErrTooBig))
	case f.size < 1 || err != nil || off < 0 || off >= f.size || len(f.data) == 0 || len(f.data) > phone.MaxPieceBytes || off+int64(len(f.data)) > f.size:
		return f, badRequest("The photo's piece does not fit its size: reload the page and send it again.")
	case !phone.ValidTaken(f.taken):
		return f, badRequest("The photo's date is not valid: reload the page and send it again.")
	}
	f.offset = off
	return f, nil
}

// handlePhonePiece stores one piece of a photo. The first piece is sniffed: a JPEG
// or PNG, of a plausible size, with no EXIF or location left in it. A piece that does
// not start where the relay stands is refused with 409; the page then asks where
// that is (state) and carries on from there.
func (s *Server) handlePhonePiece(w http.ResponseWriter, r *http.Request, rc *reqCtx, ps phone.Session) *apiError {
	f, e := readPiece(w, r)
	if e != nil {
		return e
	}
	ctx, now := r.Context(), s.ph.now()
	rc.bytesIn = int64(len(f.data))
	var p phone.Photo
	if f.offset == 0 {
		ct, err := phone.CheckHead(f.data)
		if err != nil {
			return fail(http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia, phone.Sentence(err))
		}
		p, err = s.ph.st.PhonePhotoStart(ctx, ps.Connector, phone.Photo{ID: phone.NewID(), Session: ps.ID, Key: f.key,
			Size: f.size, ContentType: ct, Taken: f.taken, Created: now})
		switch {
		case errors.Is(err, phone.ErrTooManyPhotos), errors.Is(err, phone.ErrPhotoChanged):
			return fail(http.StatusConflict, api.CodeConflict, phone.Sentence(err))
		case errors.Is(err, phone.ErrConnectorFull):
			return &apiError{status: http.StatusTooManyRequests, code: api.CodeRelayBusy, retryAfter: 5 * time.Second, msg: phone.Sentence(err)}
		case errors.Is(err, phone.ErrNotOpen), errors.Is(err, phone.ErrNotFound):
			return fail(http.StatusGone, codePhoneEnded, noticeEnded[1])
		case err != nil:
			return s.internal(rc, err)
		}
	} else {
		photos, err := s.ph.st.PhonePhotos(ctx, ps.ID)
		if err != nil {
			return s.internal(rc, err)
		}
		for _, q := range photos {
			if q.Key == f.key {
				p = q
			}
		}
		if p.ID == "" || p.Size != f.size {
			return fail(http.StatusConflict, api.CodeConflict, "The relay has not got this photo's beginning: the page starts it again.")
		}
	}
	p, err := s.ph.st.PhonePhotoAppend(ctx, p.ID, f.offset, f.data, now)
	var oe *phone.OffsetError
	switch {
	case errors.As(err, &oe):
		rc.noAudit = true
		return fail(http.StatusConflict, api.CodeConflict, "The relay already has part of this photo: the page carries on from there.")
	case errors.Is(err, phone.ErrNotFound):
		return fail(http.StatusGone, codePhoneEnded, noticeEnded[1])
	case err != nil:
		return s.internal(rc, err)
	}
	if p.State == phone.Ready {
		// One audit row per photo, with its size.
		rc.bytesIn = p.Size
		s.ph.ring()
	} else {
		rc.noAudit = true
	}
	writeJSON(w, http.StatusOK, pagePhoto{Key: p.Key, Size: p.Size, Received: p.Received, State: string(p.State)})
	return nil
}
