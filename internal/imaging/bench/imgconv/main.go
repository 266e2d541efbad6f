// Command imgconv runs internal/imaging as its own process, so the
// benchmark script can time it (and measure its peak RSS) exactly like the
// sharp, vips and ImageMagick commands it is compared with. It is a
// benchmark helper, not a shipped binary.
//
//	imgconv convert [-pdf] [-budget N] [-decode-budget N] [-timed] IN OUT   prints: width height bytes quality encoding [wall_ms cpu_ms]
//	imgconv scan OUT.png                         writes a synthetic A4 300-dpi letter scan
//	imgconv hostile DIR                          writes the hostile corpus (internal/imaging/hostile)
//	imgconv fidelity SRC OUT...                  prints per OUT (JPEG or PNG): PSNR and SSIM at full size, then at the 1920-px view
//	imgconv letter OUT.jpg [SEED]                writes a 4032x3024 phone photo of an A4 letter (internal/imaging/synth)
//	imgconv exif6 IN.jpg OUT.jpg                 copies a JPEG adding EXIF orientation 6 (stored sideways, shown upright)
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"time"

	"github.com/clinicpro/medtech-images/internal/imaging"
	"github.com/clinicpro/medtech-images/internal/imaging/fidelity"
	"github.com/clinicpro/medtech-images/internal/imaging/hostile"
	"github.com/clinicpro/medtech-images/internal/imaging/synth"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "convert":
		err = convert(os.Args[2:])
	case "scan":
		if len(os.Args) != 3 {
			usage()
		}
		err = scan(os.Args[2])
	case "hostile":
		if len(os.Args) != 3 {
			usage()
		}
		err = writeHostile(os.Args[2])
	case "fidelity":
		if len(os.Args) < 4 {
			usage()
		}
		err = measure(os.Args[2], os.Args[3:])
	case "letter":
		if len(os.Args) < 3 {
			usage()
		}
		seed := uint64(7)
		if len(os.Args) > 3 {
			fmt.Sscan(os.Args[3], &seed)
		}
		err = writeJPEG(os.Args[2], synth.RandomLetter(seed, 4032, 3024).Draw())
	case "exif6":
		if len(os.Args) != 4 {
			usage()
		}
		err = exif6(os.Args[2], os.Args[3])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imgconv:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: imgconv convert [-pdf] [-budget N] [-decode-budget N] [-max-edge N] [-max-quality Q] [-good-quality Q] IN OUT | imgconv scan OUT.png | imgconv hostile DIR | imgconv fidelity SRC OUT... | imgconv letter OUT.jpg [SEED] | imgconv exif6 IN OUT")
	os.Exit(2)
}

func convert(args []string) error {
	fs := flag.NewFlagSet("convert", flag.ExitOnError)
	pdf := fs.Bool("pdf", false, "write PDF instead of TIFF")
	budget := fs.Int64("budget", 1_000_000, "output byte budget")
	decodeBudget := fs.Int64("decode-budget", 0, "decoded-pixel memory budget (0: the product default)")
	maxEdge := fs.Int("max-edge", 0, "photos: largest long edge (0: the product default)")
	maxQ := fs.Int("max-quality", 0, "photos: highest JPEG quality tried (0: the product default)")
	goodQ := fs.Int("good-quality", 0, "photos: quality floor of the largest size (0: the product default)")
	timed := fs.Bool("timed", false, "convert twice and print the second run's wall and CPU milliseconds (as sharp.js does)")
	fs.Parse(args)
	if fs.NArg() != 2 {
		usage()
	}
	in, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	opt := imaging.Options{Budget: *budget, DecodeBudget: *decodeBudget, MaxLongEdge: *maxEdge, MaxQuality: *maxQ, GoodQuality: *goodQ}
	if *pdf {
		opt.Format = imaging.FormatPDF
	}
	if *timed {
		if _, err := imaging.Convert(context.Background(), in, opt); err != nil {
			return err
		}
	}
	c0 := cpuTime()
	t0 := time.Now()
	r, err := imaging.Convert(context.Background(), in, opt)
	wall := time.Since(t0)
	c1 := cpuTime()
	if err != nil {
		return err
	}
	if err := os.WriteFile(fs.Arg(1), r.Data, 0o644); err != nil {
		return err
	}
	if *timed {
		cpu := time.Duration(c1 - c0)
		fmt.Println(r.Width, r.Height, len(r.Data), r.Quality, r.Encoding, float64(wall.Microseconds())/1000, float64(cpu.Microseconds())/1000)
		return nil
	}
	fmt.Println(r.Width, r.Height, len(r.Data), r.Quality, r.Encoding)
	return nil
}

// scan draws black 7x13 bitmap text enlarged 3x on a slightly noisy white
// A4 page at 300 dpi, so strokes are about 3 px wide as in a real scan.
func scan(out string) error {
	const w, h = 2480, 3508
	small := image.NewGray(image.Rect(0, 0, w/3, h/3))
	draw.Draw(small, small.Rect, image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: small, Src: image.Black, Face: basicfont.Face7x13}
	lines := []string{
		"Dear Doctor,",
		"Thank you for seeing this patient, who has had an itchy rash on both forearms",
		"for three weeks. It has not improved with emollients or hydrocortisone 1%.",
		"There is no history of atopy. Please advise on further management.",
	}
	for i, y := 0, 60; y < small.Rect.Dy()-60; i, y = i+1, y+18 {
		d.Dot = fixed.P(50, y)
		d.DrawString(lines[i%len(lines)])
	}
	g := image.NewGray(image.Rect(0, 0, w, h))
	s := uint32(7)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := small.Pix[min(y/3, small.Rect.Dy()-1)*small.Stride+min(x/3, small.Rect.Dx()-1)]
			s = s*1664525 + 1013904223
			n := uint8(s >> 29)
			if v > 127 {
				v -= n
			} else {
				v += n
			}
			g.Pix[y*g.Stride+x] = v
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := png.Encode(f, g); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeHostile writes every file of the hostile corpus into dir.
func writeHostile(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range hostile.Corpus() {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// measure prints the fidelity of each output to src.
func measure(src string, outs []string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	ref, err := imaging.Upright(b)
	if err != nil {
		return err
	}
	for _, o := range outs {
		b, err := os.ReadFile(o)
		if err != nil {
			return err
		}
		m, err := imaging.Upright(b)
		if err != nil {
			return fmt.Errorf("%s: %w", o, err)
		}
		full, view := fidelity.Measure(ref, m)
		fmt.Printf("%.2f %.4f %.2f %.4f\n", full.PSNR, full.SSIM, view.PSNR, view.SSIM)
	}
	return nil
}

// writeJPEG saves m as a camera would: JPEG quality 92, 4:2:0.
func writeJPEG(name string, m image.Image) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, m, &jpeg.Options{Quality: 92}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// exif6 inserts an APP1 Exif segment with Orientation 6 after SOI.
func exif6(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	if len(b) < 2 || b[0] != 0xFF || b[1] != 0xD8 {
		return fmt.Errorf("%s is not a JPEG", in)
	}
	tiff := []byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00")
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
	o := append(append(append([]byte{}, b[:2]...), app1...), seg...)
	return os.WriteFile(out, append(o, b[2:]...), 0o644)
}
