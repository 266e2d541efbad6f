// Command relaybench measures what clinicpro-relay adds to an upload, for
// `make bench-relay` (see docs/benchmarks.md, section Relay). Everything runs on
// loopback: alexsim in this process, the relay binary and nginx as child processes.
//
// For 1, 10 and 50 concurrent connectors (each its own facility, as in production)
// it uploads 900 KB TIFFs three ways: straight to alexsim with the ALEX client, through
// the relay (agent client → relay → ALEX client → alexsim), and through nginx as a
// bare reverse proxy in front of alexsim. Added latency is a path's percentile minus
// the direct path's. Then a fresh relay takes 100 concurrent 8 MB uploads while its
// resident set is sampled.
//
// alexsim keeps every document in memory, so it is restarted on the same port
// before each phase; clients re-fetch their ALEX token on the 401 that follows.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/relay/config"
	"github.com/clinicpro/medtech-images/internal/relay/daemon"
)

var (
	relayBin  = flag.String("relay", "bin/clinicpro-relay", "clinicpro-relay binary")
	nginxBin  = flag.String("nginx", "/usr/sbin/nginx", "nginx binary; empty skips the nginx floor")
	levels    = flag.String("levels", "1,10,50", "concurrent connectors")
	perLevel  = flag.String("uploads", "100,200,400", "uploads measured per level")
	docSize   = flag.Int("size", 900_000, "document size for the latency runs, bytes")
	rssConc   = flag.Int("rss-uploads", 100, "concurrent uploads in the RSS run")
	rssSize   = flag.Int("rss-size", 8_000_000, "document size in the RSS run, bytes")
	workDir   = flag.String("dir", "", "scratch directory (default a temp dir)")
	rounds    = flag.Int("rounds", 4, "rounds per level, alternating the paths")
	rate      = flag.Float64("rate", 0, "uploads per second across all connectors (open loop); 0 sends back to back (closed loop)")
	simAddr   string
	sim       *alexsim.Server
	simCancel context.CancelFunc
)

