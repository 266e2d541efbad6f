#!/usr/bin/env bash
# Cross-compiles the Go test binaries of the given packages for windows/amd64 and
# runs each under Wine, with CLINICPRO_WINE=1 so the tests that install a Windows
# service or an event source run too. Fails if any binary fails.
# Usage: .ci/wine/run.sh ./internal/hcm ./internal/nhi ...
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/out/wine
mkdir -p "$out"
# One run at a time per work tree: runs share the prefix, the test service's name
# and the binaries under out/wine.
exec 9>"$out/.lock"
flock -w 900 9 || { echo "wine: another test-wine run has held $out/.lock for 15 minutes" >&2; exit 1; }
export WINEPREFIX=$("$here/setup.sh") || exit 1
export WINEDEBUG=-all CLINICPRO_WINE=1 WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n,b"
GO=${GO:-go}

# Wine 8 answers FileDispositionInformationEx with STATUS_NOT_IMPLEMENTED, which Go
# 1.26's os.RemoveAll treats as fatal (it falls back to the older delete call only
# for the statuses old Windows versions return), so every t.TempDir cleanup would
# fail. The test binaries are built with an overlay of that one stdlib file that
# falls back on any status, as old Windows does. Product binaries are untouched.
src=$("$GO" env GOROOT)/src/internal/syscall/windows/at_windows.go
mkdir -p "$out/overlay"
perl -0pe 's/(\tdefault:\n\t\treturn err\.\(NTStatus\)\.Errno\(\)\n\t\}\n\}\n\n\/\/ TestDeleteatFallback)/\tdefault:\n\t\treturn deleteatFallback(h) \/\/ wine-overlay\n\t}\n}\n\n\/\/ TestDeleteatFallback/' "$src" >"$out/overlay/at_windows.go"
grep -q 'wine-overlay' "$out/overlay/at_windows.go" || { echo "wine: cannot patch $src for Wine's missing FileDispositionInformationEx (Go version changed?)" >&2; exit 1; }
printf '{"Replace":{"%s":"%s"}}\n' "$src" "$out/overlay/at_windows.go" >"$out/overlay/overlay.json"

passed=0 failed=0 failures=()
for pkg in "$@"; do
  name=$(echo "${pkg#./}" | tr '/' '_')
  exe=$out/$name.test.exe
  rm -f "$exe"
  if ! (cd "$root" && GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$GO" test -c -overlay "$out/overlay/overlay.json" -o "$exe" "$pkg"); then
    echo "wine: $pkg: FAILED to build"
    failed=$((failed+1)); failures+=("$pkg (build)"); continue
  fi
  if [ ! -f "$exe" ]; then
    echo "wine: $pkg: no test files"
    continue
  fi
  log=$out/$name.log
  start=$SECONDS
  # Run from the package directory, as go test does, so testdata/ resolves.
  (cd "$root/$pkg" && timeout 300 wine "$exe" -test.v -test.timeout 4m) >"$log" 2>&1
  rc=$?
  # A binary that stops with no failing test, panic or fatal error in its output
  # was stopped under it (seen rarely with Wine 8 on a loaded machine): run it once
  # more and say so. Real test failures are never retried.
  if [ $rc -ne 0 ] && ! grep -qE '^(--- FAIL|panic:|fatal error:|FAIL)' "$log"; then
    echo "wine: retry $pkg: the binary stopped (exit $rc) without a test failure; its log is $log.first"
    mv "$log" "$log.first"
    (cd "$root/$pkg" && timeout 300 wine "$exe" -test.v -test.timeout 4m) >"$log" 2>&1
    rc=$?
  fi
  if [ $rc -eq 0 ] && grep -qx PASS "$log"; then
    echo "wine: ok   $pkg ($(grep -c '^--- PASS' "$log") tests passed, $(grep -c '^--- SKIP' "$log") skipped, $((SECONDS-start))s)"
    passed=$((passed+1))
  else
    echo "wine: FAIL $pkg (exit $rc); last lines of $log:"
    grep -E '^(--- FAIL|panic|FAIL|\s+\S+_test.go)' "$log" | tail -40
    tail -15 "$log"
    failed=$((failed+1)); failures+=("$pkg")
  fi
done
wineserver -k 2>/dev/null || true
echo "wine: $passed passed, $failed failed"
[ $failed -eq 0 ] || { echo "wine: failing: ${failures[*]}"; exit 1; }
