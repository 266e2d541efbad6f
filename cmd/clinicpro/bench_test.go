package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/localapi"
)

// procStat returns a process's user+system CPU time and its current and peak RSS
// from /proc (Linux only; the numbers in docs/benchmarks.md come from here).
func procStat(pid int) (cpu time.Duration, rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	cpu = time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	for _, l := range strings.Split(string(s), "\n") {
		var kb int64
		if n, _ := fmt.Sscanf(l, "VmRSS: %d kB", &kb); n == 1 {
			rss = kb << 10
		}
		if n, _ := fmt.Sscanf(l, "VmHWM: %d kB", &kb); n == 1 {
			hwm = kb << 10
		}
	}
	return cpu, rss, hwm, nil
}

// benchAgent enrols a data directory with a real relay and alexsim and writes a
// configuration watching folders; it returns the binary, data dir and folders.
func benchAgent(b *testing.B, folders int, stability string) (string, string, []string, *alexsim.Server) {
	bin := build(b, "clinicpro", ".")
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	sim, err := alexsim.Start(ctx, "", alexsim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	relayURL, code := relay(b, sim)
	data, _ := os.MkdirTemp("", "cpbench")
	b.Cleanup(func() { os.RemoveAll(data) })
	if out, err := exec.Command(bin, "enrol", "--data", data, "--relay", relayURL, "--code", code).CombinedOutput(); err != nil {
		b.Fatalf("enrol: %v %s", err, out)
	}
	cfgPath := filepath.Join(data, "config.toml")
	cfg, _ := os.ReadFile(cfgPath)
	cfg = bytes.Replace(cfg, []byte(`stability_window = "1s"`), []byte(`stability_window = "`+stability+`"`), 1)
	var dirs []string
	for i := range folders {
		d := filepath.Join(data, fmt.Sprintf("folder%d", i))
		os.MkdirAll(d, 0o755)
		dirs = append(dirs, d)
		cfg = append(cfg, fmt.Sprintf("\n[[folder]]\npath = '%s'\nlabel = \"F%d\"\nrouting = \"nhi\"\n", d, i)...)
	}
	os.WriteFile(cfgPath, cfg, 0o644)
	return bin, data, dirs, sim
}

func startAgentB(b *testing.B, bin, data string) *exec.Cmd {
	c := exec.Command(bin, "run", "--data", data)
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Process.Signal(syscall.SIGTERM); c.Wait() })
	api := localapi.Dial(localapi.DefaultAddress(data))
	defer api.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := api.Status(context.Background()); err == nil {
			return c
		}
		if time.Now().After(deadline) {
			b.Fatal("agent did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkIdleAgent5Folders: the real binary, enrolled, watching 5 folders that
// already hold 100 sent files each, left alone for 20 s.
func BenchmarkIdleAgent5Folders(b *testing.B) {
	bin, data, dirs, sim := benchAgent(b, 5, "1s")
	for k, d := range dirs {
		for i := range 100 {
			os.WriteFile(filepath.Join(d, fmt.Sprintf("ZZZ0016 %s-%03d.jpg", filepath.Base(d), i)), smallPhoto(b, k*1000+i), 0o644)
		}
	}
	c := startAgentB(b, bin, data)
	deadline := time.Now().Add(5 * time.Minute)
	for len(sim.Documents()) < 500 {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of 500 sent", len(sim.Documents()))
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // let the last moves and the status settle
	b.ResetTimer()
	for range b.N {
		cpu0, _, _, _ := procStat(c.Process.Pid)
		t0 := time.Now()
		time.Sleep(20 * time.Second)
		cpu1, rss, _, err := procStat(c.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(100*float64(cpu1-cpu0)/float64(time.Since(t0)), "%cpu")
		b.ReportMetric(float64(rss)/(1<<20), "MB-rss")
	}
}

// BenchmarkBurst1000: 1,000 small phone photos dropped at once into one watched
// folder of the real binary; time until ALEX holds all of them, and the agent's peak RSS.
func BenchmarkBurst1000(b *testing.B) {
	for range b.N {
		b.StopTimer()
		bin, data, dirs, sim := benchAgent(b, 1, "1s")
		c := startAgentB(b, bin, data)
		staging := filepath.Join(data, "staging")
		os.MkdirAll(staging, 0o755)
		for i := range 1000 {
			os.WriteFile(filepath.Join(staging, fmt.Sprintf("ZZZ0016 burst-%04d.jpg", i)), smallPhoto(b, i), 0o644)
		}
		b.StartTimer()
		t0 := time.Now()
		for i := range 1000 {
			name := fmt.Sprintf("ZZZ0016 burst-%04d.jpg", i)
			os.Rename(filepath.Join(staging, name), filepath.Join(dirs[0], name))
		}
		deadline := time.Now().Add(20 * time.Minute)
		for len(sim.Documents()) < 1000 {
			if time.Now().After(deadline) {
				b.Fatalf("only %d of 1000 stored", len(sim.Documents()))
			}
			time.Sleep(100 * time.Millisecond)
		}
		el := time.Since(t0)
		b.StopTimer()
		_, _, hwm, _ := procStat(c.Process.Pid)
		if n := len(sim.Documents()); n != 1000 {
			b.Fatalf("%d documents stored for 1000 files", n)
		}
		b.ReportMetric(el.Seconds(), "s-total")
		b.ReportMetric(float64(hwm)/(1<<20), "MB-peak-rss")
	}
}
