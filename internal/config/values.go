package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Routing is how a watched folder's files find their patient.
type Routing string

const (
	// RoutingNHI takes the patient from a valid NHI in the file name or a folder name.
	RoutingNHI Routing = "nhi"
	// RoutingSession gives files to the patient of the open capture window, if any.
	RoutingSession Routing = "session"
	// RoutingUnassigned always waits for a GP to assign the file.
	RoutingUnassigned Routing = "unassigned"
)

// Format is the output format asked of the converter.
type Format string

const (
	FormatAuto Format = "auto" // TIFF for images, PDF passes through
	FormatTIFF Format = "tiff"
	FormatPDF  Format = "pdf"
)

// PDFHandling is what the agent does with a PDF that passed its safety checks
// (active content, embedded files and polyglots are refused whatever this says).
type PDFHandling string

const (
	// PDFRebuild rebuilds a scanned PDF from its page images; a PDF with text or
	// drawings, which cannot be rebuilt, is sent as it is (default).
	PDFRebuild PDFHandling = "rebuild"
	// PDFPassThrough sends every checked PDF as it is (keeps searchable text).
	PDFPassThrough PDFHandling = "passthrough"
	// PDFRebuildOnly rebuilds like PDFRebuild and refuses what cannot be rebuilt.
	PDFRebuildOnly PDFHandling = "rebuild-only"
)

// SourceAction is what happens to the original once Medtech has confirmed the upload.
type SourceAction string

const (
	ActionMove   SourceAction = "move"   // into a Sent subfolder (default)
	ActionLeave  SourceAction = "leave"  // left in place, remembered by content hash
	ActionDelete SourceAction = "delete" // opt-in only
)

// Recovery is what the HCM monitor may do when HCM stops.
type Recovery string

const (
	RecoveryRestart Recovery = "restart" // restart the service, then report
	RecoveryReport  Recovery = "report"  // only report
)

func oneOf[T ~string](field string, v []byte, dst *T, allowed ...T) error {
	s := T(strings.ToLower(strings.TrimSpace(string(v))))
	for _, a := range allowed {
		if s == a {
			*dst = s
			return nil
		}
	}
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = fmt.Sprintf("%q", string(a))
	}
	return fmt.Errorf("%s %q is not known. Use one of %s", field, string(v), strings.Join(q, ", "))
}

func (r *Routing) UnmarshalText(v []byte) error {
	return oneOf("routing", v, r, RoutingNHI, RoutingSession, RoutingUnassigned)
}

func (f *Format) UnmarshalText(v []byte) error {
	return oneOf("format", v, f, FormatAuto, FormatTIFF, FormatPDF)
}

func (p *PDFHandling) UnmarshalText(v []byte) error {
	return oneOf("pdf", v, p, PDFRebuild, PDFPassThrough, PDFRebuildOnly)
}

func (a *SourceAction) UnmarshalText(v []byte) error {
	return oneOf("source_action", v, a, ActionMove, ActionLeave, ActionDelete)
}

func (r *Recovery) UnmarshalText(v []byte) error {
	return oneOf("recovery", v, r, RecoveryRestart, RecoveryReport)
}

// Duration is a time.Duration written as text ("1s", "500ms") in the file.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d *Duration) UnmarshalText(v []byte) error {
	s := strings.TrimSpace(string(v))
	var p time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		// Whole days, for periods such as sent_retention = "90d".
		var days int
		days, err = strconv.Atoi(n)
		if err == nil && (days < 0 || days > 36500) {
			err = strconv.ErrRange
		}
		p = time.Duration(days) * 24 * time.Hour
	} else {
		p, err = time.ParseDuration(s)
	}
	if err != nil {
		return fmt.Errorf("%q is not a duration. Use a number with a unit, e.g. \"1s\", \"500ms\" or \"90d\"", string(v))
	}
	*d = Duration(p)
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// ClinicHours are the practice's opening hours in local time. HCM keep-awake and
// alerting use them; an empty Days list means every day.
type ClinicHours struct {
	Days  []Weekday `toml:"days"`
	Open  Clock     `toml:"open"`
	Close Clock     `toml:"close"`
}

// Contains reports whether t (in its own location) is inside clinic hours. Zero
// hours (no open and close set) never contain anything.
func (h ClinicHours) Contains(t time.Time) bool {
	if h.Open == h.Close {
		return false
	}
	if len(h.Days) > 0 {
		ok := false
		for _, d := range h.Days {
			if time.Weekday(d) == t.Weekday() {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	m := Clock(t.Hour()*60 + t.Minute())
	return m >= h.Open && m < h.Close
}

func (h ClinicHours) validate() *Error {
	if h.Close < h.Open {
		return &Error{Msg: "clinic_hours close is before open",
			Fix: "Write times as 24-hour \"HH:MM\", e.g. open = \"07:30\" and close = \"18:30\"."}
	}
	return nil
}

// Clock is minutes after midnight, written "HH:MM".
type Clock int

func (c *Clock) UnmarshalText(v []byte) error {
	var hh, mm int
	s := strings.TrimSpace(string(v))
	if n, err := fmt.Sscanf(s, "%d:%d", &hh, &mm); err != nil || n != 2 || len(s) != 5 || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh == 24 && mm != 0 {
		return fmt.Errorf("%q is not a time of day. Use 24-hour \"HH:MM\", e.g. \"07:30\"", s)
	}
	*c = Clock(hh*60 + mm)
	return nil
}

func (c Clock) MarshalText() ([]byte, error) {
	return fmt.Appendf(nil, "%02d:%02d", int(c)/60, int(c)%60), nil
}

// Weekday is a day written as its English name or three-letter abbreviation.
type Weekday time.Weekday

func (w *Weekday) UnmarshalText(v []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(v)))
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || s == name[:3] {
			*w = Weekday(d)
			return nil
		}
	}
	return fmt.Errorf("%q is not a day. Use \"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\" or \"sun\"", string(v))
}

func (w Weekday) MarshalText() ([]byte, error) {
	return []byte(strings.ToLower(time.Weekday(w).String()[:3])), nil
}
