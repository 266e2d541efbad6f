// Package relay is clinicpro-relay's HTTP server: the only component that calls
// Medtech ALEX, on behalf of connectors (practice installs) that each hold their own
// OAuth2 client credentials and are bound to one HPI facility. The wire contract is
// in internal/relay/api; storage in registry, ledger and audit.
package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/fhir"
	"github.com/clinicpro/medtech-images/internal/nhi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/config"
	"github.com/clinicpro/medtech-images/internal/relay/ledger"
	"github.com/clinicpro/medtech-images/internal/relay/limit"
	"github.com/clinicpro/medtech-images/internal/relay/phone"
	"github.com/clinicpro/medtech-images/internal/relay/registry"
)

// ALEX is what the relay needs from Medtech's API. *alex.Client satisfies it; tests
// use the real client against alexsim.
type ALEX interface {
	ResolveLaunch(ctx context.Context, facility, launchContext, signature string) (alex.LaunchContext, alex.CallInfo, error)
	ReadPatient(ctx context.Context, facility, id string) (alex.Patient, alex.CallInfo, error)
	FindPatientByNHI(ctx context.Context, facility string, n nhi.NHI) (alex.Patient, alex.CallInfo, error)
	CreateScanDocument(ctx context.Context, facility string, d alex.ScanDocument) (alex.Created, alex.CallInfo, error)
	ReadDocumentReference(ctx context.Context, facility, id string) (alex.DocumentReference, alex.CallInfo, error)
	FindDocuments(ctx context.Context, facility, identifier string, patient nhi.NHI) ([]alex.DocumentReference, alex.CallInfo, error)
	Ping(ctx context.Context, facility string) (alex.CallInfo, error)
}

var _ ALEX = (*alex.Client)(nil)

// Limits and defaults.
const (
	DefaultMaxUpload = 1 << 20
	// MaxUploadCeiling is ALEX's own payload limit: configuring more would only move
	// the refusal to ALEX.
	MaxUploadCeiling = 8_000_000
	DefaultTokenTTL  = 15 * time.Minute
	// DefaultRate and DefaultBurst are each connector's (each PC's) token bucket: a
	// camera card of DefaultBurst/2 photos (an upload and a read-back each) goes
	// through at once, a larger burst at DefaultRate requests a second after that.
	DefaultRate  = 50
	DefaultBurst = 500
	// DefaultALEXRate and DefaultALEXBurst are the relay-wide limit on calls to ALEX,
	// under the connectors' own, which protects Medtech: ALEX's own limits are not
	// published, so this is set to what Medtech agrees (alex_rate_per_second).
	DefaultALEXRate       = 100
	DefaultALEXBurst      = 100
	DefaultFacilityConc   = 4
	DefaultHealthCacheFor = 15 * time.Second
	// DefaultUnauthReadTimeout bounds reading a request that has not authenticated
	// (enrolment, token, anything before its bearer token is checked): those bodies
	// are under 16 KiB, so a client that takes longer is holding the connection.
	DefaultUnauthReadTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading an authenticated request: a practice on a
	// slow line may take minutes to send 8 MB.
	DefaultReadTimeout = 5 * time.Minute
	// DefaultMaxConnsPerIP caps the connections one address may hold open. A practice
	// of a dozen PCs behind one NAT uses a few each.
	DefaultMaxConnsPerIP = 64
	// Wrong enrolment codes per source address: EnrolGuessBurst at once, then one
	// every 1/EnrolGuessRate seconds. Codes are 50 bits and expire, so at this rate
	// one address would need millions of years to find one.
	EnrolGuessRate  = 1.0 / 6
	EnrolGuessBurst = 10
)

