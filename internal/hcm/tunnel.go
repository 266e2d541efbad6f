package hcm

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	psnet "github.com/shirou/gopsutil/v3/net"
)

// RelayPort is where HCM connects out to Azure Relay (TLS over TCP 443).
const RelayPort = 443

// EstablishedTo returns the remote addresses of pid's ESTABLISHED TCP connections
// to port. HCM holds such connections to Azure Relay while its tunnel is up; a
// running service with none is the documented "Not Connected" state.
func EstablishedTo(ctx context.Context, pid, port int) ([]string, error) {
	conns, err := psnet.ConnectionsPidWithContext(ctx, "tcp", int32(pid))
	if err != nil {
		return nil, fmt.Errorf("list connections of process %d: %w", pid, err)
	}
	var out []string
	for _, c := range conns {
		if c.Status == "ESTABLISHED" && int(c.Raddr.Port) == port {
			out = append(out, net.JoinHostPort(c.Raddr.IP, strconv.Itoa(port)))
		}
	}
	return out, nil
}

// Resolver is the part of *net.Resolver the DNS check uses, so tests can answer
// without a real name server.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// ProbeError says which step of reaching the relay namespace failed, because each
// step has a different fix.
type ProbeError struct {
	Step string // "dns", "tcp" or "tls"
	Err  error
}

func (e *ProbeError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *ProbeError) Unwrap() error { return e.Err }

// Probe resolves host, connects to host:port and completes a TLS handshake, the
// same path HCM takes to Azure Relay. cfg may carry test roots; ServerName defaults
// to host.
func Probe(ctx context.Context, r Resolver, host string, port int, cfg *tls.Config) error {
	addrs, err := r.LookupHost(ctx, host)
	if err != nil {
		return &ProbeError{"dns", err}
	}
	if len(addrs) == 0 {
		return &ProbeError{"dns", errors.New("no addresses")}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(addrs[0], strconv.Itoa(port)))
	if err != nil {
		return &ProbeError{"tcp", err}
	}
	defer conn.Close()
	c := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg != nil {
		c = cfg.Clone()
		if c.ServerName == "" {
			c.ServerName = host
		}
	}
	tc := tls.Client(conn, c)
	if err := tc.HandshakeContext(ctx); err != nil {
		return &ProbeError{"tls", err}
	}
	return tc.Close()
}

// clockSkew returns how far this machine's clock is ahead of (positive) or behind
// the server at url, read from its Date header and measured against the middle of
// the request so network time does not count. Azure Relay rejects SAS tokens from
// a badly wrong clock, which looks like a dead tunnel.
func clockSkew(ctx context.Context, client *http.Client, url string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	end := time.Now()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return 0, fmt.Errorf("server sent no usable Date header: %w", err)
	}
	mid := start.Add(end.Sub(start) / 2)
	// Date has one-second resolution; compare against the middle of that second.
	return mid.Sub(date.Add(500 * time.Millisecond)).Round(time.Second), nil
}
