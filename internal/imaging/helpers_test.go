package imaging

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/clinicpro/medtech-images/internal/testutil"
)

// Corner colours of the upright test photo: checking all four after a
// conversion proves both rotation and mirroring.
var (
	cTL = color.RGBA{220, 30, 30, 255}  // red
	cTR = color.RGBA{30, 200, 40, 255}  // green
	cBL = color.RGBA{30, 40, 220, 255}  // blue
	cBR = color.RGBA{230, 220, 30, 255} // yellow
)

// photo draws an upright w x h image with a coloured quadrant in each corner
// and mild noise, so it is classified as a photo and compresses like one.
func photo(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := cTL
			switch {
			case x >= w/2 && y < h/2:
				c = cTR
			case x < w/2 && y >= h/2:
				c = cBL
			case x >= w/2 && y >= h/2:
				c = cBR
			}
			n := uint8(rng.IntN(9))
			m.SetRGBA(x, y, color.RGBA{sat(c.R, n), sat(c.G, n), sat(c.B, n), 255})
		}
	}
	return m
}

func sat(v, n uint8) uint8 {
	if int(v)+int(n) > 255 {
		return 255
	}
	return v + n
}

// stored returns how a camera with EXIF orientation o stores the upright
// image u, written from the EXIF definitions of where row 0 and column 0 lie
// (independently of the package's transform table).
func stored(u *image.RGBA, o int) *image.RGBA {
	uw, uh := u.Rect.Dx(), u.Rect.Dy()
	sw, sh := uw, uh
	if o >= 5 {
		sw, sh = uh, uw
	}
	s := image.NewRGBA(image.Rect(0, 0, sw, sh))
	for y := 0; y < sh; y++ {
		for x := 0; x < sw; x++ {
			var ux, uy int
			switch o {
			case 1: // row 0 top, column 0 left
				ux, uy = x, y
			case 2: // row 0 top, column 0 right
				ux, uy = uw-1-x, y
			case 3: // row 0 bottom, column 0 right
				ux, uy = uw-1-x, uh-1-y
			case 4: // row 0 bottom, column 0 left
				ux, uy = x, uh-1-y
			case 5: // row 0 left, column 0 top
				ux, uy = y, x
			case 6: // row 0 right, column 0 top
				ux, uy = uw-1-y, x
			case 7: // row 0 right, column 0 bottom
				ux, uy = uw-1-y, uh-1-x
			case 8: // row 0 left, column 0 bottom
				ux, uy = y, uh-1-x
			}
			s.SetRGBA(x, y, u.RGBAAt(ux, uy))
		}
	}
	return s
}

// exifAPP1 builds an APP1 Exif segment with IFD0 holding Orientation and a
// pointer to a GPS IFD whose latitude ref carries a marker string that must
// never appear in any output.
func exifAPP1(orient int, gps bool) []byte {
	le := binary.LittleEndian
	var t bytes.Buffer
	t.Write([]byte("II*\x00"))
	binary.Write(&t, le, uint32(8))
	n := uint16(1)
	if gps {
		n = 2
	}
	binary.Write(&t, le, n)
	binary.Write(&t, le, []uint16{274, 3})
	binary.Write(&t, le, uint32(1))
	binary.Write(&t, le, []uint16{uint16(orient), 0})
	gpsAt := uint32(8 + 2 + 12*int(n) + 4)
	if gps {
		binary.Write(&t, le, []uint16{34853, 4})
		binary.Write(&t, le, uint32(1))
		binary.Write(&t, le, gpsAt)
	}
	binary.Write(&t, le, uint32(0))
	if gps {
		marker := []byte("GPSMARKER-33.8688S151.2093E\x00")
		binary.Write(&t, le, uint16(1))
		binary.Write(&t, le, []uint16{27, 7}) // GPSProcessingMethod, UNDEFINED
		binary.Write(&t, le, uint32(len(marker)))
		binary.Write(&t, le, gpsAt+2+12+4)
		binary.Write(&t, le, uint32(0))
		t.Write(marker)
	}
	seg := append([]byte("Exif\x00\x00"), t.Bytes()...)
	out := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(out[2:], uint16(len(seg)+2))
	return append(out, seg...)
}

// jpegWithExif encodes m and inserts an EXIF segment right after SOI, as cameras do.
func jpegWithExif(t testing.TB, m image.Image, orient int, gps bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	j := buf.Bytes()
	if orient == 0 {
		return j
	}
	out := append([]byte{}, j[:2]...)
	out = append(out, exifAPP1(orient, gps)...)
	return append(out, j[2:]...)
}

// near reports whether two colours are within tol on every channel.
func near(a color.Color, b color.RGBA, tol int) bool {
	r, g, bb, _ := a.RGBA()
	d := func(x uint32, y uint8) bool { v := int(x>>8) - int(y); return v <= tol && v >= -tol }
	return d(r, b.R) && d(g, b.G) && d(bb, b.B)
}

// checkUpright asserts the four quadrant colours sit in the right corners.
func checkUpright(t *testing.T, m image.Image) {
	t.Helper()
	b := m.Bounds()
	at := func(fx, fy float64) color.Color {
		return m.At(b.Min.X+int(fx*float64(b.Dx())), b.Min.Y+int(fy*float64(b.Dy())))
	}
	for _, c := range []struct {
		name   string
		fx, fy float64
		want   color.RGBA
	}{{"top-left", .1, .1, cTL}, {"top-right", .9, .1, cTR}, {"bottom-left", .1, .9, cBL}, {"bottom-right", .9, .9, cBR}} {
		if got := at(c.fx, c.fy); !near(got, c.want, 40) {
			t.Errorf("%s corner is %v, want about %v", c.name, got, c.want)
		}
	}
}

// tool runs an external checker when installed (CI installs libtiff-tools,
// poppler-utils and qpdf) and fails the test on a non-zero exit. The data is
// written to a temporary file that replaces the argument "IN" (or is
// appended); "OUT" becomes a second temporary path.
func tool(t *testing.T, data []byte, ext string, name string, args ...string) string {
	t.Helper()
	testutil.NeedTool(t, name, "apt-get install libtiff-tools poppler-utils qpdf")
	dir := t.TempDir()
	p := filepath.Join(dir, "in"+ext)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	hasIn := false
	for i, a := range args {
		switch a {
		case "IN":
			args[i], hasIn = p, true
		case "OUT":
			args[i] = filepath.Join(dir, "out"+ext)
		}
	}
	if !hasIn {
		args = append(args, p)
	}
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}
