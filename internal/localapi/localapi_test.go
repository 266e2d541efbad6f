package localapi_test

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
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/localapi/localapitest"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// shortDir keeps unix socket paths under the 108-byte limit that long test names in
// t.TempDir() can exceed.
func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "lapi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// serve runs h on l until the test ends.
func serve(t *testing.T, l net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		srv.Close()
		<-done
	})
}

func overListener(t *testing.T, l net.Listener, dial localapi.DialFunc) localapitest.Harness {
	f := localapitest.NewFake()
	h := localapitest.FakeHarness(f)
	serve(t, l, localapi.NewHandler(f, nil))
	c := localapi.NewClient(dial)
	t.Cleanup(c.Close)
	h.Svc = c
	return h
}

func TestSuiteDirect(t *testing.T) {
	localapitest.Run(t, func(t *testing.T) localapitest.Harness {
		return localapitest.FakeHarness(localapitest.NewFake())
	})
}

func TestSuiteOverUnixSocket(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the Windows transport is a named pipe")
	}
	localapitest.Run(t, func(t *testing.T) localapitest.Harness {
		addr := localapi.DefaultAddress(shortDir(t))
		l, err := localapi.Listen(addr)
		if err != nil {
			t.Fatal(err)
		}
		return overListener(t, l, localapi.Dialer(addr))
	})
}

func tcpListener(t *testing.T) (net.Listener, localapi.DialFunc) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	return l, func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

func TestSuiteOverTCP(t *testing.T) {
	localapitest.Run(t, func(t *testing.T) localapitest.Harness {
		l, dial := tcpListener(t)
		return overListener(t, l, dial)
	})
}

