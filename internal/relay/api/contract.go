package api

import (
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The upload contract's vocabulary, declared once: the tray and the agent offer and
// check these values, the agent's queue stores them, and the relay checks them again
// and turns them into the DocumentReference. Body sites are in bodysite.go.

// Kinds of upload. The kind chooses the DocumentReference type code (relay.toml
// [alex.document_type.<kind>]).
const (
	KindPhoto    = "photo"    // a clinical photograph
	KindDocument = "document" // a letter, referral, form or other scanned paper
)

// DefaultKind is the kind of a file nobody classified: a PDF is a document, an
// image a photo.
func DefaultKind(contentType string) string {
	if contentType == ContentTypePDF {
		return KindDocument
	}
	return KindPhoto
}

// Sources: how a file came to the agent.
const (
	SourceDrop    = "drop"    // dropped or picked in the capture window, or left in a watched folder
	SourceCamera  = "camera"  // from a camera's card or folder
	SourcePhone   = "phone"   // from a phone's synced folder
	SourceCapture = "capture" // taken with the capture window's camera
)

// Lateralities offered with a body site.
const (
	LateralityNone      = ""
	LateralityRight     = "right"
	LateralityLeft      = "left"
	LateralityBilateral = "bilateral"
	LateralityNA        = "not-applicable"
)

// Coding is a coded value as it goes on the wire.
type Coding struct {
	System, Code, Display string
}

// lateralityCodes are the SNOMED CT laterality qualifiers (the children of 182353008
// "Side").
var lateralityCodes = map[string]Coding{
	LateralityLeft:      {SNOMEDSystem, "7771000", "Left"},
	LateralityRight:     {SNOMEDSystem, "24028007", "Right"},
	LateralityBilateral: {SNOMEDSystem, "51440002", "Bilateral"},
}

// LateralityCoding returns the SNOMED CT coding of a laterality; ok is false for
// none and not-applicable, which are not sent.
func LateralityCoding(l string) (Coding, bool) {
	c, ok := lateralityCodes[l]
	return c, ok
}

// Limits, counted in characters (runes) on every side.
const (
	MaxTitle       = 200
	MaxDescription = 2000
)

// Errors of the contract's checks: sentences a person can act on.
var (
	ErrKind       = errors.New("the kind must be photo or document")
	ErrSource     = errors.New("the source must be drop, camera, phone or capture")
	ErrLaterality = errors.New("laterality must be right, left, bilateral or not-applicable")
	ErrNoTitle    = errors.New("the title is empty: give the image a title")
	ErrTakenAt    = errors.New("the date taken must be an RFC 3339 date-time such as 2026-11-27T09:30:00+13:00, not in the future")
)

// ValidateKind accepts "" (decided later, by DefaultKind) and the two kinds.
func ValidateKind(k string) error {
	if k == "" || k == KindPhoto || k == KindDocument {
		return nil
	}
	return ErrKind
}

// ValidateSource accepts "" (unknown) and the four sources.
func ValidateSource(s string) error {
	switch s {
	case "", SourceDrop, SourceCamera, SourcePhone, SourceCapture:
		return nil
	}
	return ErrSource
}

// ValidateLaterality accepts the offered lateralities and "".
func ValidateLaterality(l string) error {
	switch l {
	case LateralityNone, LateralityRight, LateralityLeft, LateralityBilateral, LateralityNA:
		return nil
	}
	return ErrLaterality
}

// CleanText makes outside text safe to file and show: invalid UTF-8, control and
// format characters (Unicode Cc and Cf, which include the bidirectional overrides
// that can make a title read backwards) and line or paragraph separators are
// removed, line breaks and tabs become spaces, runs of spaces become one, and the
// result is trimmed and shortened to max characters (runes, never bytes).
func CleanText(s string, max int) string {
	var b strings.Builder
	space := false
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		s = s[n:]
		switch {
		case r == utf8.RuneError && n <= 1:
			continue
		case r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r):
			space = true
			continue
		case unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r):
			continue
		case unicode.IsSpace(r):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	out := b.String()
	if utf8.RuneCountInString(out) > max {
		out = strings.TrimRight(string([]rune(out)[:max]), " ")
	}
	return out
}

// CleanTitle is CleanText at the title's limit.
func CleanTitle(s string) string { return CleanText(s, MaxTitle) }

// Normalize cleans the free-text fields of an upload as every side does, so the
// relay files exactly what the agent queued.
func (m *DocumentMetadata) Normalize() {
	m.Title = CleanTitle(m.Title)
	m.Description = CleanText(m.Description, MaxDescription)
	m.BodySite = CleanText(m.BodySite, MaxBodySite)
}

// Validate checks a normalized upload's contract fields (the relay also checks the
// wire-level ones: key, patient, content type and size).
func (m DocumentMetadata) Validate(now time.Time) error {
	if m.Title == "" {
		return ErrNoTitle
	}
	for _, err := range []error{ValidateKind(m.Kind), ValidateSource(m.Source), ValidateLaterality(m.Laterality),
		ValidateBodySite(m.BodySiteCode, m.BodySite)} {
		if err != nil {
			return err
		}
	}
	if m.ClinicalDate != "" {
		t, err := time.Parse(time.RFC3339, m.ClinicalDate)
		// A camera clock a little ahead is common; a day ahead is a wrong date.
		if err != nil || t.After(now.Add(24*time.Hour)) {
			return ErrTakenAt
		}
	}
	return nil
}
