// Package installer holds no product code: it exists so that `go test ./installer/` builds the
// MSI from throwaway binaries, checks it with check-msi.sh (and proves the checker catches broken
// packages), and, where Wine is installed, installs, upgrades and removes it for real.
//
// The installer itself is clinicpro.wxs (wixl), build-msi.sh, sign.sh, check-msi.sh and
// test-msi.sh; docs/rollout.md is the guide for practice IT.
package installer
