package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a "second tray process" so hand-off is tested across
// real processes, as Windows starts them.
func TestMain(m *testing.M) {
	if addr := os.Getenv("LAUNCH_TEST_SECOND_INSTANCE"); addr != "" {
		os.Exit(secondInstance(addr, os.Args[len(os.Args)-1]))
	}
	if addr := os.Getenv("LAUNCH_TEST_SQUAT"); addr != "" {
		os.Exit(squatter(addr))
	}
	os.Exit(m.Run())
}

func secondInstance(addr, url string) int {
	in, err := Claim(addr)
	if err == nil {
		in.Close()
		fmt.Println("claimed")
		return 3
	}
	if !errors.Is(err, ErrRunning) {
		fmt.Println(err)
		return 4
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := Handoff(ctx, addr, url); err != nil {
		fmt.Println(err)
		return 5
	}
	return 0
}

func claim(t *testing.T, addr string) *Instance {
	t.Helper()
	in, err := Claim(addr)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

func receive(t *testing.T, in *Instance) string {
	t.Helper()
	select {
	case u := <-in.URLs():
		return u
	case <-time.After(time.Minute):
		t.Fatal("no URL handed over")
		return ""
	}
}

func TestSecondProcessHandsOff(t *testing.T) {
	addr := sockAddr(t)
	in := claim(t, addr)
	const url = "clinicpro://launch?context=ab+c/d==&signature=s"
	cmd := exec.Command(os.Args[0], "-test.run=^$", url)
	cmd.Env = append(os.Environ(), "LAUNCH_TEST_SECOND_INSTANCE="+addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("second instance: %v: %s", err, out)
	}
	if got := receive(t, in); got != url {
		t.Fatalf("handed over %q, want %q", got, url)
	}
}

func TestSecondClaimIsRefused(t *testing.T) {
	addr := sockAddr(t)
	claim(t, addr)
	if _, err := Claim(addr); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Claim = %v, want ErrRunning", err)
	}
}

func TestOpenBringsToFront(t *testing.T) {
	addr := sockAddr(t)
	in := claim(t, addr)
	if err := Handoff(context.Background(), addr, Open); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, in); got != Open {
		t.Fatalf("got %q, want Open", got)
	}
}

func TestGarbageIsRefused(t *testing.T) {
	addr := sockAddr(t)
	in := claim(t, addr)
	// A first hand-off proves the listener is serving before raw connections test it.
	if err := Handoff(context.Background(), addr, Open); err != nil {
		t.Fatal(err)
	}
	receive(t, in)
	raw := func(msg string) string {
		c, err := dial(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute))
		fmt.Fprint(c, msg)
		reply := make([]byte, 16)
		n, _ := c.Read(reply)
		return strings.TrimSpace(string(reply[:n]))
	}
	if got := raw("https://example.org/launch?context=c&signature=s\n"); got != "error" {
		t.Fatalf("a foreign URL got %q, want error", got)
	}
	// Too long: the tray stops reading at the limit; whatever the client sees, it is not ok.
	if got := raw(strings.Repeat("x", MaxURLLength+10)); got == "ok" {
		t.Fatal("an oversized message was accepted")
	}
	if err := Handoff(context.Background(), addr, "https://example.org/"); !errors.Is(err, ErrNotLaunch) {
		t.Fatalf("Handoff of a foreign URL = %v, want ErrNotLaunch", err)
	}
	// Still serving, and nothing was delivered.
	if err := Handoff(context.Background(), addr, Open); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, in); got != Open {
		t.Fatalf("delivered %q before Open", got)
	}
}

func TestCloseReleasesTheClaim(t *testing.T) {
	addr := sockAddr(t)
	in, err := Claim(addr)
	if err != nil {
		t.Fatal(err)
	}
	in.Close()
	if _, ok := <-in.URLs(); ok {
		t.Fatal("URLs not closed")
	}
	if err := Handoff(context.Background(), addr, Open); err == nil {
		t.Fatal("hand-off succeeded after Close")
	}
	claim(t, addr)
}

// BenchmarkHandoff is one second-instance hand-off over the real socket: dial, send
// the URL, wait for the running tray to take it.
func BenchmarkHandoff(b *testing.B) {
	addr := sockAddr(b)
	in, err := Claim(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	go func() {
		for range in.URLs() {
		}
	}()
	const url = "clinicpro://launch?context=c&signature=s"
	for b.Loop() {
		if err := Handoff(context.Background(), addr, url); err != nil {
			b.Fatal(err)
		}
	}
}
