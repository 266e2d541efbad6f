#!/usr/bin/env bash
# Prepares a Wine prefix that runs Go 1.26 Windows binaries: initialises it and puts
# the ProcessPrng shim in as bcryptprimitives.dll. Idempotent; prints the prefix.
# Needs the Debian packages wine and wine64 (.ci/setup SETUP_EXTRA=wine) and
# gcc-mingw-w64-x86-64.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export WINEPREFIX=${WINEPREFIX:-$here/../../out/wine/prefix}
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n"
mkdir -p "$WINEPREFIX"
WINEPREFIX=$(cd "$WINEPREFIX" && pwd)
wine=$(command -v wine || true)
[ -n "$wine" ] || { echo "wine-setup: wine is not installed: run SETUP_EXTRA=wine .ci/setup" >&2; exit 1; }
command -v x86_64-w64-mingw32-gcc >/dev/null || { echo "wine-setup: x86_64-w64-mingw32-gcc is missing: install gcc-mingw-w64-x86-64" >&2; exit 1; }

if [ ! -f "$WINEPREFIX/system.reg" ]; then
  # A first boot occasionally fails on a loaded machine (seen once in CI, in 0.1 s): try
  # once more from a stopped wineserver, and show Wine's own words if that fails too.
  log=$(mktemp)
  if ! "$wine" wineboot --init >"$log" 2>&1; then
    wineserver -k 2>/dev/null || true
    sleep 1
    "$wine" wineboot --init >"$log" 2>&1 || { echo "wine-setup: wineboot --init failed twice:" >&2; tail -20 "$log" >&2; rm -f "$log"; exit 1; }
  fi
  rm -f "$log"
  wineserver -w || true
fi
dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
if [ ! -f "$dll.clinicpro" ]; then
  x86_64-w64-mingw32-gcc -O2 -shared -o "$dll" "$here/bcryptprimitives.c" -ladvapi32 -Wl,--kill-at
  touch "$dll.clinicpro"
fi
echo "$WINEPREFIX"
