package imaging

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/imaging/hostile"
)

// Every attack on the converter that issue 13 found (decompression bombs
// stored byte for byte or decoded into gigabytes, PDFs with JavaScript,
// launch actions, embedded executables, polyglots) and their variants:
// each is refused with its sentence, in every PDF mode, before a pixel
// buffer is allocated, and without the original being touched.
func TestHostileCorpusRefused(t *testing.T) {
	want := map[string]error{"decode-budget": ErrDecodeBudget, "pdf-unsafe": ErrPDFUnsafe, "corrupt": ErrCorrupt}
	for _, f := range hostile.Corpus() {
		t.Run(f.Name, func(t *testing.T) {
			orig := append([]byte(nil), f.Data...)
			for _, mode := range []PDFMode{PDFRebuild, PDFPassThrough, PDFRebuildOnly} {
				var err error
				n := allocated(func() { _, err = Convert(context.Background(), f.Data, Options{PDF: mode}) })
				if !errors.Is(err, want[f.Refusal]) {
					t.Fatalf("%v: got %v, want %v", mode, err, want[f.Refusal])
				}
				var e *Error
				if !errors.As(err, &e) || !strings.Contains(e.Msg, f.Says) || !strings.HasSuffix(e.Msg, ".") {
					t.Fatalf("%v: sentence %q should say %q", mode, err, f.Says)
				}
				if f.Refusal == "decode-budget" && !strings.Contains(e.Msg, "256.0 MB") {
					t.Errorf("the sentence should name the limit: %q", e.Msg)
				}
				if n > 16<<20 {
					t.Errorf("refusing allocated %d MB", n>>20)
				}
			}
			if string(orig) != string(f.Data) {
				t.Fatal("the converter modified its input")
			}
		})
	}
}

func TestHostileBombsRefusedForThumbnails(t *testing.T) {
	for _, f := range hostile.Corpus() {
		if !strings.HasPrefix(f.Name, "bomb-") || strings.Contains(f.Name, "pages") {
			continue // a thumbnail decodes only the first page
		}
		if _, err := Thumbnail(context.Background(), f.Data, 320); err == nil {
			t.Errorf("%s: a thumbnail was made", f.Name)
		}
	}
	if len(hostile.ProgressiveJPEGClaiming(10000, 10000, 1)) != 282 {
		t.Error("the progressive JPEG bomb should be the 282 bytes of issue 13")
	}
}
