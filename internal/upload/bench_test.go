package upload

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v3/process"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/queue"
	"github.com/clinicpro/medtech-images/internal/watch"
)

// BenchmarkBurst1000 drops 1,000 small files into a watched folder at once and
// measures until every one is sent and moved to Sent: watcher, spool copies, queue
// commits (synchronous=FULL), uploads over loopback HTTP and read-backs. The
// converter is a pass-through, so this is the pipeline's own overhead; image
// conversion adds its cost per file on top. Reports seconds for the burst and the
// peak RSS of the process (sampled every 50 ms).
//
//	go test -run XXX -bench Burst1000 -benchtime 1x ./internal/upload/
func BenchmarkBurst1000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		burst(b)
	}
}

func burst(b *testing.B) {
	b.StopTimer()
	dir := b.TempDir()
	in := filepath.Join(dir, "Camera")
	os.MkdirAll(in, 0o755)
	relay := newFakeRelay(b)
	q, err := queue.Open(context.Background(), filepath.Join(dir, "queue.db"), filepath.Join(dir, "spool"), queue.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	w := watch.New(watch.Options{
		Folders:         []config.Folder{{Path: in, Label: "Camera", SourceAction: config.ActionMove}},
		StabilityWindow: time.Second,
		Handle: func(ctx context.Context, f watch.File) error {
			r := watch.RouteFile(f.Folder, f.Rel)
			_, err := q.Add(ctx, queue.New{Source: f.Folder.Label, SourcePath: f.Path, SourceAction: f.Folder.SourceAction,
				Patient: queue.Patient{NHI: string(r.NHI)}, State: queue.StateQueued})
			if errors.Is(err, queue.ErrDuplicate) {
				return nil
			}
			return err
		},
	})
	u := New(Options{Queue: q, Converter: &fakeConverter{}, Relay: httpRelay{relay.srv.URL}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	go u.Run(ctx)

	p, _ := process.NewProcess(int32(os.Getpid()))
	var peak atomic.Uint64
	go func() {
		for ctx.Err() == nil {
			if m, err := p.MemoryInfo(); err == nil && m.RSS > peak.Load() {
				peak.Store(m.RSS)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	photo := make([]byte, 30<<10)
	time.Sleep(100 * time.Millisecond)
	b.StartTimer()
	start := time.Now()
	for i := 0; i < 1000; i++ {
		photo[0], photo[1] = byte(i), byte(i>>8)
		os.WriteFile(filepath.Join(in, fmt.Sprintf("ZZZ0016 %04d.jpg", i)), photo, 0o644)
	}
	for {
		c, err := q.Counts(context.Background(), time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		if c.SentToday == 1000 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(start)
	b.StopTimer()
	if n := len(relay.stored()); n != 1000 {
		b.Fatalf("relay holds %d documents", n)
	}
	b.ReportMetric(took.Seconds(), "s-burst")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-rss-MB")
	b.ReportMetric(0, "ns/op")
}
