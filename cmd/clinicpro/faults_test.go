package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// TestFaultsEndToEnd drives the real binary through the faults the issue lists (the
// facility offline for a while, a 429 storm, tokens expiring, writes whose answer is
// lost, ALEX errors) and proves each photo still lands in ALEX exactly once.
func TestFaultsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("long: runs the whole stack through several faults")
	}
	bin := build(t, "clinicpro", ".")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, data, watched := enrolledStack(ctx, t, bin, "cpfault")

	var logs testutil.Buffer
	agent := exec.Command(bin, "run", "--data", data)
	agent.Stdout, agent.Stderr = &logs, &logs
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { agent.Process.Signal(syscall.SIGTERM); agent.Wait() }()
	api := localapi.Dial(localapi.DefaultAddress(data))
	defer api.Close()
	waitFor(t, "the agent", func() bool { _, err := api.Status(ctx); return err == nil })

	n := 0
	drop := func(count int) {
		for range count {
			name := fmt.Sprintf("ZZZ0016 fault-%03d.jpg", n)
			os.WriteFile(filepath.Join(watched, name), smallPhoto(t, 2000+n), 0o644)
			n++
		}
	}
	stored := func(want int) func() bool { return func() bool { return len(sim.Documents()) >= want } }

	// The practice's HCM goes down: nothing is stored, the agent says Medtech is
	// offline, and everything goes through once it is back.
	sim.SetFaults(alexsim.Faults{Offline: []string{"*"}})
	drop(8)
	waitFor(t, "the agent to report the practice offline", func() bool {
		st, err := api.Status(ctx)
		return err == nil && st.Health.State == health.Offline
	})
	if len(sim.Documents()) != 0 {
		t.Fatal("documents stored while the facility was offline")
	}
	sim.SetFaults(alexsim.Faults{})
	waitFor(t, "the offline backlog to drain", stored(8))

	// A 429 storm with Retry-After.
	sim.SetFaults(alexsim.Faults{RateLimit: 15, RetryAfterSeconds: 1})
	drop(8)
	waitFor(t, "uploads through the 429 storm", stored(16))

	// Every token expires, and ALEX refuses a few calls outright.
	sim.SetFaults(alexsim.Faults{ExpireTokens: true, Unauthorized: 2})
	drop(8)
	waitFor(t, "uploads after token expiry", stored(24))

	// Writes stored but their answers lost: the ambiguous case.
	sim.SetFaults(alexsim.Faults{DropWrites: 4})
	drop(8)
	// And ALEX failing with 500s.
	sim.SetFaults(alexsim.Faults{ServerErrors: 4})
	drop(8)
	waitFor(t, "every photo in Sent", func() bool {
		sent, _ := filepath.Glob(filepath.Join(watched, "Sent", "*.jpg"))
		return len(sent) == n
	})

	byTitle := map[string]int{}
	for _, d := range sim.Documents() {
		byTitle[d.Title]++
	}
	for i := range n {
		if title := fmt.Sprintf("fault-%03d.tif", i); byTitle[title] != 1 {
			t.Errorf("%s is in ALEX %d times", title, byTitle[title])
		}
	}
	if got := len(sim.Documents()); got != n {
		t.Errorf("ALEX holds %d documents for %d photos", got, n)
	}
	// The original moves to Sent just before the item is marked sent: poll.
	waitFor(t, "every item sent", func() bool {
		items, err := api.Queue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.State == localapi.StateParked {
				t.Fatalf("item %s parked: %s", it.ID, it.Reason)
			}
			if it.State != localapi.StateSent {
				return false
			}
		}
		return true
	})
	st, _ := api.Status(ctx)
	if st.Counts.Parked != 0 {
		t.Errorf("%d items parked", st.Counts.Parked)
	}
}
