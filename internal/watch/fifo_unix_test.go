//go:build unix

package watch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
)

// A FIFO dropped into a watched folder, and another swapped in for a file within
// the stability window, never block the watcher: the files around them are taken
// and the folder's health names both.
func TestFIFONeverBlocksWatching(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "ZZZ0016 pipe.jpg"), 0o666); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	rec := &recorder{}
	w := New(Options{Folders: []config.Folder{{Path: root, Label: "Inbox"}}, StabilityWindow: 300 * time.Millisecond,
		ScanInterval: 100 * time.Millisecond, Handle: rec.handle})
	var swapped bool
	w.beforeOpen = func(p string) {
		if strings.HasSuffix(p, "swap.jpg") && !swapped {
			swapped = true
			os.Remove(p)
			syscall.Mkfifo(p, 0o666)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	write(t, filepath.Join(root, "swap.jpg"), "will become a FIFO")
	write(t, filepath.Join(root, "before.jpg"), "x")
	waitFor(t, "the first file", func() bool { return len(rec.rels()) >= 1 })
	write(t, filepath.Join(root, "after.jpg"), "y")
	waitFor(t, "both files and both FIFOs named", func() bool {
		h := w.Health()[0]
		return equal(rec.rels(), []string{"after.jpg", "before.jpg"}) && h.State == health.Degraded &&
			strings.Contains(h.Detail, "pipe.jpg") && strings.Contains(h.Detail, "swap.jpg") && strings.Contains(h.Detail, "FIFO")
	})
	if strings.Contains(w.Health()[0].Detail, "ZZZ0016") {
		t.Error("health names the patient")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the watcher did not stop")
	}
}
