// Package daemon composes clinicpro-relay from its configuration: the SQLite stores,
// the ALEX client, the public listener (TLS or loopback HTTP) and the admin listener
// with metrics. cmd/clinicpro-relay only parses flags and calls it.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/fhir"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/relay"
	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/config"
	"github.com/clinicpro/medtech-images/internal/relay/ledger"
	"github.com/clinicpro/medtech-images/internal/relay/registry"
	"github.com/clinicpro/medtech-images/internal/relay/store"
)

// Stores are the relay's state: the store relay.toml chooses (SQLite in
// <data_dir>/relay.db, or a PostgreSQL shared by several relays) and the registry,
// ledger and audit over it.
type Stores struct {
	Store    *store.Store
	Registry *registry.Registry
	Ledger   *ledger.Ledger
	Audit    *audit.Log
}

// Close closes the store.
func (s *Stores) Close() error { return s.Store.Close() }

// StoreConfig is the store cfg chooses.
func StoreConfig(cfg config.Config) store.Config {
	if cfg.Store == store.Postgres {
		return store.Config{Kind: store.Postgres, DSN: cfg.PostgresDSN}
	}
	return store.Config{Kind: store.SQLite, Path: filepath.Join(cfg.DataDir, "relay.db")}
}

// ParseStore reads a store named on migrate-store's command line: sqlite:PATH, or
// postgres: followed by nothing (relay.toml's connection string), env:NAME (an
// environment variable) or the path of a file holding the connection string. The
// connection string itself is refused: it would show in the shell's history and the
// process list.
func ParseStore(spec string, cfg config.Config, getenv func(string) string) (store.Config, error) {
	kind, rest, ok := strings.Cut(spec, ":")
	switch {
	case !ok:
		return store.Config{}, fmt.Errorf("%q is not sqlite:PATH or postgres:DSN-FILE", spec)
	case kind == store.SQLite && rest != "":
		return store.Config{Kind: store.SQLite, Path: rest}, nil
	case kind != store.Postgres:
		return store.Config{}, fmt.Errorf("%q is not sqlite:PATH or postgres:DSN-FILE", spec)
	case strings.Contains(rest, "://") || strings.Contains(rest, "="):
		return store.Config{}, errors.New("give a PostgreSQL connection string in a file (postgres:/path) or an environment variable (postgres:env:NAME), never on the command line")
	case rest == "":
		if cfg.PostgresDSN == "" {
			return store.Config{}, fmt.Errorf("postgres: with nothing after it uses relay.toml's connection string, and there is none: set postgres_dsn_file or %s", config.EnvPostgresDSN)
		}
		return store.Config{Kind: store.Postgres, DSN: cfg.PostgresDSN}, nil
	}
	if name, ok := strings.CutPrefix(rest, "env:"); ok {
		dsn := getenv(name)
		if dsn == "" {
			return store.Config{}, fmt.Errorf("the environment variable %s is empty", name)
		}
		return store.Config{Kind: store.Postgres, DSN: dsn}, nil
	}
	b, err := os.ReadFile(rest)
	if err != nil {
		return store.Config{}, fmt.Errorf("cannot read the connection string file: %w", err)
	}
	return store.Config{Kind: store.Postgres, DSN: strings.TrimSpace(string(b))}, nil
}

// OpenStores opens the configured store, migrating its schema to this build's.
func OpenStores(cfg config.Config) (*Stores, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the data directory %s: %w", cfg.DataDir, err)
	}
	key, err := cfg.AuditKey()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(context.Background(), StoreConfig(cfg))
	if err != nil {
		return nil, err
	}
	aud, err := audit.New(st, key)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &Stores{Store: st, Registry: registry.New(st), Ledger: ledger.New(st), Audit: aud}, nil
}

// NewLogger returns the relay's JSON logger on w, with every record passed through
// the redaction handler.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(redact.NewHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
}

// Ready is called with the bound addresses once both listeners accept connections
// (tests and benchmarks use ":0").
type Ready func(public, admin net.Addr)

