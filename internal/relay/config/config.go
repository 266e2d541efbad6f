// Package config loads clinicpro-relay's configuration: a TOML file, then
// environment variables on top (so a container or systemd unit can inject secrets),
// then defaults. The ALEX client secret may come from a file or the environment and
// is never printed: Config's String and LogValue leave it out.
package config

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// Config is the relay's configuration. TOML keys are the snake_case tags.
type Config struct {
	Listen              string   `toml:"listen"`       // public API, default 127.0.0.1:8443
	AdminListen         string   `toml:"admin_listen"` // metrics, default 127.0.0.1:9464; "off" disables
	DataDir             string   `toml:"data_dir"`     // SQLite database, spool, audit key
	TLSCertFile         string   `toml:"tls_cert_file"`
	TLSKeyFile          string   `toml:"tls_key_file"`
	AllowInsecurePublic bool     `toml:"allow_insecure_public"`
	MaxUploadBytes      int64    `toml:"max_upload_bytes"`
	TokenTTL            Duration `toml:"token_ttl"`
	RatePerSecond       float64  `toml:"rate_per_second"`
	RateBurst           int      `toml:"rate_burst"`
	// ALEXRatePerSecond and ALEXBurst limit the relay's calls to ALEX as a whole,
	// to protect Medtech; PCs take turns under it.
	ALEXRatePerSecond float64 `toml:"alex_rate_per_second"`
	ALEXBurst         int     `toml:"alex_burst"`
	// Relays is how many relays share the load: each enforces 1/Relays of the limits.
	Relays              int    `toml:"relays"`
	FacilityConcurrency int    `toml:"facility_concurrency"`
	AuditKeyFile        string `toml:"audit_key_file"` // default <data_dir>/audit.key, created if missing
	// AuditRetention is how long audit rows are kept (default DefaultAuditRetention).
	AuditRetention Duration `toml:"audit_retention"`
	// AllowInsecureAdmin permits admin_listen on a non-loopback address without TLS,
	// for a Prometheus on a private network.
	AllowInsecureAdmin bool `toml:"allow_insecure_admin"`
	// MaxConnsPerIP caps the connections one source address holds open.
	MaxConnsPerIP int `toml:"max_conns_per_ip"`
	// TrustedProxies are the load balancers (addresses or CIDR prefixes) whose
	// X-Forwarded-For header names the client.
	TrustedProxies []string `toml:"trusted_proxies"`
	LogLevel       string   `toml:"log_level"` // debug, info, warn, error
	// Store is "sqlite" (default: <data_dir>/relay.db, one relay) or "postgres"
	// (several relays sharing one database).
	Store string `toml:"store"`
	// PostgresDSNFile holds the PostgreSQL connection string. It is read from this
	// file or CLINICPRO_RELAY_POSTGRES_DSN, never from the TOML file or a command
	// line, where a password would be seen.
	PostgresDSNFile string `toml:"postgres_dsn_file"`
	PostgresDSN     string `toml:"-"`
	ALEX            ALEX   `toml:"alex"`
}

// DefaultAuditRetention keeps a year of audit rows: enough to answer a practice's or
// a privacy officer's question about any upload of the past year, without the table
// growing for ever. Set audit_retention longer if your records policy asks for it.
const DefaultAuditRetention = 365 * 24 * time.Hour

// ALEX is how the relay reaches Medtech.
type ALEX struct {
	BaseURL          string `toml:"base_url"`
	TokenURL         string `toml:"token_url"`
	ClientID         string `toml:"client_id"`
	ClientSecretFile string `toml:"client_secret_file"`
	Scope            string `toml:"scope"`
	AppID            string `toml:"app_id"`
	IdentifierSystem string `toml:"identifier_system"`
	// DocumentSearch is how an ambiguous write is looked for: "patient.identifier"
	// (default), "identifier" or "none" (see docs/relay.md).
	DocumentSearch string `toml:"document_search"`
	// IdentifierSearch is the old spelling of document_search = "identifier", kept so
	// an existing relay.toml still loads.
	IdentifierSearch bool     `toml:"identifier_search"`
	Timeout          Duration `toml:"timeout"`

	// The ALEX facts Medtech has not confirmed (docs/alex.md), each with its default:
	//
	// DocumentTypes is DocumentReference.type per kind ("photo", "document");
	// defaults DefaultDocumentTypes.
	DocumentTypes map[string]Coding `toml:"document_type"`
	// BodySite is where laterality and body site go: "description" (default),
	// "extension", "both" or "omit".
	BodySite string `toml:"body_site"`
	// ReferenceBase is the absolute base of subject and author references; default
	// base_url with a lowercase /fhir, as ALEX writes its own references.
	ReferenceBase string `toml:"reference_base"`
	// LaunchBaseURL is where /vendorforms/api/getlaunchcontextstring lives; default
	// base_url without /FHIR.
	LaunchBaseURL string `toml:"launch_base_url"`

	// ClientSecret is read from ClientSecretFile or CLINICPRO_ALEX_CLIENT_SECRET,
	// never from the TOML file itself, so the config file can be shown to anyone.
	ClientSecret string `toml:"-"`
}

