package hcm

import (
	"fmt"
	"strings"
	"time"
)

// Hours are the clinic hours in which the HCM PC must stay awake, in local time:
// a set of weekdays and one daily window [Start, End).
type Hours struct {
	Days       [7]bool // indexed by time.Weekday
	Start, End time.Duration
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseHours reads the configuration form "Mon-Fri 07:30-18:30" (also "Sat 08:00-12:00",
// "Mon,Wed,Fri 08:00-17:00", "Mon-Sun 00:00-24:00"). An empty string means never.
func ParseHours(s string) (Hours, error) {
	var h Hours
	s = strings.TrimSpace(s)
	if s == "" {
		return h, nil
	}
	days, window, ok := strings.Cut(s, " ")
	if !ok {
		return h, fmt.Errorf("clinic hours %q: want days and times, like \"Mon-Fri 07:30-18:30\"", s)
	}
	for _, part := range strings.Split(strings.ToLower(days), ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, b := dayIndex(from), dayIndex(to)
		if !isRange {
			b = a
		}
		if a < 0 || b < 0 {
			return h, fmt.Errorf("clinic hours %q: days must be Mon, Tue, Wed, Thu, Fri, Sat or Sun", s)
		}
		for i := a; ; i = (i + 1) % 7 {
			h.Days[i] = true
			if i == b {
				break
			}
		}
	}
	from, to, ok := strings.Cut(strings.TrimSpace(window), "-")
	if !ok {
		return h, fmt.Errorf("clinic hours %q: times must look like 07:30-18:30", s)
	}
	var err error
	if h.Start, err = clock(from); err != nil {
		return h, fmt.Errorf("clinic hours %q: %w", s, err)
	}
	if h.End, err = clock(to); err != nil {
		return h, fmt.Errorf("clinic hours %q: %w", s, err)
	}
	if h.End <= h.Start {
		return h, fmt.Errorf("clinic hours %q: the end must be after the start on the same day", s)
	}
	return h, nil
}

func dayIndex(s string) int {
	s = strings.TrimSpace(s)
	for i, d := range dayNames {
		if s == d {
			return i
		}
	}
	return -1
}

func clock(s string) (time.Duration, error) {
	var hh, mm int
	if n, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &hh, &mm); err != nil || n != 2 || len(strings.TrimSpace(s)) != 5 {
		return 0, fmt.Errorf("time %q must be HH:MM", s)
	}
	if hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("time %q is not a time of day", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// In reports whether t (in its own location) falls inside the hours.
func (h Hours) In(t time.Time) bool {
	if !h.Days[t.Weekday()] {
		return false
	}
	y, m, d := t.Date()
	off := t.Sub(time.Date(y, m, d, 0, 0, 0, 0, t.Location()))
	return off >= h.Start && off < h.End
}

// EndOn returns when today's window closes for t.
func (h Hours) EndOn(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location()).Add(h.End)
}
