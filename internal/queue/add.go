package queue

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/originals"
)

// New describes an item being taken into the queue.
type New struct {
	Source       string // drop, camera, phone or capture (the relay API's vocabulary)
	Folder       string // the watched folder's label; "" for files added in a window
	Taken        time.Time
	SourcePath   string // the original file (Add copies it); empty for AddReader
	SourceAction config.SourceAction
	Format       config.Format
	FileName     string // defaults to the base of SourcePath
	Patient      Patient
	Facility     string
	Meta         Meta
	// State is StateQueued (patient known), StateUnassigned (waiting for a GP) or
	// StateStaged (in a capture window, waiting for Save).
	State  State
	Reason string // why unassigned, a sentence
}

// MaxFileSize bounds what the spool accepts; far above any photo or scan, it stops a
// mistaken video or disk image filling the disk.
const MaxFileSize = 200 << 20

// ErrTooLarge: the file is bigger than MaxFileSize.
var ErrTooLarge = errors.New("the file is larger than 200 MB, far too large to be a photo or scan: move it out of the watched folder")

// Add copies the file at n.SourcePath into the spool and commits it to the queue. The
// source is only read. It opens the path as it stands, following links: files from
// watched folders, which anyone may swap, come through AddFrom with a handle that
// internal/originals has checked. If the same source with the same content, or the same content
// for the same patient and facility, is already queued, Add returns the existing item
// and ErrDuplicate.
func (q *Queue) Add(ctx context.Context, n New) (Item, error) {
	f, err := os.Open(n.SourcePath)
	if err != nil {
		return Item{}, fmt.Errorf("cannot read the file: %w", Pathless(err))
	}
	defer f.Close()
	if n.FileName == "" {
		n.FileName = filepath.Base(n.SourcePath)
	}
	return q.add(ctx, n, f)
}

// AddFrom is Add for an original the caller has already opened and checked (the
// watcher opens watched files without following links and hands over that handle):
// the spool copy is made from r, and n.SourcePath is only recorded.
func (q *Queue) AddFrom(ctx context.Context, n New, r io.Reader) (Item, error) {
	if n.FileName == "" {
		n.FileName = filepath.Base(n.SourcePath)
	}
	return q.add(ctx, n, r)
}

// AddReader is Add for content that has no source file of its own (captured in the
// window, dropped through the local API): the spool copy becomes the only copy.
func (q *Queue) AddReader(ctx context.Context, n New, r io.Reader) (Item, error) {
	n.SourcePath = ""
	n.SourceAction = ""
	return q.add(ctx, n, r)
}

func (q *Queue) add(ctx context.Context, n New, r io.Reader) (Item, error) {
	switch n.State {
	case StateQueued, StateStaged:
		if n.State == StateQueued && !n.Patient.Known() {
			return Item{}, errors.New("an item without a patient cannot be queued: add it as unassigned")
		}
	case StateUnassigned:
	default:
		return Item{}, fmt.Errorf("new items cannot start as %s", n.State)
	}
	if n.Format == "" {
		n.Format = config.FormatAuto
	}
	id := newID()
	name := spoolName(id, n.FileName)
	final := filepath.Join(q.spool, name)
	tmp := final + ".tmp"

	size, sum, err := copyDurably(tmp, r)
	if err != nil {
		os.Remove(tmp)
		return Item{}, err
	}
	// Reject duplicates before the rename so a duplicate leaves nothing behind.
	if dup, ok, err := q.findDuplicate(ctx, n, sum); err != nil || ok {
		os.Remove(tmp)
		if err != nil {
			return Item{}, err
		}
		return dup, ErrDuplicate
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return Item{}, fmt.Errorf("cannot store the file in the spool: %w", err)
	}
	if err := syncDir(q.spool); err != nil {
		os.Remove(final)
		return Item{}, fmt.Errorf("cannot store the file in the spool: %w", err)
	}

	now := q.now().UnixNano()
	var idem any
	if n.Patient.Known() {
		idem = IdempotencyKey(sum, n.Patient, n.Facility)
	}
	var taken int64
	if !n.Taken.IsZero() {
		taken = n.Taken.UnixNano()
	}
	_, err = q.db.ExecContext(ctx, `INSERT INTO items
		(id, state, source, source_path, source_action, format, file_name, spool_name, size, sha256,
		 nhi, patient_id, session_id, facility, idem_key, title, rotation, laterality, body_site,
		 next_attempt, reason, correlation, added, updated,
		 kind, taken, folder, provider_id, body_site_code, crop)
		VALUES (?,?,?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?, ?,?,?,?,?, ?,?,?,?,?,?)`,
		id, n.State, n.Source, n.SourcePath, n.SourceAction, n.Format, n.FileName, name, size, sum,
		n.Patient.NHI, n.Patient.PatientID, n.Patient.SessionID, n.Facility, idem,
		n.Meta.Title, n.Meta.Rotation, n.Meta.Laterality, n.Meta.BodySite,
		now, reasonText(n.Reason), newCorrelation(), now, now,
		n.Meta.Kind, taken, n.Folder, n.Patient.ProviderID, n.Meta.BodySiteCode, cropText(n.Meta.Crop))
	if err != nil {
		os.Remove(final)
		if isUnique(err) {
			// Lost a race with an identical Add; report the winner.
			if dup, ok, _ := q.findDuplicate(ctx, n, sum); ok {
				return dup, ErrDuplicate
			}
		}
		return Item{}, fmt.Errorf("cannot record the file in the queue: %w", err)
	}
	it, err := q.Get(ctx, id)
	if err != nil {
		return Item{}, err
	}
	q.changed(it)
	if it.State == StateQueued {
		q.signal()
	}
	return it, nil
}

// findDuplicate looks for a live (not rejected) item with the same source and
// content, or the same content for the same patient and facility.
func (q *Queue) findDuplicate(ctx context.Context, n New, sum string) (Item, bool, error) {
	var id string
	err := sql.ErrNoRows
	if n.SourcePath != "" {
		err = q.db.QueryRowContext(ctx, `SELECT id FROM items WHERE sha256=? AND source_path=? AND state<>'rejected' LIMIT 1`,
			sum, n.SourcePath).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) && n.Patient.Known() {
		err = q.db.QueryRowContext(ctx, `SELECT id FROM items WHERE idem_key=? AND state<>'rejected' LIMIT 1`,
			IdempotencyKey(sum, n.Patient, n.Facility)).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, false, nil
	}
	if err != nil {
		return Item{}, false, fmt.Errorf("cannot check the queue for duplicates: %w", err)
	}
	it, err := q.Get(ctx, id)
	return it, err == nil, err
}

// copyDurably writes r to path, fsyncs it, and returns its size and SHA-256.
func copyDurably(path string, r io.Reader) (int64, string, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("cannot write to the spool folder (check disk space and permissions): %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, MaxFileSize+1))
	if err == nil && n > MaxFileSize {
		err = ErrTooLarge
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return 0, "", err
		}
		return 0, "", fmt.Errorf("cannot copy the file into the spool: %w", err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// Pathless drops the path from a file-system error (paths of watched files can hold
// an NHI, and these errors reach logs); originals.Pathless is the one implementation.
func Pathless(err error) error { return originals.Pathless(err) }

func isUnique(err error) bool {
	return err != nil && containsFold(err.Error(), "UNIQUE constraint failed")
}
