// Package alexsim is an in-process sandbox of Medtech's ALEX FHIR API, behaving as far
// as docs/alexsim.md and docs/alex.md know: Entra-style client
// credentials, mt-facilityid routing, the search shapes ALEX accepts and the ones it
// refuses with 403, the Inbox Scan DocumentReference rules, toolbar launch contexts,
// and faults switchable at run time (facility offline, 429, 500, latency, token
// expiry, a write that is stored but never answered).
//
// Admin and inspection endpoints live under /_sim/ so they can never be confused with
// FHIR paths. The sandbox holds only Z-range test patients.
package alexsim

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults used when Options leaves a field empty.
const (
	DefaultClientID     = "clinicpro-dev"
	DefaultClientSecret = "dev-secret"
	DefaultFacility     = "F2N060-E"
	// LocalFacility is a second facility, like CP's local Evolution install, whose
	// patients have different ids.
	LocalFacility = "F99669-C"
	// UnmappedFacility exists in Medtech but is not mapped to the app: 403.
	UnmappedFacility = "F12345-X"
	// TokenPath is the token endpoint's path.
	TokenPath = "/oauth2/v2.0/token"
)

// Options configures a Sim.
type Options struct {
	ClientID, ClientSecret string
	// Scope, when set, must be the requested scope.
	Scope string
	// TokenTTL is expires_in; default 3599s like Entra.
	TokenTTL time.Duration
	// Facilities mapped to the app; default DefaultFacility and LocalFacility.
	Facilities []string
	// Patients are seeded in every facility; default TestPatients. A repeated NHI makes
	// a duplicate record, as a practice with unmerged patients has.
	Patients []TestPatient
	// LaunchSecret signs launch contexts; default random per Sim.
	LaunchSecret []byte
	// LaunchTTL bounds how long a minted launch context decodes; default 5 minutes.
	LaunchTTL time.Duration
	// MaxBytes caps a decoded attachment; default 8 MB as Medtech reported.
	MaxBytes int64
	// Now is the clock for token and launch expiry; default time.Now.
	Now func() time.Time
	// PermissiveSearch answers DocumentReference?identifier= and Media?identifier=
	// without a patient filter. Real ALEX refuses those with 403 "Authorization
	// failed.", so this is off by default: turn it on only to exercise a relay
	// configured with document_search = "identifier" against a server that allows it.
	PermissiveSearch bool
}

// Sim is the sandbox: an http.Handler. It is safe for concurrent use.
type Sim struct {
	opts       Options
	facilities map[string]bool
	mux        *http.ServeMux

	mu       sync.Mutex
	tokens   map[string]time.Time // access token -> expiry
	faults   Faults
	store    []*stored
	seq      int
	requests []Request
	patients map[string][]*patient // facility -> patients
	// providers are practitioner ids per facility: the seeded one plus any named in a
	// minted launch, so an upload authored by the launching provider is accepted.
	providers map[string]map[string]bool
}

// New returns a Sim seeded with test patients in every facility.
func New(opts Options) *Sim {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 3599 * time.Second
	}
	if len(opts.Facilities) == 0 {
		opts.Facilities = []string{DefaultFacility, LocalFacility}
	}
	if len(opts.LaunchSecret) == 0 {
		opts.LaunchSecret = make([]byte, 32)
		_, _ = rand.Read(opts.LaunchSecret)
	}
	if opts.Patients == nil {
		opts.Patients = TestPatients
	}
	if opts.LaunchTTL <= 0 {
		opts.LaunchTTL = 5 * time.Minute
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 8 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sim{opts: opts, facilities: map[string]bool{}, tokens: map[string]time.Time{}, patients: map[string][]*patient{},
		providers: map[string]map[string]bool{}}
	for _, f := range opts.Facilities {
		s.facilities[f] = true
		s.patients[f] = seed(f, opts.Patients)
		s.providers[f] = map[string]bool{ProviderID(f): true}
	}
	s.routes()
	return s
}

func (s *Sim) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST "+TokenPath, s.token)
	m.HandleFunc("GET /vendorforms/api/getlaunchcontextstring/{context}/{signature}", s.api(s.decodeLaunch))
	m.HandleFunc("/_sim/", s.admin)
	m.HandleFunc("/", s.root)
	s.mux = m
}

// root sends /FHIR/... and /fhir/... (ALEX answers both spellings) to the FHIR
// handlers; everything else is API Management's non-FHIR 404.
func (s *Sim) root(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if r.Method == http.MethodPost && strings.HasSuffix(p, TokenPath) && strings.Count(p, "/") == 4 {
		// Entra's real shape has the tenant first: /{tenant}/oauth2/v2.0/token.
		s.token(w, r)
		return
	}
	if len(p) >= 6 && strings.EqualFold(p[:6], "/fhir/") {
		s.api(s.fhir)(w, r)
		return
	}
	notExposed(w)
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Server is a Sim listening on a real loopback port.
type Server struct {
	*Sim
	// URL is the root, e.g. http://127.0.0.1:41234.
	URL string
	// BaseURL is the FHIR base (URL + "/FHIR"), TokenURL the token endpoint.
	BaseURL, TokenURL string
	srv               *http.Server
	ln                net.Listener
}

// Start serves a new Sim on addr (default 127.0.0.1:0, a free port) until Close or ctx
// ends.
func Start(ctx context.Context, addr string, opts Options) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	sim := New(opts)
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 30 * time.Second}
	u := "http://" + ln.Addr().String()
	s := &Server{Sim: sim, URL: u, BaseURL: u + "/FHIR", TokenURL: u + TokenPath, srv: srv, ln: ln}
	go func() { _ = srv.Serve(ln) }()
	context.AfterFunc(ctx, func() { _ = s.Close() })
	return s, nil
}

// Close stops the server and drops open connections.
func (s *Server) Close() error {
	err := s.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
