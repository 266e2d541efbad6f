//go:build !windows

package queue

import "os"

// syncDir makes a rename or create in dir durable: without it a power cut can lose
// the directory entry even though the file's bytes were synced.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
