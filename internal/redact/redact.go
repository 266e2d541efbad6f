// Package redact keeps patient identifiers out of logs, error strings and crash
// reports. It offers keyed hashes (so an audit trail can correlate without holding the
// identifier) and a log/slog handler that scrubs anything NHI-shaped and masks
// attributes whose key names patient data, as a backstop for code that forgets.
package redact

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"regexp"
	"strings"
)

// Mask replaces a redacted value.
const Mask = "[redacted]"

// Hash returns a keyed, truncated HMAC-SHA256 of value: stable for one key, useless to
// anyone without it. Used for patient ids in audit rows.
func Hash(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil)[:12])
}

// nhiLike matches both NHI formats, any check character, either case, so a mistyped
// NHI is scrubbed too. Word boundaries keep ordinary identifiers intact.
var nhiLike = regexp.MustCompile(`(?i)\b[A-HJ-NP-Z]{3}[0-9]{2}(?:[0-9]{2}|[A-HJ-NP-Z]{2})\b`)

// String scrubs NHI-shaped tokens from s.
func String(s string) string { return nhiLike.ReplaceAllString(s, Mask) }

// sensitiveKeys are attribute keys (lower case, separators removed) whose values are
// patient data wherever they appear.
var sensitiveKeys = map[string]bool{
	"nhi": true, "patient": true, "patientid": true, "patientname": true, "name": true,
	"family": true, "given": true, "birthdate": true, "dob": true, "dateofbirth": true,
	"subject": true, "banner": true,
}

// keySeparators is built once: building a Replacer per call cost more than the rest of
// a log line's formatting.
var keySeparators = strings.NewReplacer("_", "", "-", "", ".", "")

// SensitiveKey reports whether a log attribute key names patient data.
func SensitiveKey(key string) bool {
	return sensitiveKeys[strings.ToLower(keySeparators.Replace(key))]
}

// NewHandler wraps h so every record is scrubbed before it is written.
func NewHandler(h slog.Handler) slog.Handler { return &handler{h} }

type handler struct{ next slog.Handler }

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(scrub(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = scrub(a)
	}
	return &handler{h.next.WithAttrs(clean)}
}

func (h *handler) WithGroup(name string) slog.Handler { return &handler{h.next.WithGroup(name)} }

func scrub(a slog.Attr) slog.Attr {
	if SensitiveKey(a.Key) {
		return slog.String(a.Key, Mask)
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = scrub(ga)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, String(err.Error()))
		}
		return slog.String(a.Key, String(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
