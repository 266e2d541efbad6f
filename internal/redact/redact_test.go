package redact

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	tests := map[string]string{
		"file ZZZ0016 knee.jpg":      "file [redacted] knee.jpg",
		"zzz00ac and ZZZ0017 (typo)": "[redacted] and [redacted] (typo)",
		"F2N060-E stays":             "F2N060-E stays",
		"correlation 3fa8b2c1 stays": "correlation 3fa8b2c1 stays",
		"ABCD0016 is not NHI-shaped": "ABCD0016 is not NHI-shaped",
	}
	for in, want := range tests {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHandlerScrubs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil)))
	log = log.With("patient_id", "14e52e16edb7a435bfa05e307afd008b")
	log.Info("routed ZZZ0016 knee.jpg", "nhi", "ZZZ0016", "family", "TESTING",
		"err", errors.New("patient ZZZ00AC not found"),
		slog.Group("req", "path", "/x/ZZZ0024", "birthDate", "1970-01-01"), "facility", "F2N060-E")
	out := buf.String()
	for _, leak := range []string{"ZZZ0016", "ZZZ00AC", "ZZZ0024", "TESTING", "1970-01-01", "14e52e16"} {
		if strings.Contains(out, leak) {
			t.Errorf("log line leaks %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, "F2N060-E") {
		t.Errorf("facility id should survive: %s", out)
	}
}

func TestHash(t *testing.T) {
	a, b := Hash([]byte("k1"), "ZZZ0016"), Hash([]byte("k2"), "ZZZ0016")
	if a == b || a != Hash([]byte("k1"), "ZZZ0016") || len(a) != 24 {
		t.Errorf("Hash not keyed and stable: %s %s", a, b)
	}
}

func FuzzString(f *testing.F) {
	f.Add("ZZZ0016 knee.jpg")
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if nhiLike.MatchString(out) {
			t.Fatalf("String(%q) = %q still contains an NHI", s, out)
		}
	})
}

func BenchmarkHandler(b *testing.B) {
	log := slog.New(NewHandler(slog.NewJSONHandler(io.Discard, nil)))
	b.ReportAllocs()
	for b.Loop() {
		log.Info("uploaded", "item", "01HX", "bytes", 123456, "correlationId", "3fa8b2c1")
	}
}
