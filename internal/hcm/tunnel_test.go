package hcm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
)

// fakeDNS answers every name with the given addresses, or fails.
type fakeDNS struct {
	addrs []string
	err   error
}

func (f fakeDNS) LookupHost(context.Context, string) ([]string, error) { return f.addrs, f.err }

const ns = "practice-test.servicebus.windows.net"

func tlsRelay(t *testing.T) (host string, port int, roots *x509.CertPool) {
	t.Helper()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	h, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ = strconv.Atoi(p)
	roots = x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return h, port, roots
}

func TestProbeSteps(t *testing.T) {
	host, port, roots := tlsRelay(t)
	ctx := context.Background()
	// httptest's certificate is for example.com; that is the name we verify.
	good := &tls.Config{RootCAs: roots, ServerName: "example.com"}
	if err := Probe(ctx, fakeDNS{addrs: []string{host}}, ns, port, good); err != nil {
		t.Fatalf("good probe: %v", err)
	}
	var pe *ProbeError
	if err := Probe(ctx, fakeDNS{err: errors.New("no such host")}, ns, port, good); !errors.As(err, &pe) || pe.Step != "dns" {
		t.Fatalf("dns failure: %v", err)
	}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	cport := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	if err := Probe(ctx, fakeDNS{addrs: []string{"127.0.0.1"}}, ns, cport, good); !errors.As(err, &pe) || pe.Step != "tcp" {
		t.Fatalf("tcp failure: %v", err)
	}
	// Untrusted certificate: what an intercepting proxy looks like.
	if err := Probe(ctx, fakeDNS{addrs: []string{host}}, ns, port, &tls.Config{RootCAs: x509.NewCertPool()}); !errors.As(err, &pe) || pe.Step != "tls" {
		t.Fatalf("tls failure: %v", err)
	}
}

func TestTunnelCheckFixPerProbeStep(t *testing.T) {
	host, port, roots := tlsRelay(t)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	f := NewFake()
	f.Set(DefaultServiceName, Running, 9)
	for _, tc := range []struct {
		dns  Resolver
		tls  *tls.Config
		port int
		fix  string
	}{
		{fakeDNS{err: errors.New("nxdomain")}, nil, port, FixDNS},
		{fakeDNS{addrs: []string{"127.0.0.1"}}, nil, closedPort, FixFirewall},
		{fakeDNS{addrs: []string{host}}, &tls.Config{RootCAs: x509.NewCertPool()}, port, FixTLS},
		{fakeDNS{addrs: []string{host}}, &tls.Config{RootCAs: roots, ServerName: "example.com"}, port, ""},
	} {
		m := New(Config{Namespace: ns, ProbePort: tc.port, Resolver: tc.dns, ProbeTLS: tc.tls}, f, nil, &recEvents{}, quiet())
		m.Conns = func(context.Context, int, int) ([]string, error) { return []string{"x"}, nil }
		c := find(t, m.Poll(context.Background()), CheckTunnel)
		if c.Fix != tc.fix || (tc.fix == "") != (c.State == health.OK) {
			t.Errorf("want fix %q, got %+v", tc.fix, c)
		}
	}
}

func TestClockSkew(t *testing.T) {
	var offset time.Duration
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(offset).UTC().Format(http.TimeFormat))
	}))
	defer srv.Close()
	f := NewFake()
	f.Set(DefaultServiceName, Running, 9)
	m := New(Config{ClockURL: srv.URL}, f, nil, &recEvents{}, quiet())
	m.Conns = func(context.Context, int, int) ([]string, error) { return []string{"x"}, nil }
	if c := find(t, m.Poll(context.Background()), CheckClock); c.State != health.OK {
		t.Fatalf("synced clock: %+v", c)
	}
	offset = -10 * time.Minute // server behind: we are ahead
	c := find(t, m.Poll(context.Background()), CheckClock)
	if c.State != health.Degraded || c.Fix != FixClock || !strings.Contains(c.Detail, "ahead") {
		t.Fatalf("skewed clock: %+v", c)
	}
	srv.Close()
	if c := find(t, m.Poll(context.Background()), CheckClock); c.State != health.Unknown || c.Fix != FixClockUnread {
		t.Fatalf("unreachable relay: %+v", c)
	}
}
