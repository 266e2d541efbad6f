package demo

import (
	"bytes"
	"context"
	"flag"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/imaging"
	"github.com/clinicpro/medtech-images/internal/nhi"
)

var update = flag.Bool("update", false, "rewrite demo/samples from Samples()")

// SamplesDir is where the repository keeps the generated samples, from this package.
const samplesDir = "../../demo/samples"

func TestSamplesAreCurrent(t *testing.T) {
	want, err := Samples()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		os.MkdirAll(samplesDir, 0o755)
		for name, b := range want {
			if err := os.WriteFile(filepath.Join(samplesDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var total int
	for name, b := range want {
		total += len(b)
		got, err := os.ReadFile(filepath.Join(samplesDir, name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("demo/samples is out of date (%v): run go generate ./internal/demo", err)
		}
	}
	entries, _ := os.ReadDir(samplesDir)
	var extra []string
	for _, e := range entries {
		if _, ok := want[e.Name()]; !ok && e.Name() != "README.md" {
			extra = append(extra, "a file not made by Samples()")
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("demo/samples holds %d file(s) not made by Samples(): remove them or generate them", len(extra))
	}
	if total >= 300_000 {
		t.Errorf("samples total %d bytes; keep them under 300 kB", total)
	}
}

// The samples do what their names promise: the right routing outcome and the right
// decodable content.
func TestSamplesMeanWhatTheySay(t *testing.T) {
	s, err := Samples()
	if err != nil {
		t.Fatal(err)
	}
	routed, bad := 0, 0
	for name, b := range s {
		n, err := nhi.Find(name)
		switch {
		case strings.Contains(name, "typo"):
			if err == nil {
				t.Errorf("the typo sample's NHI is valid; it must fail its check character")
			}
			bad++
		case strings.HasPrefix(name, "scan"):
			if err == nil {
				t.Errorf("the scan sample carries an NHI; it must wait in Unassigned")
			}
		default:
			if err != nil || n.String() != "ZZZ0016" {
				t.Errorf("a sample meant for the test patient does not route to it")
			}
			routed++
		}
		if strings.HasSuffix(name, ".pdf") {
			if c := bytes.Count(b, []byte("/Type /Page ")); c != 2 {
				t.Errorf("PDF has %d pages, want 2", c)
			}
			continue
		}
		if _, _, err := image.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("a sample does not decode: %v", err)
		}
	}
	if routed != 3 || bad != 1 {
		t.Fatalf("routed %d, bad %d", routed, bad)
	}
	photo := s["ZZZ0016 wound phone photo.jpg"]
	cfg, _, _ := image.DecodeConfig(bytes.NewReader(photo))
	if cfg.Width <= cfg.Height {
		t.Errorf("the phone photo's pixels should be stored sideways (landscape), got %dx%d", cfg.Width, cfg.Height)
	}
	if !bytes.Contains(photo[:200], []byte("Exif\x00\x00MM")) || !bytes.Contains(photo, []byte(ExifMarker)) {
		t.Error("the phone photo has no EXIF block")
	}
	// The product's own decoder applies the orientation and sees it upright.
	th, err := imaging.Thumbnail(context.Background(), photo, 400)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckUpright(th); err != nil {
		t.Error(err)
	}
	for _, name := range []string{"ZZZ0016 rash.png", "scan A4.png"} {
		img, _, _ := image.Decode(bytes.NewReader(s[name]))
		if name == "scan A4.png" {
			if err := CheckScanUpright(img); err != nil {
				t.Error(err)
			}
		} else if err := CheckUpright(img); err != nil {
			t.Error(err)
		}
	}
}
