package phone

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

func encode(t testing.TB, f func(*bytes.Buffer, image.Image) error, w, h int) []byte {
	var b bytes.Buffer
	if err := f(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpg(b *bytes.Buffer, m image.Image) error    { return jpeg.Encode(b, m, nil) }
func pngEnc(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) }

func TestCheckHead(t *testing.T) {
	j := encode(t, jpg, 40, 30)
	p := encode(t, pngEnc, 40, 30)
	exif := append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10}, []byte("Exif\x00\x00MM\x00*\x00\x00\x00\x08")...)
	exif = append(exif, j[2:]...)
	// A PNG with a text chunk before its image data.
	text := append(bytes.Clone(p[:33]), 0, 0, 0, 4, 't', 'E', 'X', 't', 'a', '=', 'b', 'c', 0, 0, 0, 0)
	text = append(text, p[33:]...)
	for _, tc := range []struct {
		name string
		b    []byte
		ct   string
		err  error
	}{
		{"jpeg", j, "image/jpeg", nil},
		{"png", p, "image/png", nil},
		{"jpeg with EXIF", exif, "", ErrCameraData},
		{"png with text", text, "", ErrCameraData},
		{"empty", nil, "", ErrNotPhoto},
		{"text", []byte("hello, this is not a photo at all"), "", ErrNotPhoto},
		{"jpeg cut in its header", j[:60], "", ErrNotPhoto},
		{"huge", encode(t, pngEnc, MaxEdge+1, 1), "", ErrNotPhoto},
	} {
		ct, err := CheckHead(tc.b)
		if ct != tc.ct || err != tc.err {
			t.Errorf("%s: %q %v, want %q %v", tc.name, ct, err, tc.ct, tc.err)
		}
	}
	if s := Sentence(ErrNotPhoto); !strings.HasPrefix(s, "This file") || !strings.HasSuffix(s, ".") {
		t.Errorf("sentence %q", s)
	}
}

func TestSecretsAndWords(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		s, h := Secret()
		if !WellFormed(s) || len(h) != 32 || seen[s] || !bytes.Equal(h, Hash(s)) {
			t.Fatalf("secret %q", s)
		}
		seen[s] = true
		w := NewWord()
		if f := strings.Fields(w); len(f) != 2 || len(f[1]) != 2 {
			t.Fatalf("word %q", w)
		}
	}
	if ValidTaken("2024-13-01T00:00:00") || !ValidTaken("2024-05-01T10:11:12") || !ValidTaken("") || ValidTaken("1800-01-01T00:00:00") {
		t.Fatal("ValidTaken")
	}
}

// FuzzCheckHead: the first piece of every phone upload comes from the internet.
func FuzzCheckHead(f *testing.F) {
	f.Add(encode(f, jpg, 8, 8))
	f.Add(encode(f, pngEnc, 8, 8))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF})
	f.Add([]byte("\x89PNG\r\n\x1a\n\xff\xff\xff\xffIHDR"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ct, err := CheckHead(b)
		if (err == nil) != (ct != "") {
			t.Fatalf("%q %v", ct, err)
		}
	})
}
