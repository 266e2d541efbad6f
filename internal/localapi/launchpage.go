package localapi

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/clinicpro/medtech-images/internal/launch"
	"github.com/clinicpro/medtech-images/internal/redact"
)

// LaunchOpener resolves a launch that arrived as a web URL and hands the session to
// the tray of the Windows session and user whose browser opened it (ctx carries that
// Peer), as an EventLaunch. trayNotified is false when that user has no tray
// listening, so the page can tell the GP to start it.
type LaunchOpener func(ctx context.Context, req LaunchRequest) (trayNotified bool, err error)

// NewLaunchPage serves GET /launch?context=…&signature=… for practices whose Medtech
// only opens web addresses. The query carries Medtech's launch tokens, so neither the
// URL nor the query is ever logged, and the page names no patient. Serve it with
// NewServer, so each request carries the Peer that opened the connection.
func NewLaunchPage(open LaunchOpener, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(redact.NewHandler(slog.DiscardHandler))
	}
	m := http.NewServeMux()
	m.HandleFunc("/launch", func(w http.ResponseWriter, r *http.Request) {
		// Not "GET /launch": the mux lets HEAD through such a pattern, and a HEAD
		// (a link preview, a prefetch) must not spend the launch or open a window.
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			writePage(w, http.StatusMethodNotAllowed, pageIncomplete)
			return
		}
		if !navigatedByPerson(r.Header) {
			writePage(w, http.StatusForbidden, pageNotNavigation)
			return
		}
		// launch.Parse, not r.URL.Query(): Evolution leaves '+' unencoded in the
		// signature and form decoding would turn it into a space. Rebuilding from Host
		// also refuses a request whose Host is not loopback (DNS rebinding).
		l, err := launch.Parse("http://" + r.Host + r.URL.RequestURI())
		if err != nil {
			writePage(w, http.StatusBadRequest, pageIncomplete)
			return
		}
		req := LaunchRequest{Context: l.Context, Signature: l.Signature}
		notified, err := open(r.Context(), req)
		switch {
		case err == nil && notified:
			writePage(w, http.StatusOK, pageOpened)
		case err == nil:
			writePage(w, http.StatusOK, pageNoTray)
		case errors.Is(err, ErrLaunch), errors.Is(err, ErrBadRequest):
			writePage(w, http.StatusForbidden, pageRefused)
		case errors.Is(err, ErrForbidden):
			writePage(w, http.StatusForbidden, pageUnknownCaller)
		case errors.Is(err, ErrNotEnrolled):
			writePage(w, http.StatusServiceUnavailable, pageNotEnrolled)
		default:
			// Upstream errors may quote what they were sent; the tokens stay out of logs.
			msg := strings.NewReplacer(req.Context, "[context]", req.Signature, "[signature]").Replace(err.Error())
			log.Warn("web launch failed", "err", msg)
			writePage(w, http.StatusServiceUnavailable, pageUnavailable)
		}
	})
	return m
}

// navigatedByPerson applies Fetch Metadata: when the browser sends it, the request
// must be a top-level navigation (Sec-Fetch-Mode: navigate) that no other site started
// (Sec-Fetch-Site: none, as for a link opened by Medtech or typed, or same-origin).
// An <img>, a fetch or a link on another site cannot then spend a launch. Browsers
// that send no Fetch Metadata (older embedded ones) are let through: the Host check
// and the once-only launch still hold for them.
func navigatedByPerson(h http.Header) bool {
	site, mode := h.Values("Sec-Fetch-Site"), h.Values("Sec-Fetch-Mode")
	if len(site) == 0 && len(mode) == 0 && len(h.Values("Sec-Fetch-Dest")) == 0 && len(h.Values("Sec-Fetch-User")) == 0 {
		return true
	}
	if len(site) != 1 || len(mode) != 1 || mode[0] != "navigate" {
		return false
	}
	return site[0] == "none" || site[0] == "same-origin"
}

type page struct{ Heading, Body string }

var (
	pageOpened        = page{"ClinicPro Images has opened", "You can close this tab and carry on in the ClinicPro Images window."}
	pageNoTray        = page{"ClinicPro Images is not running", "Start ClinicPro Images from the Start menu, then click the ClinicPro icon in Medtech again."}
	pageRefused       = page{"This launch could not be verified", "Medtech's link was not accepted (it may be old or altered). Close this tab and click the ClinicPro icon in Medtech again."}
	pageIncomplete    = page{"This launch link is incomplete", "Open ClinicPro Images from the icon on the Medtech toolbar, not from a saved link."}
	pageNotEnrolled   = page{"ClinicPro Images is not set up on this PC", "Ask your practice IT to enrol this PC with `clinicpro enrol`."}
	pageNotNavigation = page{"Open this link from Medtech", "ClinicPro Images opens only when you click its icon on the Medtech toolbar, not from another web page."}
	pageUnknownCaller = page{"ClinicPro could not tell who opened this link", "Click the ClinicPro icon in Medtech again. If this keeps happening, ask your practice IT to check that the ClinicPro Agent service is running."}
	pageUnavailable   = page{"ClinicPro could not reach Medtech", "Check the status in the ClinicPro Images tray icon, then try the icon in Medtech again."}
)

// The title is fixed: browsers put it in history and taskbars, so it must never
// carry anything about the patient.
var pageTmpl = template.Must(template.New("p").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ClinicPro Images</title>
<meta name="referrer" content="no-referrer">
<style>body{font-family:system-ui,sans-serif;margin:3em;color:#222}h1{font-size:1.4em}</style>
</head><body><h1>{{.Heading}}</h1><p>{{.Body}}</p></body></html>
`))

func writePage(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, p)
}