// Coding is a code in relay.toml: system, code and display.
type Coding struct {
	System  string `toml:"system"`
	Code    string `toml:"code"`
	Display string `toml:"display"`
}

// DefaultDocumentTypes: LOINC 72170-4 "Photographic image" for photos, the code CP
// aligned to Medtech's scan requirements; LOINC 51852-2 "Letter" for documents, our
// inference (nothing public says what Medtech expects for a scanned document).
var DefaultDocumentTypes = map[string]Coding{
	api.KindPhoto:    {System: "http://loinc.org", Code: "72170-4", Display: "Photographic image"},
	api.KindDocument: {System: "http://loinc.org", Code: "51852-2", Display: "Letter"},
}

// Duration is a time.Duration written as "15m" or "90d" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	d.Duration = v
	return err
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// ParseDuration is time.ParseDuration plus whole days ("7d", "365d"), the unit
// retention periods and code validity are thought of in.
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100*365 {
			return 0, fmt.Errorf("%q is not a number of days such as 7d", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// Environment variables read on top of the file.
const (
	EnvListen       = "CLINICPRO_RELAY_LISTEN"
	EnvAdminListen  = "CLINICPRO_RELAY_ADMIN_LISTEN"
	EnvDataDir      = "CLINICPRO_RELAY_DATA_DIR"
	EnvALEXBaseURL  = "CLINICPRO_ALEX_BASE_URL"
	EnvALEXTokenURL = "CLINICPRO_ALEX_TOKEN_URL"
	EnvALEXClientID = "CLINICPRO_ALEX_CLIENT_ID"
	EnvALEXSecret   = "CLINICPRO_ALEX_CLIENT_SECRET"
	EnvALEXScope    = "CLINICPRO_ALEX_SCOPE"
	EnvMaxUpload    = "CLINICPRO_RELAY_MAX_UPLOAD_BYTES"
	EnvPostgresDSN  = "CLINICPRO_RELAY_POSTGRES_DSN"
)

// Default locations.
const (
	DefaultPath    = "/etc/clinicpro-relay/relay.toml"
	DefaultDataDir = "/var/lib/clinicpro-relay"
)

// Load reads path ("" or a missing DefaultPath means no file), applies getenv and
// defaults, and checks the result. getenv is os.Getenv outside tests.
func Load(path string, getenv func(string) string) (Config, error) {
	var c Config
	if path != "" {
		md, err := toml.DecodeFile(path, &c)
		switch {
		case errors.Is(err, os.ErrNotExist) && path == DefaultPath:
		case err != nil:
			return Config{}, fmt.Errorf("cannot read the relay configuration %s: %w", path, err)
		default:
			if und := md.Undecoded(); len(und) > 0 {
				return Config{}, fmt.Errorf("the relay configuration %s has unknown setting %q: check its spelling", path, und[0].String())
			}
		}
	}
	set := func(dst *string, env string) {
		if v := getenv(env); v != "" {
			*dst = v
		}
	}
	set(&c.Listen, EnvListen)
	set(&c.AdminListen, EnvAdminListen)
	set(&c.DataDir, EnvDataDir)
	set(&c.ALEX.BaseURL, EnvALEXBaseURL)
	set(&c.ALEX.TokenURL, EnvALEXTokenURL)
	set(&c.ALEX.ClientID, EnvALEXClientID)
	set(&c.ALEX.Scope, EnvALEXScope)
	if v := getenv(EnvMaxUpload); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%q is not a number of bytes", EnvMaxUpload, v)
		}
		c.MaxUploadBytes = n
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8443"
	}
	switch c.AdminListen {
	case "":
		c.AdminListen = "127.0.0.1:9464"
	case "off":
		c.AdminListen = ""
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.AuditKeyFile == "" {
		c.AuditKeyFile = filepath.Join(c.DataDir, "audit.key")
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.AuditRetention.Duration == 0 {
		c.AuditRetention.Duration = DefaultAuditRetention
	}
	if c.AuditRetention.Duration < 24*time.Hour {
		return Config{}, fmt.Errorf("audit_retention %s is under a day: set it in days, such as 365d", c.AuditRetention.Duration)
	}
	if _, err := c.Proxies(); err != nil {
		return Config{}, err
	}
	if c.ALEX.DocumentSearch == "" && c.ALEX.IdentifierSearch {
		c.ALEX.DocumentSearch = "identifier"
	}
	if err := c.ALEX.documentTypes(); err != nil {
		return Config{}, err
	}
	switch c.Store {
	case "":
		c.Store = "sqlite"
	case "sqlite":
	case "postgres":
		if v := getenv(EnvPostgresDSN); v != "" {
			c.PostgresDSN = v
		} else if c.PostgresDSNFile != "" {
			b, err := os.ReadFile(c.PostgresDSNFile)
			if err != nil {
				return Config{}, fmt.Errorf("cannot read the PostgreSQL connection string file: %w", err)
			}
			c.PostgresDSN = strings.TrimSpace(string(b))
		}
		if c.PostgresDSN == "" {
			return Config{}, fmt.Errorf("store = \"postgres\" needs a connection string: set postgres_dsn_file or %s", EnvPostgresDSN)
		}
	default:
		return Config{}, fmt.Errorf("store %q is neither \"sqlite\" nor \"postgres\": fix store in the relay configuration", c.Store)
	}
	if v := getenv(EnvALEXSecret); v != "" {
		c.ALEX.ClientSecret = v
	} else if c.ALEX.ClientSecretFile != "" {
		b, err := os.ReadFile(c.ALEX.ClientSecretFile)
		if err != nil {
			return Config{}, fmt.Errorf("cannot read the ALEX client secret file: %w", err)
		}
		c.ALEX.ClientSecret = strings.TrimSpace(string(b))
	}
	if _, err := c.Level(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// CheckALEX reports what is missing for the relay to call ALEX; serve needs it, the
// connector commands do not.
func (c Config) CheckALEX() error {
	var missing []string
	if c.ALEX.BaseURL == "" {
		missing = append(missing, "alex.base_url")
	}
	if c.ALEX.TokenURL == "" {
		missing = append(missing, "alex.token_url")
	}
	if c.ALEX.ClientID == "" {
		missing = append(missing, "alex.client_id")
	}
	if c.ALEX.ClientSecret == "" {
		missing = append(missing, "alex.client_secret_file or "+EnvALEXSecret)
	}
	if len(missing) > 0 {
		return fmt.Errorf("the relay cannot call Medtech ALEX: set %s", strings.Join(missing, ", "))
	}
	return nil
}

// Proxies parses TrustedProxies: each an address or a CIDR prefix.
func (c Config) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range c.TrustedProxies {
		if a, err := netip.ParseAddr(p); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		pr, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies entry %q is not an address or a prefix such as 10.0.0.0/8", p)
		}
		out = append(out, pr.Masked())
	}
	return out, nil
}

// Level parses LogLevel.
func (c Config) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("log_level %q is not one of debug, info, warn, error", c.LogLevel)
	}
	return l, nil
}

