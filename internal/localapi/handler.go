package localapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"time"

	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// MaxUpload bounds one AddFile body. Phone photos and scanned PDFs are well under
// this; anything bigger is almost certainly the wrong file.
const MaxUpload = 200 << 20

// idPattern keeps path ids opaque and short: anything else is refused before it
// reaches the Service (and cannot smuggle an identifier into a log line).
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// NewHandler serves svc over HTTP. It is transport-agnostic: the agent mounts it on
// a named pipe or unix socket, tests on any net.Listener. log receives failures
// only (never request URLs or bodies); pass a logger built on redact.NewHandler.
func NewHandler(svc Service, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(redact.NewHandler(slog.DiscardHandler))
	}
	h := &handler{svc: svc, log: log}
	m := http.NewServeMux()
	m.HandleFunc("GET "+PathStatus, h.status)
	m.HandleFunc("POST "+PathLaunch, h.launch)
	m.HandleFunc("GET "+PathSessions+"{id}", h.session)
	m.HandleFunc("DELETE "+PathSessions+"{id}", h.closeSession)
	m.HandleFunc("POST "+PathSessions+"{id}/items", h.addFile)
	m.HandleFunc("POST "+PathSessions+"{id}/save", h.save)
	m.HandleFunc("POST "+PathSessions+"{id}/phone", h.phone(PhoneService.OpenPhone))
	m.HandleFunc("GET "+PathSessions+"{id}/phone", h.phone(PhoneService.Phone))
	m.HandleFunc("DELETE "+PathSessions+"{id}/phone", h.closePhone)
	m.HandleFunc("GET "+PathItems+"{id}", h.itemAction(Service.Item))
	m.HandleFunc("DELETE "+PathItems+"{id}", h.remove)
	m.HandleFunc("GET "+PathItems+"{id}/thumbnail", h.image(Service.Thumbnail))
	m.HandleFunc("GET "+PathItems+"{id}/preview", h.image(Service.Preview))
	m.HandleFunc("POST "+PathItems+"{id}/assign", h.assign)
	m.HandleFunc("POST "+PathItems+"{id}/reject", h.itemAction(Service.Reject))
	m.HandleFunc("POST "+PathItems+"{id}/retry", h.itemAction(Service.Retry))
	m.HandleFunc("POST "+PathItems+"{id}/send-again", h.itemAction(Service.SendAgain))
	m.HandleFunc("POST "+PathItems+"{id}/discard", h.itemAction(Service.Discard))
	m.HandleFunc("GET "+PathQueue, h.list(Service.Queue))
	m.HandleFunc("GET "+PathUnassigned, h.list(Service.Unassigned))
	m.HandleFunc("POST "+PathPause, h.pause)
	m.HandleFunc("POST "+PathRecheck, h.recheck)
	m.HandleFunc("GET "+PathEvents, h.events)
	m.HandleFunc("GET "+PathDiagnosis, h.diagnostics)
	m.HandleFunc("POST "+PathTraysClose, h.closeTrays)
	// Unknown routes answer in the API's own error shape so the client maps them.
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, ErrNotFound) })
	return refuseBrowsers(m)
}

