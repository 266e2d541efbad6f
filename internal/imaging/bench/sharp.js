// The earlier web version's converter, reproduced for comparison: sharp
// (libvips) auto-rotates, then writes JPEG-compressed TIFF, stepping down a
// ladder of sizes and qualities until the file fits the budget. The ladder
// starts at 1920 px: the measurements of the web version show 1920 px
// outputs (12 MP -> 1920x1440, a 3024^2 square -> 1920x1920).
//
//   node sharp.js ladder IN OUT [BUDGET]     prints: width height bytes quality wall_ms cpu_ms
//   node sharp.js fixed IN OUT W H Q         same size and quality as another run
//
// The conversion runs twice in the process and the second run is timed, as
// the web version converted in a long-running server (module loading and
// libvips start-up are not part of its per-photo time).
const sharp = require('sharp');
const fs = require('fs');

const [mode, input, output] = process.argv.slice(2);

async function tiff(edgeOrW, h, q) {
  const img = sharp(input, { limitInputPixels: 100e6 }).rotate();
  const resized = h
    ? img.resize(edgeOrW, h, { fit: 'fill' })
    : img.resize(edgeOrW, edgeOrW, { fit: 'inside', withoutEnlargement: true });
  const { data, info } = await resized
    .tiff({ compression: 'jpeg', quality: q })
    .toBuffer({ resolveWithObject: true });
  return { data, info, q };
}

async function convert() {
  let r;
  if (mode === 'ladder') {
    const budget = Number(process.argv[5] || 1000000);
    outer: for (const edge of [1920, 1600, 1280, 1024, 800]) {
      for (const q of [85, 75, 65, 55, 45]) {
        r = await tiff(edge, 0, q);
        if (r.data.length <= budget) break outer;
      }
    }
  } else {
    const [w, h, q] = process.argv.slice(5).map(Number);
    r = await tiff(w, h, q);
  }
  return r;
}

async function main() {
  await convert(); // warm-up
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = await convert();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  fs.writeFileSync(output, r.data);
  console.log(r.info.width, r.info.height, r.data.length, r.q, wall.toFixed(1), ((c.user + c.system) / 1000).toFixed(1));
}
main().catch((e) => { console.error(e); process.exit(1); });
