//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/relay/registry"
	"github.com/clinicpro/medtech-images/internal/relay/store"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// BenchmarkStores is issue 17's comparison (make bench-relay-ha): 1,000 enrolled
// connectors, each its own facility, and a steady mixed load (60 % uploads of 900 KB,
// 30 % patient lookups, 10 % health) from STORE_BENCH_WORKERS (default 50)
// connectors at a time, for one relay on SQLite, one on PostgreSQL and two on
// PostgreSQL behind a round-robin front. Each runs open loop at STORE_BENCH_RATE
// operations a second (default 20: latency below saturation, as added to a direct
// ALEX upload) and then closed loop (saturation throughput). Relays, alexsim and the
// load share this machine's cores.
func BenchmarkStores(b *testing.B) {
	workers := envInt("STORE_BENCH_WORKERS", 50)
	rate := envInt("STORE_BENCH_RATE", 20)
	window := time.Duration(envInt("STORE_BENCH_SECONDS", 20)) * time.Second
	const connectors = 1000
	facilities := make([]string, connectors)
	for i := range facilities {
		facilities[i] = fmt.Sprintf("F%c%c%03d-B", 'B'+i/260%20, 'A'+i/10%26, i%1000)
	}
	body := benchTIFF(900_000)
	for _, setup := range []struct {
		name   string
		kind   string
		relays int
	}{{"sqlite-1relay", store.SQLite, 1}, {"postgres-1relay", store.Postgres, 1}, {"postgres-2relays", store.Postgres, 2}} {
		b.Run(setup.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				ctx, cancel := context.WithCancel(context.Background())
				sim, err := alexsim.Start(ctx, "", alexsim.Options{Facilities: facilities})
				if err != nil {
					b.Fatal(err)
				}
				h := startBenchRelays(b, sim, setup.kind, setup.relays)
				clients := h.enrol(b, facilities)
				// Warm: each connector's token, each relay's ALEX token.
				parallel(workers, len(clients), func(i int) { clients[i].Health(ctx) })
				h.ownTimes() // not the warm-up's
				// Rounds alternate the direct floor and the relay, so load from other work
				// on the machine falls on both alike.
				var direct []time.Duration
				open := loadResult{ops: map[string][]time.Duration{}}
				const rounds = 4
				for range rounds {
					direct = append(direct, directUploads(b, sim, facilities, body, workers, rate, window/rounds)...)
					o := mixedLoad(clients, sim, facilities, body, workers, rate, window/rounds)
					for k, v := range o.ops {
						open.ops[k] = append(open.ops[k], v...)
					}
					open.errs += o.errs
					if open.firstErr == nil {
						open.firstErr = o.firstErr
					}
				}
				own := h.ownTimes()
				b.StartTimer()
				closed := mixedLoad(clients, sim, facilities, body, workers, 0, window)
				b.StopTimer()
				up := open.ops["upload"]
				b.ReportMetric(float64(pct(up, 0.50)-pct(direct, 0.50))/1e6, "ms-added-p50")
				b.ReportMetric(float64(pct(up, 0.99)-pct(direct, 0.99))/1e6, "ms-added-p99")
				b.ReportMetric(float64(pct(own, 0.50))/1e6, "ms-own-p50")
				b.ReportMetric(float64(pct(own, 0.99))/1e6, "ms-own-p99")
				b.ReportMetric(float64(pct(up, 0.50))/1e6, "ms-upload-p50")
				b.ReportMetric(float64(pct(direct, 0.50))/1e6, "ms-direct-p50")
				b.ReportMetric(float64(pct(closed.ops["upload"], 0.99))/1e6, "ms-p99-saturated")
				b.ReportMetric(float64(len(closed.ops["upload"]))/closed.wall.Seconds(), "uploads/s-saturated")
				b.ReportMetric(float64(open.errs+closed.errs), "errors")
				b.ReportMetric(float64(h.maxRSS())/(1<<20), "MB-relay-peak-rss")
				if open.firstErr != nil || closed.firstErr != nil {
					b.Logf("first errors: %v / %v", open.firstErr, closed.firstErr)
				}
				h.stop()
				cancel()
				sim.Close()
			}
		})
	}
}

