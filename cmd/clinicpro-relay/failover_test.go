//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunWithPostgres(m)) }

// TestFailover is issue 17's failover end to end: two relay processes (running as an
// unprivileged user) on one PostgreSQL behind a round-robin front; five real agents
// upload 500 photos while the relays are SIGKILLed and restarted in turn (and once
// stopped with SIGTERM); every photo ends in alexsim exactly once and no agent parks
// anything. Then a connector revoked by the operator is refused by both relays
// within a second.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two relays, five agents and PostgreSQL")
	}
	dsn := testutil.Postgres(t)
	base, err := os.MkdirTemp("", "cpfail")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	as := runAs(t)
	relayBin := filepath.Join(base, "clinicpro-relay")
	agentBin := filepath.Join(base, "clinicpro")
	for bin, pkg := range map[string]string{relayBin: ".", agentBin: "../clinicpro"} {
		c := exec.Command("go", "build", "-o", bin, pkg)
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := alexsim.Start(ctx, "", alexsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	// Both relays share the store, the audit key and the ALEX registration; each has
	// its own data directory (spool) and port.
	dsnFile := filepath.Join(base, "postgres.dsn")
	os.WriteFile(dsnFile, []byte(dsn), 0o600)
	auditKey := filepath.Join(base, "audit.key")
	os.WriteFile(auditKey, bytes.Repeat([]byte("k"), 32), 0o600)
	as.own(t, dsnFile, auditKey)
	relays := make([]*relayProcess, 2)
	for i := range relays {
		dir := filepath.Join(base, fmt.Sprint("relay", i))
		os.MkdirAll(filepath.Join(dir, "data"), 0o700)
		as.own(t, dir, filepath.Join(dir, "data"))
		cfg := filepath.Join(dir, "relay.toml")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`listen = "127.0.0.1:%d"
admin_listen = "off"
data_dir = %q
audit_key_file = %q
store = "postgres"
postgres_dsn_file = %q
relays = 2
[alex]
base_url = %q
token_url = %q
client_id = %q
`, freePort(t), filepath.Join(dir, "data"), auditKey, dsnFile, sim.BaseURL, sim.TokenURL, alexsim.DefaultClientID)), 0o644)
		relays[i] = &relayProcess{tb: t, bin: relayBin, cfg: cfg, as: as}
		relays[i].start()
		defer relays[i].kill()
	}
	front := newRoundRobin(t, relays[0].addr, relays[1].addr)
	frontURL := "http://" + front

	out := relays[0].command("practice", "add", "--facility", alexsim.DefaultFacility, "--name", "Failover", "--pcs", "6", "--valid", "1d")
	code := regexp.MustCompile(`Practice code: (\S+)`).FindStringSubmatch(out)[1]

	const agents, perAgent = 5, 100
	type pc struct{ data, inbox, staging string }
	var pcs []pc
	for i := range agents {
		data, _ := os.MkdirTemp("", "cpfa")
		defer os.RemoveAll(data)
		p := pc{data: data, inbox: filepath.Join(data, "inbox"), staging: filepath.Join(data, "staging")}
		os.MkdirAll(p.inbox, 0o755)
		os.MkdirAll(p.staging, 0o755)
		if out, err := exec.Command(agentBin, "enrol", "--data", data, "--relay", frontURL, "--code", code).CombinedOutput(); err != nil {
			t.Fatalf("enrol agent %d: %v %s", i, err, out)
		}
		f, _ := os.OpenFile(filepath.Join(data, "config.toml"), os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString("\n[[folder]]\npath = '" + p.inbox + "'\nlabel = \"Inbox\"\nrouting = \"nhi\"\n")
		f.Close()
		for j := range perAgent {
			os.WriteFile(filepath.Join(p.staging, fmt.Sprintf("ZZZ0016 a%d-%03d.jpg", i, j)), tinyPhoto(i*1000+j), 0o644)
		}
		agent := exec.Command(agentBin, "run", "--data", data)
		var logs testutil.Buffer
		agent.Stdout, agent.Stderr = &logs, &logs
		if err := agent.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { agent.Process.Signal(syscall.SIGTERM); agent.Wait() }()
		pcs = append(pcs, p)
	}
	for _, p := range pcs {
		ents, _ := os.ReadDir(p.staging)
		for _, e := range ents {
			os.Rename(filepath.Join(p.staging, e.Name()), filepath.Join(p.inbox, e.Name()))
		}
	}

	// Kill a relay every second or two, alternating, and start it again; once, stop
	// one with SIGTERM instead.
	total := agents * perAgent
	var kills atomic.Int64
	stopKiller := make(chan struct{})
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		rnd := rand.New(rand.NewPCG(1, 2))
		for i := 0; ; i++ {
			select {
			case <-stopKiller:
				return
			case <-time.After(time.Duration(800+rnd.IntN(1200)) * time.Millisecond):
			}
			r := relays[i%2]
			if i == 3 {
				r.terminate()
			} else {
				r.kill()
				kills.Add(1)
			}
			time.Sleep(300 * time.Millisecond)
			r.start()
		}
	}()
	deadline := time.Now().Add(5 * time.Minute)
	for len(sim.Documents()) < total || kills.Load() < 4 {
		if time.Now().After(deadline) {
			close(stopKiller)
			t.Fatalf("after 5 minutes ALEX holds %d of %d photos (%d kills)", len(sim.Documents()), total, kills.Load())
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(stopKiller)
	<-killerDone
	t.Logf("%d photos through %d SIGKILLs and one SIGTERM of a relay", total, kills.Load())

	byTitle := map[string]int{}
	for _, d := range sim.Documents() {
		byTitle[d.Title]++
	}
	for i := range agents {
		for j := range perAgent {
			if n := byTitle[fmt.Sprintf("a%d-%03d.tif", i, j)]; n != 1 {
				t.Errorf("photo a%d-%03d is in ALEX %d times", i, j, n)
			}
		}
	}
	if n := len(sim.Documents()); n != total {
		t.Errorf("ALEX holds %d documents for %d photos", n, total)
	}
	for i, p := range pcs {
		api := localapi.Dial(localapi.DefaultAddress(p.data))
		testutil.WaitFor(t, "agent's queue to settle", time.Minute, 100*time.Millisecond, func() bool {
			st, err := api.Status(context.Background())
			return err == nil && st.Counts.Queued+st.Counts.Uploading == 0
		})
		st, _ := api.Status(context.Background())
		api.Close()
		if st.Counts.Parked != 0 || st.Counts.Unassigned != 0 {
			t.Errorf("agent %d parked %d and left %d unassigned", i, st.Counts.Parked, st.Counts.Unassigned)
		}
	}

	// Revocation reaches both relays within a second.
	creds, err := client.Enrol(ctx, "http://"+relays[0].addr, code)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {creds.ClientID}, "client_secret": {creds.Secret}}
	resp, err := http.PostForm("http://"+relays[0].addr+api.PathToken, form)
	if err != nil {
		t.Fatal(err)
	}
	var tok api.TokenResponse
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	health := func(addr string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+api.PathHealth, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, r := range relays {
		if st := health(r.addr); st != http.StatusOK {
			t.Fatalf("relay %s before the revocation: %d", r.addr, st)
		}
	}
	relays[1].command("connector", "revoke", creds.ClientID)
	revoked := time.Now()
	var firstRefusal [2]time.Duration
	for time.Since(revoked) < time.Second {
		for i, r := range relays {
			if firstRefusal[i] == 0 && health(r.addr) == http.StatusUnauthorized {
				firstRefusal[i] = time.Since(revoked)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, r := range relays {
		if st := health(r.addr); st != http.StatusUnauthorized || firstRefusal[i] == 0 {
			t.Errorf("relay %d still accepted a connector revoked a second ago (status %d)", i, st)
		}
	}
	t.Logf("the revoked connector was refused by relay 0 after %s and relay 1 after %s", firstRefusal[0], firstRefusal[1])
}

// credential runs the relays as nobody when the test runs as root, as the systemd
// unit runs them as their own user.
type credential struct{ uid, gid int }

func runAs(t *testing.T) *credential {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &credential{uid, gid}
}

func (c *credential) own(t *testing.T, paths ...string) {
	if c == nil {
		return
	}
	for _, p := range paths {
		if err := os.Chown(p, c.uid, c.gid); err != nil {
			t.Fatal(err)
		}
	}
}

// relayProcess is one clinicpro-relay serve process that can be killed and started
// again on the same port.
type relayProcess struct {
	tb       testing.TB
	bin, cfg string
	as       *credential
	addr     string
	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	// own collects, when set, each upload's time in the relay itself (from its
	// log: the request's time less receiving the body and waiting on ALEX).
	own *ownTimes
}

type ownTimes struct {
	mu  sync.Mutex
	lat []time.Duration
}

func (o *ownTimes) take() []time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	l := o.lat
	o.lat = nil
	return l
}

func (r *relayProcess) exec(args ...string) *exec.Cmd {
	c := exec.Command(r.bin, append([]string{"--config", r.cfg}, args...)...)
	c.Env = append(os.Environ(), "CLINICPRO_ALEX_CLIENT_SECRET="+alexsim.DefaultClientSecret)
	if r.as != nil {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(r.as.uid), Gid: uint32(r.as.gid)}}
	}
	return c
}

func (r *relayProcess) command(args ...string) string {
	out, err := r.exec(args...).CombinedOutput()
	if err != nil {
		r.tb.Fatalf("clinicpro-relay %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (r *relayProcess) start() {
	c := r.exec("serve")
	stderr, _ := c.StderrPipe()
	if err := c.Start(); err != nil {
		r.tb.Error(err)
		return
	}
	up := make(chan string, 1)
	exited := make(chan struct{})
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
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue
			}
			switch {
			case l.Msg == "relay serving":
				up <- l.Listen
			case r.own != nil && l.Op == "upload" && l.Status == http.StatusCreated:
				r.own.mu.Lock()
				r.own.lat = append(r.own.lat, l.Duration-l.ALEX-l.Receive)
				r.own.mu.Unlock()
			}
		}
		c.Wait()
		close(exited)
	}()
	select {
	case a := <-up:
		r.mu.Lock()
		r.addr, r.cmd, r.exited = a, c, exited
		r.mu.Unlock()
	case <-exited:
		r.tb.Error("a relay exited while starting")
	case <-time.After(time.Minute):
		c.Process.Kill()
		r.tb.Error("a relay did not start")
	}
}

