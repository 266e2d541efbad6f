package originals

// Windows reparse tags (winnt.h). A reparse point is either a name surrogate
// (a symbolic link, junction or mount point: another name, possibly outside
// the watched folder, which is what a link swap attacks with) or a filter's
// way of keeping the file's own data somewhere other than its clusters
// (OneDrive and other cloud files, deduplication, compression).
const (
	reparseNameSurrogate = 0x20000000 // IsReparseTagNameSurrogate
	reparseTagCloudMask  = 0x0000F000 // IO_REPARSE_TAG_CLOUD_1 … _F differ only here
	reparseTagCloud      = 0x9000001A // IO_REPARSE_TAG_CLOUD: OneDrive, and every Cloud Files provider
	reparseTagDedup      = 0x80000013 // IO_REPARSE_TAG_DEDUP: Windows Server data deduplication
	reparseTagWOF        = 0x80000017 // IO_REPARSE_TAG_WOF: compact OS / WIM-backed compression
)

// followable reports whether a reparse point with tag is the file itself, its
// bytes given by a filter when it is opened normally: a file in a OneDrive
// folder (every synced file, kept on the device or online-only, carries a cloud
// tag, and so does the folder), a deduplicated or a compressed file. Those are
// opened through their filter and then checked to be the same file. A name
// surrogate, and any tag not known here, is never followed.
func followable(tag uint32) bool {
	if tag&reparseNameSurrogate != 0 {
		return false
	}
	return tag&^reparseTagCloudMask == reparseTagCloud || tag == reparseTagDedup || tag == reparseTagWOF
}
