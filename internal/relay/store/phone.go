package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/phone"
)

var _ phone.Store = (*Store)(nil)

// phoneSchema is migration 4's statements. Photo bytes live in phone_pieces, one row
// per piece the phone sent, so any relay can serve a download that another relay
// received, and a relay can restart between the two. Pieces go with their photo
// (ON DELETE CASCADE) when the PC has taken it or the session ends. The tables are
// not copied by migrate-store: their rows live minutes.
func phoneSchema(pg bool) []string {
	blob, integer := "BLOB", "INTEGER"
	if pg {
		blob, integer = "BYTEA", "BIGINT"
	}
	out := []string{
		`CREATE TABLE phone_sessions (
	id TEXT PRIMARY KEY,
	connector_id TEXT NOT NULL,
	facility TEXT NOT NULL,
	capture_id TEXT NOT NULL,
	practice TEXT NOT NULL,
	word TEXT NOT NULL,
	token_hash ` + blob + ` NOT NULL UNIQUE,
	device_hash ` + blob + ` UNIQUE,
	state TEXT NOT NULL,
	created ` + integer + ` NOT NULL,
	paired ` + integer + ` NOT NULL DEFAULT 0,
	expires ` + integer + ` NOT NULL,
	ended ` + integer + ` NOT NULL DEFAULT 0,
	photos INTEGER NOT NULL DEFAULT 0,
	bytes ` + integer + ` NOT NULL DEFAULT 0
)`,
		`CREATE INDEX phone_sessions_connector ON phone_sessions(connector_id, state)`,
		`CREATE INDEX phone_sessions_due ON phone_sessions(state, expires)`,
		`CREATE TABLE phone_photos (
	id TEXT PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES phone_sessions(id) ON DELETE CASCADE,
	key TEXT NOT NULL,
	size ` + integer + ` NOT NULL,
	received ` + integer + ` NOT NULL DEFAULT 0,
	content_type TEXT NOT NULL,
	taken TEXT NOT NULL,
	state TEXT NOT NULL,
	created ` + integer + ` NOT NULL,
	updated ` + integer + ` NOT NULL,
	UNIQUE (session_id, key)
)`,
		`CREATE TABLE phone_pieces (
	photo_id TEXT NOT NULL REFERENCES phone_photos(id) ON DELETE CASCADE,
	off ` + integer + ` NOT NULL,
	data ` + blob + ` NOT NULL,
	PRIMARY KEY (photo_id, off)
)`,
	}
	if pg {
		// JPEG pieces do not compress: store them out of line without trying.
		out = append(out, `ALTER TABLE phone_pieces ALTER COLUMN data SET STORAGE EXTERNAL`)
	}
	return out
}

const phoneSessionCols = `id, connector_id, facility, capture_id, practice, word, token_hash, device_hash, state, created, paired, expires, ended, photos, bytes`

func scanPhoneSession(sc scanner) (phone.Session, error) {
	var p phone.Session
	var created, paired, expires, ended int64
	var st string
	err := sc.Scan(&p.ID, &p.Connector, &p.Facility, &p.Capture, &p.Practice, &p.Word, &p.TokenHash, &p.DeviceHash, &st,
		&created, &paired, &expires, &ended, &p.Photos, &p.Bytes)
	if errors.Is(err, sql.ErrNoRows) {
		return p, phone.ErrNotFound
	}
	p.State = phone.State(st)
	p.Created, p.Paired, p.Expires, p.Ended = fromNanos(created), fromNanos(paired), fromNanos(expires), fromNanos(ended)
	return p, err
}

const phonePhotoCols = `id, session_id, key, size, received, content_type, taken, state, created, updated`

func scanPhonePhoto(sc scanner) (phone.Photo, error) {
	var p phone.Photo
	var created, updated int64
	var st string
	err := sc.Scan(&p.ID, &p.Session, &p.Key, &p.Size, &p.Received, &p.ContentType, &p.Taken, &st, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, phone.ErrNotFound
	}
	p.State = phone.PhotoState(st)
	p.Created, p.Updated = fromNanos(created), fromNanos(updated)
	return p, err
}

