#!/usr/bin/env bash
# What clinicpro-relay adds to an upload, against alexsim on loopback, next to nginx
# as a bare reverse proxy, plus the relay's peak RSS under 100 concurrent 8 MB
# uploads. Usage: internal/relay/relaybench/run.sh [relaybench flags]   (make bench-relay)
# Env: RATE (open-loop uploads/s, default 10), OUT (default out/bench-relay).
# Installs nginx (Debian package) when missing. Prints a Markdown report; record it in
# docs/benchmarks.md, section "Relay".
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
OUT=${OUT:-out/bench-relay}
mkdir -p "$OUT"
if ! [ -x /usr/sbin/nginx ]; then
  echo "installing nginx" >&2
  apt-get install -y -q nginx-light >/dev/null 2>&1 || apt-get install -y -q nginx >/dev/null
fi
CGO_ENABLED=0 go build -trimpath -o "$OUT/clinicpro-relay" ./cmd/clinicpro-relay
go build -o "$OUT/relaybench" ./internal/relay/relaybench
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
{
  # Closed loop: saturation throughput, latency under saturation, and peak RSS.
  "$OUT/relaybench" -relay "$OUT/clinicpro-relay" -nginx /usr/sbin/nginx "$@"
  echo
  # Open loop below saturation: the latency each path adds when the CPU is not the queue.
  "$OUT/relaybench" -relay "$OUT/clinicpro-relay" -nginx /usr/sbin/nginx -rate "${RATE:-10}" -rss-uploads 0 "$@"
} | tee "$OUT/report.md"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
