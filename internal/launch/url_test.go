package launch

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	cases := []struct {
		raw      string
		ctx, sig string
	}{
		{"clinicpro://launch?context=abc123&signature=def456", "abc123", "def456"},
		{"CLINICPRO://Launch/?signature=s&context=c", "c", "s"},
		{"clinicpro:launch?context=c&signature=s", "c", "s"},
		{`"clinicpro://launch?context=c&signature=s"`, "c", "s"},
		{"  clinicpro://launch?context=c&signature=s\r\n", "c", "s"},
		// Evolution does not encode base64: '+' and '/' must survive, '=' padding too.
		{"clinicpro://launch?context=ab+c/d==&signature=x+y", "ab+c/d==", "x+y"},
		{"clinicpro://launch?context=ab%2Bc%3D&signature=x", "ab+c=", "x"},
		{"http://127.0.0.1:47801/launch?context=c&signature=s", "c", "s"},
		{"http://localhost:47801/launch/?context=c&signature=s&extra=1", "c", "s"},
		{"http://[::1]:47801/launch?context=c&signature=s", "c", "s"},
	}
	for _, tc := range cases {
		l, err := Parse(tc.raw)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.raw, err)
			continue
		}
		if l.Context != tc.ctx || l.Signature != tc.sig {
			t.Errorf("Parse(%q) = %+v, want context %q signature %q", tc.raw, l, tc.ctx, tc.sig)
		}
	}
}

func TestParseRejects(t *testing.T) {
	notLaunch := []string{
		"",
		"launch?context=c&signature=s",
		"https://127.0.0.1:47801/launch?context=c&signature=s",
		"http://127.0.0.1/launch?context=c&signature=s", // no port: not the agent
		"http://evil.example:80/launch?context=c&signature=s",
		"http://127.0.0.1.evil.example:80/launch?context=c&signature=s",
		"http://user@127.0.0.1:1/launch?context=c&signature=s",
		"http://127.0.0.1:1/other?context=c&signature=s",
		"clinicpro://other?context=c&signature=s",
		"clinicpro://launch/x?context=c&signature=s",
		"clinicpro://launch?context=c&signature=s#frag",
		"clinicpro://launch?context=c&context=d&signature=s",
		"clinicpro://launch?context=a%00b&signature=s",
		"clinicpro://launch?context=a%20b&signature=s",
		"clinicpro://launch?context=%zz&signature=s",
		"clinicpro://launch?context=" + strings.Repeat("a", MaxURLLength) + "&signature=s",
		"file:///C:/launch?context=c&signature=s",
	}
	for _, raw := range notLaunch {
		if _, err := Parse(raw); !errors.Is(err, ErrNotLaunch) {
			t.Errorf("Parse(%.60q) = %v, want ErrNotLaunch", raw, err)
		}
	}
	incomplete := []string{
		"clinicpro://launch",
		"clinicpro://launch?context=c",
		"clinicpro://launch?signature=s",
		"clinicpro://launch?context=&signature=s",
		"clinicpro://launch?context={context}&signature={signature}",
	}
	for _, raw := range incomplete {
		if _, err := Parse(raw); !errors.Is(err, ErrIncomplete) {
			t.Errorf("Parse(%q) = %v, want ErrIncomplete", raw, err)
		}
	}
}

func TestErrorsNeverCarryTheURL(t *testing.T) {
	raw := "clinicpro://launch?context=ZZZ0016secret&signature=ZZZ0016"
	for _, bad := range []string{raw + "#x", raw + "&context=again", "http://x.example:1/launch?context=ZZZ0016&signature=s"} {
		_, err := Parse(bad)
		if err == nil || strings.Contains(err.Error(), "ZZZ0016") {
			t.Fatalf("error %v for a bad URL must exist and not echo it", err)
		}
	}
}

func TestFromArgs(t *testing.T) {
	got, ok := FromArgs([]string{"--debug", "clinicpro://launch?context=c&signature=s"})
	if !ok || got != "clinicpro://launch?context=c&signature=s" {
		t.Fatalf("FromArgs = %q, %v", got, ok)
	}
	// A launch with a missing placeholder is still a launch: the tray shows the error.
	if _, ok := FromArgs([]string{"clinicpro://launch"}); !ok {
		t.Fatal("incomplete launch URL not recognised")
	}
	if _, ok := FromArgs([]string{"-v", "https://example.org"}); ok {
		t.Fatal("non-launch arguments recognised as a launch")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"clinicpro://launch?context=c&signature=s",
		"http://127.0.0.1:47801/launch?context=a+b&signature=%2F",
		"clinicpro:launch?context=&signature=",
		"http://[::1]:1/launch/?context=x&signature=y&context=z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		l, err := Parse(raw)
		if err != nil {
			if l != (Launch{}) {
				t.Fatalf("error with a non-empty result: %+v", l)
			}
			if !errors.Is(err, ErrNotLaunch) && !errors.Is(err, ErrIncomplete) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if l.Context == "" || l.Signature == "" {
			t.Fatal("accepted a launch without context or signature")
		}
		if !printable(l.Context) || !printable(l.Signature) {
			t.Fatal("accepted control characters or spaces")
		}
		if len(l.Context)+len(l.Signature) > MaxURLLength {
			t.Fatal("accepted values longer than the URL limit")
		}
	})
}
