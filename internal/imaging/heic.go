package imaging

import "image"

// HEIC (iPhones shoot it by default, and photos copied to Windows over a
// cable stay HEIC) is decoded by the operating system's own codec: on
// Windows, the Windows Imaging Component with Microsoft's HEIF and HEVC
// extensions installed (heic_windows.go). That adds no licence or patent
// burden to the product: the HEVC decoder is Microsoft's, licensed to the
// PC. Elsewhere, and on a PC without the extensions, HEIC is refused with a
// sentence saying how to get them or how to set the iPhone to "Most
// Compatible". (A portable decoder was evaluated and not adopted: see
// docs/imaging.md.)

// heifDecoder reads HEIC/HEIF through the operating system.
type heifDecoder interface {
	// Size reads the primary image's size without decoding its pixels.
	Size(b []byte) (w, h int, err error)
	// Decode returns the primary image, upright, as RGBA.
	Decode(b []byte) (*image.RGBA, error)
	// Ready reports whether the codec is installed (nil), or the error
	// that says how to install it.
	Ready() error
}

// osHEIF is the operating system's decoder; nil where there is none.
var osHEIF heifDecoder

// HEICReadable reports whether this PC can convert HEIC photos: nil, or an
// *Error (ErrHEIC) whose sentence says what to do.
func HEICReadable() error {
	if osHEIF == nil {
		return errHEIC()
	}
	return osHEIF.Ready()
}