// Config tunes the server. Zero values take the defaults above.
type Config struct {
	MaxUpload int64         // largest document accepted, bytes
	TokenTTL  time.Duration // lifetime of access tokens
	Rate      float64       // requests per second per connector
	Burst     int
	ALEXRate  float64 // calls to ALEX per second, relay-wide
	ALEXBurst int
	// Relays is how many relays share the load behind a load balancer: each enforces
	// its share (1/Relays) of the per-connector and ALEX limits.
	Relays              int
	FacilityConcurrency int    // ALEX calls in flight per facility
	SpoolDir            string // where uploads are spooled while they stream to ALEX; required
	HealthCacheFor      time.Duration
	UnauthReadTimeout   time.Duration // reading a request before it has authenticated
	ReadTimeout         time.Duration // reading an authenticated request
	MaxConnsPerIP       int           // open connections per source address (see Listener)
	// TrustedProxies are load balancers whose X-Forwarded-For names the client; the
	// per-address limits then apply to that client instead of to the proxy.
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger // must already redact (redact.NewHandler); nil discards
	Metrics        prometheus.Registerer
	// DocumentTypes is DocumentReference.type per kind (api.KindPhoto,
	// api.KindDocument); a kind without one gets the ALEX client's default.
	DocumentTypes map[string]fhir.Coding
	// Phone keeps phone-capture sessions and their photos (the relay's store);
	// nil turns phone capture off.
	Phone phone.Store
}

// Server serves the public API. Make one with New.
type Server struct {
	cfg    Config
	reg    *registry.Registry
	ledger *ledger.Ledger
	audit  *audit.Log
	alex   ALEX
	log    *slog.Logger
	m      *metrics

	limiters   *limit.Keyed // per connector
	enrolGuess *limit.Keyed // wrong enrolment codes per source address
	quietLog   *limit.Bucket

	semMu sync.Mutex
	sems  map[string]chan struct{}

	keys keyLocks

	healthMu sync.Mutex
	health   map[string]cachedHealth

	ph *phoneState // nil without Config.Phone
}

