// Package browser starts the tests' headless Chromium (Debian's chromium, driven with
// chromedp) once per test process and opens phone-sized tabs in it, each in its own
// browser context (its own cookies, as a separate phone). Outside CI a missing
// chromium skips the test with a message; under CI it fails (testutil.NeedTool).
package browser

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"github.com/clinicpro/medtech-images/internal/testutil"
)

var shared struct {
	once    sync.Once
	ctx     context.Context // the browser's first context: cancelling it stops Chromium
	cancel  func()
	dataDir string
	err     error
}

// chromiumPath finds Chromium: Debian installs it as chromium.
func chromiumPath() string {
	for _, n := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// start launches the browser with the flags a quiet, offline test needs: no
// sandbox (tests run as root in CI), no GPU, no QUIC, nothing fetched in the
// background, an empty profile.
func start() {
	dir, err := os.MkdirTemp("", "cpchromium")
	if err != nil {
		shared.err = err
		return
	}
	shared.dataDir = dir
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath()), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(dir),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		shared.err = err
		return
	}
	shared.ctx = bctx
	shared.cancel = func() { bcancel(); acancel() }
}

// Phone returns a new tab in a new browser context (a phone of its own), emulating
// an iPhone 13 (390×844, touch, mobile), closed when tb ends.
func Phone(tb testing.TB) context.Context {
	tb.Helper()
	testutil.NeedTool(tb, "chromium", "apt-get install chromium (.ci/setup does)")
	shared.once.Do(start)
	if shared.err != nil {
		tb.Fatalf("cannot start Chromium: %v", shared.err)
	}
	ctx, cancel := chromedp.NewContext(shared.ctx, chromedp.WithNewBrowserContext())
	tb.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Emulate(device.IPhone13)); err != nil {
		tb.Fatalf("cannot open a phone tab: %v", err)
	}
	return ctx
}

// Stop stops the browser, if one was started, and removes its profile. Packages that
// use Phone call it from TestMain.
func Stop() {
	if shared.cancel != nil {
		shared.cancel()
	}
	if shared.dataDir != "" {
		os.RemoveAll(shared.dataDir)
	}
}
