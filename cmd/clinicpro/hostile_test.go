package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/hostile"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/originals"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// peakLimit is the bound on the agent's peak memory over the whole corpus.
const peakLimit = 400 << 20

// TestHostileCorpus drops every case of the hostile corpus (internal/hostile: the
// folder's own attacks and every converter attack of internal/imaging/hostile), and a
// patient folder swapped for a link within the stability window, into a folder
// watched by the real agent binary. Each one must end as its case says, with a
// reason a person can act on, the original kept and nothing from outside the folder
// sent; a normal file dropped afterwards must still be sent; and the agent's peak
// memory must stay under 400 MB.
func TestHostileCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole stack")
	}
	if runtime.GOOS != "linux" {
		t.Skip("links, FIFOs and the agent's peak memory (/proc) are read the Linux way")
	}
	bin := build(t, "clinicpro", ".")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A 1 s window, so the folder swap below surely happens inside it.
	sim, data, watched := enrolledStack(ctx, t, bin, "cphostile", `stability_window = "200ms"`, `stability_window = "1s"`)
	outside := t.TempDir()

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

	cases := hostile.Cases()
	for _, c := range cases {
		if _, err := hostile.Write(watched, outside, c); err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
	}
	// The folder swap as it was run: a patient folder with a photo, replaced within
	// the stability window by a link to an outside folder holding a root-only file
	// of the same name.
	swap := filepath.Join(watched, "ZZZ0024 swap")
	os.MkdirAll(swap, 0o755)
	os.WriteFile(filepath.Join(swap, "xray.jpg"), hostile.Photo(7), 0o644)
	time.Sleep(100 * time.Millisecond)
	swapTarget := filepath.Join(outside, "swapped")
	os.MkdirAll(swapTarget, 0o700)
	os.WriteFile(filepath.Join(swapTarget, "xray.jpg"), hostile.Secret(), 0o600)
	if err := os.Rename(swap, filepath.Join(outside, "the real folder")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(swapTarget, swap); err != nil {
		t.Fatal(err)
	}
	refusedNames := map[string]string{"ZZZ0024 swap": "symbolic link"}
	for _, c := range cases {
		if c.Want == hostile.Refused {
			refusedNames[c.Name] = c.Reason
		}
	}

	byName := func() map[string]localapi.Item {
		items, _ := api.Queue(ctx)
		un, _ := api.Unassigned(ctx)
		m := map[string]localapi.Item{}
		for _, it := range append(items, un...) {
			m[it.FileName] = it
		}
		return m
	}
	var last string
	waitFor(t, "every case at its outcome", func() bool {
		items := byName()
		st, err := api.Status(ctx)
		if err != nil {
			return false
		}
		folder := ""
		for _, c := range st.Health.Checks {
			if c.Name == health.FolderCheckName("Inbox") {
				folder = c.Detail
			}
		}
		var missing []string
		for _, c := range cases {
			it, ok := items[jsonName(c.Name)]
			switch c.Want {
			case hostile.Refused:
				continue
			case hostile.Parked:
				ok = ok && it.State == localapi.StateParked
			case hostile.Sent:
				ok = ok && it.State == localapi.StateSent
			}
			if !ok {
				missing = append(missing, fmt.Sprintf("%s (%s %q)", c.ID, it.State, it.Reason))
			}
		}
		for name := range refusedNames {
			if !strings.Contains(folder, fmt.Sprintf("%q", redact.String(name))) {
				missing = append(missing, "health naming "+name)
			}
		}
		now := strings.Join(missing, "; ") + " | folder: " + folder
		if now != last {
			t.Logf("peak %d MB; waiting for: %s", vmHWM(t, agent.Process.Pid)>>20, now)
		}
		last = now
		return len(missing) == 0
	})
	t.Logf("outcomes reached (%s)", last)

	items := byName()
	st, _ := api.Status(ctx)
	folder := ""
	for _, c := range st.Health.Checks {
		if c.Name == health.FolderCheckName("Inbox") {
			folder = c.Detail
		}
	}
	for _, c := range cases {
		t.Run(c.ID, func(t *testing.T) {
			p := filepath.Join(watched, c.Name)
			switch c.Want {
			case hostile.Refused:
				if !strings.Contains(strings.ToLower(folder), strings.ToLower(c.Reason)) {
					t.Errorf("the folder's health does not say %q: %s", c.Reason, folder)
				}
				if _, err := os.Lstat(p); err != nil {
					t.Errorf("the refused entry was not left in place: %v", err)
				}
			case hostile.Parked:
				it := items[jsonName(c.Name)]
				if len(it.Reason) < 20 || strings.Contains(it.Reason, "ZZZ0016") || !strings.Contains(strings.ToLower(it.Reason), strings.ToLower(c.Reason)) {
					t.Errorf("reason %q is not a sentence a person can act on, misses %q, or names the patient", it.Reason, c.Reason)
				}
				if _, err := os.Lstat(p); err != nil {
					t.Errorf("original not kept in place: %v", err)
				}
				t.Logf("parked: %s", it.Reason)
			case hostile.Sent:
				if _, err := os.Lstat(filepath.Join(watched, originals.SentDir, c.Name)); err != nil {
					t.Errorf("original not in Sent: %v", err)
				}
			}
		})
	}
	if strings.Contains(folder, "ZZZ0016") || strings.Contains(folder, "ZZZ0024") {
		t.Errorf("the folder's health names a patient: %s", folder)
	}

	// Still watching: a normal file dropped after the corpus is sent.
	os.WriteFile(filepath.Join(watched, "ZZZ0016 after.jpg"), hostile.Photo(8), 0o644)
	waitFor(t, "a normal file after the corpus", func() bool {
		return byName()["ZZZ0016 after.jpg"].State == localapi.StateSent
	})

	// Nothing from outside reached Medtech, and nothing outside was moved, deleted or
	// given a Sent folder.
	for _, d := range sim.Documents() {
		if strings.Contains(d.Title, "secret") || strings.Contains(d.Title, "xray") {
			t.Errorf("a file from outside the watched folder was sent: %q", d.Title)
		}
	}
	for _, p := range []string{"secret.jpg", filepath.Join("patient", "secret.jpg"), filepath.Join("swapped", "xray.jpg"), filepath.Join("the real folder", "xray.jpg")} {
		if _, err := os.Stat(filepath.Join(outside, p)); err != nil {
			t.Errorf("%s outside the watched folder was moved or deleted: %v", p, err)
		}
	}
	for _, p := range []string{originals.SentDir, filepath.Join("patient", originals.SentDir), filepath.Join("swapped", originals.SentDir)} {
		if _, err := os.Lstat(filepath.Join(outside, p)); err == nil {
			t.Errorf("a Sent folder was made outside the watched folder: %s", p)
		}
	}

	peak := vmHWM(t, agent.Process.Pid)
	t.Logf("agent peak RSS over the corpus: %.1f MB", float64(peak)/(1<<20))
	if peak > peakLimit {
		t.Errorf("the agent's peak memory was %.0f MB, over the %d MB bound", float64(peak)/(1<<20), peakLimit>>20)
	}
	if strings.Contains(logs.String(), "ZZZ0016") || strings.Contains(logs.String(), "ZZZ0024") {
		t.Error("the agent's output names a test patient")
	}
}

// jsonName is a file name as it comes back through the local API: JSON replaces
// each byte of invalid UTF-8 with U+FFFD.
func jsonName(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// vmHWM is the process's peak resident set size, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
