package imaging

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"strings"
	"testing"
)

// The COM plumbing (factory, stream over memory, decoder, frame, size,
// RGBA converter, pixel copy) is the same whatever the format, so WIC's own
// PNG codec, present everywhere including Wine, tests it byte for byte.
func TestWICDecodesThroughCOM(t *testing.T) {
	src := photo(64, 48)
	var b bytes.Buffer
	if err := png.Encode(&b, src); err != nil {
		t.Fatal(err)
	}
	d := wicHEIF{}
	w, h, err := d.Size(b.Bytes())
	if err != nil || w != 64 || h != 48 {
		t.Fatalf("Size: %dx%d, %v", w, h, err)
	}
	m, err := d.Decode(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Pix, src.Pix) {
		t.Fatal("WIC's pixels differ from the PNG's")
	}
	if _, err := d.Decode([]byte("not an image at all, long enough to look at")); err == nil {
		t.Fatal("WIC decoded garbage")
	}
}

// Without Microsoft's HEIF and HEVC extensions (Wine has none) a HEIC photo
// waits with the sentence that says how to get them or how to set the
// iPhone; with them (a real Windows PC where they are installed) it converts.
func TestHEICNeedsTheCodecOrConverts(t *testing.T) {
	in, err := os.ReadFile("testdata/skin.heic")
	if err != nil {
		t.Fatal(err)
	}
	ready := HEICReadable()
	r, err := Convert(context.Background(), in, Options{})
	if ready != nil {
		for _, e := range []error{ready, err} {
			if !errors.Is(e, ErrHEIC) {
				t.Fatalf("got %v, want ErrHEIC", e)
			}
			for _, want := range []string{"HEIF Image Extensions", "HEVC Video Extensions", "Most Compatible"} {
				if !strings.Contains(e.Error(), want) {
					t.Errorf("the sentence %q should name %q", e, want)
				}
			}
		}
		if _, err := Thumbnail(context.Background(), in, 100); !errors.Is(err, ErrHEIC) {
			t.Errorf("thumbnail: %v", err)
		}
		t.Logf("no HEIF codec here (as under Wine): %v", ready)
		return
	}
	if err != nil || r.Width != 320 || r.Height != 240 || r.Kind != KindPhoto {
		t.Fatalf("with the codec installed: %dx%d %v, %v", r.Width, r.Height, r.Kind, err)
	}
}
