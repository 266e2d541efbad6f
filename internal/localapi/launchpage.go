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
// the running tray (as an EventLaunch). trayNotified is false when no tray is
// listening, so the page can tell the GP to start it.
type LaunchOpener func(ctx context.Context, req LaunchRequest) (trayNotified bool, err error)

// NewLaunchPage serves GET /launch?context=…&signature=… for practices whose Medtech
// only opens web addresses. The query carries Medtech's launch tokens, so neither the
// URL nor the query is ever logged, and the page names no patient.
func NewLaunchPage(open LaunchOpener, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(redact.NewHandler(slog.DiscardHandler))
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /launch", func(w http.ResponseWriter, r *http.Request) {
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

type page struct{ Heading, Body string }

var (
	pageOpened      = page{"ClinicPro Images has opened", "You can close this tab and carry on in the ClinicPro Images window."}
	pageNoTray      = page{"ClinicPro Images is not running", "Start ClinicPro Images from the Start menu, then click the ClinicPro icon in Medtech again."}
	pageRefused     = page{"This launch could not be verified", "Medtech's link was not accepted (it may be old or altered). Close this tab and click the ClinicPro icon in Medtech again."}
	pageIncomplete  = page{"This launch link is incomplete", "Open ClinicPro Images from the icon on the Medtech toolbar, not from a saved link."}
	pageNotEnrolled = page{"ClinicPro Images is not set up on this PC", "Ask your practice IT to enrol this PC with `clinicpro enrol`."}
	pageUnavailable = page{"ClinicPro could not reach Medtech", "Check the status in the ClinicPro Images tray icon, then try the icon in Medtech again."}
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
