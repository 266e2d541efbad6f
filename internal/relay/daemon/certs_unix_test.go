//go:build !windows

package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/config"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// writeCert writes a self-signed certificate with serial to certFile and keyFile.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "relay test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}

// Issue 17: certificate renewals need no restart. SIGHUP reloads at once; a change of
// the files is picked up by itself; a renewal that does not load keeps the old one.
func TestTLSCertificateReloads(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 1)
	cfg := config.Config{Listen: "127.0.0.1:0", DataDir: dir, AuditKeyFile: filepath.Join(dir, "audit.key"),
		TLSCertFile: certFile, TLSKeyFile: keyFile,
		ALEX: config.ALEX{BaseURL: "http://127.0.0.1:1/FHIR", TokenURL: "http://127.0.0.1:1/t", ClientID: "c", ClientSecret: "s"}}
	onStore(t, &cfg)
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, NewLogger(io.Discard, 0), func(p, _ net.Addr) { addrs <- p }) }()
	var addr string
	select {
	case a := <-addrs:
		addr = a.String()
	case err := <-done:
		t.Fatal(err)
	case <-time.After(time.Minute):
		t.Fatal("serve did not start")
	}
	serial := func() int64 {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if s := serial(); s != 1 {
		t.Fatalf("serving serial %d", s)
	}
	// A renewal copied in with the old files' times: only SIGHUP notices.
	fi, _ := os.Stat(certFile)
	writeCert(t, certFile, keyFile, 2)
	os.Chtimes(certFile, fi.ModTime(), fi.ModTime())
	os.Chtimes(keyFile, fi.ModTime(), fi.ModTime())
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the certificate reloaded on SIGHUP", time.Minute, 20*time.Millisecond, func() bool { return serial() == 2 })
	// A renewal written in place: picked up by itself.
	time.Sleep(10 * time.Millisecond) // a new modification time
	writeCert(t, certFile, keyFile, 3)
	testutil.WaitFor(t, "the changed certificate picked up", time.Minute, 100*time.Millisecond, func() bool { return serial() == 3 })
	// A broken renewal: the working certificate stays.
	os.WriteFile(certFile, []byte("not a certificate"), 0o600)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	for i := 0; i < 5; i++ {
		if s := serial(); s != 3 {
			t.Fatalf("a broken renewal replaced the certificate (serial %d)", s)
		}
		time.Sleep(300 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
