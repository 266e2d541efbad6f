package hcm

import (
	"testing"
	"time"
)

func TestParseHours(t *testing.T) {
	h, err := ParseHours("Mon-Fri 07:30-18:30")
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, hh, mm int) time.Time { return time.Date(2026, 11, day, hh, mm, 0, 0, time.UTC) } // 23 Nov 2026 is a Monday
	for _, tc := range []struct {
		t    time.Time
		want bool
	}{
		{at(23, 7, 29), false}, {at(23, 7, 30), true}, {at(27, 18, 29), true}, {at(27, 18, 30), false},
		{at(28, 10, 0), false}, {at(29, 10, 0), false},
	} {
		if got := h.In(tc.t); got != tc.want {
			t.Errorf("In(%s) = %v", tc.t.Format("Mon 15:04"), got)
		}
	}
	w, err := ParseHours("Sat-Mon 00:00-24:00")
	if err != nil || !w.In(at(29, 23, 59)) || !w.In(at(23, 0, 0)) || w.In(at(24, 12, 0)) {
		t.Fatalf("wrapping range: %+v %v", w, err)
	}
	if z, err := ParseHours(""); err != nil || z.In(at(23, 12, 0)) {
		t.Fatal("empty hours should mean never")
	}
	for _, bad := range []string{"Mon-Fri", "Mon-Fri 9-5", "Xyz 08:00-09:00", "Mon 18:00-08:00", "Mon 24:30-25:00", "Mon 08:00-08:00", "Mon 8:00-09:00"} {
		if _, err := ParseHours(bad); err == nil {
			t.Errorf("ParseHours(%q) accepted", bad)
		}
	}
}

func FuzzParseHours(f *testing.F) {
	for _, s := range []string{"Mon-Fri 07:30-18:30", "Sat 08:00-12:00", "Mon,Wed,Fri 08:00-17:00", "", "Sun-Sat 00:00-24:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHours(s)
		if err != nil {
			return
		}
		if h.End != 0 && (h.Start < 0 || h.End > 24*time.Hour || h.End <= h.Start) {
			t.Fatalf("%q parsed to an impossible window %v-%v", s, h.Start, h.End)
		}
		_ = h.In(time.Now())
	})
}
