#!/usr/bin/env bash
# Compare internal/imaging with sharp (the earlier web version's converter),
# `vips thumbnail` and ImageMagick `convert` on the same inputs, in one run:
# time, memory, size, and fidelity to the source.
# Usage: internal/imaging/bench/run.sh   (make bench-imaging)
# Env: RUNS (default 5), OUT (default out/bench-imaging), BUDGET (1000000),
# INPUTS (default "phone12r camera48 square9 phone12 camera24 letter scanA4").
# Needs `SETUP_EXTRA=bench .ci/setup` (libvips-tools, imagemagick, node/npm);
# installs Debian libtiff-tools and mate-backgrounds (photographic wallpapers
# for inputs) when missing, and npm sharp into $OUT.
#
# Timing: every tool runs RUNS times, the tools taking turns so the shared
# machine's load falls on all of them alike. Ours and sharp convert twice in
# one process and time the second conversion (the web version converted in a
# long-running server); vips and ImageMagick are timed as whole processes.
# Peak RSS is the process's (/usr/bin/time %M).
#
# Fidelity: every output is decoded by libvips, scaled with the same Lanczos-3
# (imgconv fidelity) to the source's full size and, with the source, to a
# 1920-px long edge (the view), and compared by PSNR (RGB) and SSIM (luma).
# "same-size PSNR" is the earlier figure: ImageMagick's PSNR against the source
# scaled down to each output's own size (it rewards small outputs).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
RUNS=${RUNS:-5}
OUT=${OUT:-out/bench-imaging}
BUDGET=${BUDGET:-1000000}
INPUTS=${INPUTS:-phone12r camera48 square9 phone12 camera24 letter scanA4}
SHARP_VERSION=0.35.5
mkdir -p "$OUT/in" "$OUT/res" "$OUT/node"
OUT=$(cd "$OUT" && pwd)
IM=/usr/bin/convert # Debian's ImageMagick, whatever else is on PATH

need=()
command -v vips >/dev/null || need+=(libvips-tools)
[ -x $IM ] && $IM -version 2>/dev/null | grep -q ImageMagick || need+=(imagemagick)
command -v tiffinfo >/dev/null || need+=(libtiff-tools)
[ -f /usr/share/backgrounds/mate/nature/LadyBird.jpg ] || need+=(mate-backgrounds)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get install -y -q "${need[@]}" >/dev/null
fi
if [ "$(cd "$OUT/node" && node -p "try{require('sharp/package.json').version}catch(e){''}" 2>/dev/null)" != "$SHARP_VERSION" ]; then
  (cd "$OUT/node" && echo '{"name":"bench-imaging","private":true}' >package.json &&
    npm install --no-audit --no-fund "sharp@$SHARP_VERSION" >/dev/null)
fi
cp internal/imaging/bench/sharp.js "$OUT/node/sharp.js"
go build -o "$OUT/imgconv" ./internal/imaging/bench/imgconv

# Inputs: wallpaper photos cropped to the sensor's aspect, scaled to its size
# and given sensor-like noise, saved as a camera would (JPEG q92, 4:2:0).
BG=/usr/share/backgrounds/mate
I=$OUT/in
photo() { # name source crop size attenuate
  [ -f "$I/$1.jpg" ] || $IM "$2" -gravity center -crop "$3" +repage -resize "$4!" -attenuate "$5" +noise Gaussian \
    -sampling-factor 2x2 -quality 92 "$I/$1.jpg"
}
photo phone12 "$BG/nature/LadyBird.jpg" 2133x1600+0+0 4032x3024 0.3
photo camera24 "$BG/abstract/Elephants_5640x3172.jpg" 4758x3172+0+0 6000x4000 0.2
photo camera48 "$BG/nature/TwoWings.jpg" 2133x1600+0+0 8064x6048 0.3
photo square9 "$BG/nature/YellowFlower.jpg" 1600x1600+0+0 3024x3024 0.3
# An iPhone portrait as it arrives: pixels stored sideways, EXIF orientation 6.
if [ ! -f "$I/phone12r.jpg" ]; then
  $IM "$BG/nature/Garden.jpg" -gravity center -crop 1200x1600+0+0 +repage -resize '3024x4032!' -attenuate 0.3 \
    +noise Gaussian -rotate -90 -sampling-factor 2x2 -quality 92 "$OUT/res/phone12r-plain.jpg"
  "$OUT/imgconv" exif6 "$OUT/res/phone12r-plain.jpg" "$I/phone12r.jpg"
