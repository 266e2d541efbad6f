package hostile

import (
	"bytes"
	"compress/zlib"
	"io"
	"testing"
)

func TestZerosInflateToExactlyN(t *testing.T) {
	for _, n := range []int64{0, 1, 2, 257, 258, 259, 517, 1 << 20, 1<<20 + 3} {
		r, err := zlib.NewReader(bytes.NewReader(zeros(n)))
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || int64(len(got)) != n || bytes.ContainsFunc(got, func(r rune) bool { return r != 0 }) {
			t.Fatalf("%d zeros inflated to %d bytes, %v", n, len(got), err)
		}
		if err := r.Close(); err != nil {
			t.Fatalf("%d: checksum: %v", n, err)
		}
	}
}
