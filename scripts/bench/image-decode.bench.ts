// Image import speed in Node: decode + grey (convert('L')) + Resize(320) of the shared NIH and Shenzhen
// PNGs with src/core/image, next to Pillow (Debian python3-pil under /usr/bin/python3) doing
// Image.open(BytesIO(bytes)).convert('L').resize(size, BILINEAR) on the same files and repetitions, timed
// inside Python (interpreter start excluded). Both sides read the files into memory first.
// The issue's goal is measured in headless Chromium elsewhere; this one shows where the code stands (goal null).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PYTHON, SHARED_DATA } from '../fixtures/ensure.ts';
import { decodeToGrey, type DecodeOptions } from '../../src/core/image/decode.ts';
import { resizeShorterSide } from '../../src/core/image/resize.ts';
import type { BenchResult } from './main.ts';

const SETS: Record<string, string[]> = {
  nih: ['nih/128px', 'nih/512px', 'nih/full-1024px'],
  shenzhen: ['shenzhen/arcus-750px/images', 'shenzhen/pegasus-256-512px/train_images', 'shenzhen/pegasus-256-512px/test_images'],
};
const REPS = Number(process.env.BENCH_IMAGE_REPS ?? 3);
/** Ours and Pillow alternate this many rounds; the best round of each counts (the machine is shared). */
const ROUNDS = Number(process.env.BENCH_IMAGE_ROUNDS ?? 3);

const PY = `
import io, json, sys, time
from PIL import Image
paths = json.loads(sys.argv[1]); reps = int(sys.argv[2])
data = [open(p, 'rb').read() for p in paths]
def one(b):
    im = Image.open(io.BytesIO(b)).convert('L')
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    nl = int(320 * long / short)
    size = (320, nl) if w <= h else (nl, 320)
    return im.resize(size, Image.BILINEAR)
for b in data: one(b)  # warm-up
t0 = time.perf_counter()
for _ in range(reps):
    for b in data: one(b)
print(json.dumps({'seconds': time.perf_counter() - t0, 'images': reps * len(data)}))
`;

function pngsOf(dirs: string[]): string[] {
  return dirs.flatMap((d) =>
    readdirSync(join(SHARED_DATA, d))
      .filter((f) => f.endsWith('.png'))
      .sort()
      .map((f) => join(SHARED_DATA, d, f)),
  );
}

/** The pure-JS inflater, which browsers without DecompressionStream (and sync decoding there) use. */
const pureJs: DecodeOptions = { inflate: 'fflate' };

async function ours(files: Uint8Array[], reps: number, opts: DecodeOptions = {}): Promise<number> {
  const once = async () => {
    for (const b of files) resizeShorterSide(await decodeToGrey(b, undefined, opts), 320);
  };
  await once(); // warm-up (JIT, coefficient tables)
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) await once();
  return (reps * files.length) / ((performance.now() - t0) / 1000);
}

function pillow(paths: string[], reps: number): number {
  const out = execFileSync(PYTHON, ['-c', PY, JSON.stringify(paths), String(reps)], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { seconds: number; images: number };
  return r.images / r.seconds;
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const groups: [string, string[]][] = [...Object.entries(SETS), ['nih+shenzhen', Object.values(SETS).flat()]];
  const reference = 'Pillow 9.4 open+convert(L)+resize';
  for (const [name, dirs] of groups) {
    const paths = pngsOf(dirs);
    const files = paths.map((p) => new Uint8Array(readFileSync(p)));
    const all = name === 'nih+shenzhen';
    let ref = 0;
    let mine = 0;
    let withFflate = 0;
    for (let round = 0; round < ROUNDS; round++) {
      ref = Math.max(ref, pillow(paths, REPS));
      mine = Math.max(mine, await ours(files, REPS));
      if (all) withFflate = Math.max(withFflate, await ours(files, REPS, pureJs));
    }
    console.error(
      `image-decode ${name}: ${paths.length} files (${relative(SHARED_DATA, paths[0]!)} ...), best of ${ROUNDS} rounds x ${REPS} reps: ` +
        `ours ${mine.toFixed(1)}/s${all ? `, ours with fflate ${withFflate.toFixed(1)}/s` : ''}, Pillow ${ref.toFixed(1)}/s`,
    );
    const row = (label: string, value: number): BenchResult => ({
      name: `image decode+L+Resize(320), ${name} PNGs (Node, ${label})`,
      unit: 'images/s',
      value,
      reference: { name: reference, value: ref },
      ratio: value / ref,
      goal: null,
    });
    results.push(row('node:zlib inflate', mine));
    if (all) results.push(row('pure-JS fflate inflate', withFflate));
  }
  return results;
}
