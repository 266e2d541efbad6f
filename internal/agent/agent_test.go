package agent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/agent"
	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/localapi/localapitest"
	"github.com/clinicpro/medtech-images/internal/originals"
	"github.com/clinicpro/medtech-images/internal/profiles"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/testutil"
	"github.com/clinicpro/medtech-images/internal/upload"
	"github.com/clinicpro/medtech-images/internal/watch"
)

// fakeRelay accepts launches signed as the localapitest fake does, so the shared
// suite's launch requests work against the agent too.
type fakeRelay struct{}

func (fakeRelay) Launch(ctx context.Context, c, sig string) (client.Launch, error) {
	if sig != localapitest.SignatureFor(c) {
		return client.Launch{}, &client.Error{Kind: client.Permanent, Status: 403, Code: api.CodeForbidden,
			Message: "Medtech did not accept this launch: click the ClinicPro icon in Medtech again.", Correlation: "corr-1"}
	}
	l := client.Launch{Facility: localapitest.TestFacility, ProviderID: "prov-1"}
	if b, id, ok := localapitest.PatientOf(c); ok {
		l.Patient = &client.Patient{ID: id, NHI: b.NHI, Name: b.Name, BirthDate: b.BirthDate, Family: b.Family, Given: b.Given, Sex: b.Sex}
	}
	return l, nil
}

func (fakeRelay) LookupPatient(ctx context.Context, n string) (client.Patient, error) {
	if n != localapitest.TestNHI {
		return client.Patient{}, &client.Error{Kind: client.Permanent, Status: 404, Code: api.CodeNotFound,
			Message: "No patient with that NHI number at this practice: check the number."}
	}
	return client.Patient{ID: "14e52e16edb7a435bfa05e307afd008b", NHI: n, Name: localapitest.TestName, BirthDate: localapitest.TestBirthDate,
		Family: localapitest.TestFamily, Given: localapitest.TestGiven, Sex: localapitest.TestSex}, nil
}

func (fakeRelay) Health(ctx context.Context) (client.Health, error) {
	return client.Health{State: "ok", Checks: []api.HealthCheck{{Name: "alex.token", State: "ok"}, {Name: "facility.reachable", State: "ok"}}}, nil
}

// refusingUploads is a relay that refuses every document, so saved items end up
// parked: the suite needs parked items and this reaches them through the real uploader.
type refusingUploads struct{}

func (refusingUploads) Upload(ctx context.Context, d upload.Document) (upload.Receipt, error) {
	return upload.Receipt{}, &upload.Error{Cause: api.CauseRefused, Msg: "Medtech refused the file: it is not a supported image."}
}

func (refusingUploads) ReadBack(ctx context.Context, id, corr string) (upload.Stored, error) {
	return upload.Stored{}, errors.New("never called")
}

// holdingUploads never finishes an upload: an enrolled agent whose items wait,
// for tests about everything but sending.
type holdingUploads struct{}

func (holdingUploads) Upload(ctx context.Context, d upload.Document) (upload.Receipt, error) {
	<-ctx.Done()
	return upload.Receipt{}, ctx.Err()
}

func (holdingUploads) ReadBack(ctx context.Context, id, corr string) (upload.Stored, error) {
	<-ctx.Done()
	return upload.Stored{}, ctx.Err()
}

// launcher is the part of the relay the launch tests stand in.
type launcher interface {
	Launch(ctx context.Context, launchContext, signature string) (client.Launch, error)
	LookupPatient(ctx context.Context, nhi string) (client.Patient, error)
	Health(ctx context.Context) (client.Health, error)
}

// testRelay is an enrolled agent's relay made of the parts a test stands in.
type testRelay struct {
	launcher
	upload.Relay
	agent.PhoneRelay
}

type env struct {
	a       *agent.Agent
	dir     string
	inbox   string // watched folder, routing "unassigned"
	byNHI   string // watched folder, routing "nhi"
	session string // watched folder, routing "session"
	logs    *testutil.Buffer
	cancel  context.CancelFunc
	done    chan struct{}
	phone   *fakePhoneRelay

	mu     sync.Mutex
	opened map[string]localapi.Peer // sessions a test opened, and as whom
}

