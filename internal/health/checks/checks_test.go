package checks

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/client"
)

func TestAgentNotAnswering(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ping := func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	if c := Agent(context.Background(), ping); c.State != health.OK {
		t.Fatalf("listening agent: %+v", c)
	}
	ln.Close()
	c := Agent(context.Background(), ping)
	if c.State != health.Offline || !c.Critical || c.Fix != FixAgent {
		t.Fatalf("stopped agent: %+v", c)
	}
}

func TestDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if c := Disk(ctx, dir, 1); c.State != health.OK {
		t.Fatalf("1 byte needed: %+v", c)
	}
	c := Disk(ctx, dir, math.MaxUint64)
	if c.State != health.Degraded || c.Fix != FixDisk || !strings.Contains(c.Detail, "free on the spool drive") {
		t.Fatalf("disk full: %+v", c)
	}
	if c := Disk(ctx, filepath.Join(dir, "missing"), 1); c.State != health.Unknown || c.Fix != FixDiskUnread {
		t.Fatalf("missing spool: %+v", c)
	}
}

func TestFolder(t *testing.T) {
	dir := t.TempDir()
	if c := Folder("scanner", dir); c.State != health.OK || c.Name != "folder.scanner" {
		t.Fatalf("readable: %+v", c)
	}
	gone := filepath.Join(dir, "ZZZ0016 TESTING")
	c := Folder("scanner", gone)
	if c.State != health.Degraded || c.Fix != FixFolderGone {
		t.Fatalf("missing: %+v", c)
	}
	if strings.Contains(c.Detail, "ZZZ0016") {
		t.Fatalf("NHI in detail: %q", c.Detail)
	}
	file := filepath.Join(dir, "file.txt")
	os.WriteFile(file, []byte("x"), 0o600)
	if c := Folder("scanner", file); c.Fix != FixFolderNotDir {
		t.Fatalf("file: %+v", c)
	}
}

func TestQueue(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	cs := Queue(now, QueueState{Queued: 3, OldestQueued: now.Add(-time.Minute)}, QueueLimits{})
	if cs[0].State != health.OK || cs[1].State != health.OK {
		t.Fatalf("healthy: %+v", cs)
	}
	cs = Queue(now, QueueState{Queued: 3, Parked: 2, OldestQueued: now.Add(-2 * time.Hour)}, QueueLimits{})
	if cs[0].State != health.Degraded || cs[0].Fix != FixBacklog || !strings.Contains(cs[0].Detail, "2h0m0s") {
		t.Fatalf("old backlog: %+v", cs[0])
	}
	if cs[1].State != health.Degraded || cs[1].Fix != FixParked || !strings.Contains(cs[1].Detail, "2 images") {
		t.Fatalf("parked: %+v", cs[1])
	}
	if cs := Queue(now, QueueState{Queued: 51}, QueueLimits{}); cs[0].State != health.Degraded {
		t.Fatalf("long backlog: %+v", cs[0])
	}
	// With the relay's cause, the checks say why in its words.
	cs = Queue(now, QueueState{Parked: 1, Latest: Problem{Cause: api.CauseALEXForbidden},
		Unassigned: 2, LatestUnassigned: Problem{Cause: api.CausePatientNotFound}}, QueueLimits{})
	if cs[1].State != health.Degraded || !strings.Contains(cs[1].Detail, api.CauseALEXForbidden.Sentence()) || cs[1].Fix != api.CauseALEXForbidden.Fix() {
		t.Fatalf("parked with a cause: %+v", cs[1])
	}
	if cs[2].Name != NameUnassigned || cs[2].State != health.Degraded || !strings.Contains(cs[2].Detail, api.CausePatientNotFound.Sentence()) ||
		cs[2].Fix != api.CausePatientNotFound.Fix() {
		t.Fatalf("unassigned: %+v", cs[2])
	}
}

// relayStub is a real HTTP relay endpoint for the client: a token endpoint and
// /v1/health, each answering what the test sets.
type relayStub struct {
	tokenStatus  int
	healthStatus int
	health       api.Health
}

func (s *relayStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case api.PathToken:
		if s.tokenStatus != 0 {
			w.WriteHeader(s.tokenStatus)
			w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		w.Write([]byte(`{"access_token":"t","token_type":"Bearer","expires_in":3600}`))
	case api.PathHealth:
		if s.healthStatus != 0 {
			w.WriteHeader(s.healthStatus)
			if s.health.State == "" {
				code := map[int]string{500: api.CodeInternal, 429: api.CodeRateLimited}[s.healthStatus]
				w.Write([]byte(`{"error":"` + code + `","message":"boom","correlationId":"c1"}`))
				return
			}
		}
		json.NewEncoder(w).Encode(s.health)
	default:
		http.NotFound(w, r)
	}
}

