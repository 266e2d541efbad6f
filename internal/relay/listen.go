package relay

import (
	"errors"
	"fmt"
	"net"
)

// ListenPolicy is how the public listener may be exposed.
type ListenPolicy struct {
	Addr     string // host:port
	CertFile string // with KeyFile: serve TLS directly
	KeyFile  string
	// AllowInsecurePublic permits plain HTTP on a non-loopback address, for a TLS
	// terminator on another host of a private network. Off by default because plain
	// HTTP to the internet would expose connectors' secrets and patient data.
	AllowInsecurePublic bool
}

// Check refuses plain HTTP on anything but loopback unless explicitly allowed: behind
// a reverse proxy the relay listens on 127.0.0.1, otherwise it serves TLS itself.
func (p ListenPolicy) Check() error {
	if (p.CertFile == "") != (p.KeyFile == "") {
		return errors.New("set both tls_cert_file and tls_key_file, or neither")
	}
	if p.CertFile != "" || p.AllowInsecurePublic {
		return nil
	}
	host, _, err := net.SplitHostPort(p.Addr)
	if err != nil {
		return fmt.Errorf("listen address %q is not host:port: %w", p.Addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing plain HTTP on %s, which is not a loopback address: set tls_cert_file and tls_key_file, "+
		"listen on 127.0.0.1 behind a TLS reverse proxy, or set allow_insecure_public = true if TLS ends elsewhere on a private network", p.Addr)
}