// Serve runs the relay until ctx ends, then drains in-flight requests.
func Serve(ctx context.Context, cfg config.Config, log *slog.Logger, ready Ready) error {
	policy := relay.ListenPolicy{Name: "listen", Addr: cfg.Listen, CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSKeyFile,
		AllowInsecurePublic: cfg.AllowInsecurePublic, AllowSetting: "allow_insecure_public"}
	if err := policy.Check(); err != nil {
		return err
	}
	// The admin listener (metrics) is held to the same rule: loopback, TLS with the
	// public certificate, or an explicit allow for a private network.
	if cfg.AdminListen != "" {
		admin := relay.ListenPolicy{Name: "admin_listen", Addr: cfg.AdminListen, CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSKeyFile,
			AllowInsecurePublic: cfg.AllowInsecureAdmin, AllowSetting: "allow_insecure_admin"}
		if err := admin.Check(); err != nil {
			return err
		}
	}
	proxies, err := cfg.Proxies()
	if err != nil {
		return err
	}
	if err := cfg.CheckALEX(); err != nil {
		return err
	}
	st, err := OpenStores(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	bodySite, err := alex.ParseBodySiteMode(cfg.ALEX.BodySite)
	if err != nil {
		return err
	}
	ac, err := alex.New(alex.Config{BaseURL: cfg.ALEX.BaseURL, TokenURL: cfg.ALEX.TokenURL, ClientID: cfg.ALEX.ClientID,
		ClientSecret: cfg.ALEX.ClientSecret, Scope: cfg.ALEX.Scope, AppID: cfg.ALEX.AppID,
		IdentifierSystem: cfg.ALEX.IdentifierSystem, DocumentSearch: alex.SearchShape(cfg.ALEX.DocumentSearch), Timeout: cfg.ALEX.Timeout.Duration,
		BodySite: bodySite, ReferenceBase: cfg.ALEX.ReferenceBase, LaunchBaseURL: cfg.ALEX.LaunchBaseURL,
		HTTPClient: &http.Client{Transport: alexTransport()}})
	if err != nil {
		return err
	}
	types := map[string]fhir.Coding{}
	for k, v := range cfg.ALEX.DocumentTypes {
		types[k] = fhir.Coding{System: v.System, Code: v.Code, Display: v.Display}
	}
	metrics := relay.NewMetricsRegistry()
	srv, err := relay.New(relay.Config{MaxUpload: cfg.MaxUploadBytes, TokenTTL: cfg.TokenTTL.Duration, Rate: cfg.RatePerSecond,
		Burst: cfg.RateBurst, FacilityConcurrency: cfg.FacilityConcurrency, SpoolDir: filepath.Join(cfg.DataDir, "spool"),
		ALEXRate: cfg.ALEXRatePerSecond, ALEXBurst: cfg.ALEXBurst, Relays: cfg.Relays,
		MaxConnsPerIP: cfg.MaxConnsPerIP, TrustedProxies: proxies, Phone: st.Store,
		Logger: log, Metrics: metrics, DocumentTypes: types}, st.Registry, st.Ledger, st.Audit, ac)
	if err != nil {
		return err
	}
	if err := cleanSpool(filepath.Join(cfg.DataDir, "spool")); err != nil {
		return err
	}

	pub, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", cfg.Listen, err)
	}
	servers := []*http.Server{newHTTPServer(srv.Handler(), log)}
	lns := []net.Listener{srv.Listener(pub)}
	var adminAddr net.Addr
	if cfg.AdminListen != "" {
		adm, err := net.Listen("tcp", cfg.AdminListen)
		if err != nil {
			pub.Close()
			return fmt.Errorf("cannot listen on the admin address %s: %w", cfg.AdminListen, err)
		}
		adminAddr = adm.Addr()
		servers = append(servers, newHTTPServer(relay.AdminHandler(metrics), log))
		lns = append(lns, adm)
	}
	pctx, stopPrune := context.WithCancel(ctx)
	pruned := make(chan struct{})
	go func() { defer close(pruned); pruneAudit(pctx, srv, cfg.AuditRetention.Duration, log) }()
	// Phone sessions past their expiry end, their photos erased: now (what this
	// relay left when it stopped) and every 30 s.
	swept := make(chan struct{})
	go func() { defer close(swept); srv.RunPhone(pctx) }()
	defer func() { stopPrune(); <-pruned; <-swept }() // before the stores close
	var tc *certs
	if cfg.TLSCertFile != "" {
		if tc, err = newCerts(cfg.TLSCertFile, cfg.TLSKeyFile, log); err != nil {
			for _, l := range lns {
				l.Close()
			}
			return err
		}
		for _, s := range servers {
			s.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: tc.GetCertificate}
		}
	}
	// SIGHUP reloads the certificate (a renewal is also picked up by itself when its
	// files change).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if tc == nil {
				log.Info("SIGHUP: no TLS certificate to reload")
				continue
			}
			_ = tc.Reload()
		}
	}()
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() {
			var err error
			if tc != nil {
				err = s.ServeTLS(lns[i], "", "")
			} else {
				err = s.Serve(lns[i])
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	log.Info("relay serving", "listen", pub.Addr().String(), "admin", cfg.AdminListen, "tls", cfg.TLSCertFile != "", "config", cfg)
	if ready != nil {
		ready(pub.Addr(), adminAddr)
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
		log.Error("listener failed", "err", err)
	}
	// Drain: the listeners close at once (a load balancer's next check fails over),
	// and requests in flight, uploads to ALEX included, get DrainTimeout to finish.
	log.Info("relay draining", "in_flight_limit", DrainTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Shutdown(sctx) }()
	}
	wg.Wait()
	log.Info("relay stopped")
	return err
}

// DrainTimeout is how long a stopping relay (SIGTERM) waits for requests in flight:
// longer than an ALEX write may take (its 60 s timeout), within systemd's default 90 s
// before it kills the process.
const DrainTimeout = 75 * time.Second

// AuditPruneEvery is how often audit rows past audit_retention are deleted.
const AuditPruneEvery = time.Hour

func pruneAudit(ctx context.Context, srv *relay.Server, keep time.Duration, log *slog.Logger) {
	t := time.NewTicker(AuditPruneEvery)
	defer t.Stop()
	for {
		n, err := srv.PruneAudit(ctx, keep)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("audit pruning failed; it is retried within the hour", "err", err)
		case n > 0:
			log.Info("pruned audit rows past audit_retention", "rows", n, "retention", keep.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// alexTransport writes request bodies in 64 KiB pieces (net/http's default is 4 KiB,
// ~350 writes for a base64-encoded 1 MB document) and keeps enough idle connections
// for every facility's concurrent calls.
func alexTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.WriteBufferSize = 64 << 10
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	return t
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// A practice on a slow line may take minutes to send 8 MB; a stalled one must
		// not hold a connection forever.
		ReadTimeout:    5 * time.Minute,
		WriteTimeout:   6 * time.Minute,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 32 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// cleanSpool removes uploads left by a crash: their requests failed with the process
// and the ledger resolves them on the agent's retry.
func cleanSpool(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		_ = os.Remove(filepath.Join(dir, e.Name()))
	}
	return nil
}
