package config

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadFileThenEnv(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "alex.secret")
	os.WriteFile(secretFile, []byte("s3cret-from-file\n"), 0o600)
	path := filepath.Join(dir, "relay.toml")
	os.WriteFile(path, []byte(`
listen = "127.0.0.1:9000"
data_dir = "`+dir+`"
token_ttl = "5m"
max_upload_bytes = 2000000
[alex]
base_url = "http://127.0.0.1:1/FHIR"
token_url = "http://127.0.0.1:1/token"
client_id = "from-file"
client_secret_file = "`+secretFile+`"
identifier_search = true
`), 0o600)
	env := map[string]string{EnvALEXClientID: "from-env"}
	c, err := Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.TokenTTL.Duration != 5*time.Minute || c.MaxUploadBytes != 2000000 ||
		c.ALEX.ClientID != "from-env" || c.ALEX.ClientSecret != "s3cret-from-file" || c.ALEX.DocumentSearch != "identifier" ||
		c.AdminListen != "127.0.0.1:9464" || c.AuditKeyFile != filepath.Join(dir, "audit.key") {
		t.Fatalf("loaded %+v", c)
	}
	if err := c.CheckALEX(); err != nil {
		t.Fatal(err)
	}
	env[EnvALEXSecret] = "s3cret-from-env"
	c, _ = Load(path, func(k string) string { return env[k] })
	if c.ALEX.ClientSecret != "s3cret-from-env" {
		t.Fatal("environment secret should win over the file")
	}
	// The secret never shows when the config is printed or logged.
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "config", c)
	if strings.Contains(buf.String()+c.String()+func() string { b, _ := c.TokenTTL.MarshalText(); return string(b) }(), "s3cret") {
		t.Fatal("the ALEX secret leaked into a log line")
	}
}

func TestLoadRefusesUnknownKeysAndReportsMissingALEX(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.toml")
	os.WriteFile(path, []byte("lisen = \"x\"\n"), 0o600)
	if _, err := Load(path, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "lisen") {
		t.Fatalf("unknown key: %v", err)
	}
	c, err := Load("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckALEX(); err == nil || !strings.Contains(err.Error(), "alex.base_url") {
		t.Fatalf("CheckALEX: %v", err)
	}
	c, _ = Load("", func(k string) string {
		if k == EnvAdminListen {
			return "off"
		}
		return ""
	})
	if c.AdminListen != "" {
		t.Fatalf("admin listener not disabled: %q", c.AdminListen)
	}
	if _, err := Load("", func(k string) string {
		if k == EnvMaxUpload {
			return "lots"
		}
		return ""
	}); err == nil {
		t.Fatal("a non-numeric upload limit was accepted")
	}
}

func TestAuditKeyCreatedOnceAndKept(t *testing.T) {
	c := Config{AuditKeyFile: filepath.Join(t.TempDir(), "sub", "audit.key")}
	k1, err := c.AuditKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := c.AuditKey()
	if err != nil || !bytes.Equal(k1, k2) || len(k1) != 32 {
		t.Fatalf("audit key not stable: %v", err)
	}
	fi, _ := os.Stat(c.AuditKeyFile)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit key mode %v", fi.Mode())
	}
}

func TestEdgeSettings(t *testing.T) {
	load := func(toml string) (Config, error) {
		path := filepath.Join(t.TempDir(), "relay.toml")
		os.WriteFile(path, []byte(toml), 0o600)
		return Load(path, func(string) string { return "" })
	}
	c, err := load("")
	if err != nil || c.AuditRetention.Duration != DefaultAuditRetention {
		t.Fatalf("default retention: %v %v", c.AuditRetention, err)
	}
	c, err = load(`audit_retention = "90d"
trusted_proxies = ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]
max_conns_per_ip = 20
allow_insecure_admin = true
`)
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := c.Proxies()
	if c.AuditRetention.Duration != 90*24*time.Hour || len(ps) != 3 || ps[1].Bits() != 32 || c.MaxConnsPerIP != 20 || !c.AllowInsecureAdmin {
		t.Fatalf("loaded %+v, proxies %v", c, ps)
	}
	for toml, want := range map[string]string{
		`audit_retention = "1h"`:         "under a day",
		`audit_retention = "ninety"`:     "audit_retention",
		`audit_retention = "xd"`:         "number of days",
		`trusted_proxies = ["10.0.0.x"]`: "trusted_proxies",
	} {
		if _, err := load(toml); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %q", toml, err, want)
		}
	}
}

