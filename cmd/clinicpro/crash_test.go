package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// smallPhoto is a distinct small JPEG per n, so every file has its own content (and
// so its own idempotency key) and 300 of them convert quickly on a loaded machine.
func smallPhoto(t testing.TB, n int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			img.Set(x, y, color.RGBA{uint8(x + n), uint8(y + (n/256)*50), uint8(n), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestCrashSafety is the proof: 300 files arrive in a watched folder while
// the agent is killed with SIGKILL at random moments at least 10 times and restarted.
// At the end every file is in ALEX exactly once and every original is in Sent.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("long: kills and restarts the agent")
	}
	const files, minKills = 300, 10
	bin := build(t, "clinicpro", ".")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, data, watched := enrolledStack(ctx, t, bin, "cpcrash", `scan_interval = "30s"`, `scan_interval = "2s"`)

	var logs testutil.Buffer
	start := func() (*exec.Cmd, chan struct{}) {
		c := exec.Command(bin, "run", "--data", data)
		c.Stdout, c.Stderr = &logs, &logs
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		return c, done
	}

	// The producer writes the files the way a scanner does: in pieces, at its own pace.
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := range files {
			p := filepath.Join(watched, fmt.Sprintf("ZZZ0016 photo-%03d.jpg", i))
			b := smallPhoto(t, i)
			f, err := os.Create(p)
			if err != nil {
				return
			}
			f.Write(b[:len(b)/2])
			f.Write(b[len(b)/2:])
			f.Close()
			time.Sleep(25 * time.Millisecond)
		}
	}()

	rnd := rand.New(rand.NewPCG(1, 2))
	kills := 0
	agent, done := start()
	for {
		select {
		case <-produced:
		default:
		}
		if kills >= minKills && isClosed(produced) {
			break
		}
		time.Sleep(time.Duration(300+rnd.IntN(1200)) * time.Millisecond)
		agent.Process.Signal(syscall.SIGKILL)
		<-done
		kills++
		agent, done = start()
	}
	defer func() { agent.Process.Signal(syscall.SIGTERM); <-done }()
	t.Logf("killed the agent %d times while %d files arrived", kills, files)

	deadline := time.Now().Add(90 * time.Second)
	for {
		sent, _ := filepath.Glob(filepath.Join(watched, "Sent", "*.jpg"))
		if len(sim.Documents()) >= files && len(sent) == files {
			break
		}
		if time.Now().After(deadline) {
			left, _ := filepath.Glob(filepath.Join(watched, "*.jpg"))
			states := map[string]int{}
			api := localapi.Dial(localapi.DefaultAddress(data))
			q, _ := api.Queue(ctx)
			u, _ := api.Unassigned(ctx)
			for _, it := range append(q, u...) {
				states[string(it.State)+": "+it.Reason]++
			}
			api.Close()
			t.Fatalf("after the wait: %d documents in ALEX, %d originals in Sent, %d still in the folder; queue: %v\nlog tail: %s",
				len(sim.Documents()), len(sent), len(left), states, tail(logs.String(), 3000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Exactly once: one document per photo, told apart by title.
	byTitle := map[string]int{}
	for _, d := range sim.Documents() {
		byTitle[d.Title]++
	}
	for i := range files {
		title := fmt.Sprintf("photo-%03d.tif", i)
		if byTitle[title] != 1 {
			t.Errorf("%s is in ALEX %d times", title, byTitle[title])
		}
	}
	if n := len(sim.Documents()); n != files {
		t.Errorf("ALEX holds %d documents for %d files", n, files)
	}
	left, _ := filepath.Glob(filepath.Join(watched, "*.jpg"))
	if len(left) != 0 {
		t.Errorf("%d originals were never moved to Sent", len(left))
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "ZZZ0016") {
			t.Errorf("the agent's output names the test patient: %s", line)
			break
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
