package imaging

import (
	"errors"
	"fmt"
)

// Sentinel errors let callers branch with errors.Is (for example the uploader
// parks an item permanently on any of them); the *Error wrapper carries the
// sentence a person reads.
var (
	ErrEmpty         = errors.New("imaging: empty file")
	ErrTruncated     = errors.New("imaging: truncated file")
	ErrCorrupt       = errors.New("imaging: corrupt file")
	ErrUnsupported   = errors.New("imaging: unsupported file type")
	ErrHEIC          = errors.New("imaging: HEIC not supported")
	ErrTooManyPixels = errors.New("imaging: too many pixels")
	ErrTooLarge      = errors.New("imaging: file too large")
	ErrPDFOverBudget = errors.New("imaging: PDF over budget")
	ErrUnreadable    = errors.New("imaging: cannot fit budget while staying readable")
	ErrDecodeBudget  = errors.New("imaging: decoding would exceed the memory budget")
	ErrPDFUnsafe     = errors.New("imaging: PDF with active or hidden content")
)

// Error is the typed error every exported function returns. Msg is one
// sentence for a person: what happened and what to do. It never contains a
// file name, because file names often carry an NHI.
type Error struct {
	Kind error  // one of the Err* sentinels
	Msg  string // the sentence shown to a person
	Err  error  // underlying decoder error, if any (for logs; contains no patient data)
}

func (e *Error) Error() string { return e.Msg }

// Unwrap exposes both the sentinel and the cause to errors.Is/As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func newErr(kind error, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: cause}
}

func errEmpty() error {
	return newErr(ErrEmpty, nil, "The file is empty (0 bytes); copy it again from the camera or scanner.")
}

func errTruncated(t Type, cause error) error {
	return newErr(ErrTruncated, cause, "The %s file is cut short, probably still being copied or saved; wait for it to finish and try again.", t)
}

func errCorrupt(t Type, cause error) error {
	return newErr(ErrCorrupt, cause, "The %s file is damaged and cannot be read; export or scan it again.", t)
}

func errUnsupported(what string) error {
	return newErr(ErrUnsupported, nil, "This file is %s, which cannot be sent to Medtech; save it as JPEG, PNG, TIFF or PDF and try again.", what)
}

func errHEIC() error {
	return newErr(ErrHEIC, nil, "This is an iPhone HEIC photo, which cannot be converted here; export it as JPEG (or set the iPhone's Settings > Camera > Formats to \"Most Compatible\") and try again.")
}

func errTooManyPixels(w, h int, limit int64) error {
	return newErr(ErrTooManyPixels, nil, "The image is %d x %d pixels (%.0f megapixels), more than the %.0f megapixel limit; reduce its size before sending.", w, h, float64(w)*float64(h)/1e6, float64(limit)/1e6)
}

func errTooLarge(size, limit int64) error {
	return newErr(ErrTooLarge, nil, "The file is %s, more than the %s limit; reduce its size before sending.", humanBytes(size), humanBytes(limit))
}

func errPDFOverBudget(size, limit int64) error {
	return newErr(ErrPDFOverBudget, nil, "The PDF is %s, more than the %s limit for Medtech; rescan it at a lower resolution or in black and white and try again.", humanBytes(size), humanBytes(limit))
}

func errUnreadable(what string) error {
	return newErr(ErrUnreadable, nil, "The image cannot be made small enough without becoming unreadable (%s); send it in parts or raise the size limit.", what)
}

func humanBytes(n int64) string {
	switch {
	case n >= 10_000_000_000:
		return fmt.Sprintf("%.0f GB", float64(n)/1e9)
	case n >= 1_000_000_000:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1000:
		return fmt.Sprintf("%.0f kB", float64(n)/1e3)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
