package imaging

import (
	"bytes"
	"encoding/ascii85"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zlib"
)

// Stream filters (ISO 32000 §7.4) for the streams the checks and the
// rebuild read: object streams, content streams and image data. The image
// codecs (DCT, CCITT) are applied by the rebuild, after the filters before
// them in the chain; JBIG2, JPX and LZW are not implemented, so a stream
// that needs them is reported as such.

// errPDFFilter names a filter we do not decode.
type errPDFFilter struct{ name pdfName }

func (e errPDFFilter) Error() string {
	return fmt.Sprintf("pdf: %s streams are not decoded here", e.name)
}

// filters returns a stream's filter chain and the parameters of each.
func (s *pdfStream) filters(d *pdfDoc) ([]pdfName, []pdfDict, error) {
	var names []pdfName
	var parms []pdfDict
	resolve := func(v any) any { return v }
	if d != nil {
		resolve = d.resolve
	}
	switch f := resolve(s.dict["Filter"]).(type) {
	case nil:
	case pdfName:
		names = []pdfName{f}
	case pdfArray:
		for _, v := range f {
			n, ok := resolve(v).(pdfName)
			if !ok {
				return nil, nil, errors.New("pdf: bad filter")
			}
			names = append(names, n)
		}
	default:
		return nil, nil, errors.New("pdf: bad filter")
	}
	if len(names) > 4 {
		return nil, nil, errors.New("pdf: too many filters")
	}
	dp := resolve(s.dict["DecodeParms"])
	for i := range names {
		var p pdfDict
		switch x := dp.(type) {
		case pdfDict:
			if i == 0 {
				p = x
			}
		case pdfArray:
			if i < len(x) {
				p, _ = resolve(x[i]).(pdfDict)
			}
		}
		if p != nil && d != nil {
			q := pdfDict{}
			for k, v := range p {
				q[k] = d.resolve(v)
			}
			p = q
		}
		parms = append(parms, p)
	}
	return names, parms, nil
}

// decodeStream applies every filter of s, producing at most limit bytes.
func decodeStream(d *pdfDoc, s *pdfStream, limit int) ([]byte, error) {
	names, parms, err := s.filters(d)
	if err != nil {
		return nil, err
	}
	return applyFilters(s.raw, names, parms, limit)
}

// applyFilters runs the chain in order; each step is bounded by limit.
func applyFilters(data []byte, names []pdfName, parms []pdfDict, limit int) ([]byte, error) {
	for i, n := range names {
		var err error
		switch n {
		case "FlateDecode", "Fl":
			data, err = inflatePDF(data, limit)
			if err == nil {
				data, err = unpredict(data, parms[i])
			}
		case "ASCIIHexDecode", "AHx":
			data, err = asciiHexDecode(data)
		case "ASCII85Decode", "A85":
			data, err = ascii85Decode(data, limit)
		case "RunLengthDecode", "RL":
			data, err = runLengthDecode(data, limit)
		default:
			return nil, errPDFFilter{n}
		}
		if err != nil {
			return nil, err
		}
		if len(data) > limit {
			return nil, errPDFStreamTooLarge
		}
	}
	return data, nil
}

func inflatePDF(data []byte, limit int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return readAllLimited(zr, limit)
}

func asciiHexDecode(data []byte) ([]byte, error) {
	out := make([]byte, 0, len(data)/2)
	var hi byte
	odd := false
	for _, c := range data {
		if c == '>' {
			break
		}
		if isPDFSpace(c) {
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return nil, errors.New("pdf: bad ASCIIHex data")
		}
		if odd {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		odd = !odd
	}
	if odd {
		out = append(out, hi<<4)
	}
	return out, nil
}

func ascii85Decode(data []byte, limit int) ([]byte, error) {
	if i := bytes.Index(data, []byte("~>")); i >= 0 {
		data = data[:i]
	}
	data = bytes.TrimPrefix(bytes.TrimSpace(data), []byte("<~"))
	out := make([]byte, min(4*len(data)/5+4, limit+4))
	n, _, err := ascii85.Decode(out, data, true)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

func runLengthDecode(data []byte, limit int) ([]byte, error) {
	var out []byte
	for i := 0; i < len(data); {
		n := int(data[i])
		i++
		switch {
		case n == 128:
			return out, nil
		case n < 128:
			if i+n+1 > len(data) {
				return nil, errors.New("pdf: short RunLength data")
			}
			out = append(out, data[i:i+n+1]...)
			i += n + 1
		default:
			if i >= len(data) {
				return nil, errors.New("pdf: short RunLength data")
			}
			out = append(out, bytes.Repeat(data[i:i+1], 257-n)...)
			i++
		}
		if len(out) > limit {
			return nil, errPDFStreamTooLarge
		}
	}
	return out, nil
}

// unpredict undoes a Flate stream's predictor (§7.4.4.4): 2 is TIFF's
// horizontal differencing, 10-15 the PNG filters, one tag byte per row.
func unpredict(data []byte, p pdfDict) ([]byte, error) {
	pred, _ := pdfInt(p["Predictor"])
	if pred <= 1 {
		return data, nil
	}
	colors, bpc, cols := int64(1), int64(8), int64(1)
	if v, ok := pdfInt(p["Colors"]); ok {
		colors = v
	}
	if v, ok := pdfInt(p["BitsPerComponent"]); ok {
		bpc = v
	}
	if v, ok := pdfInt(p["Columns"]); ok {
		cols = v
	}
	if colors < 1 || colors > 32 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) || cols < 1 || cols > 1<<24 {
		return nil, errors.New("pdf: bad predictor parameters")
	}
	bpp := int((colors*bpc + 7) / 8)
	row := int((colors*bpc*cols + 7) / 8)
	if pred == 2 {
		if bpc != 8 {
			return nil, errors.New("pdf: TIFF predictor only for 8-bit samples")
		}
		for y := 0; y+row <= len(data); y += row {
			r := data[y : y+row]
			for x := bpp; x < row; x++ {
				r[x] += r[x-bpp]
			}
		}
		return data, nil
	}
	if pred < 10 || pred > 15 {
		return nil, errors.New("pdf: unknown predictor")
	}
	rows := len(data) / (row + 1)
	out := make([]byte, rows*row)
	prev := make([]byte, row)
	for y := 0; y < rows; y++ {
		tag, in := data[y*(row+1)], data[y*(row+1)+1:(y+1)*(row+1)]
		cur := out[y*row : (y+1)*row]
		for x := range cur {
			var left, upLeft byte
			if x >= bpp {
				left, upLeft = cur[x-bpp], prev[x-bpp]
			}
			up := prev[x]
			switch tag {
			case 0:
				cur[x] = in[x]
			case 1:
				cur[x] = in[x] + left
			case 2:
				cur[x] = in[x] + up
			case 3:
				cur[x] = in[x] + byte((int(left)+int(up))/2)
			case 4:
				cur[x] = in[x] + paeth(left, up, upLeft)
			default:
				return nil, errors.New("pdf: bad PNG predictor tag")
			}
		}
		prev = cur
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}
