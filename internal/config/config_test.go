package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// abs makes a path that is absolute on the OS running the test (the suite also
// runs under Wine).
func abs(p string) string {
	if runtime.GOOS == "windows" {
		return `C:` + filepath.FromSlash(p)
	}
	return p
}

func TestExampleParsesWithDefaults(t *testing.T) {
	c, err := Parse([]byte(Example))
	if err != nil {
		t.Fatalf("example config does not parse: %v", err)
	}
	if c.ByteBudget != DefaultByteBudget || c.StabilityWindow.D() != time.Second || c.HCM.ServiceName != DefaultHCMService {
		t.Fatalf("unexpected values: %+v", c)
	}
	if len(c.ClinicHours.Days) != 5 || c.ClinicHours.Open != 7*60+30 {
		t.Fatalf("clinic hours: %+v", c.ClinicHours)
	}
}

func TestExampleFoldersParseWhenUncommented(t *testing.T) {
	var b strings.Builder
	for _, l := range strings.Split(Example, "\n") {
		if strings.HasPrefix(l, "# [[folder]]") || strings.HasPrefix(l, "# path") || strings.HasPrefix(l, "# label") ||
			strings.HasPrefix(l, "# routing =") || strings.HasPrefix(l, "# format =") || strings.HasPrefix(l, "# poll_only =") ||
			strings.HasPrefix(l, "# source_action =") {
			l = strings.TrimPrefix(l, "# ")
		}
		b.WriteString(l + "\n")
	}
	c, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatalf("uncommented example: %v", err)
	}
	if len(c.Folders) != 2 {
		t.Fatalf("got %d folders", len(c.Folders))
	}
	cam, scan := c.Folders[0], c.Folders[1]
	if cam.Routing != RoutingSession || cam.SourceAction != ActionMove || cam.Label != "Camera Roll" || !cam.PerUser() || !cam.CameraRoll() {
		t.Errorf("camera folder: %+v", cam)
	}
	if !scan.PollOnly || scan.Format != FormatAuto || scan.Path != `\\fileserver\scans\referrals` {
		t.Errorf("scanner folder: %+v", scan)
	}
}

func TestPDFHandling(t *testing.T) {
	c, err := Parse(nil)
	if err != nil || c.PDF != PDFRebuild {
		t.Fatalf("default pdf handling = %q, %v; want rebuild", c.PDF, err)
	}
	for _, v := range []PDFHandling{PDFRebuild, PDFPassThrough, PDFRebuildOnly} {
		c, err := Parse([]byte("pdf = \"" + string(v) + "\"\n"))
		if err != nil || c.PDF != v {
			t.Errorf("pdf = %q parsed as %q, %v", v, c.PDF, err)
		}
	}
}

