package daemon

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certs serves the TLS certificate from its files and picks up a renewal without a
// restart: on SIGHUP (Reload), and by itself when either file's modification time
// changes (checked at most once a second, as handshakes arrive). A renewal that does
// not load (a half-written file, a key that does not match) keeps the certificate in
// use and is logged; the next change or SIGHUP tries again.
type certs struct {
	certFile, keyFile string
	log               *slog.Logger

	mu    sync.Mutex
	cur   *tls.Certificate
	stamp string // the files' modification times when cur was loaded (a renewal
	// writes new files; one copied in with its old time needs SIGHUP)
	checked time.Time
}

func newCerts(certFile, keyFile string, log *slog.Logger) (*certs, error) {
	c := &certs{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certs) stampNow() string {
	var s string
	for _, f := range []string{c.certFile, c.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			s += fi.ModTime().String() + ";"
		}
	}
	return s
}

// Reload loads the files now.
func (c *certs) Reload() error {
	stamp := c.stampNow()
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked = time.Now()
	if err != nil {
		if c.cur == nil {
			return fmt.Errorf("cannot load the TLS certificate: %w", err)
		}
		c.log.Error("the renewed TLS certificate does not load; still serving the previous one", "err", err)
		c.stamp = stamp // not again until the files change again
		return err
	}
	if c.cur != nil {
		c.log.Info("TLS certificate reloaded")
	}
	c.cur, c.stamp = &cert, stamp
	return nil
}

// GetCertificate is tls.Config's hook.
func (c *certs) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	due := time.Since(c.checked) >= time.Second
	if due {
		c.checked = time.Now()
	}
	stamp := c.stamp
	c.mu.Unlock()
	if due && c.stampNow() != stamp {
		_ = c.Reload()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur, nil
}