type envOpt struct {
	relay   launcher // nil: not enrolled
	phone   *fakePhoneRelay
	uploads upload.Relay
	noRun   bool
	dir     string
	now     func() time.Time
	// profiles stands in for Windows' signed-in users; folders adds [[folder]] blocks.
	profiles  profiles.Source
	folders   string
	converter upload.Converter
}

func newEnv(t *testing.T, o envOpt) *env {
	t.Helper()
	e := &env{dir: o.dir, logs: &testutil.Buffer{}, phone: o.phone}
	if e.dir == "" {
		e.dir = t.TempDir()
	}
	e.inbox = filepath.Join(e.dir, "watch", "Scans")
	e.byNHI = filepath.Join(e.dir, "watch", "ByNHI")
	e.session = filepath.Join(e.dir, "watch", "Camera")
	for _, d := range []string{e.inbox, e.byNHI, e.session} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse([]byte(`stability_window = "100ms"
scan_interval = "1s"
[[folder]]
path = '` + e.inbox + `'
label = "Scans"
routing = "unassigned"
[[folder]]
path = '` + e.byNHI + `'
label = "ByNHI"
routing = "nhi"
[[folder]]
path = '` + e.session + `'
label = "Camera"
routing = "session"
` + o.folders))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := agent.Options{
		Paths: config.DefaultPaths(e.dir), Config: cfg, Log: log,
		Backoff:      upload.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Breaker:      upload.BreakerPolicy{Cooldown: 10 * time.Millisecond, MaxCooldown: 50 * time.Millisecond},
		PollInterval: 200 * time.Millisecond, HealthInterval: time.Second, Now: o.now,
		Profiles: o.profiles, UsersInterval: 50 * time.Millisecond, Converter: o.converter,
	}
	if o.relay != nil {
		r := testRelay{launcher: o.relay, Relay: o.uploads, PhoneRelay: o.phone}
		if r.Relay == nil {
			r.Relay = holdingUploads{}
		}
		if o.phone == nil {
			r.PhoneRelay = newFakePhoneRelay()
		}
		opts.Enrolment = &agent.Enrolment{Relay: r, URL: "http://127.0.0.1:1", Facility: localapitest.TestFacility}
	}
	a, err := agent.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	e.a = a
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	if o.noRun {
		close(e.done)
	} else {
		go func() { defer close(e.done); a.Run(ctx) }()
	}
	t.Cleanup(func() {
		e.stop()
		if s := e.logs.String(); localapitest.Contains(s) {
			t.Errorf("the agent's log names the test patient:\n%s", s)
		}
	})
	return e
}

func (e *env) stop() {
	e.cancel()
	<-e.done
	e.a.Close()
}

// waitFor polls cond (no fixed sleeps: the machine is shared and slow).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, what, 60*time.Second, 20*time.Millisecond, cond)
}

