package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"sort"
	"time"

	"github.com/clinicpro/medtech-images/internal/imaging"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/queue"
)

// ThumbnailEdge is the long edge of previews in the capture window and Unassigned list.
const ThumbnailEdge = 320

func (a *Agent) Item(ctx context.Context, itemID string) (localapi.Item, error) {
	it, err := a.q.Get(ctx, itemID)
	if err != nil {
		return localapi.Item{}, queueError(err)
	}
	return apiItem(it), nil
}

// Thumbnail previews the spool copy. Files the converter cannot preview (PDF) get a
// plain placeholder so the tray's layout needs no special case.
func (a *Agent) Thumbnail(ctx context.Context, itemID string) ([]byte, error) {
	it, err := a.q.Get(ctx, itemID)
	if err != nil {
		return nil, queueError(err)
	}
	b, err := os.ReadFile(it.SpoolPath)
	if err != nil {
		return nil, localapi.NewError(localapi.CodeNotFound, "No preview: the agent no longer holds a copy of this file (it was sent or rejected).")
	}
	img, err := imaging.Thumbnail(ctx, b, ThumbnailEdge)
	if err != nil {
		img = placeholder()
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func placeholder() image.Image {
	img := image.NewGray(image.Rect(0, 0, ThumbnailEdge*3/4, ThumbnailEdge))
	for i := range img.Pix {
		img.Pix[i] = 0xE0
	}
	for x := 0; x < img.Rect.Dx(); x++ {
		img.SetGray(x, 0, color.Gray{Y: 0x90})
		img.SetGray(x, img.Rect.Dy()-1, color.Gray{Y: 0x90})
	}
	return img
}

// recentSent is how long sent items stay in the Queue list, so the GP sees that
// today's photos went through.
const recentSent = 24 * time.Hour

func (a *Agent) Queue(ctx context.Context) ([]localapi.Item, error) {
	items, err := a.q.List(ctx, queue.StateQueued, queue.StateUploading, queue.StateParked)
	if err != nil {
		return nil, err
	}
	sent, err := a.q.ListSentSince(ctx, a.opt.Now().Add(-recentSent))
	if err != nil {
		return nil, err
	}
	// One list, oldest added first, as before the sent rows were read apart.
	items = append(items, sent...)
	sort.SliceStable(items, func(i, j int) bool {
		if !items[i].Added.Equal(items[j].Added) {
			return items[i].Added.Before(items[j].Added)
		}
		return items[i].ID < items[j].ID
	})
	return apiItems(items), nil
}

func (a *Agent) Unassigned(ctx context.Context) ([]localapi.Item, error) {
	items, err := a.q.List(ctx, queue.StateUnassigned)
	if err != nil {
		return nil, err
	}
	return apiItems(items), nil
}

func (a *Agent) Retry(ctx context.Context, itemID string) (localapi.Item, error) {
	it, err := a.up.Retry(ctx, itemID)
	if err != nil {
		return localapi.Item{}, queueError(err)
	}
	a.log.Info("parked item retried", "item", it.ID)
	return apiItem(it), nil
}

// SendAgain re-queues a parked item under a new generation of its key, after a
// person has checked that Medtech does not hold it; the relay audits the release.
func (a *Agent) SendAgain(ctx context.Context, itemID string) (localapi.Item, error) {
	it, err := a.up.SendAgain(ctx, itemID)
	if err != nil {
		return localapi.Item{}, queueError(err)
	}
	a.log.Info("parked item sent again", "item", it.ID, "generation", it.KeyGen)
	return apiItem(it), nil
}

// Reject moves an Unassigned item's file to Rejected.
func (a *Agent) Reject(ctx context.Context, itemID string) (localapi.Item, error) {
	return a.reject(ctx, itemID, queue.StateUnassigned)
}

// Discard moves a parked item's file to Rejected.
func (a *Agent) Discard(ctx context.Context, itemID string) (localapi.Item, error) {
	return a.reject(ctx, itemID, queue.StateParked)
}

// reject checks the item is in the list the person acted on (the uploader would
// also reject a staged item, which neither button offers), then lets the uploader
// move the file to a Rejected folder: nothing is deleted.
func (a *Agent) reject(ctx context.Context, itemID string, from queue.State) (localapi.Item, error) {
	it, err := a.q.Get(ctx, itemID)
	if err != nil {
		return localapi.Item{}, queueError(err)
	}
	if it.State != from {
		return localapi.Item{}, localapi.NewError(localapi.CodeConflict,
			fmt.Sprintf("The item is %s, not %s: refresh the list and try again.", it.State, from))
	}
	out, err := a.up.Discard(ctx, itemID)
	var te *queue.TransitionError
	if err != nil && !errors.Is(err, queue.ErrNotFound) && !errors.As(err, &te) {
		a.log.Error("could not move a rejected file", "item", it.ID, "err", queue.Pathless(err))
		return localapi.Item{}, localapi.NewError(localapi.CodeInternal,
			"The file could not be moved to a Rejected folder, so it was left where it was: check the folder's permissions and try again.")
	}
	if err != nil {
		return localapi.Item{}, queueError(err)
	}
	a.log.Info("item rejected", "item", it.ID, "from", string(from))
	return apiItem(out), nil
}
