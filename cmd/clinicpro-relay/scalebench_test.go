//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/relay/store"
)

// cpuCgroup is where a cgroup v1 CPU controller is mounted (the build VM's kernel);
// a quota there caps the CPU a process may use.
const cpuCgroup = "/sys/fs/cgroup/cpu"

// BenchmarkRelayScaling measures issue 17's scaling target where the relays are the
// limit, as they are when a second relay is added in production. On this machine
// alexsim, PostgreSQL, the load and the relays share two cores, so uncapped every
// setup saturates at the machine's ceiling and a second relay shows nothing
// (BenchmarkStores). Here each relay process is held to RELAY_SCALE_CPU of a core
// (default 0.15) by a CPU quota, leaving the rest of the machine spare, and the
// closed-loop mixed load of BenchmarkStores runs against one relay on PostgreSQL
// and then two behind a round-robin front. It reports both rates, their ratio,
// and how much of its quota each relay used (near 1: the relays were the limit).
func BenchmarkRelayScaling(b *testing.B) {
	quota, _ := strconv.ParseFloat(os.Getenv("RELAY_SCALE_CPU"), 64)
	if quota <= 0 {
		quota = 0.15
	}
	if _, err := os.Stat(filepath.Join(cpuCgroup, "cpu.cfs_quota_us")); err != nil {
		b.Skipf("no cgroup v1 CPU controller at %s, so a relay's CPU cannot be capped here", cpuCgroup)
	}
	workers := envInt("STORE_BENCH_WORKERS", 50)
	window := time.Duration(envInt("STORE_BENCH_SECONDS", 20)) * time.Second
	facilities := make([]string, 1000)
	for i := range facilities {
		facilities[i] = fmt.Sprintf("F%c%c%03d-B", 'B'+i/260%20, 'A'+i/10%26, i%1000)
	}
	body := benchTIFF(900_000)
	for range b.N {
		var rate [3]float64
		var used [3]float64
		for _, n := range []int{1, 2} {
			ctx, cancel := context.WithCancel(context.Background())
			sim, err := alexsim.Start(ctx, "", alexsim.Options{Facilities: facilities})
			if err != nil {
				b.Fatal(err)
			}
			h := startBenchRelays(b, sim, store.Postgres, n)
			var pids []int
			for _, p := range h.procs {
				p.mu.Lock()
				pids = append(pids, p.cmd.Process.Pid)
				p.mu.Unlock()
			}
			for _, pid := range pids {
				capCPU(b, pid, quota)
			}
			clients := h.enrol(b, facilities)
			parallel(workers, len(clients), func(i int) { clients[i].Health(ctx) })
			before := cpuSeconds(b, pids)
			closed := mixedLoad(clients, sim, facilities, body, workers, 0, window)
			after := cpuSeconds(b, pids)
			if closed.firstErr != nil {
				b.Logf("%d relay(s): %d errors, the first: %v", n, closed.errs, closed.firstErr)
			}
			rate[n] = float64(len(closed.ops["upload"])) / closed.wall.Seconds()
			used[n] = (after - before) / closed.wall.Seconds() / (quota * float64(n))
			h.stop()
			cancel()
			sim.Close()
		}
		b.ReportMetric(rate[1], "uploads/s-1relay")
		b.ReportMetric(rate[2], "uploads/s-2relays")
		b.ReportMetric(rate[2]/rate[1], "ratio")
		b.ReportMetric(used[1], "quota-used-1relay")
		b.ReportMetric(used[2], "quota-used-2relays")
		b.ReportMetric(quota, "cpu-per-relay")
	}
}

// capCPU puts pid (every thread of it) in a cgroup of its own whose CPU quota is
// cores of a core; the cgroup goes when the test ends.
func capCPU(b *testing.B, pid int, cores float64) {
	dir := filepath.Join(cpuCgroup, fmt.Sprintf("clinicpro-bench-%d", pid))
	if err := os.Mkdir(dir, 0o755); err != nil {
		b.Skipf("cannot make a CPU cgroup (%v): run as root", err)
	}
	b.Cleanup(func() {
		// The process has gone by now (its cleanup ran first), so the group is empty.
		for range 50 {
			if os.Remove(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	const period = 100_000
	for _, w := range []struct{ file, value string }{
		{"cpu.cfs_period_us", strconv.Itoa(period)},
		{"cpu.cfs_quota_us", strconv.Itoa(int(cores * period))},
		{"cgroup.procs", strconv.Itoa(pid)},
	} {
		if err := os.WriteFile(filepath.Join(dir, w.file), []byte(w.value), 0o644); err != nil {
			b.Fatalf("cgroup %s: %v", w.file, err)
		}
	}
}

// cpuSeconds is the user and system CPU the processes have used so far
// (/proc/PID/stat, in clock ticks of 1/100 s).
func cpuSeconds(b *testing.B, pids []int) float64 {
	var ticks float64
	for _, pid := range pids {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Fatal(err)
		}
		// The command name is in parentheses and may hold spaces; fields
		// after it start with the state (field 3), utime is field 14.
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
		for _, i := range []int{11, 12} {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				b.Fatalf("/proc/%d/stat: %v", pid, err)
			}
			ticks += v
		}
	}
	return ticks / 100
}
