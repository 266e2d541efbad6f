// Package registry holds the relay's connectors (one per practice PC, bound to one
// HPI facility), the codes that enrol them, their hashed client secrets and the
// short-lived access tokens issued to them. Persistence is a Store (internal/relay/
// store: SQLite for one relay, PostgreSQL for several).
//
// There are two kinds of enrolment code. A connector code (connector add) enrols one
// PC once. A practice code (practice add) enrols up to N PCs of one facility within
// its validity; each PC becomes its own connector with its own secret, named after
// the PC's host name, so one PC can be revoked without the others. Both are typed
// the same way, so the installer's ENROLCODE takes either.
//
// Codes, secrets and tokens are stored only as SHA-256 hashes. They are random with
// at least 50 bits (codes, which also expire and are limited per source address) or
// 256 bits (secrets, tokens) of entropy, so a fast hash is enough: there is nothing
// to brute-force that a slow password hash would protect, and token checks stay cheap.
package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Durations fixed by the product.
const (
	CodeTTL = 72 * time.Hour
	// MaxPracticeValidity bounds a practice code's life: it is written into GPO or
	// Intune, where more people can read it than a code on paper.
	MaxPracticeValidity = 30 * 24 * time.Hour
	// MaxPracticePCs bounds how many PCs one practice code enrols.
	MaxPracticePCs = 500
	// RevocationLag is how long a token check may be answered from memory: a token
	// revoked on any relay is refused by every relay within this time (sooner on
	// PostgreSQL, whose notifications clear the memory at once).
	RevocationLag = 500 * time.Millisecond
)

// Status of a connector or practice.
type Status string

const (
	Pending Status = "pending" // added, enrolment code not yet used
	Active  Status = "active"
	Revoked Status = "revoked"
)

// Connector is one practice PC (or, for codes made by connector add, one install).
type Connector struct {
	ID       string // also the OAuth2 client id
	Facility string // HPI facility id, e.g. F2N060-E
	Name     string // the operator's name, or the PC's host name for a practice code
	Status   Status
	Created  time.Time
	Enrolled time.Time // zero until the first enrolment
	Practice string    // the practice whose code enrolled it; "" for a connector code
	LastSeen time.Time // when it last fetched a token; zero if never
}

// Practice is a practice code and the PCs it enrolled.
type Practice struct {
	ID       string
	Facility string
	Name     string
	PCs      int // how many PCs the code may enrol
	Enrolled int // how many it has
	Expires  time.Time
	Status   Status // Active or Revoked
	Created  time.Time
}

// Errors callers map to responses. Their text is safe to show.
var (
	ErrBadFacility  = errors.New("the facility must be an HPI facility id such as F2N060-E")
	ErrNotFound     = errors.New("no such connector")
	ErrRevoked      = errors.New("the connector was revoked")
	ErrCodeUnknown  = errors.New("the enrolment code is not known: check it was typed as printed")
	ErrCodeUsed     = errors.New("the enrolment code was already used: ask the relay operator for a new one")
	ErrCodeExpired  = errors.New("the enrolment code expired: ask the relay operator for a new one")
	ErrPracticeFull = errors.New("this practice code has already enrolled every PC it was issued for: " +
		"ask the relay operator to revoke a PC you no longer use or to issue a new practice code")
	ErrPracticeRevoked  = errors.New("this practice code was revoked: ask the relay operator for a new one")
	ErrPracticeNotFound = errors.New("no such practice")
	ErrBadSecret        = errors.New("unknown client or wrong secret")
	ErrTokenInvalid     = errors.New("the access token is unknown, expired or revoked")
)

var facilityRe = regexp.MustCompile(`^F[0-9A-Z]{2}[0-9]{3}-[A-Z]$`)

// validFacility reports whether s has the shape of an HPI facility id.
func validFacility(s string) bool { return facilityRe.MatchString(s) }