func main() {
	flag.Parse()
	log.SetFlags(0)
	dir := *workDir
	if dir == "" {
		d, err := os.MkdirTemp("", "relaybench-")
		check(err)
		defer os.RemoveAll(d)
		dir = d
	}
	lv, nv := ints(*levels), ints(*perLevel)
	if len(lv) != len(nv) {
		fatal("-levels and -uploads need the same number of entries")
	}
	maxConn := slices.Max(append(slices.Clone(lv), max(*rssConc, 1)))
	facilities := make([]string, maxConn)
	for i := range facilities {
		facilities[i] = fmt.Sprintf("F%c%c%03d-B", 'B'+i/260%20, 'A'+i/10%26, i%1000)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	simAddr = ln.Addr().String()
	ln.Close()
	restartSim(facilities)

	fmt.Printf("# relay benchmark, %s, %d CPUs, GOMAXPROCS %d\n\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), runtime.GOMAXPROCS(0))

	relay := startRelay(filepath.Join(dir, "relay"), facilities[:slices.Max(lv)], 1<<20)
	defer relay.stop()
	var nginxURL string
	if *nginxBin != "" {
		if _, err := os.Stat(*nginxBin); err == nil {
			var stopNginx func()
			nginxURL, stopNginx = startNginx(filepath.Join(dir, "nginx"))
			defer stopNginx()
		} else {
			log.Printf("nginx not found at %s: skipping the nginx floor", *nginxBin)
		}
	}
	body := tiff(*docSize)

	type row struct {
		path   string
		conc   int
		s      stats
		add50  time.Duration
		add99  time.Duration
		direct bool
	}
	var rows []row
	var own []string
	for i, c := range lv {
		// Rounds alternate the three paths so that load from other work on the
		// machine falls on all of them alike.
		var dl, rl, nl samples
		per := max(1, nv[i] / *rounds)
		relay.resetOverhead()
		for range *rounds {
			restartSim(facilities)
			dl.add(runDirect("http://"+simAddr, facilities[:c], body, per))
			restartSim(facilities)
			rl.add(runRelay(relay, facilities[:c], body, per))
			if nginxURL != "" {
				restartSim(facilities)
				nl.add(runDirect(nginxURL, facilities[:c], body, per))
			}
		}
		d, r := dl.stats(), rl.stats()
		rows = append(rows, row{path: "direct to alexsim", conc: c, s: d, direct: true},
			row{"clinicpro-relay", c, r, r.p50 - d.p50, r.p99 - d.p99, false})
		if nginxURL != "" {
			n := nl.stats()
			rows = append(rows, row{"nginx proxy", c, n, n.p50 - d.p50, n.p99 - d.p99, false})
		}
		o, rv := relay.overhead()
		own = append(own, fmt.Sprintf("| %d | %d | %s | %s | %s | %s | %s |", c, o.n, ms(o.p50), ms(o.p99), ms(o.max), ms(rv.p50), ms(rv.p99)))
	}
	mode := "closed loop (each connector uploads back to back)"
	if *rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f uploads/s across all connectors", *rate)
	}
	fmt.Printf("%d-byte TIFF uploads, %s, %d rounds per level alternating the paths; added = the path's percentile minus the direct path's.\n\n", len(body), mode, *rounds)
	fmt.Println("| path | connectors | uploads | errors | uploads/s | MB/s | p50 | p99 | added p50 | added p99 |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		add50, add99 := "", ""
		if !r.direct {
			add50, add99 = ms(r.add50), ms(r.add99)
		}
		fmt.Printf("| %s | %d | %d | %d | %.1f | %.1f | %s | %s | %s | %s |\n", r.path, r.conc, r.s.n, r.s.errors,
			r.s.rate, r.s.rate*float64(len(body))/1e6, ms(r.s.p50), ms(r.s.p99), add50, add99)
	}
	fmt.Println("\nThe relay's own processing per upload, from its log: request time minus receiving the body minus waiting on ALEX.")
	fmt.Println("\n| connectors | uploads | own p50 | own p99 | own max | receive p50 | receive p99 |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|")
	for _, l := range own {
		fmt.Println(l)
	}
	fmt.Printf("\nrelay peak RSS over the latency runs: %.1f MB\n", float64(relay.hwm())/(1<<20))
	relay.stop()

	if *rssConc <= 0 {
		return
	}
	// Peak RSS with many concurrent maximum-size uploads, in a fresh relay process.
	restartSim(facilities)
	big := startRelay(filepath.Join(dir, "relay-rss"), facilities[:*rssConc], int64(*rssSize))
	defer big.stop()
	base := big.rss()
	var peak atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if r := big.rss(); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	bigBody := tiff(*rssSize)
	start := time.Now()
	rs := runRelayOnce(big, bigBody)
	close(stop)
	sampler.Wait()
	fmt.Printf("\n%d concurrent %d-byte uploads through a fresh relay: %d ok, %d errors in %s; relay RSS before %.1f MB, sampled peak %.1f MB, kernel high-water mark (VmHWM) %.1f MB\n",
		*rssConc, *rssSize, rs.n-rs.errors, rs.errors, time.Since(start).Round(time.Millisecond),
		float64(base)/(1<<20), float64(peak.Load())/(1<<20), float64(big.hwm())/(1<<20))
}

func restartSim(facilities []string) {
	if sim != nil {
		simCancel()
		sim.Close()
		sim = nil
		runtime.GC()
		debug.FreeOSMemory()
	}
	ctx, cancel := context.WithCancel(context.Background())
	var err error
	for i := 0; i < 50; i++ { // the port can take a moment to be free again
		if sim, err = alexsim.Start(ctx, simAddr, alexsim.Options{Facilities: facilities}); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	check(err)
	simCancel = cancel
}

// samples pools the latencies of several rounds.
type samples struct {
	lat      []time.Duration
	errs     int
	firstErr error
	wall     time.Duration
}

func (s *samples) add(o samples) {
	s.lat = append(s.lat, o.lat...)
	s.errs += o.errs
	s.wall += o.wall
	if s.firstErr == nil {
		s.firstErr = o.firstErr
	}
}

func (s samples) stats() stats { return summarise(s.lat, s.errs, s.firstErr, s.wall) }

type stats struct {
	n, errors           int
	p50, p99, mean, max time.Duration
	rate                float64 // successful uploads per second
	firstErr            error
}

func summarise(lat []time.Duration, errs int, firstErr error, wall time.Duration) stats {
	slices.Sort(lat)
	s := stats{n: len(lat) + errs, errors: errs, firstErr: firstErr}
	if firstErr != nil {
		log.Printf("first error: %v", firstErr)
	}
	if len(lat) == 0 {
		return s
	}
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	s.p50, s.p99, s.mean, s.max = pct(0.50), pct(0.99), sum/time.Duration(len(lat)), lat[len(lat)-1]
	s.rate = float64(len(lat)) / wall.Seconds()
	return s
}

// load runs n calls of do spread over workers, after warm calls per worker that
// are not measured (connections, tokens).
func load(workers, n, warm int, do func(worker, i int) error) samples {
	for w := 0; w < workers; w++ {
		for i := 0; i < warm; i++ {
			if err := do(w, -1-i); err != nil {
				log.Printf("warm-up: %v", err)
			}
		}
	}
	var (
		mu       sync.Mutex
		lat      []time.Duration
		errs     int
		firstErr error
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	start := time.Now()
	// Open loop: a clock hands out uploads at -rate, each connector still sending one
	// at a time, so latency is measured below saturation rather than at it.
	var tick <-chan time.Time
	if *rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / *rate))
		defer t.Stop()
		tick = t.C
	}
	var tickMu sync.Mutex
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if tick != nil {
					tickMu.Lock()
					<-tick
					tickMu.Unlock()
				}
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t := time.Now()
				err := do(w, i)
				d := time.Since(t)
				mu.Lock()
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return samples{lat: lat, errs: errs, firstErr: firstErr, wall: time.Since(start)}
}

