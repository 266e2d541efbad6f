// Package config is the agent's one configuration file (TOML, comments allowed) and
// the per-OS places where the agent keeps its files. Secrets never live here: the
// enrolment secret is stored separately by the agent.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// Byte budget limits. ALEX accepts up to 8 MB; we aim under 1 MB so the Inbox Scan
// folder and legacy referral forms stay quick.
const (
	DefaultByteBudget = 1_000_000
	MaxByteBudget     = 8 * 1024 * 1024
	MinByteBudget     = 50_000

	DefaultStabilityWindow = time.Second
	DefaultScanInterval    = 30 * time.Second
	DefaultHCMService      = "HybridConnectionManager"
	DefaultHealthInterval  = 30 * time.Second
	DefaultHCMPoll         = 30 * time.Second
	DefaultHCMRestartGrace = 2 * time.Minute
	// DefaultSentRetention is how long sent items stay in the queue (and the tray's
	// list of what was sent) before they are pruned.
	DefaultSentRetention = 90 * 24 * time.Hour
)

// Config is the whole configuration file.
type Config struct {
	// RelayURL is the base URL of clinicpro-relay. Empty until the agent is enrolled.
	RelayURL string `toml:"relay_url"`
	// ByteBudget is the largest file sent to Medtech, in bytes.
	ByteBudget int64 `toml:"byte_budget"`
	// PDF is what happens to a PDF that passed the safety checks.
	PDF PDFHandling `toml:"pdf"`
	// StabilityWindow is how long a file's size and modification time must stay
	// unchanged before it is taken: scanners and phone sync write files in pieces.
	StabilityWindow Duration `toml:"stability_window"`
	// ScanInterval is how often every folder is scanned in full, whatever fsnotify
	// says; poll-only folders are scanned this often too.
	ScanInterval Duration `toml:"scan_interval"`
	// HealthInterval is how often the relay's health (which includes whether ALEX
	// can reach the practice) is asked, so an outage shows before an upload fails.
	HealthInterval Duration `toml:"health_interval"`
	// LaunchListen is a loopback host:port on which the agent serves Medtech web
	// launch URLs; empty: not served. A setting rather than only a flag so the
	// installer's plain "service run" can serve it.
	LaunchListen string `toml:"launch_listen"`
	// SentRetention is how long a sent item is kept after ALEX confirmed it; older
	// ones are pruned. Nothing unsent is ever pruned.
	SentRetention Duration    `toml:"sent_retention"`
	ClinicHours   ClinicHours `toml:"clinic_hours"`
	HCM           HCM         `toml:"hcm"`
	Folders       []Folder    `toml:"folder"`
}

// Folder is one watched folder and what to do with the files that arrive in it.
type Folder struct {
	Path  string `toml:"path"`
	Label string `toml:"label"` // shown in the tray as the item's source; defaults to the folder's base name
	// Routing decides which patient a file belongs to.
	Routing Routing `toml:"routing"`
	Format  Format  `toml:"format"`
	// PollOnly skips file-system notifications, which SMB shares deliver unreliably.
	PollOnly     bool         `toml:"poll_only"`
	SourceAction SourceAction `toml:"source_action"`
	// Source says how files reach this folder: "drop" (default), "camera" or "phone"
	// (relay/api's vocabulary); Kind what they are: "photo", "document" or "" (a PDF
	// is a document, an image a photo). The kind chooses Medtech's document type.
	Source string `toml:"source"`
	Kind   string `toml:"kind"`
}

// HCM holds the Hybrid Connection Manager monitor's settings; the HCM monitor reads them.
type HCM struct {
	// Host is true on the one PC in the practice that runs HCM.
	Host        bool     `toml:"host"`
	ServiceName string   `toml:"service_name"`
	Recovery    Recovery `toml:"recovery"`
	// KeepAwake stops the PC sleeping during clinic hours, so Medtech stays reachable.
	KeepAwake bool `toml:"keep_awake"`
	// PollInterval is how often the service is read.
	PollInterval Duration `toml:"poll_interval"`
	// RestartGrace is how long HCM must stay stopped before the agent starts it, so
	// an operator stopping it for maintenance is not fought over at once.
	RestartGrace Duration `toml:"restart_grace"`
	// TunnelPort is the remote port of HCM's Azure Relay connections; 0: 443.
	TunnelPort int `toml:"tunnel_port"`
	// StandInCommand and StandInPIDFile replace the Windows service with a plain
	// process recorded in a pid file (development and the demo only: the agent
	// starts the command when "HCM" is stopped).
	StandInCommand []string `toml:"standin_command"`
	StandInPIDFile string   `toml:"standin_pidfile"`
}