// Store is what the registry keeps. Every method that spends a code or changes a
// connector's status is atomic in the store, so relays sharing one store never
// enrol twice with one code or over a practice's limit.
type Store interface {
	AddConnector(ctx context.Context, c Connector, codeHash []byte, codeExpires time.Time) error
	// SetCode makes codeHash the connector's only enrolment code.
	SetCode(ctx context.Context, id string, codeHash []byte, expires time.Time) error
	// RevokeConnector ends a connector's secret, tokens and codes (ErrNotFound).
	RevokeConnector(ctx context.Context, id string) error
	Connector(ctx context.Context, id string) (Connector, error)
	// Connectors lists every connector, or a practice's when practice is set,
	// oldest first.
	Connectors(ctx context.Context, practice string) ([]Connector, error)
	// ConnectorSecret returns a connector with its secret hash (nil when none).
	ConnectorSecret(ctx context.Context, id string) (Connector, []byte, error)
	// Redeem spends an enrolment code of either kind. A connector code activates
	// its connector with secretHash and ends its tokens; a practice code creates pc
	// (ID and Name set by the caller) in the code's practice and facility, if the
	// practice has a PC left. Errors: ErrCodeUnknown, ErrCodeUsed, ErrCodeExpired,
	// ErrRevoked, ErrPracticeFull, ErrPracticeRevoked; a refused practice code's
	// Connector carries its Practice and Facility.
	Redeem(ctx context.Context, codeHash, secretHash []byte, pc Connector, now time.Time) (Connector, error)
	AddPractice(ctx context.Context, p Practice, codeHash []byte) error
	Practice(ctx context.Context, id string) (Practice, error)
	Practices(ctx context.Context) ([]Practice, error)
	// RevokePractice ends the practice's code and every PC it enrolled.
	RevokePractice(ctx context.Context, id string) error
	// AddToken records a token, sweeps expired ones and marks the connector seen.
	AddToken(ctx context.Context, tokenHash []byte, id string, expires, now time.Time) error
	// TokenConnector returns the connector a token was issued to and its expiry.
	TokenConnector(ctx context.Context, tokenHash []byte) (Connector, time.Time, error)
	// OnRevoke registers f to be called when another process may have revoked
	// tokens (PostgreSQL notifications); stores without notifications never call it.
	OnRevoke(f func())
	Ping(ctx context.Context) error
}

// Registry is the connector registry.
type Registry struct {
	st  Store
	now func() time.Time

	mu    sync.Mutex
	cache map[string]cachedToken // by token hash
}

type cachedToken struct {
	c       Connector
	expires time.Time
	checked time.Time
}

// New returns a registry over st.
func New(st Store) *Registry {
	r := &Registry{st: st, now: time.Now, cache: map[string]cachedToken{}}
	st.OnRevoke(r.forget)
	return r
}

// SetClock replaces the clock, for tests of expiry.
func (r *Registry) SetClock(now func() time.Time) { r.now = now }

// forget drops every remembered token check.
func (r *Registry) forget() {
	r.mu.Lock()
	clear(r.cache)
	r.mu.Unlock()
}

func normalFacility(f string) (string, error) {
	f = strings.ToUpper(strings.TrimSpace(f))
	if !validFacility(f) {
		return "", ErrBadFacility
	}
	return f, nil
}

// Add creates a pending connector for facility and returns it with its one-time
// enrolment code.
func (r *Registry) Add(ctx context.Context, facility, name string) (Connector, string, error) {
	facility, err := normalFacility(facility)
	if err != nil {
		return Connector{}, "", err
	}
	c := Connector{ID: newConnectorID(), Facility: facility, Name: strings.TrimSpace(name), Status: Pending, Created: r.now().UTC()}
	code := newCode(10)
	if err := r.st.AddConnector(ctx, c, hash(NormalizeCode(code)), c.Created.Add(CodeTTL)); err != nil {
		return Connector{}, "", err
	}
	return c, code, nil
}