var runID atomic.Int64

func runDirect(base string, facilities []string, body []byte, n int) samples {
	ac, err := alex.New(alex.Config{BaseURL: base + "/FHIR", TokenURL: "http://" + simAddr + alexsim.TokenPath,
		ClientID: alexsim.DefaultClientID, ClientSecret: alexsim.DefaultClientSecret})
	check(err)
	id := runID.Add(1)
	return load(len(facilities), n, 2, func(w, i int) error {
		f := facilities[w]
		_, _, err := ac.CreateScanDocument(context.Background(), f, alex.ScanDocument{
			Identifier: fmt.Sprintf("bench-%d-%d-%d", id, w, i), PatientID: sim.PatientID(f, "ZZZ0016"),
			Title: "bench", ContentType: alex.ContentTypeTIFF, Data: body})
		return err
	})
}

func runRelay(r *relayProc, facilities []string, body []byte, n int) samples {
	id := runID.Add(1)
	return load(len(facilities), n, 2, func(w, i int) error {
		if i == 0 {
			r.markWarm()
		}
		f := facilities[w]
		_, err := r.clients[w].UploadDocument(context.Background(), client.DocumentUpload{
			IdempotencyKey: fmt.Sprintf("bench-%d-%d-%d", id, w, i), PatientID: sim.PatientID(f, "ZZZ0016"),
			Title: "bench", ContentType: alex.ContentTypeTIFF, Size: int64(len(body)), Body: bytes.NewReader(body)})
		return err
	})
}

// runRelayOnce starts one upload per connector at the same moment.
func runRelayOnce(r *relayProc, body []byte) stats {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	var firstErr error
	gate := make(chan struct{})
	start := time.Now()
	for w := range r.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			t := time.Now()
			_, err := r.clients[w].UploadDocument(context.Background(), client.DocumentUpload{
				IdempotencyKey: fmt.Sprintf("rss-upload-%04d", w), PatientID: sim.PatientID(r.facilities[w], "ZZZ0016"),
				Title: "bench", ContentType: alex.ContentTypeTIFF, Size: int64(len(body)), Body: bytes.NewReader(body)})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			lat = append(lat, time.Since(t))
		}()
	}
	close(gate)
	wg.Wait()
	return summarise(lat, errs, firstErr, time.Since(start))
}

type relayProc struct {
	mu       sync.Mutex
	own      []time.Duration // relay's own time per upload since resetOverhead
	recv     []time.Duration // time to receive each upload's body from the client
	skipping bool            // warm-up uploads are not counted

	cmd        *exec.Cmd
	url        string
	clients    []*client.Client
	facilities []string
	once       sync.Once
}

// startRelay registers one connector per facility, starts the relay binary and
// enrols every connector through it.
func startRelay(dir string, facilities []string, maxUpload int64) *relayProc {
	check(os.MkdirAll(dir, 0o700))
	cfgPath := filepath.Join(dir, "relay.toml")
	// The default per-connector and relay-wide ALEX limits would throttle synthetic
	// connectors uploading back to back; production keeps the defaults.
	check(os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen = "127.0.0.1:0"
admin_listen = "off"
data_dir = %q
max_upload_bytes = %d
rate_per_second = 100000
rate_burst = 100000
alex_rate_per_second = 100000
alex_burst = 100000
[alex]
base_url = "http://%s/FHIR"
token_url = "http://%s%s"
client_id = %q
`, filepath.Join(dir, "data"), maxUpload, simAddr, simAddr, alexsim.TokenPath, alexsim.DefaultClientID)), 0o600))
	cfg, err := config.Load(cfgPath, func(string) string { return "" })
	check(err)
	st, err := daemon.OpenStores(cfg)
	check(err)
	codes := make([]string, len(facilities))
	for i, f := range facilities {
		_, codes[i], err = st.Registry.Add(context.Background(), f, "bench")
		check(err)
	}
	st.Close()

	cmd := exec.Command(*relayBin, "--config", cfgPath, "serve")
	cmd.Env = append(os.Environ(), config.EnvALEXSecret+"="+alexsim.DefaultClientSecret)
	stderr, err := cmd.StderrPipe()
	check(err)
	check(cmd.Start())
	logf, err := os.Create(filepath.Join(dir, "relay.log"))
	check(err)
	addr := make(chan string, 1)
	r := &relayProc{cmd: cmd, facilities: facilities}
	atExit(r.stop)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var l struct {
				Msg, Listen, Op string
				Status          int
				Duration        time.Duration
				ALEX            time.Duration `json:"alex_duration"`
				Receive         time.Duration `json:"receive_duration"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				switch {
				case l.Msg == "relay serving":
					addr <- l.Listen
				case l.Op == "upload" && l.Status == 201:
					r.mu.Lock()
					if !r.skipping {
						r.own = append(r.own, l.Duration-l.ALEX-l.Receive)
						r.recv = append(r.recv, l.Receive)
					}
					r.mu.Unlock()
				}
			}
			logf.Write(append(sc.Bytes(), '\n'))
		}
		logf.Close()
	}()
	select {
	case a := <-addr:
		r.url = "http://" + a
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		fatal("the relay did not start; see " + filepath.Join(dir, "relay.log"))
	}
	for _, code := range codes {
		creds, err := client.Enrol(context.Background(), r.url, code)
		check(err)
		c, err := client.New(r.url, creds)
		check(err)
		r.clients = append(r.clients, c)
	}
	return r
}

