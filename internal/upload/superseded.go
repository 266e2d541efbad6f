package upload

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"

	"github.com/clinicpro/medtech-images/internal/queue"
)

// ReasonSuperseded is the reason on a parked copy of a file that was taken while it
// was still being written, once the complete file has been sent.
const ReasonSuperseded = "Cleared: this was an early, cut-short copy of a file that was still being written; the complete file has been sent."

// clearCutShort rejects the parked items taken from the same original while it was
// still being written (a slow scanner or copy that paused longer than the stability
// window): each is a strict prefix of what was just sent, so nothing is lost, and
// they would otherwise wait for a person for good. sent's spool copy must still
// exist.
func (u *Uploader) clearCutShort(ctx context.Context, sent queue.Item) {
	if sent.SourcePath == "" {
		return
	}
	parked, err := u.q.List(ctx, queue.StateParked)
	if err != nil {
		return
	}
	for _, p := range parked {
		if p.SourcePath != sent.SourcePath || p.Size >= sent.Size || p.Facility != sent.Facility {
			continue
		}
		if ok, err := isPrefix(p.SpoolPath, sent.SpoolPath); err != nil || !ok {
			continue
		}
		if _, err := u.q.Reject(ctx, p.ID, ReasonSuperseded); err == nil {
			u.log.Info("cleared a cut-short copy of a file now sent", "item", p.ID, "sent", sent.ID)
		}
	}
}

// isPrefix reports whether the content of file a is the start of file b.
func isPrefix(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ra, rb := bufio.NewReader(fa), bufio.NewReader(fb)
	bufA, bufB := make([]byte, 32<<10), make([]byte, 32<<10)
	for {
		n, err := io.ReadFull(ra, bufA)
		if n > 0 {
			if _, err := io.ReadFull(rb, bufB[:n]); err != nil {
				return false, nil
			}
			if !bytes.Equal(bufA[:n], bufB[:n]) {
				return false, nil
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
}