// Parse decodes and validates a configuration file's contents, filling defaults.
// Errors name the line and say how to fix it.
func Parse(data []byte) (*Config, error) {
	c := &Config{}
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{Line: pe.Position.Line, Msg: pe.Message, Fix: fixFor(pe)}
		}
		// Type mismatches come as plain errors whose text carries the line.
		e := &Error{Msg: err.Error(), Fix: "Correct the value's type: text in quotes, numbers and true/false without."}
		if m := lineInErr.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = strings.TrimPrefix(m[2], " ")
		}
		return nil, e
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return nil, &Error{
			Line: lineOfKey(data, k[len(k)-1], 0),
			Msg:  fmt.Sprintf("unknown setting %q", k.String()),
			Fix:  "Check the spelling against the example configuration, or remove the line.",
		}
	}
	c.applyDefaults()
	if err := c.validate(data); err != nil {
		return nil, err
	}
	return c, nil
}

// Load reads and parses the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("the configuration file %s does not exist: run `clinicpro` once to create an example, or reinstall", path)
		}
		return nil, fmt.Errorf("cannot read the configuration file %s: %w", path, err)
	}
	c, err := Parse(data)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.File = path
		}
		return nil, err
	}
	return c, nil
}

func (c *Config) applyDefaults() {
	if c.ByteBudget == 0 {
		c.ByteBudget = DefaultByteBudget
	}
	if c.PDF == "" {
		c.PDF = PDFRebuild
	}
	if c.StabilityWindow == 0 {
		c.StabilityWindow = Duration(DefaultStabilityWindow)
	}
	if c.ScanInterval == 0 {
		c.ScanInterval = Duration(DefaultScanInterval)
	}
	if c.HCM.ServiceName == "" {
		c.HCM.ServiceName = DefaultHCMService
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = Duration(DefaultHealthInterval)
	}
	if c.SentRetention == 0 {
		c.SentRetention = Duration(DefaultSentRetention)
	}
	if c.HCM.PollInterval == 0 {
		c.HCM.PollInterval = Duration(DefaultHCMPoll)
	}
	if c.HCM.RestartGrace == 0 {
		c.HCM.RestartGrace = Duration(DefaultHCMRestartGrace)
	}
	if c.HCM.Recovery == "" {
		c.HCM.Recovery = RecoveryRestart
	}
	for i := range c.Folders {
		f := &c.Folders[i]
		if f.Routing == "" {
			f.Routing = RoutingNHI
		}
		if f.Format == "" {
			f.Format = FormatAuto
		}
		if f.SourceAction == "" {
			f.SourceAction = ActionMove
		}
		if f.Label == "" && f.Path != "" {
			f.Label = baseName(f.Path)
		}
		if f.Source == "" {
			f.Source = api.SourceDrop
		}
	}
}

