package imaging

import (
	"bytes"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
)

// Upright decodes a JPEG or PNG at full size with image/jpeg or image/png
// (not this package's decoder, so a measurement does not grade our decoder
// by itself), turned upright by its EXIF orientation, as RGBA. It is for
// measuring fidelity (internal/imaging/fidelity), not for conversion.
func Upright(b []byte) (*image.RGBA, error) {
	t, err := Sniff(b)
	if err != nil {
		return nil, err
	}
	var m image.Image
	switch t {
	case TypeJPEG:
		m, err = jpeg.Decode(bytes.NewReader(b))
	case TypePNG:
		m, err = png.Decode(bytes.NewReader(b))
	default:
		return nil, errUnsupported("a " + t.String() + " file (Upright reads JPEG and PNG)")
	}
	if err != nil {
		return nil, decodeErr(t, err)
	}
	r := image.NewRGBA(image.Rect(0, 0, m.Bounds().Dx(), m.Bounds().Dy()))
	draw.Draw(r, r.Rect, m, m.Bounds().Min, draw.Src)
	if o := uprightTransform(orientation(t, b), 0); !o.identity() {
		r = applyTransform(r, o).(*image.RGBA)
	}
	return r, nil
}

// Lanczos scales m to w x h, down or up, with the Lanczos-3 filter photos
// are scaled with, each RGB channel on its own.
func Lanczos(m *image.RGBA, w, h int) *image.RGBA {
	sw, sh := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	src := make([]byte, sw*sh)
	dst := make([]byte, w*h)
	for c := 0; c < 3; c++ {
		for y := 0; y < sh; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < sw; x++ {
				src[y*sw+x] = row[4*x+c]
			}
		}
		sincPlane(dst, w, w, h, src, sw, sw, sh)
		for y := 0; y < h; y++ {
			row := out.Pix[y*out.Stride:]
			for x := 0; x < w; x++ {
				row[4*x+c] = dst[y*w+x]
			}
		}
	}
	for i := 3; i < len(out.Pix); i += 4 {
		out.Pix[i] = 255
	}
	return out
}
