// Package sqlitedb opens the relay's SQLite database with the settings every table in
// it relies on: WAL so readers never wait for the writer, a busy timeout so
// concurrent writers queue instead of failing, and immediate transactions so a
// read-then-write transaction cannot deadlock on the lock upgrade.
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
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One writer at a time is all SQLite allows; a few connections let reads proceed
	// while a write holds one.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot open the relay database %s: %w; check the data directory exists and is writable", path, err)
	}
	return db, nil
}
