// Renders a contact sheet of demo phantoms with their positive findings into a PNG:
//   node bin/run-ts.js scripts/demo-preview.ts OUT.png [--seed N] [--count N] [--size PX] [--cols N]
// The sheet shows the first `count` images of the demo dataset for the seed, each with a caption
// strip listing its view and positive (+) / uncertain (?) labels in a tiny built-in font.
import { writeFileSync } from 'node:fs';
import { demoDataset, encodeGreyPng } from '../src/core/data/demo/index.ts';

const args = process.argv.slice(2);
const out = args.find((a) => !a.startsWith('--'));
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
if (!out) {
  console.error('usage: node bin/run-ts.js scripts/demo-preview.ts OUT.png [--seed N] [--count N] [--size PX] [--cols N]');
  process.exit(2);
}
const seed = opt('seed', 1);
const count = opt('count', 12);
const size = opt('size', 256);
const cols = opt('cols', 4);

// 3x5 pixel font for the captions.
const FONT: Record<string, string> = {
  A: '010101111101101', B: '110101110101110', C: '011100100100011', D: '110101101101110', E: '111100110100111',
  F: '111100110100100', G: '011100101101011', H: '101101111101101', I: '111010010010111', K: '101101110101101',
  L: '100100100100111', M: '101111111101101', N: '110101101101101', O: '010101101101010', P: '110101110100100',
  R: '110101110101101', S: '011100010001110', T: '111010010010010', U: '101101101101111', V: '101101101101010',
  X: '101101010101101', Y: '101101010010010', Z: '111001010100111', '+': '000010111010000', '?': '110001010000010',
  ' ': '000000000000000', '0': '111101101101111', '1': '010110010010111', '2': '110001010100111', '3': '110001010001110',
  '4': '101101111001001', '5': '111100110001110', '6': '011100111101111', '7': '111001010010010', '8': '111101111101111',
  '9': '111101111001110', '-': '000000111000000', '/': '001001010100100', '.': '000000000000010', ':': '000010000010000',
};
const SHORT: Record<string, string> = {
  'Enlarged Cardiomediastinum': 'ECM', Cardiomegaly: 'CARDIO', 'Lung Opacity': 'OPAC', 'Lung Lesion': 'LESION',
  Edema: 'EDEMA', Consolidation: 'CONS', Pneumonia: 'PNA', Atelectasis: 'ATEL', Pneumothorax: 'PTX',
  'Pleural Effusion': 'EFF', 'Pleural Other': 'PLOTH', Fracture: 'FX', 'Support Devices': 'DEV', 'No Finding': 'NOFIND',
};

const capH = 22;
const ds = demoDataset({ seed, count, size });
const rows = Math.ceil(count / cols);
const W = cols * size;
const H = rows * (size + capH);
const sheet = new Uint8Array(W * H);

function text(s: string, x0: number, y0: number, scale = 1): void {
  let x = x0;
  for (const ch of s.toUpperCase()) {
    const g = FONT[ch] ?? FONT['?']!;
    for (let r = 0; r < 5; r++)
      for (let c = 0; c < 3; c++)
        if (g[r * 3 + c] === '1')
          for (let dy = 0; dy < scale; dy++)
            for (let dx = 0; dx < scale; dx++) {
              const px = x + c * scale + dx;
              const py = y0 + r * scale + dy;
              if (px < W && py < H) sheet[py * W + px] = 255;
            }
    x += 4 * scale;
  }
}

const t0 = performance.now();
let k = 0;
for (const item of ds.items) {
  const ox = (k % cols) * size;
  const oy = Math.floor(k / cols) * (size + capH);
  for (let y = 0; y < size; y++) sheet.set(item.pixels.subarray(y * size, (y + 1) * size), (oy + y) * W + ox);
  const pos: string[] = [];
  for (const [col, v] of Object.entries(item.meta.labels)) {
    if (v === 1) pos.push(`${SHORT[col] ?? col}+`);
    else if (v === -1) pos.push(`${SHORT[col] ?? col}?`);
  }
  text(`${item.meta.split} ${item.meta.apPa} ${item.meta.sex?.[0]}${item.meta.age}`, ox + 2, oy + size + 2);
  text(pos.join(' ').slice(0, Math.floor((size - 4) / 4)), ox + 2, oy + size + 12);
  k++;
}
const ms = performance.now() - t0;
writeFileSync(out, encodeGreyPng(sheet, W, H));
console.log(`${k} phantoms (seed ${seed}, ${size} px) in ${ms.toFixed(0)} ms -> ${out} (${W}x${H})`);