func (r *relayProcess) stop(sig syscall.Signal) {
	r.mu.Lock()
	c, exited := r.cmd, r.exited
	r.cmd = nil
	r.mu.Unlock()
	if c == nil {
		return
	}
	c.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(2 * time.Minute):
		c.Process.Kill()
		<-exited
	}
}

func (r *relayProcess) kill()      { r.stop(syscall.SIGKILL) }
func (r *relayProcess) terminate() { r.stop(syscall.SIGTERM) }

// hwm is the running process's peak resident set (VmHWM), in bytes.
func (r *relayProcess) hwm() int64 {
	r.mu.Lock()
	c := r.cmd
	r.mu.Unlock()
	if c == nil {
		return 0
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.Process.Pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// newRoundRobin is the front the agents talk to: each new connection goes to the
// next relay, or to the other one when that one does not answer (a load balancer's
// failed health check). It closes with the test.
func newRoundRobin(t testing.TB, backends ...string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var next atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var b net.Conn
				for try := range 2 * len(backends) {
					i := int(next.Add(1)) % len(backends)
					if b, err = net.DialTimeout("tcp", backends[i], 2*time.Second); err == nil {
						break
					}
					if try%len(backends) == len(backends)-1 {
						time.Sleep(200 * time.Millisecond) // both down: a restart is under way
					}
				}
				if b == nil {
					return
				}
				defer b.Close()
				done := make(chan struct{}, 2)
				go func() { io.Copy(b, c); b.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				go func() { io.Copy(c, b); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				<-done
				<-done
			}()
		}
	}()
	return ln.Addr().String()
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tinyPhoto is a small distinct JPEG: the failover is about exactly-once, not size.
func tinyPhoto(seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(seed), uint8(seed >> 8), uint8(x*4 + y), 255})
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	return b.Bytes()
}
