// Package logfile opens the append-only log files the agent and the tray write, with
// one rolled-over copy kept beside them. Both are long-running processes on a
// practice PC that nobody watches: the log must not grow without bound, yet the run
// before the last restart is what support usually needs to see.
package logfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Open opens path for appending, creating it and its folder as needed. A file
// already larger than rollPast bytes is first renamed to path+".1", replacing any
// older copy. Rolling happens only here, at start-up, so a process never has to
// swap its log writer while other goroutines are logging.
//
// perm is the new file's mode; the folder gets the same read bits plus search. On
// Windows only the read-only bit is honoured and the data folder's ACL decides who
// may read, so the mode matters on Linux.
func Open(path string, rollPast int64, perm os.FileMode) (*os.File, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirPerm(perm)); err != nil {
		return nil, fmt.Errorf("cannot create the log folder; check that this account may write to %s: %w", dir, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > rollPast {
		// A failed rename (the old copy held open on Windows) only means the log
		// keeps growing until the next start; that beats running without a log.
		_ = os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, perm)
	if err != nil {
		return nil, fmt.Errorf("cannot open the log file; check that this account may write to it: %w", err)
	}
	return f, nil
}

// dirPerm adds search permission wherever perm grants read, so a file that its
// group may read is also reachable by that group, and no one else.
func dirPerm(perm os.FileMode) os.FileMode {
	p := perm.Perm()
	return p | (p&0o444)>>2
}