fi
[ -f "$I/letter.jpg" ] || "$OUT/imgconv" letter "$I/letter.jpg" 7
[ -f "$I/scanA4.png" ] || "$OUT/imgconv" scan "$I/scanA4.png"

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# timed TAG CMD...: one run; appends "wall cpu rss_kb" to $OUT/res/$TAG.t.
# For ours and sharp the command prints its in-process time as its last two
# fields; otherwise the process's wall and CPU are used.
timed() {
  local tag=$1; shift
  local t0 t1 m u s out wall cpu
  t0=$(date +%s%N)
  /usr/bin/time -f '%M %U %S' -o "$OUT/res/time.txt" "$@" >"$OUT/res/$tag.stdout" 2>"$OUT/res/$tag.stderr"
  t1=$(date +%s%N)
  read -r m u s < <(tail -1 "$OUT/res/time.txt")
  out=$(cat "$OUT/res/$tag.stdout")
  case $tag in
    *-ours | *-sharp | *-sharp-same) wall=$(echo "$out" | awk '{print $(NF-1)}'); cpu=$(echo "$out" | awk '{print $NF}') ;;
    *) wall=$(((t1 - t0) / 1000000)); cpu=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%d", (u + s) * 1000}') ;;
  esac
  echo "$wall $cpu $m" >>"$OUT/res/$tag.t"
}

{
  echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs each; budget $BUDGET bytes."
  echo "go $(go env GOVERSION), sharp $SHARP_VERSION (libvips $(cd "$OUT/node" && node -p "require('sharp').versions.vips")), $(vips --version), $($IM -version | head -1 | cut -d' ' -f2-3)"
  echo
  echo '| input | tool | settings | wall p50 ms | CPU p50 ms | peak RSS MB | output px | bytes | full size PSNR / SSIM | 1920 view PSNR / SSIM | same-size PSNR |'
  echo '|---|---|---|---|---|---|---|---|---|---|---|'
} | tee "$OUT/results.md"