// markWarm is called as the first measured upload starts. Log lines of warm-up
// uploads may still arrive after it; they are few and only make the relay look slower.
func (r *relayProc) markWarm() {
	r.mu.Lock()
	r.skipping = false
	r.mu.Unlock()
}

func (r *relayProc) resetOverhead() {
	r.mu.Lock()
	r.own, r.recv, r.skipping = nil, nil, true
	r.mu.Unlock()
}

func (r *relayProc) overhead() (own, recv stats) {
	time.Sleep(500 * time.Millisecond) // let the last log lines arrive
	r.mu.Lock()
	defer r.mu.Unlock()
	return summarise(slices.Clone(r.own), 0, nil, time.Second), summarise(slices.Clone(r.recv), 0, nil, time.Second)
}

func (r *relayProc) stop() {
	r.once.Do(func() {
		r.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { r.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			r.cmd.Process.Kill()
		}
	})
}

// rss and hwm read the relay's current and peak resident set from /proc.
func (r *relayProc) rss() int64 { return procStatus(r.cmd.Process.Pid, "VmRSS:") }
func (r *relayProc) hwm() int64 { return procStatus(r.cmd.Process.Pid, "VmHWM:") }

func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// startNginx runs nginx as a bare reverse proxy to alexsim: stock settings except
// those needed to run unprivileged in a scratch dir, accept 8 MB bodies and keep
// upstream connections alive (as the relay's ALEX client does).
func startNginx(dir string) (string, func()) {
	check(os.MkdirAll(filepath.Join(dir, "tmp"), 0o755))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	addr := ln.Addr().String()
	ln.Close()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
worker_processes auto;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_max_body_size 20m;
  client_body_temp_path %[2]s/tmp/body;
  proxy_temp_path %[2]s/tmp/proxy;
  fastcgi_temp_path %[2]s/tmp/fastcgi;
  uwsgi_temp_path %[2]s/tmp/uwsgi;
  scgi_temp_path %[2]s/tmp/scgi;
  upstream alexsim { server %[3]s; keepalive 64; }
  server {
    listen %[4]s;
    location / {
      proxy_pass http://alexsim;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }
  }
}
`, user, dir, simAddr, addr)
	path := filepath.Join(dir, "nginx.conf")
	check(os.WriteFile(path, []byte(conf), 0o644))
	cmd := exec.Command(*nginxBin, "-c", path, "-p", dir)
	cmd.Stderr = os.Stderr
	check(cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Signal(os.Interrupt) // nginx's fast shutdown
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
			}
		})
	}
	atExit(stop)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr, stop
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	fatal("nginx did not start; see " + filepath.Join(dir, "error.log"))
	return "", nil
}

func tiff(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 31)
	}
	copy(b, "II*\x00\x08\x00\x00\x00")
	return b
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		check(err)
		out = append(out, n)
	}
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

// cleanups stop child processes; fatal runs them, since log.Fatal skips defers and
// would leave a relay or nginx running.
var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

func atExit(f func()) {
	cleanupMu.Lock()
	cleanups = append(cleanups, f)
	cleanupMu.Unlock()
}

func fatal(v ...any) {
	cleanupMu.Lock()
	for _, f := range slices.Backward(cleanups) {
		f()
	}
	cleanupMu.Unlock()
	log.Fatal(v...)
}

func check(err error) {
	if err != nil {
		fatal(err)
	}
}