// AddPractice creates a practice code that enrols up to pcs PCs of facility until
// valid has passed, and returns the practice with its code.
func (r *Registry) AddPractice(ctx context.Context, facility, name string, pcs int, valid time.Duration) (Practice, string, error) {
	facility, err := normalFacility(facility)
	if err != nil {
		return Practice{}, "", err
	}
	if pcs < 1 || pcs > MaxPracticePCs {
		return Practice{}, "", fmt.Errorf("a practice code enrols 1 to %d PCs, not %d: fix --pcs", MaxPracticePCs, pcs)
	}
	if valid <= 0 || valid > MaxPracticeValidity {
		return Practice{}, "", fmt.Errorf("a practice code is valid for up to %d days: fix --valid", int(MaxPracticeValidity.Hours()/24))
	}
	now := r.now().UTC()
	p := Practice{ID: "prc_" + randomHex(8), Facility: facility, Name: strings.TrimSpace(name), PCs: pcs,
		Expires: now.Add(valid), Status: Active, Created: now}
	code := newCode(12)
	if err := r.st.AddPractice(ctx, p, hash(NormalizeCode(code))); err != nil {
		return Practice{}, "", err
	}
	return p, code, nil
}

// Rotate issues a new enrolment code for an existing connector. Its current secret
// keeps working until the new code is redeemed, so a practice is not cut off while
// the code travels; redeeming it replaces the secret and ends every token.
func (r *Registry) Rotate(ctx context.Context, id string) (string, error) {
	c, err := r.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if c.Status == Revoked {
		return "", ErrRevoked
	}
	code := newCode(10)
	if err := r.st.SetCode(ctx, id, hash(NormalizeCode(code)), r.now().Add(CodeTTL)); err != nil {
		return "", err
	}
	return code, nil
}

// Revoke ends a connector for good: its secret, tokens and codes stop working at once
// on this relay, and within RevocationLag on every other.
func (r *Registry) Revoke(ctx context.Context, id string) error {
	defer r.forget()
	return r.st.RevokeConnector(ctx, id)
}

// RevokePractice ends a practice's code and every PC it enrolled.
func (r *Registry) RevokePractice(ctx context.Context, id string) error {
	defer r.forget()
	return r.st.RevokePractice(ctx, id)
}

// Get returns one connector.
func (r *Registry) Get(ctx context.Context, id string) (Connector, error) {
	return r.st.Connector(ctx, id)
}

// List returns every connector, oldest first.
func (r *Registry) List(ctx context.Context) ([]Connector, error) { return r.st.Connectors(ctx, "") }

// Practice returns a practice and the PCs it enrolled.
func (r *Registry) Practice(ctx context.Context, id string) (Practice, []Connector, error) {
	p, err := r.st.Practice(ctx, id)
	if err != nil {
		return Practice{}, nil, err
	}
	pcs, err := r.st.Connectors(ctx, id)
	return p, pcs, err
}

// Practices lists every practice code, oldest first.
func (r *Registry) Practices(ctx context.Context) ([]Practice, error) { return r.st.Practices(ctx) }

// Enrol redeems a code of either kind for the PC called hostname. A connector code
// is spent, its connector becomes active with a new secret (returned once, stored
// hashed) and any earlier secret and tokens stop working. A practice code makes a
// new connector named after hostname.
func (r *Registry) Enrol(ctx context.Context, code, hostname string) (Connector, string, error) {
	secret := newSecret()
	now := r.now()
	pc := Connector{ID: newConnectorID(), Name: hostName(hostname)}
	c, err := r.st.Redeem(ctx, hash(NormalizeCode(code)), hash(secret), pc, now)
	if err != nil {
		// A refused practice code comes back with its practice and facility set.
		return Connector{Practice: c.Practice, Facility: c.Facility}, "", err
	}
	r.forget() // a rotation ended the connector's earlier tokens
	return c, secret, nil
}

