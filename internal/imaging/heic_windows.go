package imaging

import (
	_ "embed"
	"errors"
	"fmt"
	"image"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// HEIC through the Windows Imaging Component (WIC), called over COM without
// cgo: the factory makes a stream over the file's bytes, a decoder for it
// (WIC picks the codec from the content; without the HEIF extension it has
// none and says WINCODEC_ERR_COMPONENTNOTFOUND), the first frame, and a
// format converter to 32-bit RGBA whose pixels are copied out. The frame's
// size is read before any pixel buffer is made, so the decode budget holds.
// The same path decodes any format WIC reads, which is how it is tested
// under Wine (which has WIC, but no HEIF codec).

func init() { osHEIF = wicHEIF{} }

type wicHEIF struct{}

var (
	modOle32           = windows.NewLazySystemDLL("ole32.dll")
	procCoInitializeEx = modOle32.NewProc("CoInitializeEx")
	procCoUninitialize = modOle32.NewProc("CoUninitialize")
	procCoCreateInst   = modOle32.NewProc("CoCreateInstance")
	procPropVarClear   = modOle32.NewProc("PropVariantClear")

	clsidWICImagingFactory = windows.GUID{Data1: 0xcacaf262, Data2: 0x9370, Data3: 0x4615, Data4: [8]byte{0xa1, 0x3b, 0x9f, 0x55, 0x39, 0xda, 0x4c, 0x0a}}
	iidIWICImagingFactory  = windows.GUID{Data1: 0xec5ec8a9, Data2: 0xc395, Data3: 0x4314, Data4: [8]byte{0x9c, 0x77, 0x54, 0xd7, 0xa9, 0x35, 0xff, 0x70}}
	guidPixelFormat32RGBA  = windows.GUID{Data1: 0xf5c7ad2d, Data2: 0x6a8d, Data3: 0x43dd, Data4: [8]byte{0xa7, 0xa8, 0xa2, 0x99, 0x35, 0x26, 0x1a, 0xe9}}
)

const (
	coinitMultithreaded          = 0x0
	clsctxInprocServer           = 0x1
	wicDecodeMetadataCacheOnLoad = 0x1
	wicBitmapDitherTypeNone      = 0x0
	wicBitmapPaletteTypeCustom   = 0x0
	rpcEChangedMode              = 0x80010106
	wincodecErrComponentNotFound = 0x88982F50
)

// comObject is a COM interface pointer: its first word points at its vtable.
type comObject struct{ vtbl *[64]uintptr }

func (o *comObject) call(method int, args ...uintptr) uintptr {
	r, _, _ := syscall.SyscallN(o.vtbl[method], append([]uintptr{uintptr(unsafe.Pointer(o))}, args...)...)
	return r
}

func (o *comObject) release() {
	if o != nil {
		o.call(2)
	}
}

// IUnknown 0-2; IWICImagingFactory: CreateDecoderFromStream 4,
// CreateFormatConverter 10, CreateStream 14; IWICStream:
// InitializeFromMemory 16; IWICBitmapDecoder: GetFrame 13;
// IWICBitmapSource: GetSize 3, CopyPixels 7; IWICBitmapFrameDecode:
// GetMetadataQueryReader 8; IWICFormatConverter: Initialize 8;
// IWICMetadataQueryReader: GetMetadataByName 5.
const (
	mFactoryCreateDecoderFromStream = 4
	mFactoryCreateFormatConverter   = 10
	mFactoryCreateStream            = 14
	mStreamInitializeFromMemory     = 16
	mDecoderGetFrame                = 13
	mSourceGetSize                  = 3
	mSourceCopyPixels               = 7
	mFrameGetMetadataQueryReader    = 8
	mConverterInitialize            = 8
	mQueryGetMetadataByName         = 5
)

type hresultError uint32

func (e hresultError) Error() string { return fmt.Sprintf("WIC: HRESULT %#08x", uint32(e)) }

func failed(hr uintptr) bool { return int32(hr) < 0 }

// wicSession is one decode's COM objects, on one locked OS thread.
type wicSession struct {
	uninit  bool
	factory *comObject
	stream  *comObject
	decoder *comObject
	frame   *comObject
	data    []byte // kept alive: the stream reads from it
}

// open initialises COM on this thread and opens b as a decoder's frame.
func wicOpen(b []byte) (*wicSession, error) {
	runtime.LockOSThread()
	s := &wicSession{data: b}
	hr, _, _ := procCoInitializeEx.Call(0, coinitMultithreaded)
	if !failed(hr) {
		s.uninit = true
	} else if uint32(hr) != rpcEChangedMode {
		s.close()
		return nil, hresultError(hr)
	}
	if hr, _, _ := procCoCreateInst.Call(uintptr(unsafe.Pointer(&clsidWICImagingFactory)), 0, clsctxInprocServer,
		uintptr(unsafe.Pointer(&iidIWICImagingFactory)), uintptr(unsafe.Pointer(&s.factory))); failed(hr) {
		s.close()
		return nil, hresultError(hr)
	}
	if hr := s.factory.call(mFactoryCreateStream, uintptr(unsafe.Pointer(&s.stream))); failed(hr) {
		s.close()
		return nil, hresultError(hr)
	}
	if len(b) == 0 || len(b) > 1<<31 {
		s.close()
		return nil, errors.New("WIC: bad input size")
	}
	if hr := s.stream.call(mStreamInitializeFromMemory, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b))); failed(hr) {
		s.close()
		return nil, hresultError(hr)
	}
	if hr := s.factory.call(mFactoryCreateDecoderFromStream, uintptr(unsafe.Pointer(s.stream)), 0, wicDecodeMetadataCacheOnLoad,
		uintptr(unsafe.Pointer(&s.decoder))); failed(hr) {
		s.close()
		return nil, hresultError(hr)
	}
	if hr := s.decoder.call(mDecoderGetFrame, 0, uintptr(unsafe.Pointer(&s.frame))); failed(hr) {
		s.close()
		return nil, hresultError(hr)
	}
	return s, nil
}

