package imaging

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"github.com/clinicpro/medtech-images/internal/imaging/jpegdec"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// decodeConfig reads only the header so size limits are enforced before a
// single pixel buffer is allocated (a 1 kB PNG can claim 50,000 x 50,000).
func decodeConfig(in input) (image.Config, error) {
	t, r := in.t, in.reader()
	var cfg image.Config
	var err error
	switch t {
	case TypeJPEG:
		cfg, err = jpeg.DecodeConfig(r)
	case TypePNG:
		cfg, err = png.DecodeConfig(r)
	case TypeGIF:
		cfg, err = gif.DecodeConfig(r)
	case TypeBMP:
		cfg, err = bmp.DecodeConfig(r)
	case TypeTIFF:
		cfg, err = tiff.DecodeConfig(r)
	case TypeWebP:
		cfg, err = webp.DecodeConfig(r)
	case TypeHEIC:
		if osHEIF == nil {
			return cfg, errHEIC()
		}
		w, h, err := osHEIF.Size(in.b)
		if err != nil {
			return cfg, err // already the sentence for the GP
		}
		return image.Config{Width: w, Height: h}, nil
	default:
		return cfg, errUnsupported("a " + t.String() + " file")
	}
	if err != nil {
		return cfg, decodeErr(t, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, errCorrupt(t, errors.New("zero image dimension"))
	}
	return cfg, nil
}

func decodePixels(in input) (image.Image, error) {
	t, b, r := in.t, in.b, in.reader()
	var m image.Image
	var err error
	switch t {
	case TypeJPEG:
		// Our decoder reads most JPEGs, at 1/scale straight from the DCT;
		// the variants it leaves (CMYK, RGB-coded, 12-bit, unusual
		// sampling) go to image/jpeg at full size.
		m, err = jpegdec.Decode(b, max(1, in.scale))
		if errors.Is(err, jpegdec.ErrNotHandled) {
			m, err = jpeg.Decode(r)
		}
	case TypePNG:
		m, err = png.Decode(r)
	case TypeGIF:
		m, err = gif.Decode(r) // first frame only: a GIF animation is not a clinical image
	case TypeBMP:
		m, err = bmp.Decode(r)
	case TypeTIFF:
		m, err = tiff.Decode(r)
	case TypeWebP:
		m, err = webp.Decode(r)
	case TypeHEIC:
		if osHEIF == nil {
			return nil, errHEIC()
		}
		return osHEIF.Decode(b) // its errors are already sentences
	default:
		return nil, errUnsupported("a " + t.String() + " file")
	}
	if err != nil {
		if !endsProperly(t, b) {
			return nil, errTruncated(t, err)
		}
		return nil, decodeErr(t, err)
	}
	return m, nil
}

// endsProperly reports whether b has the trailer its format requires.
// Decoders describe a file cut short in many ways ("short Huffman data",
// "not enough pixel data"), so the trailer is the reliable test.
func endsProperly(t Type, b []byte) bool {
	tail := b[max(0, len(b)-4096):]
	switch t {
	case TypeJPEG:
		return bytes.Contains(tail, []byte{0xFF, 0xD9})
	case TypePNG:
		return bytes.Contains(tail, []byte("IEND"))
	case TypeGIF:
		return len(b) > 0 && b[len(b)-1] == 0x3B
	}
	return true
}

// decodeErr turns a decoder's error into one a person can act on. Decoders
// report truncation as io.ErrUnexpectedEOF (sometimes wrapped, sometimes only
// in the text), and unsupported variants as their own error types.
func decodeErr(t Type, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "unexpected EOF") {
		return errTruncated(t, err)
	}
	if errors.Is(err, jpegdec.ErrNotHandled) {
		return newErr(ErrUnsupported, err, "This JPEG uses a variant that cannot be read here; save it again as a standard JPEG and try again.")
	}
	var ju jpeg.UnsupportedError
	var tu tiff.UnsupportedError
	var pu png.UnsupportedError
	if errors.As(err, &ju) || errors.As(err, &tu) || errors.As(err, &pu) || strings.Contains(err.Error(), "unsupported") {
		return newErr(ErrUnsupported, err, "This %s file uses a variant that cannot be read here (%s); save it again as a standard JPEG or PNG and try again.", t, strings.TrimPrefix(err.Error(), strings.ToLower(t.String())+": "))
	}
	return errCorrupt(t, err)
}

// normalize reduces every decoded image to one of the three layouts the
// scaler and encoders handle quickly: *image.YCbCr (JPEG and lossy WebP, kept
// in YCbCr so the box shrink runs on planes), *image.Gray, or *image.RGBA with
// any transparency flattened onto white (a transparent PNG would otherwise
// turn black in JPEG).
func normalize(m image.Image) image.Image {
	switch s := m.(type) {
	case *image.YCbCr:
		return s
	case *image.Gray:
		return s
	case *image.Gray16:
		g := image.NewGray(s.Bounds())
		draw.Draw(g, g.Rect, s, s.Rect.Min, draw.Src)
		return g
	case *image.NYCbCrA:
		if opaque(s) {
			return &s.YCbCr
		}
	case *image.RGBA:
		if opaque(s) {
			return s
		}
	case *image.NRGBA:
		return flattenInPlace(s)
	}
	if p, ok := m.(*image.Paletted); ok && grayPalette(p.Palette) {
		g := image.NewGray(p.Bounds())
		draw.Draw(g, g.Rect, p, p.Rect.Min, draw.Src)
		return g
	}
	b := m.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, image.White, image.Point{}, draw.Src)
	draw.Draw(dst, dst.Rect, m, b.Min, draw.Over)
	return dst
}

func opaque(m interface{ Opaque() bool }) bool { return m.Opaque() }

// flattenInPlace composites m onto white in its own buffer and returns it as
// RGBA (an opaque NRGBA pixel is already an RGBA one). A copy would double
// the memory of a large PNG, which is what decoders hand back for most
// PNGs, even opaque ones.
func flattenInPlace(m *image.NRGBA) *image.RGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	parallelRows(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for i := 0; i < len(row); i += 4 {
				a := uint32(row[i+3])
				if a == 255 {
					continue
				}
				for c := 0; c < 3; c++ {
					row[i+c] = uint8((uint32(row[i+c])*a + 255*(255-a) + 127) / 255)
				}
				row[i+3] = 255
			}
		}
	})
	return &image.RGBA{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
}

func grayPalette(p color.Palette) bool {
	for _, c := range p {
		r, g, b, a := c.RGBA()
		if r != g || g != b || a != 0xffff {
			return false
		}
	}
	return true
}