// New returns a server. reg, led, aud and a are required.
func New(cfg Config, reg *registry.Registry, led *ledger.Ledger, aud *audit.Log, a ALEX) (*Server, error) {
	if cfg.MaxUpload == 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.MaxUpload < 0 || cfg.MaxUpload > MaxUploadCeiling {
		return nil, fmt.Errorf("max upload %d bytes is outside 1..%d (ALEX's limit): fix max_upload_bytes", cfg.MaxUpload, MaxUploadCeiling)
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.ALEXRate <= 0 {
		cfg.ALEXRate = DefaultALEXRate
	}
	if cfg.ALEXBurst <= 0 {
		cfg.ALEXBurst = DefaultALEXBurst
	}
	if cfg.Relays <= 0 {
		cfg.Relays = 1
	}
	share := func(n float64) float64 { return n / float64(cfg.Relays) }
	burst := func(n int) int { return max(1, n/cfg.Relays) }
	if cfg.FacilityConcurrency <= 0 {
		cfg.FacilityConcurrency = DefaultFacilityConc
	}
	if cfg.HealthCacheFor <= 0 {
		cfg.HealthCacheFor = DefaultHealthCacheFor
	}
	if cfg.DocumentTypes == nil {
		cfg.DocumentTypes = map[string]fhir.Coding{}
		for k, v := range config.DefaultDocumentTypes {
			cfg.DocumentTypes[k] = fhir.Coding{System: v.System, Code: v.Code, Display: v.Display}
		}
	}
	if cfg.UnauthReadTimeout <= 0 {
		cfg.UnauthReadTimeout = DefaultUnauthReadTimeout
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.MaxConnsPerIP <= 0 {
		cfg.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if cfg.SpoolDir == "" {
		return nil, errors.New("no spool directory configured: set data_dir in the relay configuration")
	}
	if err := os.MkdirAll(cfg.SpoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the spool directory: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	var ph *phoneState
	if cfg.Phone != nil {
		ph = newPhoneState(cfg.Phone)
	}
	if a != nil {
		a = &limitedALEX{ALEX: a, fair: limit.NewFair(share(cfg.ALEXRate), burst(cfg.ALEXBurst), nil)}
	}
	return &Server{
		cfg: cfg, reg: reg, ledger: led, audit: aud, alex: a, log: log, m: m,
		limiters:   limit.NewKeyed(share(cfg.Rate), burst(cfg.Burst), nil),
		enrolGuess: limit.NewKeyed(EnrolGuessRate, EnrolGuessBurst, nil),
		quietLog:   limit.NewBucket(1.0/60, 1, nil),
		sems:       map[string]chan struct{}{},
		keys:       keyLocks{m: map[string]*keyLock{}},
		health:     map[string]cachedHealth{},
		ph:         ph,
	}, nil
}

// Handler returns the public API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+api.PathEnrol, s.wrap("enrol", s.handleEnrol))
	mux.HandleFunc("POST "+api.PathToken, s.wrap("token", s.handleToken))
	mux.HandleFunc("POST "+api.PathLaunch, s.wrap("launch", s.authed(s.handleLaunch)))
	mux.HandleFunc("POST "+api.PathLookup, s.wrap("lookup", s.authed(s.handleLookup)))
	mux.HandleFunc("POST "+api.PathDocument, s.wrap("upload", s.authed(s.handleUpload)))
	mux.HandleFunc("GET "+api.PathDocument+"/{id}", s.wrap("read", s.authed(s.handleRead)))
	mux.HandleFunc("GET "+api.PathHealth, s.wrap("health", s.authed(s.handleHealth)))
	mux.HandleFunc("GET "+api.PathHealthz, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET "+api.PathReadyz, s.handleReady)
	s.phoneRoutes(mux)
	mux.HandleFunc("/", s.wrap("unknown", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
		return fail(http.StatusNotFound, api.CodeNotFound, "No such relay endpoint: check the relay URL and that the agent is up to date.")
	}))
	return mux
}

// PruneAudit deletes the audit rows older than keep, in small batches so uploads
// are not held up (see audit.Prune).
func (s *Server) PruneAudit(ctx context.Context, keep time.Duration) (int64, error) {
	n, err := s.audit.Prune(ctx, time.Now().Add(-keep))
	s.m.auditPruned.Add(float64(n))
	return n, err
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if err := s.reg.Ping(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// reqCtx is what the middleware knows about a request, filled in as it is handled
// and used for the log line, the audit row and the metrics.
type reqCtx struct {
	corr      string
	op        string
	start     time.Time
	connector registry.Connector
	outcome   string
	bytesIn   int64
	alexID    string
	patient   string // identifier to hash into the audit row; never logged
	alexTime  time.Duration
	received  time.Duration // until the request body was read: the client's sending time
	noAudit   bool
	rejected  string // why an unauthenticated request was refused; counted, not audited
}

type handlerFunc func(http.ResponseWriter, *http.Request, *reqCtx) *apiError

// corrRe is the correlation ids a client may choose: a UUID or 16 to 64 hex digits.
// Anything else (a name, an NHI, a date) is replaced, so a client cannot write its
// own text into the audit, the log or ALEX's records.
var corrRe = regexp.MustCompile(`^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,64})$`)

func newCorrelation() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// wrap gives every request a correlation id, turns an *apiError into the JSON error
// shape, and records the log line, audit row and metrics. Until the request has
// authenticated it gets only UnauthReadTimeout to arrive (authed extends it), and a
// request refused before it authenticated leaves no audit row: it is counted in
// clinicpro_relay_rejected_total, so a flood of them cannot fill the audit table.
func (s *Server) wrap(op string, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rc := &reqCtx{op: op, start: time.Now(), corr: r.Header.Get(api.HeaderCorrelation)}
		if !corrRe.MatchString(rc.corr) {
			rc.corr = newCorrelation()
		}
		w.Header().Set(api.HeaderCorrelation, rc.corr)
		// Errors only when the connection cannot take deadlines (an HTTP/2 stream
		// or a test recorder), where the server's own timeouts still apply.
		_ = http.NewResponseController(w).SetReadDeadline(rc.start.Add(s.cfg.UnauthReadTimeout))
		sw := &statusWriter{ResponseWriter: w}
		s.m.inflight.Inc()
		defer s.m.inflight.Dec()
		ctx := alex.WithCorrelation(r.Context(), rc.corr)
		if e := h(sw, r.WithContext(ctx), rc); e != nil {
			rc.outcome = e.code
			writeError(sw, rc.corr, e)
		} else if rc.outcome == "" {
			rc.outcome = "ok"
		}
		dur := time.Since(rc.start)
		s.m.requests.WithLabelValues(op, fmt.Sprint(sw.status)).Inc()
		s.m.duration.WithLabelValues(op).Observe(dur.Seconds())
		level := slog.LevelInfo
		if sw.status >= 500 {
			level = slog.LevelWarn
		}
		// Authenticated: a connector, or a practice whose known code was refused.
		unauth := rc.connector.ID == "" && rc.connector.Practice == ""
		if unauth && sw.status >= 400 {
			if rc.rejected == "" {
				rc.rejected = rc.outcome
			}
			s.m.rejected.WithLabelValues(op, rc.rejected).Inc()
			// One line a minute says refusals are happening; the metric counts them.
			// A line per refusal would let a flood fill the journal instead.
			level = slog.LevelDebug
			if ok, _ := s.quietLog.Take(1); ok {
				s.log.Warn("refusing unauthenticated requests (at most one line a minute; see clinicpro_relay_rejected_total)",
					"op", op, "reason", rc.rejected, "correlation_id", rc.corr)
			}
		}
		s.log.LogAttrs(ctx, level, "request", slog.String("op", op), slog.Int("status", sw.status),
			slog.String("outcome", rc.outcome), slog.Duration("duration", dur), slog.String("correlation_id", rc.corr),
			slog.String("connector", rc.connector.ID), slog.String("facility", rc.connector.Facility),
			slog.Int64("bytes_in", rc.bytesIn), slog.String("alex_id", rc.alexID), slog.Duration("alex_duration", rc.alexTime), slog.Duration("receive_duration", rc.received))
		if rc.noAudit || unauth {
			return
		}
		// The client has its answer before the audit row is written.
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		// The audit row must not be lost because the client went away.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		who := rc.connector.ID
		if who == "" {
			who = rc.connector.Practice
		}
		if err := s.audit.Add(actx, audit.Record{At: rc.start, Connector: who, Facility: rc.connector.Facility,
			Operation: op, Outcome: rc.outcome, Status: sw.status, BytesIn: rc.bytesIn, BytesOut: sw.n, Duration: dur,
			Correlation: rc.corr, ALEXID: rc.alexID, PatientHash: s.audit.PatientHash(rc.patient)}); err != nil {
			s.log.Error("audit write failed", "err", err, "correlation_id", rc.corr)
		}
	}
}

// facilitySlot bounds the ALEX calls in flight for one facility, so one busy practice
// cannot use up the relay's share of ALEX (or its HCM) for everyone.
func (s *Server) facilitySlot(ctx context.Context, facility string) (func(), *apiError) {
	s.semMu.Lock()
	sem, ok := s.sems[facility]
	if !ok {
		sem = make(chan struct{}, s.cfg.FacilityConcurrency)
		s.sems[facility] = sem
	}
	s.semMu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, &apiError{status: http.StatusServiceUnavailable, code: api.CodeRelayBusy, retryAfter: time.Second,
			msg: "The relay is busy with this practice's other uploads: it will be retried."}
	}
}

// keyLocks serialises requests for one idempotency key, so a replay that arrives
// while the first attempt is still writing waits for its result instead of writing
// again.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{}
	refs int
}

func (k *keyLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	l, ok := k.m[key]
	if !ok {
		l = &keyLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
