package ui

import (
	"bytes"
	"image"
	"image/draw"
	_ "image/jpeg" // the agent's thumbnails are JPEG
	_ "image/png"
)

// decodeThumb decodes an agent thumbnail.
func decodeThumb(b []byte) (image.Image, error) {
	img, _, err := image.Decode(bytes.NewReader(b))
	return img, err
}

// rotate turns img clockwise by deg (a multiple of 90), so the GP sees what Save
// will send without another round trip to the agent.
func rotate(img image.Image, deg int) image.Image {
	deg = ((deg % 360) + 360) % 360
	if deg == 0 {
		return img
	}
	src := image.NewNRGBA(img.Bounds().Sub(img.Bounds().Min))
	draw.Draw(src, src.Bounds(), img, img.Bounds().Min, draw.Src)
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	var dst *image.NRGBA
	if deg == 180 {
		dst = image.NewNRGBA(image.Rect(0, 0, w, h))
	} else {
		dst = image.NewNRGBA(image.Rect(0, 0, h, w))
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := src.NRGBAAt(x, y)
			switch deg {
			case 90:
				dst.SetNRGBA(h-1-y, x, c)
			case 180:
				dst.SetNRGBA(w-1-x, h-1-y, c)
			case 270:
				dst.SetNRGBA(y, w-1-x, c)
			}
		}
	}
	return dst
}
