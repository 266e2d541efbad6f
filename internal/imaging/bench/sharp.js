// The earlier web version's converter, reproduced for comparison: sharp
// (libvips) auto-rotates, then writes JPEG-compressed TIFF, stepping down a
// ladder of sizes and qualities until the file fits the budget.
//
//   node sharp.js ladder IN OUT [BUDGET]     prints: width height bytes quality
//   node sharp.js fixed IN OUT W H Q         same size and quality as another run
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

async function main() {
  let r;
  if (mode === 'ladder') {
    const budget = Number(process.argv[5] || 1000000);
    outer: for (const edge of [2560, 2048, 1600, 1280, 1024, 800]) {
      for (const q of [85, 75, 65, 55, 45]) {
        r = await tiff(edge, 0, q);
        if (r.data.length <= budget) break outer;
      }
    }
  } else {
    const [w, h, q] = process.argv.slice(5).map(Number);
    r = await tiff(w, h, q);
  }
  fs.writeFileSync(output, r.data);
  console.log(r.info.width, r.info.height, r.data.length, r.q);
}
main().catch((e) => { console.error(e); process.exit(1); });
