// Package phonepage is the phone's page for phone capture (internal/relay/phone):
// one HTML page, its script and its style sheet, embedded in the relay binary, plus
// the short pages a phone sees when its link is not valid, has ended, or was opened
// on another phone. Nothing is loaded from anywhere else: the Content-Security-Policy
// allows this origin only, and the page stores nothing on the phone.
package phonepage

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strconv"
	"time"
)

//go:embed assets
var assets embed.FS

var tmpl = template.Must(template.ParseFS(assets, "assets/*.html"))

// Headers every answer under the page's paths carries: nothing is cached or indexed,
// no referrer leaks the link, nothing from another origin runs, nothing frames it.
var Headers = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"Cache-Control":                "no-store",
	"Referrer-Policy":              "no-referrer",
	"X-Robots-Tag":                 "noindex, nofollow, noarchive",
	"X-Content-Type-Options":       "nosniff",
	"X-Frame-Options":              "DENY",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"Permissions-Policy":           "geolocation=(), microphone=(), payment=(), usb=()",
}

// SetHeaders sets Headers on w.
func SetHeaders(w http.ResponseWriter) {
	for k, v := range Headers {
		w.Header().Set(k, v)
	}
}

// Data is what the page shows and needs: no patient data, ever.
type Data struct {
	Practice  string
	Word      string
	Expires   time.Time
	MaxPhotos int
	PieceSize int
}

// Page writes the capture page.
func Page(w http.ResponseWriter, d Data) {
	render(w, http.StatusOK, "page.html", map[string]any{
		"Practice": d.Practice, "Word": d.Word, "Expires": d.Expires.UTC().Format(time.RFC3339),
		"MaxPhotos": strconv.Itoa(d.MaxPhotos), "PieceSize": strconv.Itoa(d.PieceSize),
	})
}

// Notice writes a page with a heading and one sentence saying what to do.
func Notice(w http.ResponseWriter, status int, title, sentence string) {
	render(w, status, "notice.html", map[string]any{"Title": title, "Sentence": sentence})
}

func render(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// Asset serves the script or style sheet by name (app.js, app.css); ok is false for
// anything else.
func Asset(name string) (contentType string, body []byte, ok bool) {
	types := map[string]string{"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
	ct, known := types[name]
	if !known {
		return "", nil, false
	}
	b, err := assets.ReadFile("assets/" + name)
	return ct, b, err == nil
}

// Weight is the bytes a phone downloads for the page (HTML with the longest
// practice name a relay holds, script, style sheet), for the page-weight budget.
func Weight(d Data) int {
	rec := &sizeWriter{h: http.Header{}}
	Page(rec, d)
	n := rec.n
	for _, a := range []string{"app.js", "app.css"} {
		_, b, _ := Asset(a)
		n += len(b)
	}
	return n
}

type sizeWriter struct {
	h http.Header
	n int
}

func (s *sizeWriter) Header() http.Header         { return s.h }
func (s *sizeWriter) WriteHeader(int)             {}
func (s *sizeWriter) Write(b []byte) (int, error) { s.n += len(b); return len(b), nil }
