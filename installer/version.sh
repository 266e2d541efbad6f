#!/usr/bin/env bash
# Prints the version of the current commit.
#
#   installer/version.sh          MAJOR.MINOR.BUILD           the MSI's ProductVersion
#   installer/version.sh --file   MAJOR.MINOR.BUILD.REVISION  the exes' FileVersion
#
# Windows Installer compares only the first three fields, each numeric (major and minor at
# most 255, build at most 65535), so git describe's "v0.3.0-12-gabc1234" cannot be used as is.
# The rule (docs/rollout.md, "Versions"):
#   MAJOR.MINOR  from the newest tag vMAJOR.MINOR[.PATCH] reachable from HEAD; 0.1 without a tag
#   BUILD        the commit's date in UTC as YYDDD (year and day of the year): 26337 for
#                3 December 2026
#   REVISION     the commit's time of day in UTC as HHMM
# The date only moves forward, on main, on a hotfix branch or after a rebase (rebasing and
# cherry-picking stamp a new committer date), so a later build is never taken for a downgrade,
# which a commit count could be. Builds of one commit always get the same number. Two builds
# from one UTC day share MAJOR.MINOR.BUILD: the later replaces the earlier as a reinstall
# (their files differ in REVISION). A release tag only moves MAJOR.MINOR.
set -euo pipefail
cd "$(dirname "$0")/.."

major=0 minor=1
if tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null); then
	if [[ $tag =~ ^v([0-9]+)\.([0-9]+)(\.[0-9]+)?$ ]]; then
		major=$((10#${BASH_REMATCH[1]})) minor=$((10#${BASH_REMATCH[2]}))
	else
		echo "version.sh: tag $tag is not vMAJOR.MINOR[.PATCH]; tag releases like v1.2.0." >&2
		exit 1
	fi
fi
stamp=$(TZ=UTC git log -1 --format=%cd --date=format-local:'%y %j %H%M' HEAD 2>/dev/null) || {
	echo "version.sh: not a git checkout with history; build from a clone, not an export." >&2
	exit 1
}
read -r yy ddd hhmm <<<"$stamp"
build=$((10#$yy * 1000 + 10#$ddd)) revision=$((10#$hhmm))
if ((major > 255 || minor > 255 || build > 65535)); then
	echo "version.sh: $major.$minor.$build is outside what Windows Installer accepts (255.255.65535); tag a new major version." >&2
	exit 1
fi
if [[ ${1:-} == --file ]]; then
	echo "$major.$minor.$build.$revision"
else
	echo "$major.$minor.$build"
fi
