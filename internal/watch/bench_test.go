package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v3/process"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/queue"
)

// BenchmarkIdleWatcher5Folders measures what watching costs when nothing happens:
// five folders holding 200 already-taken files each, each iteration one second of
// idling. It reports CPU as a percentage of one core and the process RSS (the whole
// test binary, so an upper bound for the watcher's share of the agent). The full
// scan runs every 5 s here, six times as often as the default, to include its cost.
//
//	go test -run XXX -bench IdleWatcher -benchtime 20x ./internal/watch/
func BenchmarkIdleWatcher5Folders(b *testing.B) {
	var folders []config.Folder
	for i := 0; i < 5; i++ {
		dir := b.TempDir()
		for j := 0; j < 200; j++ {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("ZZZ0016 %03d.jpg", j)), []byte("photo"), 0o644)
		}
		folders = append(folders, config.Folder{Path: dir, Label: fmt.Sprint("F", i)})
	}
	taken := make(chan struct{}, 1000)
	w := New(Options{Folders: folders, StabilityWindow: time.Second, ScanInterval: 5 * time.Second,
		Handle: func(context.Context, File) error { taken <- struct{}{}; return nil }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	for i := 0; i < 1000; i++ {
		<-taken
	}
	time.Sleep(2 * time.Second) // let the last stability checks finish
	runtime.GC()

	p, err := process.NewProcess(int32(os.Getpid()))
	if err != nil {
		b.Fatal(err)
	}
	before, _ := p.Times()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		time.Sleep(time.Second)
	}
	wall := time.Since(start)
	b.StopTimer()
	after, _ := p.Times()
	mem, _ := p.MemoryInfo()
	cpu := (after.User + after.System) - (before.User + before.System)
	b.ReportMetric(100*cpu/wall.Seconds(), "cpu-%")
	b.ReportMetric(float64(mem.RSS)/(1<<20), "rss-MB")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkLastWriteToQueued measures the time from a file's last write to its row
// being committed in a real queue (spool copy, fsync, SQLite commit), through
// fsnotify, with the default 1 s stability window. The target is window + 1 s.
//
//	go test -run XXX -bench LastWriteToQueued -benchtime 10x ./internal/watch/
func BenchmarkLastWriteToQueued(b *testing.B) {
	dir := b.TempDir()
	data := b.TempDir()
	q, err := queue.Open(context.Background(), filepath.Join(data, "queue.db"), filepath.Join(data, "spool"), queue.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	queued := make(chan time.Time, 1)
	w := New(Options{Folders: []config.Folder{{Path: dir, Label: "Camera"}}, StabilityWindow: config.DefaultStabilityWindow,
		Handle: func(ctx context.Context, f File) error {
			r := RouteFile(f.Folder, f.Rel)
			_, err := q.Add(ctx, queue.New{Source: f.Folder.Label, SourcePath: f.Path, Patient: queue.Patient{NHI: string(r.NHI)},
				State: queue.StateQueued})
			if err != nil && !errors.Is(err, queue.ErrDuplicate) {
				return err
			}
			queued <- time.Now()
			return nil
		}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	time.Sleep(200 * time.Millisecond) // first scan and watches in place
	photo := make([]byte, 3<<20)       // a phone photo
	var total, worst time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		photo[0] = byte(i)
		p := filepath.Join(dir, fmt.Sprintf("ZZZ0016 %d.jpg", i))
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < len(photo); off += 256 << 10 { // written in pieces, as a copy does
			f.Write(photo[off : off+256<<10])
		}
		f.Close()
		last := time.Now()
		got := <-queued
		d := got.Sub(last)
		total += d
		worst = max(worst, d)
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-queued")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
	b.ReportMetric(0, "ns/op")
}
