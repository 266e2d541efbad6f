package nhi

import (
	"errors"
	"fmt"
	"testing"
)

// Vectors from Te Whatu Ora's published examples and HISO 10046:2023 (docs/alex.md, "NHI"), recomputed independently.
var (
	validOld = []string{"ZZZ0016", "ZZZ0024", "ZAA0067", "ZAA0075", "ZAA0083", "ZAA0091", "ZAA0105",
		"ZAA0113", "ZAA0121", "ZAA0130", "ZAA0148", "ZAA0156", "ZAC5361", "JBX3656", "WLD9413"}
	validNew = []string{"ZZZ00AC", "ZBN77VL", "ZDR69YX", "ZSC21TN", "ZZB30NH", "ZYZ81ZV", "ZVB97XQ",
		"ZRA29VA", "ZYX61YS", "ACA31FM", "ASE37QK", "ARE62RS", "BGJ06AS", "BGA44DT", "BWT41BY"}
)

func TestParseValid(t *testing.T) {
	for _, s := range validOld {
		n, err := Parse(s)
		if err != nil || n.Format() != Old {
			t.Errorf("Parse(%q) = %q, %v, format %v; want valid old format", s, n, err, n.Format())
		}
	}
	for _, s := range validNew {
		n, err := Parse(s)
		if err != nil || n.Format() != New {
			t.Errorf("Parse(%q) = %q, %v; want valid new format", s, n, err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"ZZZ0044", ErrNoCheckOK}, // r = 0
		{"DAB8233", ErrNoCheckOK}, // r = 0
		{"ZZZ0017", ErrCheck},
		{"JBX3650", ErrCheck},
		{"ZZZ00AA", ErrCheck},
		{"ZZZ00AY", ErrCheck},
		{"ZZZ00AX", ErrCheck}, // valid only under the withdrawn mod-24 rule
		{"ZVU27KZ", ErrCheck}, // valid only under the withdrawn mod-24 rule
		{"", ErrLength},
		{"ZZZ001", ErrLength},
		{"ZZZ00166", ErrLength},
		{"ZZI0016", ErrShape}, // I is never used
		{"ZZO0016", ErrShape}, // O is never used
		{"ZZZA016", ErrShape},
		{"ZZZ001A", ErrShape}, // mixed final pair
		{"ZZZ00A1", ErrShape},
		{"1ZZ0016", ErrShape},
	}
	for x := '0'; x <= '9'; x++ {
		tests = append(tests, struct {
			in   string
			want error
		}{"ZZZ004" + string(x), ErrNoCheckOK})
	}
	for x := 'A'; x <= 'Z'; x++ {
		if x == 'V' {
			continue
		}
		want := ErrCheck
		if x == 'I' || x == 'O' {
			want = ErrShape
		}
		tests = append(tests, struct {
			in   string
			want error
		}{"ZHW58C" + string(x), want})
	}
	for _, tt := range tests {
		if _, err := Parse(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("Parse(%q) error = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestParseNormalises(t *testing.T) {
	n, err := Parse("  zzz0016\n")
	if err != nil || n != "ZZZ0016" {
		t.Fatalf("Parse = %q, %v", n, err)
	}
	if !n.IsTest() {
		t.Error("ZZZ0016 should be in the test range")
	}
	if NHI("JBX3656").IsTest() {
		t.Error("JBX3656 is not a test NHI")
	}
}

func TestErrorsDoNotEchoInput(t *testing.T) {
	for _, s := range []string{"ZZZ0017", "ZZI0016", "ZZZ0044", "ZZZ00166"} {
		_, err := Parse(s)
		if err == nil {
			t.Fatalf("Parse(%q) should fail", s)
		}
		if contains(err.Error(), s[:3]) {
			t.Errorf("error %q repeats the input", err)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestFind(t *testing.T) {
	tests := []struct {
		name    string
		want    NHI
		wantErr error
	}{
		{"ZZZ0016 knee.jpg", "ZZZ0016", nil},
		{"ZZZ0016_2.pdf", "ZZZ0016", nil},
		{"scan-zzz00ac-left.png", "ZZZ00AC", nil},
		{"ZZZ0017 typo.jpg", "", ErrCheck},
		{"IMG_20260101_1234.jpg", "", ErrNotFound},
		{"ZZZ00166.jpg", "", ErrNotFound}, // longer run is not an NHI token
		{"ZZZ0017 then ZZZ0024.jpg", "ZZZ0024", nil},
	}
	for _, tt := range tests {
		got, err := Find(tt.name)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("Find(%q) = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range append(append([]string{"", "ZZZ0017", "zzz00ac", "ÀÀÀ0016"}, validOld...), validNew...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			if n != "" {
				t.Fatalf("Parse(%q) returned %q with error %v", s, n, err)
			}
			return
		}
		// A valid NHI is its own normal form and parses again to itself.
		if again, err := Parse(string(n)); err != nil || again != n {
			t.Fatalf("Parse(%q) = %q, but reparsing gives %q, %v", s, n, again, err)
		}
		if n[6] == 'Z' {
			t.Fatalf("Z can never be a check character: %q", n)
		}
		_, _ = Find(s)
	})
}

func ExampleParse() {
	n, err := Parse(" zzz0016 ")
	fmt.Println(n, err, n.IsTest())
	_, err = Parse("ZZZ0017")
	fmt.Println(err)
	// Output:
	// ZZZ0016 <nil> true
	// the NHI number's check character is wrong: it may have been mistyped
}