func (e *env) harness(t *testing.T) localapitest.Harness {
	h := localapitest.FakeHarness(localapitest.NewFake())
	h.Svc = e.a
	h.AddUnassigned = func(t *testing.T, name string, data []byte) localapi.Item {
		p := filepath.Join(e.inbox, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := e.a.HandleFile(context.Background(), watch.File{Folder: e.folder("Scans"), Path: p, Rel: name}); err != nil {
			t.Fatal(err)
		}
		items, _ := e.a.Unassigned(context.Background())
		for _, it := range items {
			if it.FileName == name {
				return it
			}
		}
		t.Fatalf("%s did not reach Unassigned", name)
		return localapi.Item{}
	}
	h.PhoneSend = func(t *testing.T, id string, jpg []byte) { e.phone.send(id, jpg, "2024-05-01T10:11:12") }
	h.Park = func(t *testing.T, id string) {
		waitFor(t, "the refusing relay to park the item", func() bool {
			it, err := e.a.Item(context.Background(), id)
			return err == nil && it.State == localapi.StateParked
		})
	}
	return h
}

func (e *env) folder(label string) config.Folder {
	for _, f := range []config.Folder{
		{Path: e.inbox, Label: "Scans", Routing: config.RoutingUnassigned, SourceAction: config.ActionMove, Format: config.FormatAuto},
		{Path: e.byNHI, Label: "ByNHI", Routing: config.RoutingNHI, SourceAction: config.ActionMove, Format: config.FormatAuto},
		{Path: e.session, Label: "Camera", Routing: config.RoutingSession, SourceAction: config.ActionMove, Format: config.FormatAuto},
	} {
		if f.Label == label {
			return f
		}
	}
	panic(label)
}

func TestSuiteDirect(t *testing.T) {
	localapitest.Run(t, func(t *testing.T) localapitest.Harness {
		e := newEnv(t, envOpt{relay: fakeRelay{}, uploads: refusingUploads{}, phone: newFakePhoneRelay()})
		return e.harness(t)
	})
}

func TestSuiteOverTheWire(t *testing.T) {
	localapitest.Run(t, func(t *testing.T) localapitest.Harness {
		e := newEnv(t, envOpt{relay: fakeRelay{}, uploads: refusingUploads{}, phone: newFakePhoneRelay()})
		h := e.harness(t)
		srv := httptest.NewServer(localapi.NewHandler(e.a, e.a.Log()))
		t.Cleanup(srv.Close)
		addr := strings.TrimPrefix(srv.URL, "http://")
		c := localapi.NewClient(func(ctx context.Context) (netConn, error) { return dialTCP(ctx, addr) })
		t.Cleanup(c.Close)
		h.Svc = c
		return h
	})
}

func TestWatchedFoldersRoute(t *testing.T) {
	e := newEnv(t, envOpt{relay: fakeRelay{}})
	ctx := context.Background()
	jpg := localapitest.JPEG(t)
	write := func(dir, name string) {
		if err := os.WriteFile(filepath.Join(dir, name), jpg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	find := func(name string) func() bool {
		return func() bool {
			for _, list := range [][]localapi.Item{must(e.a.Queue(ctx)), must(e.a.Unassigned(ctx))} {
				for _, it := range list {
					if it.FileName == name {
						return true
					}
				}
			}
			return false
		}
	}
	state := func(name string) localapi.Item {
		for _, list := range [][]localapi.Item{must(e.a.Queue(ctx)), must(e.a.Unassigned(ctx))} {
			for _, it := range list {
				if it.FileName == name {
					return it
				}
			}
		}
		t.Fatalf("%s not found", name)
		return localapi.Item{}
	}

	// An NHI in the name routes to that patient; none, or a mistyped one, waits.
	write(e.byNHI, "ZZZ0016 knee.jpg")
	write(e.byNHI, "elbow.jpg")
	write(e.byNHI, "ZZZ0017 typo.jpg")
	for _, n := range []string{"ZZZ0016 knee.jpg", "elbow.jpg", "ZZZ0017 typo.jpg"} {
		waitFor(t, n+" to be taken", find(n))
	}
	// The relay here never finishes an upload, so the item waits on its way.
	if it := state("ZZZ0016 knee.jpg"); it.State != localapi.StateQueued && it.State != localapi.StateUploading {
		t.Errorf("NHI-named file is %s, want it on its way to the patient (queued or uploading)", it.State)
	}
	if it := state("elbow.jpg"); it.State != localapi.StateUnassigned || it.Reason != watch.ReasonNoNHI {
		t.Errorf("file without NHI: %+v", it)
	}
	if it := state("ZZZ0017 typo.jpg"); it.State != localapi.StateUnassigned || it.Reason != watch.ReasonBadNHI {
		t.Errorf("file with a mistyped NHI: %+v", it)
	}

	// A "session" folder waits without a window (a session opened by NHI for
	// `clinicpro send` is not a window), and stages into the open one.
	if _, err := e.a.Launch(ctx, localapi.LaunchRequest{NHI: localapitest.TestNHI}); err != nil {
		t.Fatal(err)
	}
	write(e.session, "before.jpg")
	waitFor(t, "before.jpg", find("before.jpg"))
	if it := state("before.jpg"); it.State != localapi.StateUnassigned || it.Reason != agent.ReasonNoWindow {
		t.Errorf("session-folder file without a window: %+v", it)
	}
	s, err := e.a.Launch(ctx, localapi.LaunchRequest{Context: localapitest.ContextPatient, Signature: localapitest.SignatureFor(localapitest.ContextPatient)})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := e.a.Events(ctx)
	write(e.session, "during.jpg")
	var staged localapi.Item
	waitFor(t, "during.jpg staged in the window", func() bool {
		select {
		case ev := <-ch:
			if ev.Type == localapi.EventItem && ev.Item.FileName == "during.jpg" && ev.Item.State == localapi.StateStaged {
				staged = *ev.Item
				return true
			}
		default:
		}
		return false
	})
	if staged.SessionID != s.ID {
		t.Fatalf("staged in session %q, want %q", staged.SessionID, s.ID)
	}
	// Closing the window unsaved returns a watched file to Unassigned (its original
	// is still in the folder), it does not drop it.
	if err := e.a.CloseSession(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if it, _ := e.a.Item(ctx, staged.ID); it.State != localapi.StateUnassigned {
		t.Fatalf("after close: %+v, want unassigned", it)
	}
	// Reject moves the original to Rejected beside it; nothing is deleted.
	if _, err := e.a.Reject(ctx, staged.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.session, originals.RejectedDir, "during.jpg")); err != nil {
		t.Fatalf("rejected original not in Rejected: %v", err)
	}
}

// serveLaunchPage runs the launch page as the agent does (localapi.NewServer, which
// asks the OS who opened each connection) on a loopback port.
func serveLaunchPage(t *testing.T, e *env) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := localapi.NewServer(localapi.NewLaunchPage(e.a.OpenWebLaunch, e.a.Log()))
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

func getPage(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestWebLaunchReachesOnlyTheCallersTray(t *testing.T) {
	e := newEnv(t, envOpt{relay: fakeRelay{}})
	base := serveLaunchPage(t, e)
	me, err := localapi.Self()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mine, _ := e.a.Events(localapi.WithPeer(ctx, me))
	// Another GP signed in to the same Remote Desktop server, and the same user's
	// second session: neither may see this launch.
	other, _ := e.a.Events(localapi.WithPeer(ctx, localapi.Peer{User: "S-1-5-21-1-2-3-1105", Session: me.Session + 1}))
	sameUserOtherSession, _ := e.a.Events(localapi.WithPeer(ctx, localapi.Peer{User: me.User, Session: me.Session + 2}))

	code, body := getPage(t, base+"/launch?context="+localapitest.ContextPatient+"&signature="+localapitest.SignatureFor(localapitest.ContextPatient))
	if code != 200 || !strings.Contains(body, "has opened") || localapitest.Contains(body) {
		t.Fatalf("page: %d %s", code, body)
	}
	var id string
	for id == "" {
		select {
		case ev := <-mine:
			if ev.Type == localapi.EventLaunch {
				if ev.Session.Banner != (localapi.Banner{}) {
					t.Fatalf("the launch event carries the banner; it must carry only the session id: %+v", ev.Session)
				}
				id = ev.Session.ID
			}
		case <-ctx.Done():
			t.Fatal("no launch event")
		}
	}
	// The caller's tray reads the patient over its own channel.
	s, err := e.a.Session(localapi.WithPeer(ctx, me), id)
	if err != nil || s.Banner.NHI != localapitest.TestNHI {
		t.Fatalf("Session by its opener = %+v, %v", s, err)
	}
	if _, err := e.a.AddFile(ctx, id, localapi.NewFile{Name: "a.jpg"}, bytes.NewReader(localapitest.JPEG(t))); err != nil {
		t.Fatal(err)
	}
	for _, p := range []localapi.Peer{{User: "S-1-5-21-1-2-3-1105", Session: me.Session + 1}, {User: me.User, Session: me.Session + 2}, {}} {
		if _, err := e.a.Session(localapi.WithPeer(ctx, p), id); !errors.Is(err, localapi.ErrNotFound) {
			t.Errorf("Session read by %v: err = %v, want not found", p, err)
		}
	}
	for name, ch := range map[string]<-chan localapi.Event{"another user": other, "the same user's other session": sameUserOtherSession} {
	drain:
		for {
			select {
			case ev := <-ch:
				if ev.Type == localapi.EventLaunch {
					t.Errorf("%s received the launch", name)
				}
			default:
				break drain
			}
		}
	}
}

func TestWebLaunchAttacksRefused(t *testing.T) {
	e := newEnv(t, envOpt{relay: fakeRelay{}})
	base := serveLaunchPage(t, e)
	url := base + "/launch?context=" + localapitest.ContextPatient + "&signature=" + localapitest.SignatureFor(localapitest.ContextPatient)

	// HEAD (a link preview or prefetch) neither spends the launch nor opens a session.
	resp, err := http.Head(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("HEAD: %d, want 405", resp.StatusCode)
	}
	// Another site embedding the URL as an image, or fetching it.
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"},
		{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
		{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate"},
		{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "cors"},
		{"Sec-Fetch-Dest": "iframe"},
	} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Open this link from Medtech") {
			t.Errorf("%v: %d %s, want 403", h, resp.StatusCode, body)
		}
	}
	if opened := e.a.OpenSessions(); opened != 0 {
		t.Fatalf("%d sessions were opened by refused requests", opened)
	}

	// The real click, as a browser opened by Medtech sends it, works once.
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Sec-Fetch-Site", "none")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Dest", "document")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the real click: %d", resp.StatusCode)
	}
	// Replayed from the browser's history: refused, no second session.
	if code, body := getPage(t, url); code != http.StatusForbidden || !strings.Contains(body, "could not be verified") {
		t.Fatalf("replay: %d %s", code, body)
	}
	// The same launch through the tray's own channel is refused too.
	if _, err := e.a.Launch(context.Background(), localapi.LaunchRequest{Context: localapitest.ContextPatient, Signature: localapitest.SignatureFor(localapitest.ContextPatient)}); !errors.Is(err, localapi.ErrLaunch) || !strings.Contains(err.Error(), "already been used") {
		t.Fatalf("replay over the pipe: err = %v", err)
	}
	if opened := e.a.OpenSessions(); opened != 1 {
		t.Fatalf("%d sessions opened, want 1", opened)
	}

	// A caller the OS cannot identify (the launch page served without peer lookup).
	srv := httptest.NewServer(localapi.NewLaunchPage(e.a.OpenWebLaunch, e.a.Log()))
	defer srv.Close()
	if code, body := getPage(t, srv.URL+"/launch?context=fresh&signature="+localapitest.SignatureFor("fresh")); code != http.StatusForbidden || !strings.Contains(body, "could not tell who opened") {
		t.Fatalf("unknown caller: %d %s", code, body)
	}
}

func TestLaunchReleasedWhenRelayUnreachable(t *testing.T) {
	e := newEnv(t, envOpt{relay: &flakyRelay{}})
	req := localapi.LaunchRequest{Context: localapitest.ContextPatient, Signature: localapitest.SignatureFor(localapitest.ContextPatient)}
	if _, err := e.a.Launch(context.Background(), req); !errors.Is(err, localapi.ErrUnavailable) {
		t.Fatalf("first try: err = %v, want unavailable", err)
	}
	// The relay was never asked to decide, so the GP's second click must work.
	if _, err := e.a.Launch(context.Background(), req); err != nil {
		t.Fatalf("retry after the relay came back: %v", err)
	}
}

// flakyRelay cannot be reached for its first launch, then behaves like fakeRelay.
type flakyRelay struct {
	fakeRelay
	calls atomic.Int32
}

func (f *flakyRelay) Launch(ctx context.Context, c, sig string) (client.Launch, error) {
	if f.calls.Add(1) == 1 {
		return client.Launch{}, &client.Error{Kind: client.Retryable, Message: "The relay did not answer."}
	}
	return f.fakeRelay.Launch(ctx, c, sig)
}

func TestTamperedLaunchCarriesRelaySentenceAndCorrelation(t *testing.T) {
	e := newEnv(t, envOpt{relay: fakeRelay{}})
	_, err := e.a.Launch(context.Background(), localapi.LaunchRequest{Context: "x", Signature: "forged"})
	var ae *localapi.APIError
	if !errors.As(err, &ae) || ae.Code != localapi.CodeLaunch || ae.Correlation != "corr-1" || !strings.Contains(ae.Message, "Medtech did not accept") {
		t.Fatalf("err = %#v", err)
	}
}

func TestNotEnrolled(t *testing.T) {
	e := newEnv(t, envOpt{})
	ctx := context.Background()
	if _, err := e.a.Launch(ctx, localapi.LaunchRequest{Context: "c", Signature: "s"}); !errors.Is(err, localapi.ErrNotEnrolled) {
		t.Fatalf("Launch: err = %v, want not enrolled", err)
	}
	st, err := e.a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Enrolled || st.Health.State != "offline" || !strings.Contains(st.Health.Summary, "clinicpro enrol") {
		t.Fatalf("status = %+v", st)
	}
}

func TestAddFileRefusesNonImages(t *testing.T) {
	e := newEnv(t, envOpt{relay: fakeRelay{}})
	ctx := context.Background()
	s, _ := e.a.Launch(ctx, localapi.LaunchRequest{Context: localapitest.ContextPatient, Signature: localapitest.SignatureFor(localapitest.ContextPatient)})
	for name, body := range map[string][]byte{
		"notes.jpg": []byte("just some text pretending to be a photo"),
		"empty.jpg": nil,
		"doc.docx":  []byte("PK\x03\x04 office document"),
	} {
		if _, err := e.a.AddFile(ctx, s.ID, localapi.NewFile{Name: name}, bytes.NewReader(body)); !errors.Is(err, localapi.ErrBadRequest) {
			t.Errorf("%s: err = %v, want bad request", name, err)
		}
	}
	// HEIC where the PC cannot read it (here: no Windows codec) is refused
	// with the converter's sentence: how to get the codec, or set the iPhone.
	heic := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 64)...)
	if _, err := e.a.AddFile(ctx, s.ID, localapi.NewFile{Name: "IMG_0001.HEIC"}, bytes.NewReader(heic)); !errors.Is(err, localapi.ErrBadRequest) ||
		!strings.Contains(err.Error(), "Most Compatible") {
		t.Errorf("HEIC: err = %v, want bad request saying how", err)
	}
}

func TestPauseSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, envOpt{dir: dir, noRun: true})
	if _, err := e.a.Pause(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	e.a.Close()
	e2 := newEnv(t, envOpt{dir: dir, noRun: true})
	if !e2.a.Paused() {
		t.Fatal("pause forgotten across a restart")
	}
	st, _ := e2.a.Pause(context.Background(), false)
	if st.Paused || e2.a.Paused() {
		t.Fatal("resume did not resume")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// memoryUploads stores what it is sent, as a relay with a working ALEX would.
type memoryUploads struct {
	mu   sync.Mutex
	docs map[string][]byte
	keys map[string]string
}

func (m *memoryUploads) Upload(ctx context.Context, d upload.Document) (upload.Receipt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.docs == nil {
		m.docs, m.keys = map[string][]byte{}, map[string]string{}
	}
	if id, ok := m.keys[d.IdempotencyKey]; ok {
		return upload.Receipt{DocumentID: id}, nil
	}
	id := fmt.Sprintf("doc-%d", len(m.docs)+1)
	m.docs[id], m.keys[d.IdempotencyKey] = d.Data, id
	return upload.Receipt{DocumentID: id}, nil
}

func (m *memoryUploads) ReadBack(ctx context.Context, id, corr string) (upload.Stored, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return upload.Stored{ContentType: "image/tiff", Data: m.docs[id]}, nil
}

func (m *memoryUploads) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.docs)
}

