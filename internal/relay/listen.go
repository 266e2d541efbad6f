package relay

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
)

// ListenPolicy is how a listener may be exposed. The public and the admin listener
// are both held to it.
type ListenPolicy struct {
	Name     string // "listen" or "admin_listen", for the error
	Addr     string // host:port
	CertFile string // with KeyFile: serve TLS directly
	KeyFile  string
	// AllowInsecurePublic permits plain HTTP on a non-loopback address, for a TLS
	// terminator (or, for the admin listener, a metrics scraper) on another host of a
	// private network. Off by default because plain HTTP to the internet would expose
	// connectors' secrets and patient data, or the relay's metrics.
	AllowInsecurePublic bool
	AllowSetting        string // the setting that sets AllowInsecurePublic, for the error
}

// Check refuses plain HTTP on anything but loopback unless explicitly allowed: behind
// a reverse proxy the relay listens on 127.0.0.1, otherwise it serves TLS itself.
func (p ListenPolicy) Check() error {
	name, allow := p.Name, p.AllowSetting
	if name == "" {
		name = "listen"
	}
	if allow == "" {
		allow = "allow_insecure_public"
	}
	if (p.CertFile == "") != (p.KeyFile == "") {
		return errors.New("set both tls_cert_file and tls_key_file, or neither")
	}
	if p.CertFile != "" || p.AllowInsecurePublic {
		return nil
	}
	host, _, err := net.SplitHostPort(p.Addr)
	if err != nil {
		return fmt.Errorf("%s address %q is not host:port: %w", name, p.Addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing plain HTTP on %s (%s), which is not a loopback address: set tls_cert_file and tls_key_file, "+
		"listen on 127.0.0.1 behind a TLS reverse proxy, or set %s = true if it is reached only over a private network", p.Addr, name, allow)
}

// addrKey is the unit the relay limits by: an IPv4 address, or an IPv6 /64 (one
// host's usual allocation, so a single attacker cannot take a fresh address per try).
func addrKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func parseAddr(hostport string) netip.Addr {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(hostport)
	return a.Unmap()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr is the address a request came from. Behind a trusted proxy (a load
// balancer, see docs/relay.md) it is the right-most X-Forwarded-For entry that is not
// itself a trusted proxy: entries left of that were written by the client and prove
// nothing.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	peer := parseAddr(r.RemoteAddr)
	if !s.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		if a = a.Unmap(); !s.trusted(a) {
			return a
		}
	}
	return peer
}

// Listener caps the connections one source address may hold open on ln (the relay's
// MaxConnsPerIP); connections over the cap are closed as they are accepted, so slow
// clients from one address cannot take every file descriptor and goroutine. Trusted
// proxies are exempt: every practice arrives through them.
func (s *Server) Listener(ln net.Listener) net.Listener {
	return &capListener{Listener: ln, s: s, open: map[string]int{}}
}

type capListener struct {
	net.Listener
	s    *Server
	mu   sync.Mutex
	open map[string]int
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		a := parseAddr(c.RemoteAddr().String())
		if l.s.trusted(a) {
			return c, nil
		}
		key := addrKey(a)
		l.mu.Lock()
		if l.open[key] >= l.s.cfg.MaxConnsPerIP {
			l.mu.Unlock()
			c.Close()
			l.s.m.connsRefused.Inc()
			continue
		}
		l.open[key]++
		l.mu.Unlock()
		return &countedConn{Conn: c, l: l, key: key}, nil
	}
}

type countedConn struct {
	net.Conn
	l    *capListener
	key  string
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		if c.l.open[c.key]--; c.l.open[c.key] <= 0 {
			delete(c.l.open, c.key)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
