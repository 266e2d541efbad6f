//go:build !windows

package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/testutil/browser"
)

// BenchmarkPhoneSendToWindow measures, over the real relay and agent on loopback
// with a real headless Chromium as the phone, the time from Send on the phone page
// to each photo's item in the capture window (the agent's event the tray draws it
// from), for 5 photos of 12 MP taken as phones save them (sideways with EXIF). The
// page decodes and re-encodes each photo when it is chosen, before Send. It also
// reports the page weight the phone loaded.
//
//	make bench-phone
func BenchmarkPhoneSendToWindow(b *testing.B) {
	tab := browser.Phone(b)
	d := startDemo(b, nil)
	ctx := context.Background()
	dir := b.TempDir()
	var paths []string
	var size int
	for i := range 5 {
		jpg, err := PhonePhoto(3024, 4032, uint32(31+i), 92) // distinct pixels: the page's re-encode drops any other difference
		if err != nil {
			b.Fatal(err)
		}
		size += len(jpg)
		p := filepath.Join(dir, fmt.Sprintf("IMG_%04d.JPG", i))
		if err := os.WriteFile(p, jpg, 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	var lat []time.Duration
	var weight float64
	b.ResetTimer()
	for range b.N {
		s, ps, err := d.PhoneLink(ctx, "ZZZ0016")
		if err != nil {
			b.Fatal(err)
		}
		c := d.Agent()
		ectx, cancel := context.WithCancel(ctx)
		events, err := c.Events(ectx)
		if err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		arrived := map[string]time.Time{}
		go func() {
			for ev := range events {
				if ev.Type == localapi.EventItem && ev.Item.Source == "phone" && ev.Item.SessionID == s.ID && ev.Item.State == localapi.StateStaged {
					mu.Lock()
					if _, ok := arrived[ev.Item.ID]; !ok {
						arrived[ev.Item.ID] = time.Now()
					}
					mu.Unlock()
				}
			}
		}()
		if err := chromedp.Do(tab, chromedp.Navigate(ps.URL), chromedp.SetUploadFiles(chromedp.CSS("#files"), paths)); err != nil {
			b.Fatal(err)
		}
		waitCountTB(b, tab, "ready", len(paths))
		sent := time.Now()
		if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS("#send"))); err != nil {
			b.Fatal(err)
		}
		waitFor(b, "the 5 photos in the window", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(arrived) == len(paths)
		})
		cancel()
		c.Close()
		mu.Lock()
		for _, at := range arrived {
			lat = append(lat, at.Sub(sent))
		}
		mu.Unlock()
		es, err := chromedp.Run(tab, chromedp.Evaluate[float64](`performance.getEntries().filter(e => (e.entryType === 'navigation' || e.entryType === 'resource') && !e.name.includes('/m/api/')).reduce((n, e) => n + e.encodedBodySize, 0)`))
		if err == nil {
			weight = es
		}
		if others, _ := chromedp.Run(tab, chromedp.Evaluate[int](fmt.Sprintf(`performance.getEntries().filter(e => e.name.startsWith('http') && !e.name.startsWith(%q)).length`, d.RelayURL))); others != 0 {
			b.Fatalf("the page made %d requests to another origin", others)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	p50 := lat[len(lat)/2]
	b.ReportMetric(p50.Seconds(), "p50-s")
	b.ReportMetric(lat[len(lat)-1].Seconds(), "max-s")
	b.ReportMetric(weight/1024, "page-KB")
	b.ReportMetric(float64(size)/5e6, "MB/photo")
	var each []string
	for _, l := range lat {
		each = append(each, l.Round(time.Millisecond).String())
	}
	b.Logf("5 photos of 12 MP, Send to window: %s (p50 %v); page weight %.1f KB, no other origin", strings.Join(each, ", "), p50.Round(time.Millisecond), weight/1024)
}

func waitCountTB(tb testing.TB, tab context.Context, state string, n int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tab, 3*time.Minute)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](count(state)+` >= `+fmt.Sprint(n), chromedp.WithPollingTimeout(3*time.Minute))); err != nil {
		tb.Fatalf("waiting for %d photos %s: %v", n, state, err)
	}
}
