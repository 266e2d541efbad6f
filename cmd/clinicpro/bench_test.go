package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/agent"
	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/demo"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/upload"
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

// BenchmarkFairness3PCs: three real agents of one practice, enrolled with one
// practice code on one relay, each given 300 photos at the same moment (three camera
// cards emptied at once). It reports each PC's time until ALEX held all its photos:
// with the relay-wide ALEX limit binding, PCs take turns, so the three finish close
// together and none is starved.
func BenchmarkFairness3PCs(b *testing.B) {
	const perPC = 300
	for range b.N {
		b.StopTimer()
		bin := build(b, "clinicpro", ".")
		ctx, cancel := context.WithCancel(context.Background())
		sim, err := alexsim.Start(ctx, "", alexsim.Options{})
		if err != nil {
			b.Fatal(err)
		}
		r := startRelayProc(b, sim, "", "")
		out := r.run(b, "practice", "add", "--facility", alexsim.DefaultFacility, "--name", "Fair", "--pcs", "3", "--valid", "1d")
		code := regexp.MustCompile(`Practice code: (\S+)`).FindStringSubmatch(out)[1]
		type pc struct{ data, inbox, staging string }
		var pcs []pc
		for i := range 3 {
			data, _ := os.MkdirTemp("", "cpfair")
			b.Cleanup(func() { os.RemoveAll(data) })
			if out, err := exec.Command(bin, "enrol", "--data", data, "--relay", r.url, "--code", code).CombinedOutput(); err != nil {
				b.Fatalf("enrol: %v %s", err, out)
			}
			p := pc{data: data, inbox: filepath.Join(data, "inbox"), staging: filepath.Join(data, "staging")}
			os.MkdirAll(p.inbox, 0o755)
			os.MkdirAll(p.staging, 0o755)
			f, _ := os.OpenFile(filepath.Join(data, "config.toml"), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("\n[[folder]]\npath = '" + p.inbox + "'\nlabel = \"Inbox\"\nrouting = \"nhi\"\n")
			f.Close()
			for j := range perPC {
				os.WriteFile(filepath.Join(p.staging, fmt.Sprintf("ZZZ0016 pc%d-%04d.jpg", i, j)), smallPhoto(b, i*10000+j), 0o644)
			}
			startAgentB(b, bin, data)
			pcs = append(pcs, p)
		}
		b.StartTimer()
		t0 := time.Now()
		for _, p := range pcs {
			ents, _ := os.ReadDir(p.staging)
			for _, e := range ents {
				os.Rename(filepath.Join(p.staging, e.Name()), filepath.Join(p.inbox, e.Name()))
			}
		}
		done := make([]time.Duration, 3)
		deadline := time.Now().Add(20 * time.Minute)
		for left := 3; left > 0; {
			if time.Now().After(deadline) {
				b.Fatalf("not all photos stored: %d documents", len(sim.Documents()))
			}
			per := make([]int, 3)
			for _, d := range sim.Documents() {
				var i int
				if _, err := fmt.Sscanf(d.Title, "pc%d-", &i); err == nil && i >= 0 && i < 3 {
					per[i]++
				}
			}
			left = 0
			for i, n := range per {
				if n >= perPC && done[i] == 0 {
					done[i] = time.Since(t0)
				}
				if done[i] == 0 {
					left++
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.StopTimer()
		if n := len(sim.Documents()); n != 3*perPC {
			b.Fatalf("%d documents stored for %d photos", n, 3*perPC)
		}
		for i, d := range done {
			b.ReportMetric(d.Seconds(), fmt.Sprintf("s-pc%d", i+1))
		}
		cancel()
		sim.Close()
	}
}

// BenchmarkBurst12MP: BURST_12MP_N (default 100) distinct 12 MP phone JPEGs dropped at
// once into one watched folder of the real agent, against the time the agent's own
// converter (one photo at a time, as the uploader runs it) needs for the same photos
// in this process. Issue 20's target: the burst finishes within 2x the conversion.
func BenchmarkBurst12MP(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("BURST_12MP_N")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		b.StopTimer()
		bin, data, dirs, sim := benchAgent(b, 1, "1s")
		staging := filepath.Join(data, "staging")
		os.MkdirAll(staging, 0o755)
		for i := range n {
			jpg, err := demo.PhonePhoto(3024, 4032, uint32(3+i), 92)
			if err != nil {
				b.Fatal(err)
			}
			os.WriteFile(filepath.Join(staging, fmt.Sprintf("ZZZ0016 card-%04d.jpg", i)), jpg, 0o644)
		}
		// The agent's converter alone, on the same photos.
		t0 := time.Now()
		for i := range n {
			_, err := agent.ImagingConverter{}.Convert(context.Background(), upload.ConvertRequest{
				Path: filepath.Join(staging, fmt.Sprintf("ZZZ0016 card-%04d.jpg", i)), FileName: "card.jpg", ByteBudget: 1_000_000})
			if err != nil {
				b.Fatal(err)
			}
		}
		conv := time.Since(t0)
		c := startAgentB(b, bin, data)
		b.StartTimer()
		t0 = time.Now()
		for i := range n {
			name := fmt.Sprintf("ZZZ0016 card-%04d.jpg", i)
			os.Rename(filepath.Join(staging, name), filepath.Join(dirs[0], name))
		}
		deadline := time.Now().Add(40 * time.Minute)
		for len(sim.Documents()) < n {
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d stored", len(sim.Documents()), n)
			}
			time.Sleep(100 * time.Millisecond)
		}
		el := time.Since(t0)
		b.StopTimer()
		_, _, hwm, _ := procStat(c.Process.Pid)
		if got := len(sim.Documents()); got != n {
			b.Fatalf("%d documents stored for %d photos", got, n)
		}
		b.ReportMetric(el.Seconds(), "s-total")
		b.ReportMetric(conv.Seconds(), "s-convert-only")
		b.ReportMetric(el.Seconds()/conv.Seconds(), "x-of-convert")
		b.ReportMetric(float64(hwm)/(1<<20), "MB-peak-rss")
	}
}