func (c *Config) validate(data []byte) error {
	if c.RelayURL != "" {
		u, err := url.Parse(c.RelayURL)
		ok := err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname()))
		if !ok {
			return &Error{Line: lineOfKey(data, "relay_url", 0), Msg: "relay_url is not a usable address",
				Fix: "Use the https:// address given at enrolment, e.g. relay_url = \"https://relay.clinicpro.co.nz\"."}
		}
	}
	if c.ByteBudget < MinByteBudget || c.ByteBudget > MaxByteBudget {
		return &Error{Line: lineOfKey(data, "byte_budget", 0),
			Msg: fmt.Sprintf("byte_budget %d is out of range", c.ByteBudget),
			Fix: fmt.Sprintf("Use a number of bytes between %d and %d; the default is %d.", MinByteBudget, MaxByteBudget, DefaultByteBudget)}
	}
	if c.StabilityWindow.D() < 100*time.Millisecond || c.StabilityWindow.D() > 10*time.Minute {
		return &Error{Line: lineOfKey(data, "stability_window", 0), Msg: "stability_window is out of range",
			Fix: "Use a duration between \"100ms\" and \"10m\"; the default is \"1s\"."}
	}
	if c.ScanInterval.D() < time.Second || c.ScanInterval.D() > time.Hour {
		return &Error{Line: lineOfKey(data, "scan_interval", 0), Msg: "scan_interval is out of range",
			Fix: "Use a duration between \"1s\" and \"1h\"; the default is \"30s\"."}
	}
	if c.HealthInterval.D() < time.Second || c.HealthInterval.D() > 10*time.Minute {
		return &Error{Line: lineOfKey(data, "health_interval", 0), Msg: "health_interval is out of range",
			Fix: "Use a duration between \"1s\" and \"10m\"; the default is \"30s\"."}
	}
	if c.SentRetention.D() < 24*time.Hour {
		return &Error{Line: lineOfKey(data, "sent_retention", 0), Msg: "sent_retention is under a day",
			Fix: "Use a number of days, e.g. \"90d\" (the default)."}
	}
	if c.LaunchListen != "" && !loopbackHostPort(c.LaunchListen) {
		return &Error{Line: lineOfKey(data, "launch_listen", 0), Msg: fmt.Sprintf("launch_listen %q is not a loopback address and port", c.LaunchListen),
			Fix: "Use 127.0.0.1 and a port, e.g. launch_listen = \"127.0.0.1:41357\", so only this PC can connect."}
	}
	if err := c.HCM.validate(data); err != nil {
		return err
	}
	if err := c.ClinicHours.validate(); err != nil {
		err.Line = lineOfKey(data, "clinic_hours", 0)
		return err
	}
	seen := map[string]int{}
	labels := map[string]int{}
	for i, f := range c.Folders {
		line := lineOfTable(data, "folder", i)
		if strings.TrimSpace(f.Path) == "" {
			return &Error{Line: line, Msg: "a [[folder]] has no path",
				Fix: "Add path = 'C:\\Scans' (single quotes keep backslashes as they are), or remove the [[folder]] block."}
		}
		if err := checkVars(f.Path); err != nil {
			return &Error{Line: line, Msg: fmt.Sprintf("folder path %q: %v", f.Path, err),
				Fix: "Start the path with %USERPROFILE% (each signed-in user's profile), ~ (the same) or %PUBLIC%, or give the whole path."}
		}
		if v, _ := splitVar(f.Path); v == "" && !filepath.IsAbs(f.Path) && !isWindowsAbs(f.Path) {
			return &Error{Line: line, Msg: fmt.Sprintf("folder path %q is not a full path", f.Path),
				Fix: "Give the whole path, starting with a drive letter, \\\\server\\share, %USERPROFILE%, ~ or %PUBLIC%."}
		}
		key := strings.ToLower(strings.TrimRight(strings.ReplaceAll(f.Path, `\`, "/"), "/"))
		if j, dup := seen[key]; dup {
			return &Error{Line: line, Msg: fmt.Sprintf("folder %q is listed twice (see line %d)", f.Path, lineOfTable(data, "folder", j)),
				Fix: "Keep one [[folder]] block per folder."}
		}
		seen[key] = i
		// Labels name the folder in the tray and in health checks, so they must differ.
		lk := strings.ToLower(f.Label)
		if j, dup := labels[lk]; dup {
			return &Error{Line: line, Msg: fmt.Sprintf("two folders are both labelled %q (see line %d)", f.Label, lineOfTable(data, "folder", j)),
				Fix: "Give each [[folder]] its own label = \"...\"."}
		}
		labels[lk] = i
		if api.ValidateSource(f.Source) != nil || f.Source == api.SourceCapture {
			return &Error{Line: line, Msg: fmt.Sprintf("folder source %q is not drop, camera or phone", f.Source),
				Fix: "Use source = \"camera\" for a camera's folder, \"phone\" for a phone's synced folder, or leave it out."}
		}
		if api.ValidateKind(f.Kind) != nil {
			return &Error{Line: line, Msg: fmt.Sprintf("folder kind %q is not photo or document", f.Kind),
				Fix: "Use kind = \"document\" for a scanner's folder, \"photo\" for photographs, or leave it out."}
		}
	}
	return nil
}

// baseName is the last element of a path in either Windows or Unix form, so a
// practice's config reads the same when support checks it on Linux.
func baseName(p string) string {
	p = strings.TrimRight(strings.ReplaceAll(p, `\`, "/"), "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		p = p[i+1:]
	}
	return p
}

func (h HCM) validate(data []byte) error {
	if h.PollInterval.D() < time.Second || h.PollInterval.D() > 10*time.Minute {
		return &Error{Line: lineOfKey(data, "poll_interval", 0), Msg: "poll_interval under [hcm] is out of range",
			Fix: "Use a duration between \"1s\" and \"10m\"; the default is \"30s\"."}
	}
	if h.RestartGrace.D() < time.Second || h.RestartGrace.D() > time.Hour {
		return &Error{Line: lineOfKey(data, "restart_grace", 0), Msg: "restart_grace under [hcm] is out of range",
			Fix: "Use a duration between \"1s\" and \"1h\"; the default is \"2m\"."}
	}
	if h.TunnelPort < 0 || h.TunnelPort > 65535 {
		return &Error{Line: lineOfKey(data, "tunnel_port", 0), Msg: "tunnel_port under [hcm] is not a port",
			Fix: "Remove the line (Azure Relay uses 443), or give a number between 1 and 65535."}
	}
	if (len(h.StandInCommand) > 0) != (h.StandInPIDFile != "") ||
		h.StandInPIDFile != "" && !filepath.IsAbs(h.StandInPIDFile) && !isWindowsAbs(h.StandInPIDFile) {
		line := lineOfKey(data, "standin_command", 0)
		if line == 0 {
			line = lineOfKey(data, "standin_pidfile", 0)
		}
		return &Error{Line: line, Msg: "the HCM stand-in needs both standin_command and a full standin_pidfile path",
			Fix: "Remove both lines on a practice PC (they are for development and the demo), or set both."}
	}
	return nil
}

// loopbackHostPort reports whether s is host:port with a loopback IP host.
func loopbackHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || port == "" {
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isLoopback(host string) bool {
	return host == "127.0.0.1" || host == "localhost" || host == "::1"
}

// isWindowsAbs accepts C:\x and \\server\share on any OS, so a Windows config file
// can be checked on Linux (tests, support tooling).
func isWindowsAbs(p string) bool {
	if strings.HasPrefix(p, `\\`) {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		(p[0] >= 'A' && p[0] <= 'Z' || p[0] >= 'a' && p[0] <= 'z')
}

// Error is an invalid configuration: where, what, and how to fix it.
type Error struct {
	File string
	Line int // 1-based; 0 when unknown
	Msg  string
	Fix  string
}

func (e *Error) Error() string {
	where := "configuration"
	if e.File != "" {
		where = e.File
	}
	if e.Line > 0 {
		where = fmt.Sprintf("%s line %d", where, e.Line)
	}
	s := fmt.Sprintf("%s: %s", where, e.Msg)
	if e.Fix != "" {
		s += ". " + e.Fix
	}
	return s
}

func fixFor(pe toml.ParseError) string {
	if strings.Contains(pe.Message, ". Use ") { // our own value errors carry their fix
		return ""
	}
	if pe.Usage != "" {
		return strings.TrimSpace(strings.SplitN(strings.TrimSpace(pe.Usage), "\n", 2)[0])
	}
	return "Check the line against the example configuration; text values need quotes."
}

var lineInErr = regexp.MustCompile(`^toml: line (\d+)[^:]*:(.*)$`)

// lineOfKey finds the nth line (0-based) that assigns key; 0 if none. toml.MetaData
// does not expose key positions, and a config file is small.
func lineOfKey(data []byte, key string, nth int) int {
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") {
			continue
		}
		name, _, ok := strings.Cut(l, "=")
		if ok && strings.Trim(strings.TrimSpace(name), `"'`) == key ||
			strings.Trim(l, "[] ") == key {
			if nth == 0 {
				return i + 1
			}
			nth--
		}
	}
	return 0
}

// lineOfTable finds the header line of the nth [[name]] block; 0 if none.
func lineOfTable(data []byte, name string, nth int) int {
	for i, l := range strings.Split(string(data), "\n") {
		if strings.ReplaceAll(strings.TrimSpace(l), " ", "") == "[["+name+"]]" {
			if nth == 0 {
				return i + 1
			}
			nth--
		}
	}
	return 0
}
