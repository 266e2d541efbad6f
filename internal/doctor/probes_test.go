package doctor

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/clinicpro/medtech-images/internal/hcm"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/health/checks"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/client"
)

// relay is a real HTTP relay endpoint whose facility can be switched off.
type relay struct{ facilityDown atomic.Bool }

func (r *relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch req.URL.Path {
	case api.PathToken:
		io.WriteString(w, `{"access_token":"t","token_type":"Bearer","expires_in":3600}`)
	case api.PathHealth:
		fac := api.HealthCheck{Name: "facility.reachable", State: "ok"}
		if r.facilityDown.Load() {
			fac = api.HealthCheck{Name: "facility.reachable", State: "offline", Detail: "ALEX answered 503"}
		}
		json.NewEncoder(w).Encode(api.Health{State: fac.State, Checks: []api.HealthCheck{{Name: "relay", State: "ok"}, {Name: "alex.token", State: "ok"}, fac}})
	}
}

type events struct {
	mu sync.Mutex
	l  []string
}

func (e *events) add(s string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.l = append(e.l, s)
	return nil
}
func (e *events) Info(_ uint32, m string) error    { return e.add("info " + m) }
func (e *events) Warning(_ uint32, m string) error { return e.add("warning " + m) }
func (e *events) Error(_ uint32, m string) error   { return e.add("error " + m) }
func (e *events) all() string                      { e.mu.Lock(); defer e.mu.Unlock(); return strings.Join(e.l, "\n") }

func deps(t *testing.T, rl *relay, svc *hcm.Fake) Deps {
	t.Helper()
	srv := httptest.NewServer(rl)
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, client.Credentials{ClientID: "c", Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := hcm.New(hcm.Config{Recovery: hcm.Policy{Enabled: false}}, svc, nil, nil, quiet)
	m.Conns = func(context.Context, int, int) ([]string, error) { return []string{"203.0.113.1:443"}, nil }
	dir := t.TempDir()
	return Deps{
		Agent: func(context.Context) error { return nil },
		HCM:   m, Relay: c, SpoolDir: dir, MinFree: 1,
		Folders: []Folder{{"scanner", dir}, {"camera", filepath.Join(dir, "missing")}},
		Queue:   func(context.Context) (checks.QueueState, error) { return checks.QueueState{Queued: 1}, nil },
	}
}

func TestDoctorReportsEveryCheck(t *testing.T) {
	rl := &relay{}
	rl.facilityDown.Store(true)
	svc := hcm.NewFake()
	svc.Set(hcm.DefaultServiceName, hcm.Stopped, 0)
	r := Run(context.Background(), at, 30e9, Probes(deps(t, rl, svc))...)
	got := map[string]health.Check{}
	for _, c := range r.Checks {
		got[c.Name] = c
	}
	for _, n := range []string{checks.NameAgent, hcm.CheckService, hcm.CheckTunnel, checks.NameRelay, checks.NameCredentials,
		checks.NameALEXToken, checks.NameFacility, checks.NameBacklog, checks.NameParked, checks.NameDisk, "folder.scanner", "folder.camera"} {
		if _, ok := got[n]; !ok {
			t.Errorf("doctor lacks %s", n)
		}
	}
	if got[hcm.CheckService].Fix != hcm.FixServiceStopped || got[checks.NameFacility].Fix != api.CauseFacilityOffline.Fix() || got["folder.camera"].Fix != checks.FixFolderGone {
		t.Errorf("fixes: %+v", r.Checks)
	}
	if r.State != health.Offline {
		t.Errorf("state %s", r.State)
	}
	var b strings.Builder
	Render(&b, r, nil)
	if !strings.Contains(b.String(), "✗ Hybrid Connection Manager: The Hybrid Connection Manager service is stopped") {
		t.Errorf("render:\n%s", b.String())
	}
}

func TestLiveWritesFacilityOfflineAndBack(t *testing.T) {
	rl := &relay{}
	svc := hcm.NewFake()
	svc.Set(hcm.DefaultServiceName, hcm.Running, 10)
	d := deps(t, rl, svc)
	d.HCMLatest = true
	d.Folders = nil
	ev := &events{}
	var reports atomic.Int32
	l := &Live{Probes: Probes(d), Events: ev, OnReport: func(health.Report) { reports.Add(1) }}
	ctx := context.Background()
	d.HCM.Poll(ctx)
	if r := l.RunOnce(ctx); r.State != health.OK {
		t.Fatalf("healthy: %+v", r)
	}
	if ev.all() != "" {
		t.Fatalf("healthy start wrote events: %s", ev.all())
	}
	rl.facilityDown.Store(true)
	svc.Set(hcm.DefaultServiceName, hcm.Stopped, 0)
	d.HCM.Poll(ctx) // the monitor logs HCM's own change; Live must not repeat it
	r := l.RunOnce(ctx)
	if r.State != health.Offline {
		t.Fatalf("offline: %+v", r)
	}
	first := r.Checks
	l.RunOnce(ctx)
	rl.facilityDown.Store(false)
	r = l.RunOnce(ctx)
	log := ev.all()
	if strings.Count(log, "error Medtech (this practice through ALEX): offline") != 1 || strings.Count(log, "info Medtech (this practice through ALEX): ok") != 1 {
		t.Fatalf("facility events:\n%s", log)
	}
	if strings.Contains(log, "Hybrid Connection Manager: offline") || strings.Contains(log, "Azure Relay tunnel") {
		t.Fatalf("HCM change written twice:\n%s", log)
	}
	for _, c := range first {
		if c.Since.IsZero() {
			t.Fatalf("no since on %s", c.Name)
		}
	}
	if reports.Load() != 4 || l.Report().At != r.At {
		t.Fatalf("reports %d", reports.Load())
	}
}

func TestQueueUnreadable(t *testing.T) {
	r := Run(context.Background(), at, 30e9, Probes(Deps{Queue: func(context.Context) (checks.QueueState, error) {
		return checks.QueueState{}, io.ErrUnexpectedEOF
	}})...)
	if len(r.Checks) != 1 || r.Checks[0].State != health.Unknown || r.Checks[0].Fix != FixQueueUnread {
		t.Fatalf("%+v", r.Checks)
	}
}