// BenchmarkAuditSize reports the database bytes one million audit rows take in each
// store (typical rows: connector, facility, operation, outcome, correlation id, ALEX
// id, patient hash).
func BenchmarkAuditSize(b *testing.B) {
	const rows = 1_000_000
	for _, kind := range []string{store.SQLite, store.Postgres} {
		b.Run(kind, func(b *testing.B) {
			for range b.N {
				cfg := store.Config{Kind: store.SQLite, Path: filepath.Join(b.TempDir(), "relay.db")}
				if kind == store.Postgres {
					cfg = store.Config{Kind: store.Postgres, DSN: testutil.Postgres(b)}
				}
				st, err := store.Open(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				size := func() int64 {
					if kind == store.Postgres {
						var n int64
						st.DB().QueryRow(`SELECT pg_total_relation_size('audit')`).Scan(&n)
						return n
					}
					st.DB().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
					var n int64
					for _, f := range []string{cfg.Path, cfg.Path + "-wal"} {
						if fi, err := os.Stat(f); err == nil {
							n += fi.Size()
						}
					}
					return n
				}
				before := size()
				gen := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ` + strconv.Itoa(rows) + `)
INSERT INTO audit(at, connector_id, facility, operation, outcome, status, bytes_in, bytes_out, duration_us, correlation, alex_id, patient_hash)
SELECT 1764000000000000000 + i*1000000, 'cpc_' || substr(hex(randomblob(10)), 1, 20), 'F2N060-E', 'upload', 'ok', 201, 900000, 400, 35000,
  lower(hex(randomblob(16))), 'stored-' || lower(hex(randomblob(12))), substr(hex(randomblob(18)), 1, 24) FROM n`
				if kind == store.Postgres {
					gen = `INSERT INTO audit(at, connector_id, facility, operation, outcome, status, bytes_in, bytes_out, duration_us, correlation, alex_id, patient_hash)
SELECT 1764000000000000000 + i::bigint*1000000, 'cpc_' || substr(md5(i::text), 1, 20), 'F2N060-E', 'upload', 'ok', 201, 900000, 400, 35000,
  md5(random()::text), 'stored-' || substr(md5(random()::text), 1, 24), substr(md5(random()::text), 1, 24) FROM generate_series(1, ` + strconv.Itoa(rows) + `) AS i`
				}
				if _, err := st.DB().Exec(gen); err != nil {
					b.Fatal(err)
				}
				if kind == store.Postgres {
					st.DB().Exec(`VACUUM ANALYZE audit`)
				}
				b.ReportMetric(float64(size()-before)/(1<<20), "MB-per-million-rows")
				st.Close()
			}
		})
	}
}

// benchRelays is one or two relay processes on one store, with the front agents use.
type benchRelays struct {
	procs []*relayProcess
	url   string
	st    *store.Store
}

func startBenchRelays(b *testing.B, sim *alexsim.Server, kind string, n int) *benchRelays {
	base, err := os.MkdirTemp("", "cpsb")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	bin := filepath.Join(base, "clinicpro-relay")
	if out, err := execGo("build", "-o", bin, "."); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	storeLines := ""
	var scfg store.Config
	if kind == store.Postgres {
		dsnFile := filepath.Join(base, "postgres.dsn")
		dsn := testutil.Postgres(b)
		os.WriteFile(dsnFile, []byte(dsn), 0o600)
		storeLines = fmt.Sprintf("store = \"postgres\"\npostgres_dsn_file = %q\n", dsnFile)
		scfg = store.Config{Kind: store.Postgres, DSN: dsn}
	}
	auditKey := filepath.Join(base, "audit.key")
	os.WriteFile(auditKey, bytes.Repeat([]byte("k"), 32), 0o600)
	h := &benchRelays{}
	var addrs []string
	for i := range n {
		dir := filepath.Join(base, fmt.Sprint("relay", i))
		data := filepath.Join(dir, "data")
		if kind == store.SQLite {
			scfg = store.Config{Kind: store.SQLite, Path: filepath.Join(data, "relay.db")}
		}
		os.MkdirAll(data, 0o700)
		cfg := filepath.Join(dir, "relay.toml")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`listen = "127.0.0.1:0"
admin_listen = "off"
data_dir = %q
audit_key_file = %q
%srate_per_second = 100000
rate_burst = 100000
alex_rate_per_second = 100000
alex_burst = 100000
max_conns_per_ip = 100000
relays = %d
[alex]
base_url = %q
token_url = %q
client_id = %q
`, data, auditKey, storeLines, n, sim.BaseURL, sim.TokenURL, alexsim.DefaultClientID)), 0o644)
		p := &relayProcess{tb: b, bin: bin, cfg: cfg, own: &ownTimes{}}
		p.start()
		b.Cleanup(p.kill)
		h.procs = append(h.procs, p)
		addrs = append(addrs, p.addr)
	}
	st, err := store.Open(context.Background(), scfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	h.st = st
	h.url = "http://" + addrs[0]
	if n > 1 {
		h.url = "http://" + newRoundRobin(b, addrs...)
	}
	return h
}

// enrol adds and enrols one connector per facility straight in the store, and
// returns a client for each through the front.
func (h *benchRelays) enrol(b *testing.B, facilities []string) []*client.Client {
	reg := registry.New(h.st)
	var out []*client.Client
	for _, f := range facilities {
		_, code, err := reg.Add(context.Background(), f, "bench")
		if err != nil {
			b.Fatal(err)
		}
		c, secret, err := reg.Enrol(context.Background(), code, "bench-pc")
		if err != nil {
			b.Fatal(err)
		}
		cl, err := client.New(h.url, client.Credentials{ClientID: c.ID, Secret: secret, Facility: f})
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, cl)
	}
	return out
}

// ownTimes returns (and forgets) the relays' own time per upload so far.
func (h *benchRelays) ownTimes() []time.Duration {
	var all []time.Duration
	for _, p := range h.procs {
		all = append(all, p.own.take()...)
	}
	return all
}

func (h *benchRelays) maxRSS() int64 {
	var m int64
	for _, p := range h.procs {
		m = max(m, p.hwm())
	}
	return m
}

func (h *benchRelays) stop() {
	for _, p := range h.procs {
		p.terminate()
	}
}

type loadResult struct {
	ops      map[string][]time.Duration
	errs     int
	firstErr error
	wall     time.Duration
}

var benchSeq atomic.Int64

// mixedLoad runs workers connectors' worth of the mixed load for window: open loop
// at rate operations a second, or closed loop (back to back) when rate is 0.
func mixedLoad(clients []*client.Client, sim *alexsim.Server, facilities []string, body []byte, workers, rate int, window time.Duration) loadResult {
	res := loadResult{ops: map[string][]time.Duration{}}
	var mu sync.Mutex
	var tick <-chan time.Time
	if rate > 0 {
		tk := time.NewTicker(time.Second / time.Duration(rate))
		defer tk.Stop()
		tick = tk.C
	}
	end := time.Now().Add(window)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			for time.Now().Before(end) {
				if tick != nil {
					select {
					case <-tick:
					case <-time.After(time.Until(end)):
						return
					}
				}
				i := rnd.IntN(len(clients))
				c, f := clients[i], facilities[i]
				op := "upload"
				switch r := rnd.IntN(10); {
				case r >= 9:
					op = "health"
				case r >= 6:
					op = "lookup"
				}
				t0 := time.Now()
				var err error
				switch op {
				case "upload":
					_, err = c.UploadDocument(context.Background(), client.DocumentUpload{
						IdempotencyKey: fmt.Sprintf("sb-%d-%d", time.Now().UnixNano(), benchSeq.Add(1)), PatientID: sim.PatientID(f, "ZZZ0016"),
						Title: "bench", ContentType: alex.ContentTypeTIFF, Size: int64(len(body)), Body: bytes.NewReader(body)})
				case "lookup":
					_, err = c.LookupPatient(context.Background(), "ZZZ0016")
				case "health":
					_, err = c.Health(context.Background())
				}
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					res.errs++
					if res.firstErr == nil {
						res.firstErr = err
					}
				} else {
					res.ops[op] = append(res.ops[op], d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.wall = time.Since(start)
	return res
}

// directUploads is the floor: the same uploads straight to alexsim with the ALEX
// client, open loop at rate, for what the relay adds.
func directUploads(b *testing.B, sim *alexsim.Server, facilities []string, body []byte, workers, rate int, window time.Duration) []time.Duration {
	ac, err := alex.New(alex.Config{BaseURL: sim.BaseURL, TokenURL: sim.TokenURL, ClientID: alexsim.DefaultClientID, ClientSecret: alexsim.DefaultClientSecret})
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var lat []time.Duration
	tk := time.NewTicker(time.Second / time.Duration(max(1, rate*6/10)))
	defer tk.Stop()
	end := time.Now().Add(window)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-tk.C:
				case <-time.After(time.Until(end)):
					return
				}
				f := facilities[(w*37+int(benchSeq.Add(1)))%len(facilities)]
				t0 := time.Now()
				_, _, err := ac.CreateScanDocument(context.Background(), f, alex.ScanDocument{Identifier: fmt.Sprint("direct-", benchSeq.Add(1)),
					PatientID: sim.PatientID(f, "ZZZ0016"), Title: "bench", ContentType: alex.ContentTypeTIFF, Data: body})
				if err == nil {
					mu.Lock()
					lat = append(lat, time.Since(t0))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return lat
}

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func parallel(workers, n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

func benchTIFF(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 31)
	}
	copy(b, "II*\x00\x08\x00\x00\x00")
	return b
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func execGo(args ...string) ([]byte, error) {
	c := exec.Command("go", args...)
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	return c.CombinedOutput()
}
