package viewmodel

import (
	"fmt"
	"strings"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
)

// PatientBanner is the patient band at the top of every window that files something,
// laid out after the NHS Common User Interface patient banner: the FAMILY name in
// capitals before the given names, then date of birth with age, sex and the NHI,
// always in the same order and the same place, so a GP checks a patient the same way
// in every window. It is drawn from the session's Banner only; none of it ever goes
// into a window title, a log line or a notification.
type PatientBanner struct {
	Family string // "TESTING" (capitals)
	Given  string // "Fake Person"
	Born   string // "1-Jan-1970", or ALEX's partial date as given
	Age    string // "56y", "3y 2m", "5w 2d"; empty when the date is partial
	Sex    string // "Female", "Male", "Other", "Unknown"
	NHI    string // "ZZZ 0016"
}

// Labels the band puts before each value: the same words in every window.
const (
	BannerBorn = "Born"
	BannerSex  = "Sex"
	BannerNHI  = "NHI"
)

// Name is how the band writes the name: "TESTING, Fake Person".
func (b PatientBanner) Name() string {
	if b.Given == "" {
		return b.Family
	}
	return b.Family + ", " + b.Given
}

// Details is the band's second line, for screen readers and plain-text places.
func (b PatientBanner) Details() string {
	born := b.Born
	if b.Age != "" {
		born += " (" + b.Age + ")"
	}
	return BannerBorn + " " + born + "    " + BannerSex + " " + b.Sex + "    " + BannerNHI + " " + b.NHI
}

// String is the whole band as text, for confirmations read aloud by a screen reader.
func (b PatientBanner) String() string { return b.Name() + "\n" + b.Details() }

// NewPatientBanner builds the band from a session's banner; now decides the age.
func NewPatientBanner(in localapi.Banner, now time.Time) PatientBanner {
	family, given := strings.TrimSpace(in.Family), strings.TrimSpace(in.Given)
	if family == "" {
		// Agents before the structured name sent only "FAMILY, Given".
		f, g, _ := strings.Cut(in.Name, ",")
		family, given = strings.TrimSpace(f), strings.TrimSpace(g)
	}
	b := PatientBanner{Family: strings.ToUpper(family), Given: given, Sex: SexLabel(in.Sex), NHI: FormatNHI(in.NHI)}
	b.Born, b.Age = in.BirthDate, ""
	if t, err := time.Parse("2006-01-02", in.BirthDate); err == nil {
		b.Born = BannerDate(t)
		b.Age = Age(t, now)
	}
	return b
}

// BannerDate writes a date as the NHS CUI does, so day and month cannot be confused:
// 7-Aug-1965.
func BannerDate(t time.Time) string { return t.Format("2-Jan-2006") }

// FormatNHI groups an NHI as it is printed on NZ health documents: "ZZZ 0016".
func FormatNHI(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) == 7 {
		return s[:3] + " " + s[3:]
	}
	return s
}

// SexLabel is FHIR's administrative gender as the band shows it. ALEX sends the FHIR
// code; a missing value is shown as such rather than guessed.
func SexLabel(code string) string {
	switch strings.ToLower(strings.TrimSpace(code)) {
	case "female":
		return "Female"
	case "male":
		return "Male"
	case "other":
		return "Other"
	case "unknown":
		return "Unknown"
	}
	return "Not recorded"
}

// Age is the NHS CUI age display: days under 4 weeks, weeks and days under a year,
// months and days under 2 years, years and months under 18, then years.
func Age(born, now time.Time) string {
	born = time.Date(born.Year(), born.Month(), born.Day(), 0, 0, 0, 0, time.UTC)
	now = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if now.Before(born) {
		return ""
	}
	days := int(now.Sub(born).Hours() / 24)
	years, months, rest := ymd(born, now)
	switch {
	case days < 28:
		return fmt.Sprintf("%dd", days)
	case years < 1:
		return joinAge(fmt.Sprintf("%dw", days/7), days%7, "d")
	case years < 2:
		return joinAge(fmt.Sprintf("%dm", years*12+months), rest, "d")
	case years < 18:
		return joinAge(fmt.Sprintf("%dy", years), months, "m")
	}
	return fmt.Sprintf("%dy", years)
}

func joinAge(first string, n int, unit string) string {
	if n == 0 {
		return first
	}
	return fmt.Sprintf("%s %d%s", first, n, unit)
}

// ymd is the calendar difference between two dates (born before now).
func ymd(born, now time.Time) (years, months, days int) {
	years = now.Year() - born.Year()
	months = int(now.Month()) - int(born.Month())
	days = now.Day() - born.Day()
	if days < 0 {
		months--
		// Days in the month before now's month.
		days += time.Date(now.Year(), now.Month(), 0, 0, 0, 0, 0, time.UTC).Day()
	}
	if months < 0 {
		years--
		months += 12
	}
	return years, months, days
}
