package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const columns = `id, state, source, source_path, source_action, format, file_name, spool_name, size, sha256,
	nhi, patient_id, session_id, facility, COALESCE(idem_key, ''), title, rotation, laterality, body_site,
	attempts, next_attempt, reason, correlation, document_id, added, updated, sent,
	cause, key_gen, kind, taken, folder, provider_id, body_site_code, crop`

type scanner interface{ Scan(...any) error }

func (q *Queue) scan(s scanner) (Item, error) {
	var it Item
	var spool string
	var next, added, updated, sent, taken int64
	var crop string
	err := s.Scan(&it.ID, &it.State, &it.Source, &it.SourcePath, &it.SourceAction, &it.Format, &it.FileName, &spool,
		&it.Size, &it.SHA256, &it.Patient.NHI, &it.Patient.PatientID, &it.Patient.SessionID, &it.Facility,
		&it.IdempotencyKey, &it.Meta.Title, &it.Meta.Rotation, &it.Meta.Laterality, &it.Meta.BodySite,
		&it.Attempts, &next, &it.Reason, &it.Correlation, &it.DocumentID, &added, &updated, &sent,
		&it.Cause, &it.KeyGen, &it.Meta.Kind, &taken, &it.Folder, &it.Patient.ProviderID, &it.Meta.BodySiteCode, &crop)
	if err != nil {
		return Item{}, err
	}
	if taken != 0 {
		it.Taken = time.Unix(0, taken)
	}
	it.Meta.Crop = parseCrop(crop)
	it.SpoolPath = filepath.Join(q.spool, spool)
	it.NextAttempt = time.Unix(0, next)
	it.Added = time.Unix(0, added)
	it.Updated = time.Unix(0, updated)
	if sent != 0 {
		it.Sent = time.Unix(0, sent)
	}
	return it, nil
}

// Get returns one item.
func (q *Queue) Get(ctx context.Context, id string) (Item, error) {
	it, err := q.scan(q.db.QueryRowContext(ctx, `SELECT `+columns+` FROM items WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, ErrNotFound
	}
	if err != nil {
		return Item{}, fmt.Errorf("cannot read the queue: %w", err)
	}
	return it, nil
}

// List returns items in the given states (all states when none), oldest first.
func (q *Queue) List(ctx context.Context, states ...State) ([]Item, error) {
	query := `SELECT ` + columns + ` FROM items`
	args := make([]any, len(states))
	if len(states) > 0 {
		query += ` WHERE state IN (?` + strings.Repeat(",?", len(states)-1) + `)`
		for i, s := range states {
			args[i] = s
		}
	}
	return q.list(ctx, query+` ORDER BY added, id`, args...)
}

// ListSentSince returns the items sent at or after since, oldest added first: the
// recent uploads, without reading every sent row the queue has kept.
func (q *Queue) ListSentSince(ctx context.Context, since time.Time) ([]Item, error) {
	return q.list(ctx, `SELECT `+columns+` FROM items WHERE state='sent' AND sent>=? ORDER BY added, id`, since.UnixNano())
}

func (q *Queue) list(ctx context.Context, query string, args ...any) ([]Item, error) {
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot read the queue: %w", err)
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		it, err := q.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("cannot read the queue: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Counts summarises the queue; SentToday counts items sent since dayStart.
func (q *Queue) Counts(ctx context.Context, dayStart time.Time) (Counts, error) {
	var c Counts
	rows, err := q.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM items WHERE state<>'sent' GROUP BY state`)
	if err != nil {
		return c, fmt.Errorf("cannot read the queue: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s State
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return c, err
		}
		switch s {
		case StateQueued:
			c.Queued = n
		case StateUploading:
			c.Uploading = n
		case StateParked:
			c.Parked = n
		case StateUnassigned:
			c.Unassigned = n
		}
	}
	if err := rows.Err(); err != nil {
		return c, err
	}
	err = q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM items WHERE state='sent' AND sent>=?`, dayStart.UnixNano()).Scan(&c.SentToday)
	return c, err
}

// LastSent returns when the most recent upload completed (zero if never).
func (q *Queue) LastSent(ctx context.Context) (time.Time, error) {
	var t sql.NullInt64
	if err := q.db.QueryRowContext(ctx, `SELECT MAX(sent) FROM items WHERE state='sent'`).Scan(&t); err != nil {
		return time.Time{}, err
	}
	if !t.Valid || t.Int64 == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, t.Int64), nil
}

// NextDue returns when the earliest queued item becomes due; ok is false when
// nothing is queued.
func (q *Queue) NextDue(ctx context.Context) (due time.Time, ok bool, err error) {
	var t sql.NullInt64
	if err := q.db.QueryRowContext(ctx, `SELECT MIN(next_attempt) FROM items WHERE state='queued'`).Scan(&t); err != nil {
		return time.Time{}, false, err
	}
	if !t.Valid {
		return time.Time{}, false, nil
	}
	return time.Unix(0, t.Int64), true, nil
}

// Claim moves the next due queued item to uploading and returns it, or ErrEmpty.
func (q *Queue) Claim(ctx context.Context) (Item, error) {
	now := q.now().UnixNano()
	it, err := q.scan(q.db.QueryRowContext(ctx, `UPDATE items SET state='uploading', updated=?
		WHERE id = (SELECT id FROM items WHERE state='queued' AND next_attempt<=? ORDER BY next_attempt, added LIMIT 1)
		RETURNING `+columns, now, now))
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, ErrEmpty
	}
	if err != nil {
		return Item{}, fmt.Errorf("cannot claim an item from the queue: %w", err)
	}
	q.changed(it)
	return it, nil
}

// update applies a state change inside one transaction after checking it is allowed.
// set returns the SQL assignments (after "SET state=?, updated=?, ") and their args.
func (q *Queue) update(ctx context.Context, id string, to State, from []State, set string, args ...any) (Item, error) {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return Item{}, fmt.Errorf("cannot update the queue: %w", err)
	}
	defer tx.Rollback()
	var cur State
	if err := tx.QueryRowContext(ctx, `SELECT state FROM items WHERE id=?`, id).Scan(&cur); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Item{}, ErrNotFound
		}
		return Item{}, fmt.Errorf("cannot update the queue: %w", err)
	}
	allowed := CanTransition(cur, to)
	if allowed && len(from) > 0 {
		allowed = false
		for _, f := range from {
			allowed = allowed || f == cur
		}
	}
	if !allowed {
		return Item{}, &TransitionError{From: cur, To: to}
	}
	query := `UPDATE items SET state=?, updated=?`
	if set != "" {
		query += ", " + set
	}
	all := append([]any{to, q.now().UnixNano()}, args...)
	all = append(all, id)
	if _, err := tx.ExecContext(ctx, query+` WHERE id=?`, all...); err != nil {
		if isUnique(err) {
			return Item{}, ErrDuplicate
		}
		return Item{}, fmt.Errorf("cannot update the queue: %w", err)
	}
	it, err := q.scan(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM items WHERE id=?`, id))
	if err != nil {
		return Item{}, fmt.Errorf("cannot update the queue: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Item{}, fmt.Errorf("cannot update the queue: %w", err)
	}
	q.changed(it)
	if to == StateQueued {
		q.signal()
	}
	return it, nil
}