func TestParseDurationDays(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "0d": 0, "90m": 90 * time.Minute, " 2d": 48 * time.Hour} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"-1d", "1.5d", "d", "99999d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestUnconfirmedALEXFacts: every fact Medtech has not confirmed is relay.toml
// configuration with a default: the type code per kind, the body-site mode, the
// reference and launch bases, the search after an ambiguous write.
func TestUnconfirmedALEXFacts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "relay.toml")
	load := func(alex string) (Config, error) {
		os.WriteFile(path, []byte("data_dir = \""+dir+"\"\n[alex]\n"+alex), 0o600)
		return Load(path, func(string) string { return "" })
	}
	c, err := load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.ALEX.DocumentTypes["photo"].Code != "72170-4" || c.ALEX.DocumentTypes["document"].Code != "51852-2" ||
		c.ALEX.BodySite != "" || c.ALEX.ReferenceBase != "" || c.ALEX.LaunchBaseURL != "" || c.ALEX.DocumentSearch != "" {
		t.Fatalf("defaults %+v", c.ALEX)
	}
	c, err = load(`body_site = "both"
reference_base = "https://alexapi.medtechglobal.com/fhir"
launch_base_url = "https://alexapi.medtechglobal.com"
document_search = "none"
[alex.document_type.document]
system = "http://loinc.org"
code = "57133-1"
display = "Referral note"
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.ALEX.DocumentTypes["document"].Code != "57133-1" || c.ALEX.DocumentTypes["photo"].Code != "72170-4" ||
		c.ALEX.BodySite != "both" || c.ALEX.ReferenceBase == "" || c.ALEX.LaunchBaseURL == "" || c.ALEX.DocumentSearch != "none" {
		t.Fatalf("set %+v", c.ALEX)
	}
	for _, bad := range []string{"[alex.document_type.xray]\nsystem = \"s\"\ncode = \"c\"\n", "[alex.document_type.photo]\ndisplay = \"x\"\n"} {
		if _, err := load(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestEveryALEXSettingIsDocumented: every [alex] key of relay.toml is in
// docs/relay.md, and the ALEX facts behind them are in docs/alex.md, which points
// nowhere outside the repository.
func TestEveryALEXSettingIsDocumented(t *testing.T) {
	relayDoc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "relay.md"))
	if err != nil {
		t.Fatal(err)
	}
	alexDoc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "alex.md"))
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeOf(ALEX{})
	n := 0
	for i := 0; i < typ.NumField(); i++ {
		key := strings.Split(typ.Field(i).Tag.Get("toml"), ",")[0]
		if key == "" || key == "-" {
			continue
		}
		n++
		if !bytes.Contains(relayDoc, []byte(key)) {
			t.Errorf("relay.toml key alex.%s is not in docs/relay.md", key)
		}
	}
	for _, fact := range []string{"document_type", "body_site", "reference_base", "launch_base_url", "document_search", "identifier_system", "app_id"} {
		if !bytes.Contains(alexDoc, []byte(fact)) {
			t.Errorf("docs/alex.md does not say which fact %s stands for", fact)
		}
	}
	if bytes.Contains(alexDoc, []byte("../shared")) || bytes.Contains(alexDoc, []byte("/work/")) {
		t.Error("docs/alex.md points outside the repository")
	}
	if n < 14 {
		t.Fatalf("found only %d keys", n)
	}
}
