package viewmodel

import (
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPatientBannerFollowsTheCUIBanner(t *testing.T) {
	now := day("2026-11-27")
	b := NewPatientBanner(localapi.Banner{Name: "SMITH, Jane Mary", Family: "Smith", Given: "Jane Mary",
		NHI: "zzz0016", BirthDate: "1965-08-07", Sex: "female"}, now)
	want := PatientBanner{Family: "SMITH", Given: "Jane Mary", Born: "7-Aug-1965", Age: "61y", Sex: "Female", NHI: "ZZZ 0016"}
	if b != want {
		t.Fatalf("banner %+v, want %+v", b, want)
	}
	if got := b.Name(); got != "SMITH, Jane Mary" {
		t.Fatalf("name %q", got)
	}
	if got := b.Details(); got != "Born 7-Aug-1965 (61y)    Sex Female    NHI ZZZ 0016" {
		t.Fatalf("details %q", got)
	}
}

func TestPatientBannerFromAnOlderAgent(t *testing.T) {
	// Only "FAMILY, Given" and no sex: the name is split, the sex is not guessed.
	b := NewPatientBanner(localapi.Banner{Name: "TESTING, Fake", NHI: "ZZZ0016", BirthDate: "1970-01-01"}, day("2026-01-01"))
	if b.Family != "TESTING" || b.Given != "Fake" || b.Sex != "Not recorded" || b.Age != "56y" {
		t.Fatalf("banner %+v", b)
	}
	// A partial FHIR date is shown as ALEX gave it, with no age.
	b = NewPatientBanner(localapi.Banner{Family: "Ngata", NHI: "ZZZ00AC", BirthDate: "1962-03"}, day("2026-01-01"))
	if b.Born != "1962-03" || b.Age != "" || b.Name() != "NGATA" {
		t.Fatalf("partial date banner %+v", b)
	}
}

func TestAgeDisplay(t *testing.T) {
	for _, tc := range []struct{ born, now, want string }{
		{"2026-11-20", "2026-11-27", "7d"},
		{"2026-10-01", "2026-11-27", "8w 1d"},
		{"2026-01-27", "2026-11-27", "43w 3d"},
		{"2025-11-27", "2026-11-27", "12m"},
		{"2025-06-15", "2026-11-27", "17m 12d"},
		{"2019-09-09", "2026-11-27", "7y 2m"},
		{"2008-11-28", "2026-11-27", "17y 11m"},
		{"2008-11-27", "2026-11-27", "18y"},
		{"1965-08-07", "2026-08-06", "60y"},
		{"1965-08-07", "2026-08-07", "61y"},
		{"2027-01-01", "2026-11-27", ""},
	} {
		if got := Age(day(tc.born), day(tc.now)); got != tc.want {
			t.Errorf("Age(%s, %s) = %q, want %q", tc.born, tc.now, got, tc.want)
		}
	}
}

func TestSexAndNHILabels(t *testing.T) {
	for code, want := range map[string]string{"male": "Male", "female": "Female", "other": "Other", "unknown": "Unknown", "": "Not recorded", "x": "Not recorded"} {
		if got := SexLabel(code); got != want {
			t.Errorf("SexLabel(%q) = %q, want %q", code, got, want)
		}
	}
	if FormatNHI("ZBN77VL") != "ZBN 77VL" || FormatNHI("bad") != "BAD" {
		t.Fatal("NHI format")
	}
}
