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
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/queue"
)

// Subfolder names inside a watched folder; the watcher skips both.
const (
	SentDir     = "Sent"
	RejectedDir = "Rejected"
)

// applySourceAction tidies the original once Medtech holds the image. A source that
// is already gone (moved by a previous attempt that crashed before recording
// "sent", or by a person) is not an error.
func (u *Uploader) applySourceAction(it queue.Item) error {
	if it.SourcePath == "" {
		return nil
	}
	switch it.SourceAction {
	case config.ActionLeave:
		return nil // the queue remembers the content hash, so it is not taken again
	case config.ActionDelete:
		if err := os.Remove(it.SourcePath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("could not delete it: %w", queue.Pathless(err))
		}
		return nil
	default:
		_, err := moveInto(it.SourcePath, filepath.Join(filepath.Dir(it.SourcePath), SentDir))
		return err
	}
}

// Retry puts a parked item back in the queue.
func (u *Uploader) Retry(ctx context.Context, id string) (queue.Item, error) {
	it, err := u.q.Retry(ctx, id)
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
	if !queue.CanTransition(it.State, localapi.StateRejected) {
		return it, &queue.TransitionError{From: it.State, To: localapi.StateRejected}
	}
	where := ""
	moved := false
	if it.SourcePath != "" {
		dst, err := moveInto(it.SourcePath, filepath.Join(filepath.Dir(it.SourcePath), RejectedDir))
		switch {
		case err == nil && dst != "":
			moved, where = true, "the Rejected folder beside it"
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

// moveInto moves src into dir (created if needed), keeping its name unless taken.
// It returns "" and no error when src no longer exists.
func moveInto(src, dir string) (string, error) {
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("could not create the %s folder: %w", filepath.Base(dir), queue.Pathless(err))
	}
	dst := uniquePath(filepath.Join(dir, filepath.Base(src)))
	if err := os.Rename(src, dst); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("could not move it to the %s folder: %w", filepath.Base(dir), queue.Pathless(err))
	}
	return dst, nil
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