// Save queues a staged item with the GP's edits.
func (q *Queue) Save(ctx context.Context, id string, m Meta) (Item, error) {
	return q.update(ctx, id, StateQueued, []State{StateStaged},
		`title=?, rotation=?, laterality=?, body_site=?, body_site_code=?, kind=?, crop=?, next_attempt=?`,
		m.Title, m.Rotation, m.Laterality, m.BodySite, m.BodySiteCode, m.Kind, cropText(m.Crop), q.now().UnixNano())
}

// Assign gives an unassigned or parked item a patient and queues it: a file
// Medtech could not match (or that a person sees went to the wrong patient) can be
// given another one. It gets a new key, since the key names the patient. If the
// same content is already queued or sent for that patient, the item stays as it was
// and ErrDuplicate is returned.
func (q *Queue) Assign(ctx context.Context, id string, p Patient, facility string) (Item, error) {
	return q.route(ctx, id, StateQueued, []State{StateUnassigned, StateParked}, p, facility)
}

// Stage gives an unassigned item to an open capture window's patient, for the GP
// to review and Save.
func (q *Queue) Stage(ctx context.Context, id string, p Patient, facility string) (Item, error) {
	return q.route(ctx, id, StateStaged, []State{StateUnassigned}, p, facility)
}

func (q *Queue) route(ctx context.Context, id string, to State, from []State, p Patient, facility string) (Item, error) {
	if !p.Known() {
		return Item{}, errors.New("choose a patient before assigning the item")
	}
	it, err := q.Get(ctx, id)
	if err != nil {
		return Item{}, err
	}
	return q.update(ctx, id, to, from,
		`nhi=?, patient_id=?, session_id=?, provider_id=?, facility=?, idem_key=?, key_gen=1, cause='', reason='', attempts=0, next_attempt=?`,
		p.NHI, p.PatientID, p.SessionID, p.ProviderID, facility, IdempotencyKey(it.SHA256, p, facility), q.now().UnixNano())
}