// String describes c without the ALEX secret.
func (c Config) String() string {
	secret := "unset"
	if c.ALEX.ClientSecret != "" {
		secret = "set"
	}
	return fmt.Sprintf("listen=%s admin=%s data=%s store=%s tls=%t alex=%s client_id=%s secret=%s",
		c.Listen, c.AdminListen, c.DataDir, c.Store, c.TLSCertFile != "", c.ALEX.BaseURL, c.ALEX.ClientID, secret)
}

// LogValue keeps the secret out of logs when a Config is logged whole.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// AuditKey reads the audit hash key, creating a random one (mode 0600) on first use.
func (c Config) AuditKey() ([]byte, error) {
	b, err := os.ReadFile(c.AuditKeyFile)
	if err == nil {
		if len(b) < 16 {
			return nil, fmt.Errorf("the audit key %s is shorter than 16 bytes: remove it to have a new one made", c.AuditKeyFile)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cannot read the audit key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(c.AuditKeyFile), 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(c.AuditKeyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return c.AuditKey() // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("cannot create the audit key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}

// documentTypes fills in the default type of each kind relay.toml does not set and
// refuses a kind that does not exist or a type without system and code.
func (a *ALEX) documentTypes() error {
	types := map[string]Coding{}
	for k, v := range DefaultDocumentTypes {
		types[k] = v
	}
	for k, v := range a.DocumentTypes {
		if _, ok := DefaultDocumentTypes[k]; !ok {
			return fmt.Errorf("[alex.document_type.%s]: the kinds are %s and %s", k, api.KindPhoto, api.KindDocument)
		}
		if v.System == "" || v.Code == "" {
			return fmt.Errorf("[alex.document_type.%s] needs both system and code", k)
		}
		types[k] = v
	}
	a.DocumentTypes = types
	return nil
}
