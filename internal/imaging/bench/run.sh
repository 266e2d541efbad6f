#!/usr/bin/env bash
# Compare internal/imaging with sharp (the earlier web version's converter),
# `vips thumbnail` and ImageMagick `convert` on the same inputs, in one run.
# Usage: internal/imaging/bench/run.sh   (make bench-imaging)
# Env: RUNS (default 5), OUT (default out/bench-imaging), BUDGET (1000000),
# INPUTS (default "phone12 camera24 scanA4").
# Installs what it needs: Debian libvips-tools, imagemagick, libtiff-tools,
# mate-backgrounds (photographic wallpapers for inputs) and npm sharp into $OUT.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
RUNS=${RUNS:-5}
OUT=${OUT:-out/bench-imaging}
BUDGET=${BUDGET:-1000000}
INPUTS=${INPUTS:-phone12 camera24 scanA4}
SHARP_VERSION=0.34.5
mkdir -p "$OUT/in" "$OUT/res" "$OUT/node"
OUT=$(cd "$OUT" && pwd)

need=()
command -v vips >/dev/null || need+=(libvips-tools)
command -v compare >/dev/null && convert -version 2>/dev/null | grep -q ImageMagick || need+=(imagemagick)
command -v tiffinfo >/dev/null || need+=(libtiff-tools)
[ -f /usr/share/backgrounds/mate/nature/LadyBird.jpg ] || need+=(mate-backgrounds)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get install -y -q "${need[@]}" >/dev/null
fi
if [ ! -d "$OUT/node/node_modules/sharp" ]; then
  (cd "$OUT/node" && echo '{"name":"bench-imaging","private":true}' >package.json &&
    npm install --no-audit --no-fund "sharp@$SHARP_VERSION" >/dev/null)
fi
cp internal/imaging/bench/sharp.js "$OUT/node/sharp.js"
go build -o "$OUT/imgconv" ./internal/imaging/bench/imgconv

# Inputs: wallpaper photos cropped to the sensor's aspect, scaled to its size
# and given sensor-like noise, saved as a camera would (JPEG q92, 4:2:0).
BG=/usr/share/backgrounds/mate
[ -f "$OUT/in/phone12.jpg" ] || convert "$BG/nature/LadyBird.jpg" -gravity center -crop 2133x1600+0+0 +repage \
  -resize '4032x3024!' -attenuate 0.3 +noise Gaussian -sampling-factor 2x2 -quality 92 "$OUT/in/phone12.jpg"
[ -f "$OUT/in/camera24.jpg" ] || convert "$BG/abstract/Elephants_5640x3172.jpg" -gravity center -crop 4758x3172+0+0 +repage \
  -resize '6000x4000!' -attenuate 0.2 +noise Gaussian -sampling-factor 2x2 -quality 92 "$OUT/in/camera24.jpg"
[ -f "$OUT/in/scanA4.png" ] || "$OUT/imgconv" scan "$OUT/in/scanA4.png"

# run NAME CMD...: RUNS timed runs; sets MED_MS (median wall ms), CPU_MS
# (median user+system ms, less sensitive to other load) and RSS_MB (peak).
run() {
  local name=$1; shift
  local times=() cpus=() rss=0
  for _ in $(seq "$RUNS"); do
    local t0 t1 m u s
    t0=$(date +%s%N)
    /usr/bin/time -f '%M %U %S' -o "$OUT/res/time.txt" "$@" >"$OUT/res/$name.stdout" 2>"$OUT/res/$name.stderr"
    t1=$(date +%s%N)
    times+=($(((t1 - t0) / 1000000)))
    read -r m u s < <(tail -1 "$OUT/res/time.txt")
    cpus+=($(awk -v u="$u" -v s="$s" 'BEGIN {printf "%d", (u + s) * 1000}'))
    if ((m > rss)); then rss=$m; fi
  done
  MED_MS=$(median "${times[@]}")
  CPU_MS=$(median "${cpus[@]}")
  RSS_MB=$((rss / 1024))
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# psnr OUTFILE W H: PSNR of the output against the source scaled to W x H by
# ImageMagick's Lanczos, the same reference for every tool.
psnr() {
  local ref="$OUT/res/ref-$IN_NAME-$2x$3.png"
  [ -f "$ref" ] || convert "$IN" -auto-orient -colorspace sRGB -filter Lanczos -resize "$2x$3!" "$ref"
  compare -metric PSNR "$1" "$ref" null: 2>&1 || true
}

row() { # tool file
  local w h
  read -r w h < <(identify -format '%w %h\n' "$2" | head -1)
  printf '| %s | %s | %s | %d | %d | %d | %dx%d | %s | %s |\n' "$IN_NAME" "$1" "$3" "$MED_MS" "$CPU_MS" "$RSS_MB" "$w" "$h" \
    "$(stat -c %s "$2")" "$(psnr "$2" "$w" "$h")" | tee -a "$OUT/results.md"
}

{
  echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs each; budget $BUDGET bytes."
  echo "go $(go env GOVERSION), sharp $SHARP_VERSION, $(vips --version), $(convert -version | head -1 | cut -d' ' -f2-3)"
  echo
  echo '| input | tool | settings | wall p50 ms | CPU p50 ms | peak RSS MB | output px | bytes | PSNR dB |'
  echo '|---|---|---|---|---|---|---|---|---|'
} | tee "$OUT/results.md"

for IN_NAME in $INPUTS; do
  IN=$(ls "$OUT/in/$IN_NAME".*)
  R="$OUT/res/$IN_NAME"
  run ours "$OUT/imgconv" convert -budget "$BUDGET" "$IN" "$R-ours.tif"
  read -r W H BYTES Q ENC <"$OUT/res/ours.stdout"
  row "ours (Go)" "$R-ours.tif" "$ENC q$Q, fit to budget"
  [ "$Q" = 0 ] && Q=85 # documents are lossless for us; the others still write JPEG
  LONG=$((W > H ? W : H))
  run sharp node "$OUT/node/sharp.js" ladder "$IN" "$R-sharp.tif" "$BUDGET"
  read -r _ _ _ SQ <"$OUT/res/sharp.stdout"
  row "sharp ladder" "$R-sharp.tif" "web version: 2560..800 px x q85..45, q$SQ"
  run sharp-same node "$OUT/node/sharp.js" fixed "$IN" "$R-sharp-same.tif" "$W" "$H" "$Q"
  row "sharp same size" "$R-sharp-same.tif" "our size, q$Q"
  run vips vips thumbnail "$IN" "$R-vips.tif[compression=jpeg,Q=$Q,strip]" "$LONG"
  row "vips thumbnail" "$R-vips.tif" "our long edge, Q$Q"
  run magick convert -define "jpeg:size=${W}x${H}" "$IN" -auto-orient -resize "${W}x${H}" -strip -compress jpeg -quality "$Q" "$R-magick.tif"
  row "ImageMagick convert" "$R-magick.tif" "our size, q$Q, jpeg:size hint"
done
echo
echo "results: $OUT/results.md"