verdict=()
for IN_NAME in $INPUTS; do
  IN=$I/$IN_NAME.jpg
  [ -f "$IN" ] || IN=$I/$IN_NAME.png
  R="$OUT/res/$IN_NAME"
  rm -f "$R"-*.t
  # Our output decides the size and quality the others are run at.
  "$OUT/imgconv" convert -budget "$BUDGET" "$IN" "$R-ours.tif" >"$OUT/res/ours.first"
  read -r W H _ Q ENC <"$OUT/res/ours.first"
  QQ=$Q
  [ "$QQ" = 0 ] && QQ=85 # documents are lossless for us; the others still write JPEG
  LONG=$((W > H ? W : H))
  for _ in $(seq "$RUNS"); do
    timed "$IN_NAME-ours" "$OUT/imgconv" convert -timed -budget "$BUDGET" "$IN" "$R-ours.tif"
    timed "$IN_NAME-sharp" node "$OUT/node/sharp.js" ladder "$IN" "$R-sharp.tif" "$BUDGET"
    timed "$IN_NAME-sharp-same" node "$OUT/node/sharp.js" fixed "$IN" "$R-sharp-same.tif" "$W" "$H" "$QQ"
    timed "$IN_NAME-vips" vips thumbnail "$IN" "$R-vips.tif[compression=jpeg,Q=$QQ,strip]" "$LONG"
    timed "$IN_NAME-magick" $IM -define "jpeg:size=${W}x${H}" "$IN" -auto-orient -resize "${W}x${H}" -strip \
      -compress jpeg -quality "$QQ" "$R-magick.tif"
  done
  read -r _ _ _ SQ _ <"$OUT/res/$IN_NAME-sharp.stdout"
  # Fidelity of every output (decoded by libvips) against the source.
  outs=()
  for tool in ours sharp sharp-same vips magick; do
    vips copy "$R-$tool.tif" "$R-$tool.png"
    outs+=("$R-$tool.png")
  done
  fid=()
  if [ "$IN_NAME" = letter ]; then
    for _ in "${outs[@]}"; do fid+=("n/a n/a n/a n/a"); done # our page is cut out and un-tilted: no pixel match
  else
    mapfile -t fid < <("$OUT/imgconv" fidelity "$IN" "${outs[@]}")
  fi
  k=0
  for tool in ours sharp sharp-same vips magick; do
    f="$R-$tool.tif"
    mapfile -t rows <"$R-$tool.t"
    walls=() cpus=() rss=0
    for r in "${rows[@]}"; do
      read -r wl cp m <<<"$r"
      walls+=("$wl"); cpus+=("$cp")
      ((m > rss)) && rss=$m
    done
    read -r fw fh < <(vipsheader -f width "$f" | tr '\n' ' '; vipsheader -f height "$f")
    ref="$OUT/res/ref-$IN_NAME-${fw}x${fh}.png"
    [ -f "$ref" ] || $IM "$IN" -auto-orient -colorspace sRGB -filter Lanczos -resize "${fw}x${fh}!" "$ref"
    same=n/a
    [ "$IN_NAME" = letter ] || same=$(/usr/bin/compare -metric PSNR "$R-$tool.png" "$ref" null: 2>&1 || true)
    read -r pf sf pv sv <<<"${fid[$k]}"
    case $tool in
      ours) set="$ENC q$Q, fit to budget" ;;
      sharp) set="web version: 1920..800 px x q85..45, q$SQ" ;;
      sharp-same) set="our size, q$QQ" ;;
      vips) set="our long edge, Q$QQ" ;;
      magick) set="our size, q$QQ, jpeg:size hint" ;;
    esac
    wmed=$(median "${walls[@]}"); cmed=$(median "${cpus[@]}")
    printf '| %s | %s | %s | %.0f | %.0f | %d | %dx%d | %s | %s / %s | %s / %s | %s |\n' "$IN_NAME" "$tool" "$set" \
      "$wmed" "$cmed" $((rss / 1024)) "$fw" "$fh" "$(stat -c %s "$f")" "$pf" "$sf" "$pv" "$sv" "$same" | tee -a "$OUT/results.md"
    eval "W_${tool//-/_}=$wmed; C_${tool//-/_}=$cmed; M_${tool//-/_}=$((rss / 1024)); V_${tool//-/_}='$pv $sv'"
    k=$((k + 1))
  done
  case $IN_NAME in
    letter | scanA4) ;;
    *)
      read -r op os <<<"$V_ours"
      read -r sp ss <<<"$V_sharp"
      verdict+=("$IN_NAME: 1920 view ours $op dB / $os, sharp ladder $sp dB / $ss: $(awk -v a="$op" -v b="$sp" -v c="$os" -v d="$ss" 'BEGIN {print (a >= b && c >= d) ? "at or above" : "BELOW"}'); wall ours/sharp $(awk -v a="$W_ours" -v b="$W_sharp" 'BEGIN {printf "%.2f", a / b}'), CPU ours/sharp $(awk -v a="$C_ours" -v b="$C_sharp" 'BEGIN {printf "%.2f", a / b}'); peak RSS ours $M_ours MB")
      ;;
  esac
done
{
  echo
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  for v in "${verdict[@]}"; do echo "- $v"; done
} | tee -a "$OUT/results.md"
echo
echo "results: $OUT/results.md"