// refuseBrowsers answers 403 to any request with an Origin header. Browsers add
// Origin to cross-origin fetches and to every POST, so no web page can drive the
// agent even if it finds a way to reach the transport; our own clients never send it.
// Over TCP (tests and tools) the Host must also be a loopback literal, so a page that
// rebinds its own name to 127.0.0.1 is refused even without an Origin.
func refuseBrowsers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Header["Origin"]; ok {
			writeError(w, ErrForbidden)
			return
		}
		if overTCP(r) && !loopbackHost(r.Host) {
			writeError(w, ErrHost)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type handler struct {
	svc Service
	log *slog.Logger
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	ae := asAPIError(err)
	if ae.Code == CodeInternal {
		// The route pattern, not the URL: ids are opaque but the habit matters.
		h.log.Error("local API request failed", "route", r.Pattern, "err", err)
	}
	writeError(w, ae)
}

func writeError(w http.ResponseWriter, ae *APIError) {
	writeJSON(w, ae.httpStatus(), Error{Error: ae.Code, Message: ae.Message, Correlation: ae.Correlation})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pathID returns the {id} segment, or answers 404 for ids that cannot be ours.
func pathID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		writeError(w, ErrNotFound)
		return "", false
	}
	return id, true
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		writeError(w, NewError(CodeBadRequest, "The request body is not valid JSON for this call."))
		return false
	}
	return true
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	st, err := h.svc.Status(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) launch(w http.ResponseWriter, r *http.Request) {
	var req LaunchRequest
	if !readJSON(w, r, &req) {
		return
	}
	s, err := h.svc.Launch(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (h *handler) session(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	s, err := h.svc.Session(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (h *handler) closeSession(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := h.svc.CloseSession(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) addFile(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	// How the file came, as the window says (?source=capture); drop when absent.
	source := r.URL.Query().Get("source")
	if err := api.ValidateSource(source); err != nil {
		writeError(w, NewError(CodeBadRequest, err.Error()+"."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxUpload)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, NewError(CodeBadRequest, "Send the file as multipart form data in a part named \"file\"."))
		return
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, NewError(CodeBadRequest, "The file is larger than the agent accepts; choose a smaller file."))
				return
			}
			writeError(w, NewError(CodeBadRequest, "The upload has no part named \"file\"."))
			return
		}
		if part.FormName() != "file" {
			_ = part.Close()
			continue
		}
		body := &readErr{r: part}
		it, err := h.svc.AddFile(r.Context(), id, NewFile{Name: part.FileName(), Source: source}, body)
		_ = part.Close()
		if err != nil {
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				err = NewError(CodeBadRequest, "The file is larger than the agent accepts; choose a smaller file.")
			case body.err != nil:
				// The upload itself broke, not the agent: say so, as a client fault.
				err = NewError(CodeBadRequest, "The file upload was cut short or malformed; try again.")
			}
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, it)
		return
	}
}

func (h *handler) save(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var req SaveRequest
	if !readJSON(w, r, &req) {
		return
	}
	items, err := h.svc.Save(r.Context(), id, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if items == nil {
		items = []Item{}
	}
	writeJSON(w, http.StatusOK, items)
}

func (h *handler) remove(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := h.svc.Remove(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// image serves a JPEG rendition of an item (thumbnail or preview).
func (h *handler) image(f func(Service, ctxT, string) ([]byte, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		b, err := f(h.svc, r.Context(), id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	}
}

func (h *handler) assign(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var req assignRequest
	if !readJSON(w, r, &req) {
		return
	}
	it, err := h.svc.Assign(r.Context(), id, req.SessionID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func (h *handler) itemAction(f func(Service, ctxT, string) (Item, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		it, err := f(h.svc, r.Context(), id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, it)
	}
}

func (h *handler) list(f func(Service, ctxT) ([]Item, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		items, err := f(h.svc, r.Context())
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if items == nil {
			items = []Item{}
		}
		writeJSON(w, http.StatusOK, items)
	}
}

func (h *handler) pause(w http.ResponseWriter, r *http.Request) {
	var req pauseRequest
	if !readJSON(w, r, &req) {
		return
	}
	st, err := h.svc.Pause(r.Context(), req.Paused)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) recheck(w http.ResponseWriter, r *http.Request) {
	st, err := h.svc.Recheck(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// keepAlive is how often an idle event stream carries an empty line, so a client
// (or the pipe) notices a dead agent and reconnects.
const keepAlive = 25 * time.Second

func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	ch, err := h.svc.Events(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	enc := json.NewEncoder(w)
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := io.WriteString(w, "\n"); err != nil {
				return
			}
		case e, ok := <-ch:
			if !ok {
				return
			}
			if err := enc.Encode(e); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func (h *handler) closeTrays(w http.ResponseWriter, r *http.Request) {
	tc, ok := h.svc.(TrayCloser)
	if !ok {
		writeError(w, ErrNotFound)
		return
	}
	res, err := tc.CloseTrays(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *handler) diagnostics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "clinicpro-diagnostics.zip"}))
	// Headers go out with the first write; a failure before that still gets a
	// proper error answer, one after it truncates the zip, which the client detects.
	cw := &countingWriter{w: w}
	if err := h.svc.DiagnosticsBundle(r.Context(), cw); err != nil {
		if cw.n == 0 {
			w.Header().Del("Content-Disposition")
			h.fail(w, r, err)
			return
		}
		h.log.Error("diagnostics bundle failed part-way", "err", err)
		panic(http.ErrAbortHandler)
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// readErr remembers the upload's read failure so the handler can tell a broken
// upload (the client's fault) from a failing Service.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}
