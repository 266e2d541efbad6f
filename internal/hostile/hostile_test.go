package hostile

import (
	"bytes"
	"image/jpeg"
	"strings"
	"testing"
	"unicode/utf8"
)

// The outside file is a valid JPEG carrying the marker, so a leak would be sent
// and seen.
func TestSecretIsAPhotoWithTheMarker(t *testing.T) {
	if !bytes.Contains(Secret(), []byte(Marker)) {
		t.Error("the outside file does not carry the marker")
	}
	if _, err := jpeg.Decode(bytes.NewReader(Secret())); err != nil {
		t.Errorf("the outside file is not a valid JPEG, so it would not show a leak: %v", err)
	}
}

func TestCaseNames(t *testing.T) {
	seen := map[string]bool{}
	var n242, bad, ctl, bidi, decode bool
	for _, c := range Cases() {
		if seen[c.ID] || seen[c.Name] {
			t.Errorf("%s: duplicate", c.ID)
		}
		seen[c.ID], seen[c.Name] = true, true
		if !strings.HasPrefix(c.Name, "ZZZ0016") && !strings.HasPrefix(c.Name, "ZZZ0024") {
			t.Errorf("%s: %q does not route to a test patient", c.ID, c.Name)
		}
		if c.Threat == "" || (c.Kind == File) != (c.Data != nil) || c.Want == Parked && c.Decode && c.Reason == "" {
			t.Errorf("%s: incomplete", c.ID)
		}
		decode = decode || c.Decode
		n242 = n242 || utf8.RuneCountInString(c.Name) == 242
		bad = bad || !utf8.ValidString(c.Name)
		ctl = ctl || strings.ContainsAny(c.Name, "\a\x1b\x7f")
		bidi = bidi || strings.ContainsRune(c.Name, '\u202e')
	}
	if !n242 || !bad || !ctl || !bidi || !decode {
		t.Errorf("names: 242=%v invalid=%v control=%v bidi=%v; converter attacks %v", n242, bad, ctl, bidi, decode)
	}
}
