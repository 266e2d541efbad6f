//go:build !windows

package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

func ownerFix(path string) string { return "chown -R root " + path }

func secure(dir string) (Result, error) {
	var res Result
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return res, fmt.Errorf("creating the data folder %s: %w", dir, err)
	}
	self := uint32(os.Geteuid())
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Only folders and regular files: a link is never followed or changed, and the
		// agent's socket sets its own mode when it is created.
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return errors.New("no owner information for " + p)
		}
		perm := uint32(fi.Mode().Perm())
		switch judgeUnix(st.Uid, self, perm) {
		case refuse:
			return &UntrustedError{Path: p, Owner: fmt.Sprintf("uid:%d", st.Uid)}
		case repair:
			if err := os.Chmod(p, fs.FileMode(perm&^0o077)); err != nil {
				return fmt.Errorf("restricting %s to its owner: %w", p, err)
			}
			res.Repaired = append(res.Repaired, p)
		}
		return nil
	})
	return res, err
}

func writePrivate(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	os.Remove(tmp) // a leftover could carry looser permissions
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return finish(f, tmp, path, data)
}

// RestrictNewFiles makes every file and folder this process creates from now on
// private to its owner (umask 077): SQLite's write-ahead log and shared-memory files,
// spool copies and logs are then 0600 from the moment they exist.
func RestrictNewFiles() { syscall.Umask(0o077) }