func relayChecks(t *testing.T, stub *relayStub) map[string]health.Check {
	t.Helper()
	srv := httptest.NewServer(stub)
	defer srv.Close()
	c, err := client.New(srv.URL, client.Credentials{ClientID: "conn-1", Secret: "s3cret", Facility: "F2N060-E"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]health.Check{}
	for _, ch := range Relay(context.Background(), c) {
		out[ch.Name] = ch
	}
	return out
}

func healthy() api.Health {
	return api.Health{State: "ok", Checks: []api.HealthCheck{
		{Name: "relay", State: "ok"}, {Name: "alex.token", State: "ok"}, {Name: "alex.reachable", State: "ok"}, {Name: "facility.reachable", State: "ok"},
	}}
}

// TestRelayChecks: each failure the relay reports reads as its own cause: the
// practice's HCM offline, a facility Medtech does not know, the relay's ALEX
// sign-in, revoked credentials, a failing or busy relay.
func TestRelayChecks(t *testing.T) {
	cs := relayChecks(t, &relayStub{health: healthy()})
	for _, n := range []string{NameRelay, NameCredentials, NameALEXToken, NameFacility} {
		if cs[n].State != health.OK {
			t.Errorf("healthy relay: %s = %+v", n, cs[n])
		}
	}

	for _, cause := range []api.Cause{api.CauseFacilityOffline, api.CauseFacilityUnknown} {
		h := healthy()
		h.State = "offline"
		h.Checks[3] = api.HealthCheck{Name: "facility.reachable", State: "offline", Detail: "the relay's words", Cause: cause}
		cs = relayChecks(t, &relayStub{healthStatus: 503, health: h})
		if c := cs[NameFacility]; c.State != health.Offline || c.Detail != cause.Sentence() || c.Fix != cause.Fix() || !c.Critical {
			t.Fatalf("%s: %+v", cause, c)
		}
		if r := health.Aggregate(time.Now(), relayChecksSlice(cs)); r.State != health.Offline || !strings.HasSuffix(r.Summary, cause.Fix()) {
			t.Fatalf("%s aggregate: %+v", cause, r)
		}
	}
	// A relay from before causes: a failing facility check is the HCM, as it was.
	old := healthy()
	old.Checks[3] = api.HealthCheck{Name: "facility.reachable", State: "offline", Detail: "ALEX answered 503"}
	if c := relayChecks(t, &relayStub{healthStatus: 503, health: old})[NameFacility]; c.Fix != api.CauseFacilityOffline.Fix() {
		t.Fatalf("old relay: %+v", c)
	}

	noToken := healthy()
	noToken.Checks[1] = api.HealthCheck{Name: "alex.token", State: "offline", Cause: api.CauseALEXSignIn}
	if c := relayChecks(t, &relayStub{health: noToken})[NameALEXToken]; c.State != health.Offline || c.Fix != api.CauseALEXSignIn.Fix() {
		t.Fatalf("alex token: %+v", c)
	}

	cs = relayChecks(t, &relayStub{tokenStatus: 401})
	if c := cs[NameCredentials]; c.State != health.Offline || c.Fix != api.CauseCredentials.Fix() {
		t.Fatalf("revoked: %+v", c)
	}
	if cs[NameRelay].State != health.OK || cs[NameFacility].State != health.Unknown {
		t.Fatalf("revoked, others: %+v", cs)
	}

	if c := relayChecks(t, &relayStub{healthStatus: 500})[NameRelay]; c.State != health.Offline || c.Fix != api.CauseRelayFailing.Fix() {
		t.Fatalf("relay 500: %+v", c)
	}
	if c := relayChecks(t, &relayStub{healthStatus: 429})[NameRelay]; c.State != health.Degraded || c.Detail != api.CauseRelayBusy.Sentence() {
		t.Fatalf("relay busy: %+v", c)
	}
}

func TestRelayUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	url := "http://" + ln.Addr().String()
	ln.Close()
	c, err := client.New(url, client.Credentials{ClientID: "a", Secret: "b"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs := Relay(ctx, c)
	if cs[0].State != health.Offline || cs[0].Fix != api.CauseRelayUnreachable.Fix() {
		t.Fatalf("unreachable: %+v", cs[0])
	}
	for _, c := range cs[1:] {
		if c.State != health.Unknown {
			t.Fatalf("dependent check not unknown: %+v", c)
		}
	}
	if r := health.Aggregate(time.Now(), cs); !strings.Contains(r.Summary, api.CauseRelayUnreachable.Fix()) {
		t.Fatalf("summary: %q", r.Summary)
	}
}

func relayChecksSlice(m map[string]health.Check) []health.Check {
	var out []health.Check
	for _, n := range []string{NameRelay, NameCredentials, NameALEXToken, NameFacility} {
		out = append(out, m[n])
	}
	return out
}

func TestNetworkPath(t *testing.T) {
	for p, want := range map[string]bool{
		`\\fileserver\scans`: true, `\\fileserver\scans\referrals`: true, `//fileserver/scans`: true,
		`C:\Scans`: false, `/var/scans`: false, `\\?\C:\Scans`: false, `\\.\pipe\x`: false, `\\`: false, ``: false,
	} {
		if got := networkPath(p); got != want {
			t.Errorf("networkPath(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestUnreachableShareSaysWhoAndWhatToDo: a share the agent's account cannot reach
// (the computer account in a workgroup) is not "does not exist": the check names the
// account and says to grant it access or run the service as one that has it.
func TestUnreachableShareSaysWhoAndWhatToDo(t *testing.T) {
	path := `\\clinicpro-no-such-server.invalid\scans`
	if runtime.GOOS != "windows" {
		path = "//clinicpro-no-such-server.invalid/scans"
	}
	c := Folder("Scanner", path)
	if c.State != health.Degraded || c.Fix != FixFolderShare || !strings.Contains(c.Detail, "cannot be reached as") {
		t.Fatalf("unreachable share: %+v", c)
	}
	for _, want := range []string{"computer account", "dedicated account", "Watched folders on network shares"} {
		if !strings.Contains(c.Fix, want) {
			t.Errorf("fix lacks %q", want)
		}
	}
}
