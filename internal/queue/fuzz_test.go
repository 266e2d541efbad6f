package queue

import (
	"path/filepath"
	"strings"
	"testing"
)

// File names come from watched folders and local API clients: whatever they hold,
// the spool name is the id plus a short, plain extension and never a path.
func FuzzSpoolName(f *testing.F) {
	for _, s := range []string{"ZZZ0016 knee.JPG", "../../etc/passwd", "a.tar.gz", "x.", ".hidden", "名前.jpeg", `C:\x\y.PnG`, "a.verylongextension"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		const id = "0123456789abcdef0123456789abcdef"
		got := spoolName(id, name)
		ext, ok := strings.CutPrefix(got, id)
		if !ok || len(ext) > 8 || filepath.Base(got) != got {
			t.Fatalf("spoolName(%q) = %q", name, got)
		}
		for _, c := range ext {
			if !(c == '.' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				t.Fatalf("spoolName(%q) = %q", name, got)
			}
		}
	})
}
