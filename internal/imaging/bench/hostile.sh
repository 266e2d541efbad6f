#!/usr/bin/env bash
# Peak RSS and time of the converter (imgconv, the package as its own process)
# on every member of the hostile corpus, with the decode budget and, for the
# bombs, with it switched off (-decode-budget 1e12) to show what it prevents.
# Usage: internal/imaging/bench/hostile.sh   (OUT defaults to out/bench-hostile)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
OUT=${OUT:-out/bench-hostile}
mkdir -p "$OUT"
go build -o "$OUT/imgconv" ./internal/imaging/bench/imgconv
"$OUT/imgconv" hostile "$OUT/corpus"
echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo '| file | bytes | decode budget | peak RSS MB | wall s | result |'
echo '|---|---|---|---|---|---|'
for f in "$OUT"/corpus/*; do
  budgets=(0)
  case $(basename "$f") in bomb-*) budgets=(0 1000000000000) ;; esac
  for b in "${budgets[@]}"; do
    /usr/bin/time -f '%M %e' -o "$OUT/time.txt" "$OUT/imgconv" convert -decode-budget "$b" "$f" "$OUT/out.bin" \
      >"$OUT/stdout.txt" 2>"$OUT/stderr.txt" || true
    read -r kb s < <(tail -1 "$OUT/time.txt")
    label=256MB; [ "$b" = 0 ] || label=off
    res=$(sed 's/^imgconv: //' "$OUT/stderr.txt" | head -1 | cut -c1-70)
    [ -n "$res" ] || res="converted: $(cat "$OUT/stdout.txt")"
    printf '| %s | %s | %s | %.1f | %s | %s |\n' "$(basename "$f")" "$(stat -c %s "$f")" "$label" "$(echo "$kb/1024" | bc -l)" "$s" "$res"
  done
done