// Unstage returns a staged item to Unassigned (its capture window closed unsaved),
// forgetting the patient.
func (q *Queue) Unstage(ctx context.Context, id, reason string) (Item, error) {
	return q.update(ctx, id, StateUnassigned, []State{StateStaged},
		`nhi='', patient_id='', session_id='', provider_id='', idem_key=NULL, key_gen=1, reason=?`, reasonText(reason))
}

// Unassign returns an uploading item to Unassigned because its patient cannot be
// used (Medtech has no such patient here): it forgets the patient and waits for a
// person to choose one. cause is the relay's cause code, reason the sentence.
func (q *Queue) Unassign(ctx context.Context, id, cause, reason string) (Item, error) {
	return q.update(ctx, id, StateUnassigned, []State{StateUploading},
		`nhi='', patient_id='', session_id='', provider_id='', idem_key=NULL, key_gen=1, attempts=attempts+1, cause=?, reason=?`,
		cause, reasonText(reason))
}

// Drop deletes a staged item and its spool copy: for captures removed from the
// window before Save, which have no other copy worth keeping.
func (q *Queue) Drop(ctx context.Context, id string) error {
	it, err := q.Get(ctx, id)
	if err != nil {
		return err
	}
	if it.State != StateStaged {
		return &TransitionError{From: it.State, To: "removed"}
	}
	res, err := q.db.ExecContext(ctx, `DELETE FROM items WHERE id=? AND state='staged'`, id)
	if err != nil {
		return fmt.Errorf("cannot update the queue: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	os.Remove(it.SpoolPath)
	return nil
}

// Requeue returns an uploading item to the queue after a failure that may pass,
// to be tried again at next.
func (q *Queue) Requeue(ctx context.Context, id string, next time.Time, reason string) (Item, error) {
	return q.update(ctx, id, StateQueued, []State{StateUploading},
		`attempts=attempts+1, next_attempt=?, reason=?`, next.UnixNano(), reasonText(reason))
}

// Release returns an uploading item to the queue without counting an attempt (the
// uploader was stopped or paused mid-way).
func (q *Queue) Release(ctx context.Context, id string) (Item, error) {
	return q.update(ctx, id, StateQueued, []State{StateUploading}, ``)
}

// Park stops retrying an item: reason says what a person should do; cause is the
// relay's cause code when the relay gave one, "" for the agent's own reasons.
func (q *Queue) Park(ctx context.Context, id, cause, reason string) (Item, error) {
	return q.update(ctx, id, StateParked, nil, `attempts=attempts+1, cause=?, reason=?`, cause, reasonText(reason))
}

// MarkSent records that ALEX stored the item (and the read-back matched), then
// removes the spool copy.
func (q *Queue) MarkSent(ctx context.Context, id, documentID string) (Item, error) {
	it, err := q.update(ctx, id, StateSent, nil, `document_id=?, sent=?, cause='', reason=''`, documentID, q.now().UnixNano())
	if err != nil {
		return it, err
	}
	removeSpool(it.SpoolPath)
	return it, nil
}

// Retry re-queues a parked item now, with a fresh backoff and the same key: the
// relay answers a key it already stored with the first result.
func (q *Queue) Retry(ctx context.Context, id string) (Item, error) {
	return q.update(ctx, id, StateQueued, []State{StateParked},
		`attempts=0, next_attempt=?, cause='', reason=''`, q.now().UnixNano())
}

// SendAgain re-queues a parked item under the next generation of its key. It is the
// explicit act that releases a claim the relay cannot resolve (an earlier attempt
// may or may not be in Medtech and ALEX cannot be searched): a person has checked
// the patient's Inbox Scan and chooses to send it. The upload names the previous
// key, so the relay records the release in its audit and, if that key did reach
// Medtech after all, answers with that document instead of writing a second.
func (q *Queue) SendAgain(ctx context.Context, id string) (Item, error) {
	return q.update(ctx, id, StateQueued, []State{StateParked},
		`key_gen=key_gen+1, attempts=0, next_attempt=?, cause='', reason=''`, q.now().UnixNano())
}

// Reject marks a parked, unassigned or staged item rejected and removes its spool
// copy. The caller moves the original (or the spool copy, when it is the only one)
// to a Rejected folder first: nothing unsent is ever deleted.
func (q *Queue) Reject(ctx context.Context, id, reason string) (Item, error) {
	it, err := q.update(ctx, id, StateRejected, nil, `reason=?`, reasonText(reason))
	if err != nil {
		return it, err
	}
	removeSpool(it.SpoolPath)
	return it, nil
}

// removeSpool deletes a finished item's spool copy. A failure is not an error for
// the caller: the next start-up's sweep removes copies of finished items.
func removeSpool(p string) { _ = os.Remove(p) }

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
