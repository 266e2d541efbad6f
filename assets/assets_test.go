package assets

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestIconsDecodeAtTheirSizes(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		size int
	}{
		{"app", AppIcon, 256}, {"toolbar", MedtechToolbar, 32},
		{"ok", TrayOK, 64}, {"uploading", TrayUploading, 64}, {"attention", TrayAttention, 64}, {"offline", TrayOffline, 64},
	} {
		img, err := png.Decode(bytes.NewReader(tc.b))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if b := img.Bounds(); b.Dx() != tc.size || b.Dy() != tc.size {
			t.Fatalf("%s is %v, want %d square", tc.name, b, tc.size)
		}
		if opaqueCentre(img) == false {
			t.Fatalf("%s has nothing drawn in its centre", tc.name)
		}
	}
	// Tray states must differ from one another, or the icon cannot carry the message.
	states := [][]byte{TrayOK, TrayUploading, TrayAttention, TrayOffline}
	for i := range states {
		for j := i + 1; j < len(states); j++ {
			if bytes.Equal(states[i], states[j]) {
				t.Fatalf("tray states %d and %d are the same image", i, j)
			}
		}
	}
}

func opaqueCentre(img image.Image) bool {
	b := img.Bounds()
	_, _, _, a := img.At(b.Dx()/2, b.Dy()/2).RGBA()
	return a > 0xf000
}

// The committed PNGs must be what the generator draws, so a change to one is never
// lost by the next `go generate`.
func TestCommittedIconsMatchTheGenerator(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./gen", "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, b)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.png"))
	if len(files) != 6 {
		t.Fatalf("generator wrote %d files", len(files))
	}
	for _, f := range files {
		got, _ := os.ReadFile(f)
		want, err := os.ReadFile(filepath.Base(f))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output: run go generate ./assets", filepath.Base(f))
		}
	}
}