func TestDuplicateOfSentFileIsNotSentAgainAndMovesToSent(t *testing.T) {
	up := &memoryUploads{}
	e := newEnv(t, envOpt{relay: fakeRelay{}, uploads: up})
	jpg := localapitest.UniqueJPEG(t)
	os.WriteFile(filepath.Join(e.byNHI, "ZZZ0016 first.jpg"), jpg, 0o644)
	sentDir := filepath.Join(e.byNHI, originals.SentDir)
	waitFor(t, "the first copy sent", func() bool {
		_, err := os.Stat(filepath.Join(sentDir, "ZZZ0016 first.jpg"))
		return err == nil
	})
	os.WriteFile(filepath.Join(e.byNHI, "ZZZ0016 again.jpg"), jpg, 0o644)
	waitFor(t, "the second copy moved to Sent", func() bool {
		_, err := os.Stat(filepath.Join(sentDir, "ZZZ0016 again.jpg"))
		return err == nil
	})
	if n := up.count(); n != 1 {
		t.Fatalf("%d documents stored for one content, want 1", n)
	}
}

func TestIdleSessionsExpire(t *testing.T) {
	clk := testutil.NewClock(time.Now())
	e := newEnv(t, envOpt{relay: fakeRelay{}, noRun: true, now: clk.Now})
	ctx := context.Background()
	s, err := e.a.Launch(ctx, localapi.LaunchRequest{NHI: localapitest.TestNHI})
	if err != nil {
		t.Fatal(err)
	}
	dropped, err := e.a.AddFile(ctx, s.ID, localapi.NewFile{Name: "drop.jpg"}, bytes.NewReader(localapitest.UniqueJPEG(t)))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(e.session, "watched.jpg")
	os.WriteFile(p, localapitest.UniqueJPEG(t), 0o644)
	if err := e.a.HandleFile(ctx, watch.File{Folder: e.folder("Camera"), Path: p, Rel: "watched.jpg"}); err != nil {
		t.Fatal(err)
	}
	clk.Add(11 * time.Hour)
	agent.ExpireSessions(e.a, ctx)
	if _, err := e.a.Item(ctx, dropped.ID); err != nil {
		t.Fatalf("a session used 11 h ago expired early: %v", err)
	}
	clk.Add(13 * time.Hour)
	agent.ExpireSessions(e.a, ctx)
	if _, err := e.a.AddFile(ctx, s.ID, localapi.NewFile{Name: "late.jpg"}, bytes.NewReader(localapitest.UniqueJPEG(t))); !errors.Is(err, localapi.ErrNotFound) {
		t.Fatalf("AddFile to an expired session: err = %v, want not found", err)
	}
	if _, err := e.a.Item(ctx, dropped.ID); !errors.Is(err, localapi.ErrNotFound) {
		t.Fatalf("an expired session's drop: err = %v, want dropped", err)
	}
	list, _ := e.a.Unassigned(ctx)
	if len(list) != 1 || list[0].FileName != "watched.jpg" {
		t.Fatalf("unassigned after expiry = %+v, want the watched file back", list)
	}
}

