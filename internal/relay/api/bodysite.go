package api

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Body sites: the SNOMED CT body structures the capture window offers, shipped as
// data (bodysite.tsv, with its source and versions in its header) so the tray, the
// agent and the relay check a code against the same list. A GP who finds nothing
// that fits types free text, which travels as text only.

//go:embed bodysite.tsv
var bodySiteTSV string

// SNOMEDSystem is the FHIR system of SNOMED CT codes.
const SNOMEDSystem = "http://snomed.info/sct"

// MaxBodySite is the longest body-site text, coded or free.
const MaxBodySite = 100

// BodySite is one SNOMED CT body structure.
type BodySite struct {
	Code  string   // SNOMED CT concept id
	Term  string   // the term shown and sent as the coding's display
	Words []string // everyday words that also find it ("shin")
}

var (
	bodySitesOnce sync.Once
	bodySites     []BodySite
	bodySiteByID  map[string]BodySite
	bodySitesErr  error
)

func loadBodySites() {
	bodySiteByID = map[string]BodySite{}
	header := false
	for n, line := range strings.Split(bodySiteTSV, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if !header {
			header = true
			continue
		}
		if len(f) != 4 || f[0] == "" || f[1] == "" {
			bodySitesErr = fmt.Errorf("bodysite.tsv line %d: want concept_id, term, search_words, dicom_cid", n+1)
			return
		}
		s := BodySite{Code: f[0], Term: f[1]}
		for _, w := range strings.Split(f[2], ",") {
			if w = strings.TrimSpace(w); w != "" {
				s.Words = append(s.Words, w)
			}
		}
		if _, dup := bodySiteByID[s.Code]; dup {
			bodySitesErr = fmt.Errorf("bodysite.tsv line %d: concept %s listed twice", n+1, s.Code)
			return
		}
		bodySiteByID[s.Code] = s
		bodySites = append(bodySites, s)
	}
	slices.SortFunc(bodySites, func(a, b BodySite) int { return strings.Compare(strings.ToLower(a.Term), strings.ToLower(b.Term)) })
}

// BodySites returns the whole list, sorted by term.
func BodySites() []BodySite {
	bodySitesOnce.Do(loadBodySites)
	return slices.Clone(bodySites)
}

// bodySitesLoadErr is the list's own defect, if any (tested, never expected).
func bodySitesLoadErr() error {
	bodySitesOnce.Do(loadBodySites)
	return bodySitesErr
}

// LookupBodySite finds a concept in the list.
func LookupBodySite(code string) (BodySite, bool) {
	bodySitesOnce.Do(loadBodySites)
	s, ok := bodySiteByID[code]
	return s, ok
}

// SearchBodySites returns up to limit sites matching what a GP typed: terms starting
// with it first, then terms with a word starting with it, then everyday words, then
// terms containing it; shorter terms first within each rank, so "knee" finds Knee
// before Skin of anterior surface of knee.
func SearchBodySites(q string, limit int) []BodySite {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return nil
	}
	type hit struct {
		s    BodySite
		rank int
	}
	var hits []hit
	for _, s := range BodySites() {
		term := strings.ToLower(s.Term)
		rank := -1
		switch {
		case strings.HasPrefix(term, q):
			rank = 0
		case wordPrefix(term, q):
			rank = 1
		case slices.ContainsFunc(s.Words, func(w string) bool {
			return strings.HasPrefix(strings.ToLower(w), q) || wordPrefix(strings.ToLower(w), q)
		}):
			rank = 2
		case strings.Contains(term, q):
			rank = 3
		}
		if rank >= 0 {
			hits = append(hits, hit{s, rank})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return len(a.s.Term) - len(b.s.Term)
	})
	out := make([]BodySite, 0, min(limit, len(hits)))
	for _, h := range hits {
		if len(out) == limit {
			break
		}
		out = append(out, h.s)
	}
	return out
}

func wordPrefix(s, q string) bool {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '-' || r == '/' }) {
		if strings.HasPrefix(w, q) {
			return true
		}
	}
	return false
}

// ValidSNOMEDID reports whether s is shaped like a SNOMED CT concept id: 6 to 18
// digits, no leading zero, partition 00 (short) or 10 (long, namespaced), and a
// correct Verhoeff check digit.
func ValidSNOMEDID(s string) bool {
	if len(s) < 6 || len(s) > 18 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	if p := s[len(s)-3 : len(s)-1]; p != "00" && p != "10" {
		return false
	}
	return verhoeff(s)
}

// Verhoeff's dihedral-group tables, as SNOMED CT's identifier specification uses.
var (
	verhoeffD = [10][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
)

func verhoeff(s string) bool {
	var c byte
	for i := 0; i < len(s); i++ {
		c = verhoeffD[c][verhoeffP[i%8][s[len(s)-1-i]-'0']]
	}
	return c == 0
}

// ValidateBodySite checks a body site as it travels (tray to agent to relay): a code
// must be one of the list's, and its text must be the list's term; free text (no
// code) is any printable text up to MaxBodySite.
func ValidateBodySite(code, text string) error {
	if !utf8.ValidString(text) || utf8.RuneCountInString(text) > MaxBodySite || strings.ContainsFunc(text, func(r rune) bool { return r < ' ' }) {
		return fmt.Errorf("the body site must be one line of text up to %d characters", MaxBodySite)
	}
	if code == "" {
		return nil
	}
	s, ok := LookupBodySite(code)
	if !ok {
		return fmt.Errorf("body site code %q is not in ClinicPro's SNOMED CT body-site list: choose a site from the list or type it as text", code)
	}
	if text != "" && text != s.Term {
		return fmt.Errorf("body site code %s is %q, not %q", code, s.Term, text)
	}
	return nil
}
