// Package sqlitedb opens the relay's SQLite database with the settings every table in
// it relies on: WAL so another process's readers never wait for the writer, a busy
// timeout so writers from several processes queue instead of failing, and immediate
// transactions so a read-then-write transaction cannot deadlock on the lock upgrade.
//
// Callers must not issue a statement on the *sql.DB while holding one of its
// transactions: with a single connection that would wait forever.
package sqlitedb

import (
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// Open opens (creating if needed) the database file at path.
func Open(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Deleted rows are overwritten, not left in free pages: phone photos are erased
	// from the disk when the PC has taken them (internal/relay/phone).
	q.Add("_pragma", "secure_delete(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One connection: SQLite allows one writer at a time anyway, and a writer that
	// finds the database locked backs off by sleeping (busy_timeout), which put
	// hundreds of milliseconds on the relay's p99 under 50 concurrent uploads. Queued
	// in database/sql instead, statements run in arrival order, each in well under a
	// millisecond. busy_timeout still covers other processes (the connector CLI).
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot open the relay database %s: %w; check the data directory exists and is writable", path, err)
	}
	return db, nil
}