// Issue 20: the running agent prunes sent items past sent_retention (here at its
// start, 91 days after the photo was sent), and only those.
func TestAgentPrunesSentItemsPastTheRetention(t *testing.T) {
	up := &memoryUploads{}
	clk := testutil.NewClock(time.Now())
	dir := t.TempDir()
	e := newEnv(t, envOpt{relay: fakeRelay{}, uploads: up, dir: dir, now: clk.Now})
	os.WriteFile(filepath.Join(e.byNHI, "ZZZ0016 sent.jpg"), localapitest.UniqueJPEG(t), 0o644)
	ctx := context.Background()
	var sent localapi.Item
	waitFor(t, "the photo sent", func() bool {
		items, _ := e.a.Queue(ctx)
		if len(items) == 1 && items[0].State == localapi.StateSent {
			sent = items[0]
		}
		return sent.ID != ""
	})
	e.stop()
	clk.Add(91 * 24 * time.Hour)
	e = newEnv(t, envOpt{relay: fakeRelay{}, uploads: up, dir: dir, now: clk.Now})
	waitFor(t, "the sent item pruned", func() bool {
		_, err := e.a.Item(ctx, sent.ID)
		return errors.Is(err, localapi.ErrNotFound)
	})
	// The log line follows the delete, so it may trail the item's disappearance.
	waitFor(t, "the pruning logged", func() bool { return strings.Contains(e.logs.String(), "pruned sent items") })
}