// lockConnector serialises, across relays, the transactions that check a
// connector's phone limits. SQLite transactions are already serialised (one writer,
// immediate transactions).
func (s *Store) lockConnector(ctx context.Context, t *tx, connector string) error {
	if s.kind != Postgres {
		return nil
	}
	_, err := t.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(?::text))`, "phone:"+connector)
	return err
}

const openStates = `('waiting','paired')`

// PhoneCreate implements phone.Store.
func (s *Store) PhoneCreate(ctx context.Context, p phone.Session, maxOpen int) error {
	t, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer t.Rollback()
	if err := s.lockConnector(ctx, t, p.Connector); err != nil {
		return err
	}
	var n int
	if err := t.queryRow(ctx, `SELECT count(*) FROM phone_sessions WHERE connector_id=? AND state IN `+openStates+` AND expires>?`,
		p.Connector, nanos(p.Created)).Scan(&n); err != nil {
		return err
	}
	if n >= maxOpen {
		return phone.ErrTooManyOpen
	}
	if _, err := t.exec(ctx, `INSERT INTO phone_sessions(id, connector_id, facility, capture_id, practice, word, token_hash, state, created, expires)
		VALUES(?,?,?,?,?,?,?,?,?,?)`, p.ID, p.Connector, p.Facility, p.Capture, p.Practice, p.Word, p.TokenHash, phone.Waiting,
		nanos(p.Created), nanos(p.Expires)); err != nil {
		return err
	}
	return t.Commit()
}

// PhoneGet implements phone.Store.
func (s *Store) PhoneGet(ctx context.Context, id string) (phone.Session, error) {
	return scanPhoneSession(s.queryRow(ctx, `SELECT `+phoneSessionCols+` FROM phone_sessions WHERE id=?`, id))
}

// PhoneByToken implements phone.Store.
func (s *Store) PhoneByToken(ctx context.Context, h []byte) (phone.Session, error) {
	return scanPhoneSession(s.queryRow(ctx, `SELECT `+phoneSessionCols+` FROM phone_sessions WHERE token_hash=?`, h))
}

// PhoneByDevice implements phone.Store.
func (s *Store) PhoneByDevice(ctx context.Context, h []byte) (phone.Session, error) {
	return scanPhoneSession(s.queryRow(ctx, `SELECT `+phoneSessionCols+` FROM phone_sessions WHERE device_hash=?`, h))
}

// PhonePair implements phone.Store in one conditional UPDATE: of two phones (or two
// relays) opening the link at once, one pairs.
func (s *Store) PhonePair(ctx context.Context, id string, device []byte, now, expires time.Time) error {
	n, err := affected(s.exec(ctx, `UPDATE phone_sessions SET state=?, device_hash=?, paired=?, expires=?
		WHERE id=? AND state=? AND expires>?`, phone.Paired, device, nanos(now), nanos(expires), id, phone.Waiting, nanos(now)))
	if err != nil || n == 1 {
		return err
	}
	if _, err := s.PhoneGet(ctx, id); err != nil {
		return err
	}
	return phone.ErrAlreadyPaired
}

// PhoneEnd implements phone.Store. The photos' rows go with their pieces.
func (s *Store) PhoneEnd(ctx context.Context, id string, st phone.State, now time.Time) (phone.Session, error) {
	t, err := s.begin(ctx)
	if err != nil {
		return phone.Session{}, err
	}
	defer t.Rollback()
	before, err := scanPhoneSession(t.queryRow(ctx, `SELECT `+phoneSessionCols+` FROM phone_sessions WHERE id=?`, id))
	if err != nil {
		return before, err
	}
	n, err := affected(t.exec(ctx, `UPDATE phone_sessions SET state=?, ended=?, bytes=0 WHERE id=? AND state IN `+openStates, st, nanos(now), id))
	if err != nil || n == 0 {
		return before, err
	}
	if _, err := t.exec(ctx, `DELETE FROM phone_photos WHERE session_id=?`, id); err != nil {
		return before, err
	}
	return before, t.Commit()
}

// PhoneDue implements phone.Store.
func (s *Store) PhoneDue(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := s.query(ctx, `SELECT id FROM phone_sessions WHERE state IN `+openStates+` AND expires<=?`, nanos(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// PhoneList implements phone.Store.
func (s *Store) PhoneList(ctx context.Context, connector string, since time.Time) ([]phone.Session, error) {
	rows, err := s.query(ctx, `SELECT `+phoneSessionCols+` FROM phone_sessions WHERE connector_id=? AND (state IN `+openStates+` OR ended>?) ORDER BY created, id`,
		connector, nanos(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []phone.Session
	for rows.Next() {
		p, err := scanPhoneSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PhonePurge implements phone.Store.
func (s *Store) PhonePurge(ctx context.Context, before time.Time) (int64, error) {
	return affected(s.exec(ctx, `DELETE FROM phone_sessions WHERE state NOT IN `+openStates+` AND ended<?`, nanos(before)))
}

// PhonePhoto implements phone.Store.
func (s *Store) PhonePhoto(ctx context.Context, id string) (phone.Photo, error) {
	return scanPhonePhoto(s.queryRow(ctx, `SELECT `+phonePhotoCols+` FROM phone_photos WHERE id=?`, id))
}

// PhonePhotos implements phone.Store.
func (s *Store) PhonePhotos(ctx context.Context, session string) ([]phone.Photo, error) {
	rows, err := s.query(ctx, `SELECT `+phonePhotoCols+` FROM phone_photos WHERE session_id=? ORDER BY created, id`, session)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []phone.Photo
	for rows.Next() {
		p, err := scanPhonePhoto(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PhonePhotoStart implements phone.Store. The connector's lock makes the count and
// byte checks hold across relays.
func (s *Store) PhonePhotoStart(ctx context.Context, connector string, p phone.Photo) (phone.Photo, error) {
	t, err := s.begin(ctx)
	if err != nil {
		return phone.Photo{}, err
	}
	defer t.Rollback()
	if err := s.lockConnector(ctx, t, connector); err != nil {
		return phone.Photo{}, err
	}
	old, err := scanPhonePhoto(t.queryRow(ctx, `SELECT `+phonePhotoCols+` FROM phone_photos WHERE session_id=? AND key=?`, p.Session, p.Key))
	switch {
	case err == nil && old.Size != p.Size:
		return old, phone.ErrPhotoChanged
	case err == nil:
		return old, nil
	case !errors.Is(err, phone.ErrNotFound):
		return old, err
	}
	var st string
	var photos int
	if err := t.queryRow(ctx, `SELECT state, photos FROM phone_sessions WHERE id=? AND connector_id=?`, p.Session, connector).Scan(&st, &photos); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return phone.Photo{}, phone.ErrNotFound
		}
		return phone.Photo{}, err
	}
	if phone.State(st) != phone.Paired {
		return phone.Photo{}, phone.ErrNotOpen
	}
	if photos >= phone.MaxPhotos {
		return phone.Photo{}, phone.ErrTooManyPhotos
	}
	var held int64
	if err := t.queryRow(ctx, `SELECT coalesce(sum(bytes), 0) FROM phone_sessions WHERE connector_id=? AND state IN `+openStates, connector).Scan(&held); err != nil {
		return phone.Photo{}, err
	}
	if held+p.Size > phone.MaxConnectorBytes {
		return phone.Photo{}, phone.ErrConnectorFull
	}
	if _, err := t.exec(ctx, `UPDATE phone_sessions SET photos=photos+1, bytes=bytes+? WHERE id=?`, p.Size, p.Session); err != nil {
		return phone.Photo{}, err
	}
	p.State, p.Received = phone.Receiving, 0
	if _, err := t.exec(ctx, `INSERT INTO phone_photos(`+phonePhotoCols+`) VALUES(?,?,?,?,?,?,?,?,?,?)`,
		p.ID, p.Session, p.Key, p.Size, 0, p.ContentType, p.Taken, p.State, nanos(p.Created), nanos(p.Created)); err != nil {
		return phone.Photo{}, err
	}
	return p, t.Commit()
}

// PhonePhotoAppend implements phone.Store: the conditional UPDATE on received makes
// a piece land once, whichever relay it reached.
func (s *Store) PhonePhotoAppend(ctx context.Context, id string, off int64, data []byte, now time.Time) (phone.Photo, error) {
	t, err := s.begin(ctx)
	if err != nil {
		return phone.Photo{}, err
	}
	defer t.Rollback()
	n := int64(len(data))
	p, err := scanPhonePhoto(t.queryRow(ctx, `UPDATE phone_photos SET received=received+?, updated=?,
		state=CASE WHEN received+?=size THEN 'ready' ELSE state END
		WHERE id=? AND state='receiving' AND received=? AND received+?<=size RETURNING `+phonePhotoCols,
		n, nanos(now), n, id, off, n))
	if errors.Is(err, phone.ErrNotFound) {
		cur, err := scanPhonePhoto(t.queryRow(ctx, `SELECT `+phonePhotoCols+` FROM phone_photos WHERE id=?`, id))
		if err != nil {
			return cur, err
		}
		return cur, &phone.OffsetError{Received: cur.Received}
	}
	if err != nil {
		return p, err
	}
	if _, err := t.exec(ctx, `INSERT INTO phone_pieces(photo_id, off, data) VALUES(?,?,?)`, id, off, data); err != nil {
		return p, err
	}
	return p, t.Commit()
}

// PhonePhotoPieces implements phone.Store.
func (s *Store) PhonePhotoPieces(ctx context.Context, id string) ([]int64, error) {
	rows, err := s.query(ctx, `SELECT off FROM phone_pieces WHERE photo_id=? ORDER BY off`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var o int64
		if err := rows.Scan(&o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// PhonePhotoPiece implements phone.Store.
func (s *Store) PhonePhotoPiece(ctx context.Context, id string, off int64) ([]byte, error) {
	var b []byte
	err := s.queryRow(ctx, `SELECT data FROM phone_pieces WHERE photo_id=? AND off=?`, id, off).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, phone.ErrNotFound
	}
	return b, err
}

// PhonePhotoDeliver implements phone.Store.
func (s *Store) PhonePhotoDeliver(ctx context.Context, id string, now time.Time) (phone.Photo, error) {
	t, err := s.begin(ctx)
	if err != nil {
		return phone.Photo{}, err
	}
	defer t.Rollback()
	p, err := scanPhonePhoto(t.queryRow(ctx, `UPDATE phone_photos SET state='delivered', updated=? WHERE id=? AND state='ready' RETURNING `+phonePhotoCols, nanos(now), id))
	if errors.Is(err, phone.ErrNotFound) {
		cur, err := scanPhonePhoto(t.queryRow(ctx, `SELECT `+phonePhotoCols+` FROM phone_photos WHERE id=?`, id))
		if err == nil && cur.State != phone.Delivered {
			err = phone.ErrNotReady
		}
		return cur, err
	}
	if err != nil {
		return p, err
	}
	if _, err := t.exec(ctx, `DELETE FROM phone_pieces WHERE photo_id=?`, id); err != nil {
		return p, err
	}
	if _, err := t.exec(ctx, `UPDATE phone_sessions SET bytes=bytes-? WHERE id=? AND state IN `+openStates, p.Size, p.Session); err != nil {
		return p, err
	}
	return p, t.Commit()
}
