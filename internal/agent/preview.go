package agent

import (
	"bytes"
	"context"
	"image/jpeg"
	"os"

	"github.com/clinicpro/medtech-images/internal/imaging"
	"github.com/clinicpro/medtech-images/internal/localapi"
)

// Preview is the tray's enlarged view of an item: the spool copy, upright, no larger
// than localapi.PreviewEdge. The tray shows it before a GP files or crops an image.
func (a *Agent) Preview(ctx context.Context, itemID string) ([]byte, error) {
	it, err := a.q.Get(ctx, itemID)
	if err != nil {
		return nil, queueError(err)
	}
	b, err := os.ReadFile(it.SpoolPath)
	if err != nil {
		return nil, localapi.NewError(localapi.CodeNotFound, "No preview: the agent no longer holds a copy of this file (it was sent or rejected).")
	}
	img, err := imaging.Thumbnail(ctx, b, localapi.PreviewEdge)
	if err != nil {
		img = placeholder()
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