// TestCloseTraysForAnUpgrade: the installer (the agent's own account) asks every tray,
// in every session, to exit; each tray's stream ends as it does, and the agent answers
// once they are gone. Any other user may not close everyone's trays.
func TestCloseTraysForAnUpgrade(t *testing.T) {
	e := newEnv(t, envOpt{relay: fakeRelay{}})
	me, err := localapi.Self()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []localapi.Peer{{User: "S-1-5-21-1-2-3-1001", Session: 2}, {User: "S-1-5-21-1-2-3-1002", Session: 3}} {
		ctx, cancel := context.WithCancel(localapi.WithPeer(context.Background(), p))
		t.Cleanup(cancel)
		ch, _ := e.a.Events(ctx)
		go func() { // a tray: exits when told to
			for ev := range ch {
				if ev.Type == localapi.EventClose {
					cancel()
				}
			}
		}()
	}
	gp := localapi.WithPeer(context.Background(), localapi.Peer{User: "S-1-5-21-1-2-3-1001", Session: 2})
	if _, err := e.a.CloseTrays(gp); !errors.Is(err, localapi.ErrForbidden) {
		t.Fatalf("a GP closing every tray: err = %v, want forbidden", err)
	}
	res, err := e.a.CloseTrays(localapi.WithPeer(context.Background(), me))
	if err != nil || res.Asked != 2 || res.StillOpen != 0 {
		t.Fatalf("CloseTrays = %+v, %v; want 2 asked and none left", res, err)
	}
}
