#!/usr/bin/env bash
# Prints the MSI ProductVersion for the current commit: MAJOR.MINOR.BUILD.
#
# Windows Installer compares only the first three fields, each numeric (major and minor at
# most 255, build at most 65535), so git describe's "v0.3.0-12-gabc1234" cannot be used as is.
# The rule (docs/rollout.md, "Versions"):
#   MAJOR.MINOR  from the newest tag vMAJOR.MINOR[.PATCH] reachable from HEAD; 0.1 without a tag
#   BUILD        the number of commits reachable from HEAD (git rev-list --count HEAD)
# BUILD grows with every commit on the main line, so every later build upgrades every earlier
# one without anyone remembering to bump a number; a release tag only moves MAJOR.MINOR.
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
build=$(git rev-list --count HEAD 2>/dev/null) || {
	echo "version.sh: not a git checkout with history; build from a clone, not an export." >&2
	exit 1
}
if ((major > 255 || minor > 255 || build > 65535)); then
	echo "version.sh: $major.$minor.$build is outside what Windows Installer accepts (255.255.65535); tag a new major version." >&2
	exit 1
fi
echo "$major.$minor.$build"
