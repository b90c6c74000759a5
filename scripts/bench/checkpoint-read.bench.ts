// Reading a MoCo-CXR ResNet-18 pretraining checkpoint (queue K = 24576, Adam state; ~197 MB) in
// both torch.save formats: ours in Node next to torch.load in Debian's torch 1.13, same machine,
// same run. Both sides: one untimed warm-up load (page cache), then the median of REPS timed
// loads inside the process (interpreter and tsx start-up excluded).
//   from file:   path -> every tensor's data usable (ours: readCheckpointFile, the CLI's reader,
//                + readTorchFile + tensorData of every tensor; torch: torch.load(path))
//   from memory: bytes already in memory -> the same (torch: torch.load(io.BytesIO(bytes))).
//                Legacy bytes are placed so that the storages are NOT aligned, the worst case
//                (one copy per storage), whatever the luck of the file's layout.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readTorchFile, Tensor, tensorData, type PickleValue } from '../../src/core/torchfile/index.ts';
import { readCheckpointFile } from '../../src/cli/read-file.ts';
import { ensureFixtures, PYTHON, REPO_ROOT } from '../fixtures/ensure.ts';
import type { BenchResult } from './main.ts';

const REPS = 7;

function tensorsIn(v: PickleValue, out: Tensor[] = []): Tensor[] {
  if (v instanceof Tensor) out.push(v);
  else if (v instanceof Map) for (const x of v.values()) tensorsIn(x, out);
  else if (Array.isArray(v)) for (const x of v) tensorsIn(x, out);
  return out;
}

/** Everything a caller needs before using the weights: parse, and a typed array per tensor. */
function load(bytes: Uint8Array): number {
  const file = readTorchFile(bytes);
  let n = 0;
  for (const t of tensorsIn(file.root)) n += tensorData(t).length;
  return n;
}

/** The same bytes at an offset where the float storages are not 4-byte aligned. */
function misaligned(bytes: Uint8Array): Uint8Array {
  const first = readTorchFile(bytes).storages.find((s) => s.dtype === 'f32')!;
  const shift = first.bytes.byteOffset % 4 === 0 ? 2 : 0;
  const out = new Uint8Array(bytes.length + shift);
  out.set(bytes, shift);
  return out.subarray(shift);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timed(fn: () => unknown): number[] {
  fn();
  const times: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times;
}

export async function run(): Promise<BenchResult[]> {
  const dir = ensureFixtures('torch_bench_checkpoints');
  const files = ['zip', 'legacy'].map((fmt) => ({ fmt, path: join(dir, `moco_r18.${fmt}.pth.tar`) }));
  const torchTimes = JSON.parse(
    execFileSync(PYTHON, [join(REPO_ROOT, 'scripts/fixtures/torch_load_timing.py'), String(REPS), ...files.map((f) => f.path)], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1' },
      maxBuffer: 1 << 20,
    }),
  ) as Record<string, { path: number[]; memory: number[] }>;

  const results: BenchResult[] = [];
  for (const { fmt, path } of files) {
    const mb = (statSync(path).size / 2 ** 20).toFixed(0);
    // memory beyond the file's own buffer once every tensor is a typed array: the copies made
    for (const [how, bytes] of [
      ['from file', readCheckpointFile(path)],
      ['from memory', fmt === 'legacy' ? misaligned(new Uint8Array(readFileSync(path))) : new Uint8Array(readFileSync(path))],
    ] as const) {
      const file = readTorchFile(bytes);
      const arrays = tensorsIn(file.root).map((t) => tensorData(t));
      const copied = arrays.filter((a) => a.buffer !== bytes.buffer).reduce((n, a) => n + a.byteLength, 0);
      const storages = file.storages.reduce((n, s) => n + s.nbytes, 0);
      console.error(
        `checkpoint-read ${fmt} ${how}: ${arrays.length} tensors, ${(storages / 2 ** 20).toFixed(1)} MiB of storages, ` +
          `${(copied / 2 ** 20).toFixed(1)} MiB copied out of the file buffer`,
      );
    }
    let inMemory: Uint8Array = new Uint8Array(readFileSync(path));
    if (fmt === 'legacy') inMemory = misaligned(inMemory);
    const ours = {
      path: timed(() => load(readCheckpointFile(path))),
      memory: timed(() => load(inMemory)),
    };
    // The first read in a fresh process, as `moco-cxr inspect` or a one-off torch.load meets it: the
    // reps above let torch reuse memory its allocator already faulted in, which a first load cannot.
    const fresh = (cmd: string, args: string[]) =>
      Array.from({ length: 3 }, () => Number(execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } }).trim()));
    const oursFirst = fresh('node', [join(REPO_ROOT, 'bin/run-ts.js'), join(REPO_ROOT, 'scripts/bench/checkpoint-first-load.ts'), path]);
    const torchFirst = fresh(PYTHON, [join(REPO_ROOT, 'scripts/bench/checkpoint_first_load.py'), path]).map((s) => s * 1000);
    results.push({
      name: `read MoCo r18 K=24576 ${fmt} ${mb} MB, first load in a fresh process`,
      unit: 'ms',
      value: median(oursFirst),
      reference: { name: 'first torch.load(path) 1.13 in a fresh process', value: median(torchFirst) },
      ratio: median(torchFirst) / median(oursFirst),
      goal: 1,
    });
    for (const how of ['path', 'memory'] as const) {
      const mine = median(ours[how]);
      const theirs = median(torchTimes[path]![how]) * 1000;
      console.error(
        `checkpoint-read ${fmt} ${how}: ours [${ours[how].map((t) => t.toFixed(0)).join(' ')}] ms, ` +
          `torch [${torchTimes[path]![how].map((t) => (t * 1000).toFixed(0)).join(' ')}] ms`,
      );
      results.push({
        name: `read MoCo r18 K=24576 ${fmt} ${mb} MB, ${how === 'path' ? 'from file, repeated' : 'from memory, repeated'}`,
        unit: 'ms',
        value: mine,
        reference: { name: how === 'path' ? 'torch.load(path) 1.13' : 'torch.load(BytesIO) 1.13', value: theirs },
        ratio: theirs / mine,
        goal: 1,
      });
    }
  }
  return results;
}
