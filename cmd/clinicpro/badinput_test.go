package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/clinicpro/medtech-images/internal/localapi"
)

// TestBadInputEndToEnd: files that cannot become a Medtech document are parked (or,
// for a mistyped NHI, wait in Unassigned) with a reason a person can act on, and
// their originals stay where they were.
func TestBadInputEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole stack")
	}
	bin := build(t, "clinicpro", ".")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, data, watched := enrolledStack(ctx, t, bin, "cpbad")
	agent := exec.Command(bin, "run", "--data", data)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { agent.Process.Signal(syscall.SIGTERM); agent.Wait() }()
	api := localapi.Dial(localapi.DefaultAddress(data))
	defer api.Close()
	waitFor(t, "the agent", func() bool { _, err := api.Status(ctx); return err == nil })

	good := photo(t, 7)
	parked := map[string][]byte{
		"ZZZ0016 empty.jpg":     nil,
		"ZZZ0016 truncated.jpg": good[:len(good)/3],
		"ZZZ0016 notes.jpg":     []byte("Dear Doctor, this is a letter typed in Notepad and saved as .jpg by mistake."),
		"ZZZ0016 archive.pdf":   []byte("PK\x03\x04 a zip file named like a PDF"),
	}
	for name, b := range parked {
		os.WriteFile(filepath.Join(watched, name), b, 0o644)
	}
	os.WriteFile(filepath.Join(watched, "ZZZ0017 typo.jpg"), good, 0o644)

	waitFor(t, "every bad file parked", func() bool {
		items, _ := api.Queue(ctx)
		n := 0
		for _, it := range items {
			if it.State == localapi.StateParked {
				n++
			}
		}
		return n == len(parked)
	})
	items, _ := api.Queue(ctx)
	for _, it := range items {
		if it.State != localapi.StateParked {
			t.Errorf("%s is %s", it.FileName, it.State)
			continue
		}
		if len(it.Reason) < 20 || strings.Contains(it.Reason, "ZZZ0016") {
			t.Errorf("%s: reason %q is not a sentence a person can act on, or names the patient", it.FileName, it.Reason)
		}
		if _, err := os.Stat(filepath.Join(watched, it.FileName)); err != nil {
			t.Errorf("%s: original not kept in place: %v", it.FileName, err)
		}
	}
	// Files are taken concurrently, so the mistyped one may still be on its way.
	var un []localapi.Item
	waitFor(t, "the mistyped file in Unassigned", func() bool { un, _ = api.Unassigned(ctx); return len(un) > 0 })
	if len(un) != 1 || un[0].FileName != "ZZZ0017 typo.jpg" || !strings.Contains(un[0].Reason, "check character") {
		t.Errorf("mistyped NHI: unassigned = %+v", un)
	}
	if n := len(sim.Documents()); n != 0 {
		t.Errorf("%d bad files reached ALEX", n)
	}
	// Discard moves a parked original to Rejected; nothing is deleted.
	var first localapi.Item
	for _, it := range items {
		first = it
		break
	}
	if rc, out := runCLI(t, bin, "queue", "discard", first.ID, "--data", data); rc != 0 {
		t.Fatalf("discard: %d %s", rc, out)
	}
	if _, err := os.Stat(filepath.Join(watched, "Rejected", first.FileName)); err != nil {
		t.Fatalf("discarded original not in Rejected: %v", err)
	}
}

func runCLI(t *testing.T, bin string, args ...string) (int, string) {
	c := exec.Command(bin, args...)
	out, err := c.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}
