package rollout

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
)

func abs(p string) string {
	if runtime.GOOS == "windows" {
		return `C:` + filepath.FromSlash(p)
	}
	return p
}

// memory is a Source that records what Apply asked of it.
type memory struct {
	v                Values
	found            bool
	dropped, deleted bool
}

func (m *memory) Read() (Values, bool, error) { return m.v, m.found && !m.deleted, nil }
func (m *memory) DropEnrolCode() error        { m.dropped = true; m.v.EnrolCode = ""; return nil }
func (m *memory) Delete() error               { m.deleted = true; return nil }

var errRefused = errors.New("the enrolment code is unknown or used")

type enroller struct {
	calls int
	err   error
	url   string
}

func (e *enroller) enrol(_ context.Context, url, code string) error {
	e.calls++
	e.url = url
	return e.err
}

func options(t *testing.T, e *enroller) Options {
	dir := t.TempDir()
	return Options{ConfigFile: filepath.Join(dir, "config.toml"), DataDir: dir, Enrol: e.enrol,
		Refused: func(err error) bool { return errors.Is(err, errRefused) }}
}

func TestApplyMergesEnrolsAndForgets(t *testing.T) {
	e := &enroller{}
	o := options(t, e)
	src := &memory{found: true, v: Values{RelayURL: "https://relay.example.test", EnrolCode: "ABCDE-FGHIJ",
		WatchFolders: []string{abs("/scans")}, HCMHost: true}}
	res, err := Apply(context.Background(), src, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Found || !res.Enrolled || res.Pending || e.calls != 1 || e.url != "https://relay.example.test" || !src.deleted || src.dropped {
		t.Fatalf("result %+v, %d enrol calls, source %+v", res, e.calls, src)
	}
	c, err := config.Load(o.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	if c.RelayURL != "https://relay.example.test" || !c.HCM.Host || len(c.Folders) != 1 || c.Folders[0].Path != abs("/scans") {
		t.Fatalf("config: %+v", c)
	}
	// Nothing left: a second start does nothing.
	if res, err := Apply(context.Background(), src, o); err != nil || res.Found || e.calls != 1 {
		t.Fatalf("second apply: %+v %v", res, err)
	}
}

func TestApplyIgnoresCodeWhenEnrolled(t *testing.T) {
	e := &enroller{}
	o := options(t, e)
	o.Enrolled = true
	src := &memory{found: true, v: Values{RelayURL: "https://relay.example.test", EnrolCode: "ABCDE-FGHIJ"}}
	if _, err := Apply(context.Background(), src, o); err != nil || e.calls != 0 || !src.deleted {
		t.Fatalf("err %v, %d enrol calls, deleted %v", err, e.calls, src.deleted)
	}
}

func TestApplyKeepsValuesWhenRelayUnreachable(t *testing.T) {
	e := &enroller{err: errors.New("connection refused")}
	o := options(t, e)
	src := &memory{found: true, v: Values{RelayURL: "https://relay.example.test", EnrolCode: "ABCDE-FGHIJ"}}
	res, err := Apply(context.Background(), src, o)
	if err != nil || !res.Pending || src.deleted || src.dropped {
		t.Fatalf("result %+v err %v source %+v", res, err, src)
	}
	// The next try succeeds and only then are the values deleted.
	e.err = nil
	res, err = Apply(context.Background(), src, o)
	if err != nil || !res.Enrolled || !src.deleted || e.calls != 2 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if cs := Checks(o.DataDir, false); cs != nil {
		t.Fatalf("a check without a refusal: %+v", cs)
	}
}

func TestApplyRefusedCodeIsDroppedAndReported(t *testing.T) {
	e := &enroller{err: errRefused}
	o := options(t, e)
	src := &memory{found: true, v: Values{RelayURL: "https://relay.example.test", EnrolCode: "ABCDE-FGHIJ", HCMHost: true}}
	res, err := Apply(context.Background(), src, o)
	if err != nil || res.Refusal == "" || !src.dropped || !src.deleted {
		t.Fatalf("result %+v err %v source %+v", res, err, src)
	}
	cs := Checks(o.DataDir, false)
	if len(cs) != 1 || cs[0].Name != CheckEnrol || cs[0].State != health.Offline || cs[0].Fix != FixEnrolRefused ||
		!strings.Contains(cs[0].Detail, "unknown or used") || strings.Contains(cs[0].Detail, "ABCDE") {
		t.Fatalf("checks: %+v", cs)
	}
	if Checks(o.DataDir, true) != nil {
		t.Fatal("the refusal is still reported once the PC is enrolled by hand")
	}
	// The rest of the values still reached the configuration.
	if c, err := config.Load(o.ConfigFile); err != nil || !c.HCM.Host {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestFileSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rollout.toml")
	f := File{Path: path}
	if _, found, err := f.Read(); found || err != nil {
		t.Fatalf("no file: found %v err %v", found, err)
	}
	os.WriteFile(path, []byte("RelayURL = \"https://relay.example.test\"\nEnrolCode = \"ABCDE-FGHIJ\"\nWatchFolders = 'C:\\Scans; \\\\server\\share\\in ;'\nHCMHost = \"1\"\n"), 0o600)
	v, found, err := f.Read()
	if err != nil || !found {
		t.Fatal(found, err)
	}
	if v.RelayURL != "https://relay.example.test" || v.EnrolCode != "ABCDE-FGHIJ" || !v.HCMHost ||
		len(v.WatchFolders) != 2 || v.WatchFolders[0] != `C:\Scans` || v.WatchFolders[1] != `\\server\share\in` {
		t.Fatalf("%+v", v)
	}
	if err := f.DropEnrolCode(); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := f.Read(); v.EnrolCode != "" || v.RelayURL == "" || len(v.WatchFolders) != 2 {
		t.Fatalf("after dropping the code: %+v", v)
	}
	if err := f.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := f.Read(); found {
		t.Fatal("values still there after Delete")
	}
	os.WriteFile(path, []byte("RelayURL = https://unquoted\n"), 0o600)
	if _, _, err := f.Read(); err == nil || !strings.Contains(err.Error(), "quotes") {
		t.Fatalf("a broken file: %v", err)
	}
}

func FuzzFileSource(f *testing.F) {
	f.Add("RelayURL = \"https://x\"\nWatchFolders = 'C:\\a;;D:\\b'\nHCMHost = \"1\"\n")
	f.Add("HCMHost = 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		path := filepath.Join(t.TempDir(), "rollout.toml")
		os.WriteFile(path, []byte(s), 0o600)
		v, found, err := File{Path: path}.Read()
		if err == nil && !found {
			t.Fatal("an existing file read as absent")
		}
		for _, w := range v.WatchFolders {
			if w == "" || strings.Contains(w, ";") {
				t.Fatalf("folder %q", w)
			}
		}
	})
}