// Authenticate checks a client id and secret. Unknown client, wrong secret and
// revoked connector all return ErrBadSecret so the answer reveals nothing.
func (r *Registry) Authenticate(ctx context.Context, clientID, secret string) (Connector, error) {
	c, stored, err := r.st.ConnectorSecret(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		// Compare anyway so an unknown client takes as long as a known one.
		subtle.ConstantTimeCompare(hash(secret), hash("x"))
		return Connector{}, ErrBadSecret
	}
	if err != nil {
		return Connector{}, err
	}
	ok := len(stored) == sha256.Size && subtle.ConstantTimeCompare(hash(secret), stored) == 1
	if !ok || c.Status != Active {
		return Connector{}, ErrBadSecret
	}
	return c, nil
}

// IssueToken returns a new opaque access token for c, valid for ttl.
func (r *Registry) IssueToken(ctx context.Context, c Connector, ttl time.Duration) (string, time.Time, error) {
	tok := newSecret()
	now := r.now()
	exp := now.Add(ttl)
	if err := r.st.AddToken(ctx, hash(tok), c.ID, exp, now); err != nil {
		return "", time.Time{}, err
	}
	return tok, exp, nil
}

// TokenConnector returns the active connector a token was issued to. A check is
// remembered for RevocationLag, so a busy connector's requests do not each reach
// the store.
func (r *Registry) TokenConnector(ctx context.Context, token string) (Connector, error) {
	h := hash(token)
	key := string(h)
	now := r.now()
	r.mu.Lock()
	ct, ok := r.cache[key]
	r.mu.Unlock()
	wall := time.Now()
	if !ok || wall.Sub(ct.checked) >= RevocationLag || wall.Before(ct.checked) {
		c, exp, err := r.st.TokenConnector(ctx, h)
		if errors.Is(err, ErrNotFound) {
			return Connector{}, ErrTokenInvalid
		}
		if err != nil {
			return Connector{}, err
		}
		ct = cachedToken{c: c, expires: exp, checked: wall}
		r.mu.Lock()
		if len(r.cache) > 100_000 {
			clear(r.cache)
		}
		r.cache[key] = ct
		r.mu.Unlock()
	}
	if ct.c.Status != Active || !now.Before(ct.expires) {
		return Connector{}, ErrTokenInvalid
	}
	return ct.c, nil
}

// Ping checks the store answers, for readiness.
func (r *Registry) Ping(ctx context.Context) error { return r.st.Ping(ctx) }

// hostName makes a PC's reported host name fit to show in the operator's list: the
// letters, digits, dots, dashes and underscores of a host name, at most 63 of them,
// or "unnamed PC".
func hostName(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(".-_", r)) {
			b.WriteRune(r)
		}
		if b.Len() == 63 {
			break
		}
	}
	if b.Len() == 0 {
		return "unnamed PC"
	}
	return b.String()
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newConnectorID() string { return "cpc_" + randomHex(10) }

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// codeAlphabet is Crockford's base 32: no I, L, O or U, so a code read aloud or
// copied from paper is hard to get wrong.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newCode returns n random symbols (5 bits each) in groups: XXXXX-XXXXX for a
// connector code (50 bits), XXXX-XXXX-XXXX for a practice code (60 bits), so the two
// kinds look different on paper and a practice code, which enrols several PCs over
// several days, is harder to guess.
func newCode(n int) string {
	group := 5
	if n == 12 {
		group = 4
	}
	b := make([]byte, n)
	_, _ = rand.Read(b)
	out := make([]byte, 0, n+n/group)
	for i, v := range b {
		if i > 0 && i%group == 0 {
			out = append(out, '-')
		}
		out = append(out, codeAlphabet[v&31])
	}
	return string(out)
}

// NormalizeCode upper-cases a typed code, drops separators and maps the letters
// Crockford's alphabet leaves out to the digits they are mistaken for.
func NormalizeCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		b.WriteRune(r)
	}
	return b.String()
}
