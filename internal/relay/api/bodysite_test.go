package api

import (
	"strings"
	"testing"
)

func TestBodySiteListIsSound(t *testing.T) {
	if err := bodySitesLoadErr(); err != nil {
		t.Fatal(err)
	}
	sites := BodySites()
	if len(sites) < 300 {
		t.Fatalf("%d body sites, want a few hundred", len(sites))
	}
	terms := map[string]string{}
	for _, s := range sites {
		// Every id is a real SNOMED CT concept id's shape: check digit and partition.
		if !ValidSNOMEDID(s.Code) {
			t.Errorf("%s %q: not a valid SNOMED CT concept id (Verhoeff check digit or partition)", s.Code, s.Term)
		}
		if prev, dup := terms[strings.ToLower(s.Term)]; dup {
			t.Errorf("term %q used by %s and %s", s.Term, prev, s.Code)
		}
		terms[strings.ToLower(s.Term)] = s.Code
		if err := ValidateBodySite(s.Code, s.Term); err != nil {
			t.Errorf("%s: %v", s.Code, err)
		}
	}
	// The laterality codes the contract uses pass the same check.
	for _, id := range []string{"7771000", "24028007", "51440002"} {
		if !ValidSNOMEDID(id) {
			t.Errorf("laterality %s fails the check", id)
		}
	}
}

func TestSNOMEDIDCheck(t *testing.T) {
	for id, want := range map[string]bool{
		"72696002":   true,  // Knee
		"72696003":   false, // one digit off
		"72696020":   false, // digits swapped: Verhoeff catches transpositions
		"1017210004": true,  // long, partition 00
		"72696012":   false, // partition 01 is a description, not a concept
		"012345":     false,
		"12a456":     false,
		"":           false,
	} {
		if got := ValidSNOMEDID(id); got != want {
			t.Errorf("ValidSNOMEDID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestSearchBodySites(t *testing.T) {
	first := func(q string) string {
		r := SearchBodySites(q, 8)
		if len(r) == 0 {
			return ""
		}
		return r[0].Term
	}
	for q, want := range map[string]string{
		"knee":    "Knee",
		"KNE":     "Knee",
		"shin":    "Lower leg",
		"thumb":   "Thumb",
		"belly":   "Abdomen",
		"earlobe": "Skin of ear lobule",
	} {
		if got := first(q); got != want {
			t.Errorf("search %q: first %q, want %q", q, got, want)
		}
	}
	if r := SearchBodySites("skin", 5); len(r) != 5 {
		t.Fatalf("limit: %d", len(r))
	}
	if r := SearchBodySites("   ", 5); r != nil {
		t.Fatal("blank query matched")
	}
	if r := SearchBodySites("zzzz", 5); len(r) != 0 {
		t.Fatal("nonsense matched")
	}
}

func TestValidateBodySite(t *testing.T) {
	if err := ValidateBodySite("", "left shin, below the scar"); err != nil {
		t.Fatalf("free text refused: %v", err)
	}
	if err := ValidateBodySite("72696002", "Knee"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range [][2]string{
		{"72696003", "Knee"},  // not in the list
		{"72696002", "Elbow"}, // code and text disagree
		{"", strings.Repeat("x", MaxBodySite+1)},
		{"", "two\nlines"},
	} {
		if err := ValidateBodySite(tc[0], tc[1]); err == nil {
			t.Errorf("ValidateBodySite(%q, %q) accepted", tc[0], tc[1])
		}
	}
}