func TestFolderDefaults(t *testing.T) {
	c, err := Parse([]byte("[[folder]]\npath = '" + abs("/srv/scans") + "'\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Folders[0]
	if f.Routing != RoutingNHI || f.Format != FormatAuto || f.SourceAction != ActionMove || f.Label != "scans" {
		t.Fatalf("defaults: %+v", f)
	}
}

func TestInvalidConfigNamesLineAndFix(t *testing.T) {
	cases := []struct {
		name, in string
		line     int
		want     string
	}{
		{"syntax", "byte_budget = 1000000\nrelay_url = https://x\n", 2, "line 2"},
		{"bad routing", "\n[[folder]]\npath = '" + abs("/a") + "'\nrouting = \"guess\"\n", 4, `"nhi", "session", "unassigned"`},
		{"bad action", "[[folder]]\npath = '" + abs("/a") + "'\nsource_action = 'shred'\n", 3, `"move"`},
		{"bad duration", "stability_window = \"soon\"\n", 1, `"1s"`},
		{"budget too big", "# c\nbyte_budget = 9000000\n", 2, "between"},
		{"unknown key", "relay_url = \"https://r.example\"\nbyte_budgt = 5\n", 2, "unknown setting"},
		{"no path", "[[folder]]\nlabel = 'x'\n", 1, "no path"},
		{"relative path", "[[folder]]\npath = 'scans'\n", 1, "full path"},
		{"duplicate", "[[folder]]\npath = '" + abs("/a") + "'\n[[folder]]\npath = '" + abs("/a/") + "'\n", 3, "listed twice"},
		{"same label", "[[folder]]\npath = '" + abs("/a/Scans") + "'\n[[folder]]\npath = '" + abs("/b/scans") + "'\n", 3, "label = "},
		{"plain http relay", "relay_url = \"http://relay.example\"\n", 1, "https://"},
		{"bad clock", "[clinic_hours]\nopen = \"7am\"\n", 2, "HH:MM"},
		{"close before open", "[clinic_hours]\nopen = \"18:00\"\nclose = \"08:00\"\n", 1, "HH:MM"},
		{"wrong type", "byte_budget = \"big\"\n", 1, ""},
		{"bad pdf handling", "# c\npdf = \"open\"\n", 2, `"rebuild", "passthrough", "rebuild-only"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *Error, got %v", err)
			}
			if ce.Line != tc.line {
				t.Errorf("line = %d, want %d (%v)", ce.Line, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestWindowsPathsAcceptedOnAnyOS(t *testing.T) {
	c, err := Parse([]byte("[[folder]]\npath = 'C:\\Scans'\n[[folder]]\npath = '\\\\srv\\share'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Folders[0].Path != `C:\Scans` || c.Folders[0].Label != "Scans" || c.Folders[1].Label != "share" {
		t.Fatalf("folders %+v", c.Folders)
	}
	_, err = Parse([]byte("[[folder]]\npath = 'C:\\Scans'\n[[folder]]\npath = 'c:\\scans\\'\n"))
	if err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Fatalf("same Windows folder twice: %v", err)
	}
}

func TestLoadAndWriteExample(t *testing.T) {
	dir := t.TempDir()
	p := DefaultPaths(dir)
	if _, err := Load(p.ConfigFile); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing file: %v", err)
	}
	if err := WriteExample(p.ConfigFile); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p.ConfigFile); err != nil {
		t.Fatal(err)
	}
	// An existing file is never overwritten.
	if err := os.WriteFile(p.ConfigFile, []byte("byte_budget = 2000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteExample(p.ConfigFile); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p.ConfigFile)
	if err != nil || c.ByteBudget != 2_000_000 {
		t.Fatalf("overwritten or unreadable: %v %+v", err, c)
	}
	os.WriteFile(p.ConfigFile, []byte("byte_budget = 1\n"), 0o644)
	if _, err := Load(p.ConfigFile); err == nil || !strings.Contains(err.Error(), p.ConfigFile+" line 1") {
		t.Fatalf("error should name file and line: %v", err)
	}
	if p.QueueDB() != filepath.Join(dir, "queue.db") || p.SpoolDir() != filepath.Join(dir, "spool") {
		t.Fatalf("paths: %+v", p)
	}
}

func TestClinicHours(t *testing.T) {
	c, err := Parse([]byte("[clinic_hours]\ndays = [\"mon\", \"Tuesday\"]\nopen = \"08:00\"\nclose = \"17:30\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := c.ClinicHours
	mon := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) // a Monday
	for _, tc := range []struct {
		t    time.Time
		want bool
	}{
		{mon, true},
		{mon.Add(-time.Minute), false},
		{mon.Add(9*time.Hour + 29*time.Minute), true},
		{mon.Add(9*time.Hour + 30*time.Minute), false},
		{mon.Add(24 * time.Hour), true},
		{mon.Add(48 * time.Hour), false},
	} {
		if got := h.Contains(tc.t); got != tc.want {
			t.Errorf("Contains(%v) = %v", tc.t, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(Example))
	f.Add([]byte("[[folder]]\npath = '" + abs("/a") + "'\nrouting = 'nhi'\n"))
	f.Add([]byte("byte_budget = \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatal("config returned with error")
			}
			return
		}
		if c.ByteBudget < MinByteBudget || c.ByteBudget > MaxByteBudget {
			t.Fatalf("accepted budget %d", c.ByteBudget)
		}
		for _, fo := range c.Folders {
			if fo.Routing == "" || fo.SourceAction == "" || fo.Format == "" {
				t.Fatalf("folder without defaults: %+v", fo)
			}
		}
	})
}

// `clinicpro enrol` uncomments the example's relay_url line in place, so that line
// must stay above every [table].
func TestExampleRelayLineIsTopLevel(t *testing.T) {
	in := strings.Replace(Example, "# relay_url = ", "relay_url = ", 1)
	if in == Example {
		t.Fatal("the example has no commented relay_url line")
	}
	c, err := Parse([]byte(in))
	if err != nil || c.RelayURL != "https://relay.clinicpro.co.nz" {
		t.Fatalf("%v %+v", err, c)
	}
}

func TestIntervalsLaunchListenAndStandIn(t *testing.T) {
	c, err := Parse([]byte(Example))
	if err != nil {
		t.Fatal(err)
	}
	if c.HealthInterval.D() != 30*time.Second || c.HCM.PollInterval.D() != 30*time.Second ||
		c.HCM.RestartGrace.D() != 2*time.Minute || c.LaunchListen != "" || len(c.HCM.StandInCommand) != 0 {
		t.Fatalf("defaults: %+v", c)
	}
	// The commented-out development lines of the example must parse when enabled.
	on := strings.NewReplacer("# launch_listen", "launch_listen", "# standin_command", "standin_command",
		"# standin_pidfile = '/tmp/hcm.pid'", "standin_pidfile = '"+abs("/tmp/hcm.pid")+"'", "# tunnel_port", "tunnel_port").Replace(Example)
	c, err = Parse([]byte(on))
	if err != nil {
		t.Fatalf("example with development lines: %v", err)
	}
	if c.LaunchListen != "127.0.0.1:41357" || c.HCM.TunnelPort != 8089 || len(c.HCM.StandInCommand) != 4 || c.HCM.StandInPIDFile == "" {
		t.Fatalf("%+v", c.HCM)
	}

	for _, tc := range []struct{ text, key string }{
		{"health_interval = \"10ms\"\n", "health_interval"},
		{"sent_retention = \"12h\"\n", "sent_retention"},
		{"launch_listen = \"0.0.0.0:41357\"\n", "launch_listen"},
		{"launch_listen = \"127.0.0.1\"\n", "launch_listen"},
		{"[hcm]\npoll_interval = \"1h\"\n", "poll_interval"},
		{"[hcm]\nrestart_grace = \"0s1ms\"\n", "restart_grace"},
		{"[hcm]\ntunnel_port = 70000\n", "tunnel_port"},
		{"[hcm]\nstandin_command = [\"x\"]\n", "standin"},
		{"[hcm]\nstandin_command = [\"x\"]\nstandin_pidfile = \"rel.pid\"\n", "standin"},
	} {
		_, err := Parse([]byte(tc.text))
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(ce.Msg, tc.key) || ce.Fix == "" || ce.Line == 0 {
			t.Errorf("%q: %v", tc.text, err)
		}
	}
}

func TestSentRetentionInDays(t *testing.T) {
	c, err := Parse([]byte("sent_retention = \"30d\"\n"))
	if err != nil || c.SentRetention.D() != 30*24*time.Hour {
		t.Fatalf("30d: %v %v", c, err)
	}
	if c, _ := Parse(nil); c.SentRetention.D() != DefaultSentRetention {
		t.Fatalf("default %v", c.SentRetention.D())
	}
	if _, err := Parse([]byte("sent_retention = \"-3d\"\n")); err == nil {
		t.Fatal("negative days accepted")
	}
}

// TestFolderSourceAndKind: a watched folder says how its files come (camera, phone,
// drop) and what they are (photo, document), in relay/api's vocabulary.
func TestFolderSourceAndKind(t *testing.T) {
	base := "[[folder]]\npath = '" + abs("/scans") + "'\n"
	c, err := Parse([]byte(base))
	if err != nil || c.Folders[0].Source != "drop" || c.Folders[0].Kind != "" {
		t.Fatalf("defaults: %v %+v", err, c)
	}
	c, err = Parse([]byte(base + "source = \"phone\"\nkind = \"document\"\n"))
	if err != nil || c.Folders[0].Source != "phone" || c.Folders[0].Kind != "document" {
		t.Fatalf("set: %v %+v", err, c)
	}
	for _, bad := range []string{"source = \"fax\"\n", "source = \"capture\"\n", "kind = \"x-ray\"\n"} {
		var ce *Error
		if _, err := Parse([]byte(base + bad)); !errors.As(err, &ce) || ce.Fix == "" {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// The example's folder blocks, uncommented, parse with their source and kind.
	on := strings.ReplaceAll(Example, "\n# [[folder]]", "\n[[folder]]")
	for _, k := range []string{"path", "label", "source", "kind", "routing", "format", "poll_only", "source_action"} {
		on = strings.ReplaceAll(on, "\n# "+k+" =", "\n"+k+" =")
	}
	on = strings.ReplaceAll(on, `'C:\Users\Public\Pictures\Camera Roll'`, "'"+abs("/camera")+"'")
	on = strings.ReplaceAll(on, `'\\fileserver\scans\referrals'`, "'"+abs("/referrals")+"'")
	if c, err := Parse([]byte(on)); err != nil || len(c.Folders) != 2 || c.Folders[0].Source != "camera" || c.Folders[1].Kind != "document" {
		t.Fatalf("example folders: %v %+v", err, c)
	}
}
