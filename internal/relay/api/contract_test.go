package api

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"Knee":                           "Knee",
		"  left \t knee\r\nwound  ":      "left knee wound",
		"evil\u202etxt.exe\u202c":        "eviltxt.exe", // bidi override and pop (Cf)
		"zero\u200bwidth\u2066iso\u2069": "zerowidthiso",
		"bell\x07\x00nul":                "bellnul",
		"bad\xffutf8\xc3":                "badutf8",
		"line\u2028para\u2029end":        "line para end",
		"\u202e\x07":                     "",
		"Māori ōrite":                    "Māori ōrite",
	} {
		if got := CleanText(in, 100); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
	// The limit counts characters, not bytes, and never splits one.
	long := strings.Repeat("ā", 250)
	if got := CleanTitle(long); utf8.RuneCountInString(got) != MaxTitle || !utf8.ValidString(got) {
		t.Fatalf("title of %d runes", utf8.RuneCountInString(got))
	}
	if got := CleanText("abc def", 4); got != "abc" {
		t.Fatalf("cut at a space: %q", got)
	}
}

func TestMetadataValidate(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	ok := DocumentMetadata{Title: "Knee", Kind: KindPhoto, Source: SourcePhone, Laterality: LateralityLeft,
		BodySite: "Knee", BodySiteCode: "72696002", ClinicalDate: "2026-11-20T14:05:06+13:00"}
	if err := ok.Validate(now); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*DocumentMetadata){
		"no title":       func(m *DocumentMetadata) { m.Title = "" },
		"kind":           func(m *DocumentMetadata) { m.Kind = "xray" },
		"source":         func(m *DocumentMetadata) { m.Source = "fax" },
		"laterality":     func(m *DocumentMetadata) { m.Laterality = "up" },
		"code unknown":   func(m *DocumentMetadata) { m.BodySiteCode = "72696003" },
		"code, not term": func(m *DocumentMetadata) { m.BodySite = "Elbow" },
		"date format":    func(m *DocumentMetadata) { m.ClinicalDate = "20/11/2026" },
		"date ahead":     func(m *DocumentMetadata) { m.ClinicalDate = "2026-12-25T09:00:00Z" },
	} {
		m := ok
		mut(&m)
		if m.Validate(now) == nil {
			t.Errorf("%s accepted", name)
		}
	}
	m := DocumentMetadata{Title: " \u202eReferral\n", Description: "a\tb", BodySite: "  Knee "}
	m.Normalize()
	if m.Title != "Referral" || m.Description != "a b" || m.BodySite != "Knee" {
		t.Fatalf("normalized %+v", m)
	}
	if c, ok := LateralityCoding(LateralityRight); !ok || c.Code != "24028007" || c.System != SNOMEDSystem {
		t.Fatalf("right: %+v", c)
	}
	if _, ok := LateralityCoding(LateralityNA); ok {
		t.Fatal("not-applicable has a code")
	}
	if DefaultKind(ContentTypePDF) != KindDocument || DefaultKind(ContentTypeTIFF) != KindPhoto {
		t.Fatal("default kinds")
	}
}

// FuzzCleanText: whatever a title holds, the result is valid UTF-8 within the limit
// with no control or format character left.
func FuzzCleanText(f *testing.F) {
	f.Add("evil\u202etxt", 10)
	f.Add("bad\xffutf8\n\t", 200)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 5000 {
			return
		}
		got := CleanText(s, max)
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > max {
			t.Fatalf("CleanText(%q, %d) = %q", s, max, got)
		}
		for _, r := range got {
			if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("CleanText(%q) kept %U", s, r)
			}
		}
	})
}
