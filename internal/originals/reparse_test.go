package originals

import "testing"

// Cloud, deduplicated and compressed files are followed; links, junctions,
// mount points and tags this code does not know are not.
func TestOnlyFilesThatAreThemselvesAreFollowed(t *testing.T) {
	for _, c := range []struct {
		name string
		tag  uint32
		want bool
	}{
		{"OneDrive (IO_REPARSE_TAG_CLOUD)", 0x9000001A, true},
		{"OneDrive (IO_REPARSE_TAG_CLOUD_3)", 0x9000301A, true},
		{"Cloud Files (IO_REPARSE_TAG_CLOUD_F)", 0x9000F01A, true},
		{"deduplicated", 0x80000013, true},
		{"compressed (WOF)", 0x80000017, true},
		{"junction or mount point", 0xA0000003, false},
		{"symbolic link", 0xA000000C, false},
		{"WSL symbolic link", 0xA000001D, false},
		{"app execution alias", 0x8000001B, false},
		{"AF_UNIX socket", 0x80000023, false},
		{"HSM", 0xC0000004, false},
		{"a third party's tag", 0x00001234, false},
		{"a cloud tag with the name-surrogate bit", 0x9000001A | 0x20000000, false},
		{"no tag", 0, false},
	} {
		if got := followable(c.tag); got != c.want {
			t.Errorf("%s (%#x): followable %v, want %v", c.name, c.tag, got, c.want)
		}
	}
}
