package imaging_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/clinicpro/medtech-images/internal/imaging"
)

func ExampleConvert() {
	// A stand-in for a phone photo: 3000 x 2000 pixels.
	var photo bytes.Buffer
	jpeg.Encode(&photo, image.NewYCbCr(image.Rect(0, 0, 3000, 2000), image.YCbCrSubsampleRatio420), nil)

	r, err := imaging.Convert(context.Background(), photo.Bytes(), imaging.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.ContentType, r.Ext, r.Width, r.Height, r.Kind, r.Quality, len(r.Data) <= 1_000_000)

	_, err = imaging.Convert(context.Background(), []byte("\x00\x00\x00\x18ftypheic"), imaging.Options{})
	fmt.Println(errors.Is(err, imaging.ErrHEIC))
	// Output:
	// image/tiff .tif 3000 2000 photo 95 true
	// true
}
