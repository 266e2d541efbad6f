package upload

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/originals"
	"github.com/clinicpro/medtech-images/internal/queue"
)

// applySourceAction tidies the original once Medtech holds the image, through
// internal/originals: no link is followed, and only an original whose content is
// what was sent is moved or deleted (a newer version under the same name is left to
// be taken). A source that is already gone (moved by a previous attempt that
// crashed before recording "sent", or by a person) is not an error.
func (u *Uploader) applySourceAction(it queue.Item) error {
	if it.SourcePath == "" || it.SourceAction == config.ActionLeave {
		return nil // "leave": the queue remembers the content hash, so it is not taken again
	}
	root, rel, ok := u.opt.Roots.Find(it.SourcePath)
	if !ok {
		return errors.New("it is no longer inside a watched folder, so it was left where it is")
	}
	if it.SourceAction == config.ActionDelete {
		return root.Remove(rel, originals.SameContent(it.SHA256))
	}
	_, err := root.Move(rel, originals.SentDir, originals.SameContent(it.SHA256))
	return err
}

// Retry puts a parked item back in the queue.
func (u *Uploader) Retry(ctx context.Context, id string) (queue.Item, error) {
	it, err := u.q.Retry(ctx, id)
	if err == nil {
		u.wake()
	}
	return it, err
}

// SendAgain puts a parked item back in the queue under the next generation of its
// key: the explicit act that releases a claim the relay could not resolve.
func (u *Uploader) SendAgain(ctx context.Context, id string) (queue.Item, error) {
	it, err := u.q.SendAgain(ctx, id)
	if err == nil {
		u.wake()
	}
	return it, err
}

// Discard gives up on a parked, unassigned or staged item without deleting anything:
// its original moves to a Rejected folder beside it, or, when the spool copy is the
// only copy (a capture, or an original that has since vanished), the spool copy moves
// to the agent's Rejected folder.
func (u *Uploader) Discard(ctx context.Context, id string) (queue.Item, error) {
	it, err := u.q.Get(ctx, id)
	if err != nil {
		return it, err
	}
	if !queue.CanTransition(it.State, queue.StateRejected) {
		return it, &queue.TransitionError{From: it.State, To: queue.StateRejected}
	}
	where := ""
	moved := false
	if root, rel, ok := u.opt.Roots.Find(it.SourcePath); it.SourcePath != "" && ok {
		dst, err := root.Move(rel, originals.RejectedDir, originals.SameContent(it.SHA256))
		switch {
		case err == nil && dst != "":
			moved, where = true, "the Rejected folder beside it"
		case errors.Is(err, originals.ErrOtherContent):
			// A newer version under the same name: it stays to be taken; the
			// discarded content is the spool copy.
		case err != nil:
			return it, fmt.Errorf("could not move the file to its Rejected folder, so it was not discarded: %w", err)
		}
	}
	if !moved {
		if u.opt.RejectedDir == "" {
			return it, errors.New("no Rejected folder is configured for the agent, so the item was not discarded")
		}
		name := it.ID[:8] + " " + it.FileName
		if _, err := os.Stat(it.SpoolPath); err == nil {
			if err := os.MkdirAll(u.opt.RejectedDir, 0o700); err != nil {
				return it, fmt.Errorf("could not create the Rejected folder, so the item was not discarded: %w", queue.Pathless(err))
			}
			if err := os.Rename(it.SpoolPath, uniquePath(filepath.Join(u.opt.RejectedDir, name))); err != nil {
				return it, fmt.Errorf("could not move the file to the Rejected folder, so it was not discarded: %w", queue.Pathless(err))
			}
		}
		where = "the agent's Rejected folder"
	}
	return u.q.Reject(ctx, id, "Discarded: the file is in "+where+".")
}

// uniquePath returns p, or "name (2).ext" and so on if p exists: a second scan of the
// same name must never overwrite the first in Sent or Rejected.
func uniquePath(p string) string {
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return p
	}
	ext := filepath.Ext(p)
	stem := strings.TrimSuffix(p, ext)
	for i := 2; ; i++ {
		c := fmt.Sprintf("%s (%d)%s", stem, i, ext)
		if _, err := os.Lstat(c); errors.Is(err, fs.ErrNotExist) {
			return c
		}
	}
}