func (s *wicSession) close() {
	for _, o := range []*comObject{s.frame, s.decoder, s.stream, s.factory} {
		o.release()
	}
	if s.uninit {
		procCoUninitialize.Call()
	}
	runtime.KeepAlive(s.data)
	runtime.UnlockOSThread()
}

func (s *wicSession) size() (int, int, error) {
	var w, h uint32
	if hr := s.frame.call(mSourceGetSize, uintptr(unsafe.Pointer(&w)), uintptr(unsafe.Pointer(&h))); failed(hr) {
		return 0, 0, hresultError(hr)
	}
	if w == 0 || h == 0 || w > 1<<16 || h > 1<<16 {
		return 0, 0, errors.New("WIC: bad frame size")
	}
	return int(w), int(h), nil
}

// orientation reads the photo's orientation (System.Photo.Orientation,
// 1..8), 1 if it has none.
func (s *wicSession) orientation() int {
	var q *comObject
	if hr := s.frame.call(mFrameGetMetadataQueryReader, uintptr(unsafe.Pointer(&q))); failed(hr) || q == nil {
		return 1
	}
	defer q.release()
	name, _ := windows.UTF16PtrFromString("System.Photo.Orientation")
	var pv [24]byte // PROPVARIANT
	if hr := q.call(mQueryGetMetadataByName, uintptr(unsafe.Pointer(name)), uintptr(unsafe.Pointer(&pv[0]))); failed(hr) {
		return 1
	}
	defer procPropVarClear.Call(uintptr(unsafe.Pointer(&pv[0])))
	const vtUI2 = 18
	if vt := uint16(pv[0]) | uint16(pv[1])<<8; vt == vtUI2 {
		if o := int(uint16(pv[8]) | uint16(pv[9])<<8); o >= 1 && o <= 8 {
			return o
		}
	}
	return 1
}

// pixels converts the frame to 32-bit RGBA and copies it out.
func (s *wicSession) pixels(w, h int) (*image.RGBA, error) {
	var conv *comObject
	if hr := s.factory.call(mFactoryCreateFormatConverter, uintptr(unsafe.Pointer(&conv))); failed(hr) {
		return nil, hresultError(hr)
	}
	defer conv.release()
	if hr := conv.call(mConverterInitialize, uintptr(unsafe.Pointer(s.frame)), uintptr(unsafe.Pointer(&guidPixelFormat32RGBA)),
		wicBitmapDitherTypeNone, 0, 0, wicBitmapPaletteTypeCustom); failed(hr) {
		return nil, hresultError(hr)
	}
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	if hr := conv.call(mSourceCopyPixels, 0, uintptr(m.Stride), uintptr(len(m.Pix)), uintptr(unsafe.Pointer(&m.Pix[0]))); failed(hr) {
		return nil, hresultError(hr)
	}
	return m, nil
}

// wicError turns WIC's answer into the sentence for the GP.
func wicError(err error) error {
	var hr hresultError
	if errors.As(err, &hr) && uint32(hr) == wincodecErrComponentNotFound {
		return errHEICCodecMissing()
	}
	return errCorrupt(TypeHEIC, err)
}

func (wicHEIF) Size(b []byte) (int, int, error) {
	s, err := wicOpen(b)
	if err != nil {
		return 0, 0, wicError(err)
	}
	defer s.close()
	w, h, err := s.size()
	if err != nil {
		return 0, 0, wicError(err)
	}
	return w, h, nil
}

func (wicHEIF) Decode(b []byte) (*image.RGBA, error) {
	s, err := wicOpen(b)
	if err != nil {
		return nil, wicError(err)
	}
	defer s.close()
	w, h, err := s.size()
	if err != nil {
		return nil, wicError(err)
	}
	m, err := s.pixels(w, h)
	if err != nil {
		return nil, wicError(err)
	}
	// The GP's photo must stand the right way up; WIC hands the frame over
	// as stored.
	if t := uprightTransform(s.orientation(), 0); !t.identity() {
		m = applyTransform(m, t).(*image.RGBA)
	}
	return m, nil
}

func (d wicHEIF) Ready() error {
	_, _, err := d.Size(heifProbe)
	return err
}

func errHEICCodecMissing() error {
	return newErr(ErrHEIC, nil, "This is an iPhone HEIC photo and this PC cannot read HEIC yet: install Microsoft's \"HEIF Image Extensions\" and \"HEVC Video Extensions\" (Microsoft Store, or ask practice IT) and retry it, or set the iPhone's Settings > Camera > Formats to \"Most Compatible\" so it takes JPEGs.")
}

// heifProbe is a 16 x 16 HEIC made with libheif's heif-enc from a
// generated picture: a file every installed HEIF codec reads, so Ready can
// ask the codec itself.
//
//go:embed heifprobe.heic
var heifProbe []byte