func TestOriginRefused(t *testing.T) {
	f := localapitest.NewFake()
	srv := httptest.NewServer(localapi.NewHandler(f, nil))
	defer srv.Close()
	for _, tc := range []struct{ method, path, origin string }{
		{"GET", localapi.PathStatus, "https://evil.example"},
		{"POST", localapi.PathPause, "null"},
		{"GET", localapi.PathEvents, ""}, // present but empty still counts
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(`{"paused":true}`))
		req.Header["Origin"] = []string{tc.origin}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), localapi.CodeForbidden) {
			t.Errorf("%s %s with Origin: %d %s, want 403 forbidden", tc.method, tc.path, resp.StatusCode, body)
		}
	}
	if st, _ := f.Status(context.Background()); st.Paused {
		t.Fatal("a request with Origin paused the agent")
	}
	// Without Origin the same request works: the refusal is about the header.
	resp, err := http.Post(srv.URL+localapi.PathPause, "application/json", strings.NewReader(`{"paused":true}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("plain request: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestOddIDsAreNotFound(t *testing.T) {
	l, dial := tcpListener(t)
	serve(t, l, localapi.NewHandler(localapitest.NewFake(), nil))
	c := localapi.NewClient(dial)
	defer c.Close()
	for _, id := range []string{"ZZZ0016 knee", strings.Repeat("a", 65), "..", "a/b"} {
		if _, err := c.Item(context.Background(), id); !errors.Is(err, localapi.ErrNotFound) {
			t.Errorf("Item(%q): err = %v, want not found", id, err)
		}
	}
}

func TestBadJSONIsBadRequest(t *testing.T) {
	srv := httptest.NewServer(localapi.NewHandler(localapitest.NewFake(), nil))
	defer srv.Close()
	resp, err := http.Post(srv.URL+localapi.PathLaunch, "application/json", strings.NewReader(`{"url":`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", resp.StatusCode)
	}
}

func TestClientReportsAgentDown(t *testing.T) {
	c := localapi.Dial(filepath.Join(shortDir(t), "absent.sock"))
	_, err := c.Status(context.Background())
	if !errors.Is(err, localapi.ErrAgentDown) {
		t.Fatalf("err = %v, want ErrAgentDown", err)
	}
}

func TestLaunchPage(t *testing.T) {
	f := localapitest.NewFake()
	var logs testutil.Buffer
	log := slog.New(redact.NewHandler(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	failing := func(ctx context.Context, req localapi.LaunchRequest) (bool, error) {
		return false, errors.New("relay down at " + req.Context)
	}
	mux := http.NewServeMux()
	mux.Handle("/launch", localapi.NewLaunchPage(f.OpenWebLaunch, log))
	mux.Handle("/down/launch", http.StripPrefix("/down", localapi.NewLaunchPage(failing, log)))
	// As the agent serves it: each connection's peer comes from the OS.
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnContext = localapi.ConnContext
	srv.Start()
	defer srv.Close()
	me := self(t)

	get := func(path string, q url.Values) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), "<title>ClinicPro Images</title>") {
			t.Errorf("page title is not the fixed one: %s", b)
		}
		if localapitest.Contains(string(b)) || strings.Contains(string(b), q.Get("context")) && q.Get("context") != "" {
			t.Errorf("page echoes patient data or the launch token: %s", b)
		}
		return resp.StatusCode, string(b)
	}
	good := url.Values{"context": {localapitest.ContextPatient}, "signature": {localapitest.SignatureFor(localapitest.ContextPatient)}}

	// No tray listening: the page says so.
	if code, body := get("/launch", good); code != 200 || !strings.Contains(body, "not running") {
		t.Fatalf("no tray: %d %s", code, body)
	}

	// A tray listening: it receives the session, the page says opened.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Another user's tray on the same PC does not count, and hears nothing.
	other, _ := f.Events(localapi.WithPeer(ctx, localapi.Peer{User: "uid:4242", Session: 3}))
	if code, body := get("/launch", good); code != 200 || !strings.Contains(body, "not running") {
		t.Fatalf("only another user's tray: %d %s", code, body)
	}
	ch, _ := f.Events(localapi.WithPeer(ctx, me))
	if code, body := get("/launch", good); code != 200 || !strings.Contains(body, "ClinicPro Images has opened") {
		t.Fatalf("with tray: %d %s", code, body)
	}
	select {
	case e := <-ch:
		if e.Type != localapi.EventLaunch || e.Session == nil || e.Session.ID == "" || e.Session.Banner != (localapi.Banner{}) {
			t.Fatalf("event = %+v, want a launch carrying only the session id", e)
		}
		s, err := f.Session(localapi.WithPeer(ctx, me), e.Session.ID)
		if err != nil || s.Banner.NHI != localapitest.TestNHI {
			t.Fatalf("the tray reading its launch: %+v, %v", s, err)
		}
		if _, err := f.Session(localapi.WithPeer(ctx, localapi.Peer{User: "uid:4242", Session: 3}), e.Session.ID); !errors.Is(err, localapi.ErrNotFound) {
			t.Fatalf("another user read the session: err = %v", err)
		}
	case <-ctx.Done():
		t.Fatal("no launch event")
	}
	select {
	case e := <-other:
		t.Fatalf("another user's tray received %+v", e)
	default:
	}

	tampered := url.Values{"context": {localapitest.ContextPatient}, "signature": {"forged"}}
	if code, body := get("/launch", tampered); code != http.StatusForbidden || !strings.Contains(body, "could not be verified") {
		t.Fatalf("tampered: %d %s", code, body)
	}
	if code, _ := get("/launch", url.Values{"context": {"x"}}); code != http.StatusBadRequest {
		t.Fatalf("incomplete: %d", code)
	}
	if code, body := get("/down/launch", good); code != http.StatusServiceUnavailable || !strings.Contains(body, "could not reach") {
		t.Fatalf("relay down: %d %s", code, body)
	}
	if !strings.Contains(logs.String(), "web launch failed") {
		t.Fatalf("the failure was not logged: %q", logs.String())
	}
	if strings.Contains(logs.String(), localapitest.ContextPatient) || strings.Contains(logs.String(), "signature") {
		t.Fatalf("the launch query reached the log: %q", logs.String())
	}
}

func TestFollowReconnectsAfterAgentRestart(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix socket test")
	}
	addr := localapi.DefaultAddress(shortDir(t))
	f := localapitest.NewFake()
	start := func() *http.Server {
		l, err := localapi.Listen(addr)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: localapi.NewHandler(f, nil)}
		go srv.Serve(l)
		return srv
	}
	srv := start()
	c := localapi.Dial(addr)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events := make(chan localapi.Event, 64)
	go localapi.Follow(ctx, c, func(e localapi.Event) { events <- e })

	next := func(match func(localapi.Event) bool) {
		t.Helper()
		for {
			select {
			case e := <-events:
				if match(e) {
					return
				}
			case <-ctx.Done():
				t.Fatal("expected event never arrived")
			}
		}
	}
	isStatus := func(e localapi.Event) bool { return e.Type == localapi.EventStatus }
	next(isStatus) // the resync on first connect

	srv.Close() // the agent goes away (drops the stream)
	f.Pause(context.Background(), true)
	srv = start()
	defer srv.Close()
	// The change made while disconnected arrives through the resync Status.
	next(func(e localapi.Event) bool { return isStatus(e) && e.Status.Paused })
	// And the new stream carries live events.
	for i := 0; ; i++ {
		f.AddUnassigned("scan.pdf", []byte("x"), "no NHI")
		select {
		case e := <-events:
			if e.Type == localapi.EventItem {
				return
			}
		case <-time.After(time.Second):
			// The stream may not be subscribed yet; publish again.
		case <-ctx.Done():
			t.Fatal("no live event after reconnect")
		}
	}
}

func TestHubCutsOffSlowSubscriber(t *testing.T) {
	h := localapi.NewHub(2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := h.Subscribe(ctx)
	for range 3 {
		h.Publish(localapi.Event{Type: localapi.EventStatus})
	}
	n := 0
	for range slow {
		n++
	}
	if n != 2 || h.Subscribers() != 0 {
		t.Fatalf("slow subscriber got %d events and %d remain subscribed; want 2 then cut off", n, h.Subscribers())
	}
}

func FuzzLaunchPage(f *testing.F) {
	fake := localapitest.NewFake()
	h := localapi.NewLaunchPage(fake.OpenWebLaunch, nil)
	f.Add("context=ctx-patient&signature=sig:ctx-patient")
	f.Add("context=%ZZ&signature=")
	f.Add("context=a&context=b&signature=sig:a")
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequestWithContext(localapi.WithPeer(context.Background(), localapi.Peer{User: "uid:1000"}), "GET", "http://127.0.0.1:8123/launch", nil)
		req.URL.RawQuery = query
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("query %q: status %d", query, w.Code)
		}
		if localapitest.Contains(w.Body.String()) {
			t.Fatalf("page names the patient for query %q", query)
		}
	})
}

func FuzzHandlerBodies(f *testing.F) {
	fake := localapitest.NewFake()
	h := localapi.NewHandler(fake, nil)
	paths := []string{localapi.PathLaunch, localapi.PathPause, localapi.PathSessions + "abc/save", localapi.PathItems + "abc/assign", localapi.PathSessions + "abc/items"}
	f.Add(uint8(0), []byte(`{"url":"clinicpro://launch?context=x&signature=y"}`))
	f.Add(uint8(2), []byte(`{"items":[{"id":"x","rotation":90}]}`))
	f.Add(uint8(4), []byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\nxx\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		req := httptest.NewRequest("POST", paths[int(which)%len(paths)], bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if int(which)%len(paths) == 4 {
			req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("status %d for %q", w.Code, body)
		}
	})
}

func TestLaunchPageKeepsPlusAndRefusesForeignHost(t *testing.T) {
	f := localapitest.NewFake()
	h := localapi.NewLaunchPage(f.OpenWebLaunch, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	gp := localapi.Peer{User: "uid:1000", Session: 1}
	ctx = localapi.WithPeer(ctx, gp)
	ch, _ := f.Events(ctx)

	// Evolution leaves '+' unencoded; it must reach the relay as '+', not a space.
	req := httptest.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:8123/launch?context=ab+c/d=&signature=sig:ab+c/d=", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	select {
	case e := <-ch:
		if e.Type != localapi.EventLaunch {
			t.Fatalf("event = %+v", e)
		}
	case <-ctx.Done():
		t.Fatal("no launch event")
	}

	// A page that rebinds its own host name to 127.0.0.1 arrives with a foreign Host.
	req = httptest.NewRequestWithContext(ctx, "GET", "http://evil.example:8123/launch?context=a&signature=sig:a", nil)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusBadRequest {
		t.Fatalf("foreign Host: status %d, want 400", w.Code)
	}
}

func self(t *testing.T) localapi.Peer {
	t.Helper()
	p, err := localapi.Self()
	if err != nil || !p.Known() {
		t.Fatalf("Self: %+v, %v", p, err)
	}
	return p
}

func TestHubPublishToReachesOnlyThatSessionAndUser(t *testing.T) {
	h := localapi.NewHub(8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := localapi.Peer{User: "S-1-5-21-1-2-3-1001", Session: 2}
	subs := map[string]<-chan localapi.Event{
		"a":              h.Subscribe(localapi.WithPeer(ctx, a)),
		"a again":        h.Subscribe(localapi.WithPeer(ctx, a)), // the tray reconnected
		"a in session 3": h.Subscribe(localapi.WithPeer(ctx, localapi.Peer{User: a.User, Session: 3})),
		"b in session 2": h.Subscribe(localapi.WithPeer(ctx, localapi.Peer{User: "S-1-5-21-1-2-3-1002", Session: 2})),
		"unknown":        h.Subscribe(ctx),
	}
	if n := h.PublishTo(a, localapi.Event{Type: localapi.EventLaunch}); n != 2 {
		t.Fatalf("PublishTo reached %d streams, want a's 2", n)
	}
	if n := h.PublishTo(localapi.Peer{}, localapi.Event{Type: localapi.EventLaunch}); n != 0 {
		t.Fatalf("PublishTo an unknown peer reached %d streams", n)
	}
	h.Publish(localapi.Event{Type: localapi.EventStatus})
	for name, ch := range subs {
		var got []localapi.EventType
	drain:
		for {
			select {
			case e := <-ch:
				got = append(got, e.Type)
			default:
				break drain
			}
		}
		want := []localapi.EventType{localapi.EventStatus}
		if name == "a" || name == "a again" {
			want = []localapi.EventType{localapi.EventLaunch, localapi.EventStatus}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s received %v, want %v", name, got, want)
		}
	}
}

// TestTCPHostMustBeLoopbackLiteral: a web page that points its own name at 127.0.0.1
// (DNS rebinding) reaches the TCP listener with its name in Host, and no Origin on a GET.
func TestTCPHostMustBeLoopbackLiteral(t *testing.T) {
	l, _ := tcpListener(t)
	serve(t, l, localapi.NewHandler(localapitest.NewFake(), nil))
	port := l.Addr().(*net.TCPAddr).Port
	for host, want := range map[string]int{
		"127.0.0.1":                          200,
		fmt.Sprintf("127.0.0.1:%d", port):    200,
		fmt.Sprintf("[::1]:%d", port):        200,
		"127.0.0.2":                          200,
		"localhost":                          403,
		fmt.Sprintf("localhost:%d", port):    403,
		"evil.example":                       403,
		fmt.Sprintf("evil.example:%d", port): 403,
		"127.0.0.1.nip.io":                   403,
		"10.0.0.5":                           403,
	} {
		req, _ := http.NewRequest("GET", "http://"+l.Addr().String()+localapi.PathStatus, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %q: %d %s, want %d", host, resp.StatusCode, body, want)
		}
	}
}

// TestPeerIsIdentified: over the unix socket and loopback TCP, every request carries
// the OS's answer to "who opened this connection", which is this test process.
func TestPeerIsIdentified(t *testing.T) {
	me := self(t)
	seen := make(chan localapi.Peer, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := localapi.PeerFrom(r.Context())
		seen <- p
	})
	check := func(name string, l net.Listener, dial localapi.DialFunc) {
		t.Helper()
		srv := localapi.NewServer(h)
		go srv.Serve(l)
		defer srv.Close()
		c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) }}}
		resp, err := c.Get("http://127.0.0.1/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if p := <-seen; p.User != me.User || p.Session != me.Session {
			t.Errorf("%s: peer %+v, want %+v", name, p, me)
		}
	}
	l, dial := tcpListener(t)
	check("tcp", l, dial)
	if runtime.GOOS != "windows" {
		addr := localapi.DefaultAddress(shortDir(t))
		ul, err := localapi.Listen(addr)
		if err != nil {
			t.Fatal(err)
		}
		check("unix socket", ul, localapi.Dialer(addr))
	}
}
