// Fuzzing: seeded random mutations of small torch-written fixtures. Each must either read or throw
// TorchFileError (never a raw RangeError/TypeError, never code 'internal'), and never hang.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';
import { readTorchFile, summarize, Tensor, tensorBytes, TorchFileError, writeTorchFile } from './index.ts';

const dir = ensureFixtures('torch_checkpoints');
const BASES = [
  'plain_state_dict.zip.pth.tar',
  'plain_state_dict.legacy.pth.tar',
  'everything.zip.pth.tar',
  'everything.legacy.pth.tar',
  'legacy_views.legacy.pth.tar',
  'moco_sgd.legacy.pth.tar',
  'deflated.zip.pth.tar',
  'numpy_scalar.zip.pth.tar',
].map((f) => new Uint8Array(readFileSync(join(dir, f))));
const ITERATIONS = 10_000;

/** mulberry32: small, seeded, good enough to spread mutations */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING_U32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function mutate(base: Uint8Array, r: () => number): Uint8Array {
  let b = base.slice();
  const at = () => Math.floor(r() * b.length);
  const steps = 1 + Math.floor(r() * 4);
  for (let s = 0; s < steps && b.length > 0; s++) {
    const kind = Math.floor(r() * 7);
    if (kind === 0) {
      const p = at();
      b[p] = b[p]! ^ (1 << Math.floor(r() * 8)); // bit flip
    }
    else if (kind === 1) b[at()] = Math.floor(r() * 256); // random byte
    else if (kind === 2) {
      // an interesting 32-bit value (lengths, counts, offsets)
      const p = Math.min(at(), b.length - 4);
      if (p >= 0) new DataView(b.buffer).setUint32(p, INTERESTING_U32[Math.floor(r() * INTERESTING_U32.length)]!, true);
    } else if (kind === 3) b = b.subarray(0, at()).slice(); // truncate
    else if (kind === 4) {
      // delete a short run
      const p = at();
      b = Uint8Array.from([...b.subarray(0, p), ...b.subarray(p + 1 + Math.floor(r() * 16))]);
    } else if (kind === 5) {
      // insert random bytes
      const p = at();
      const ins = Uint8Array.from({ length: 1 + Math.floor(r() * 8) }, () => Math.floor(r() * 256));
      b = Uint8Array.from([...b.subarray(0, p), ...ins, ...b.subarray(p)]);
    } else {
      // copy a chunk over another place (shuffles opcodes and headers)
      const from = at();
      const len = Math.floor(r() * 32);
      b.copyWithin(at(), from, from + len);
    }
  }
  return b;
}

describe('fuzzing the reader', () => {
  it(`${ITERATIONS} seeded mutations: each reads or throws TorchFileError, each in under a second`, () => {
    const r = rng(20240601);
    const outcomes = new Map<string, number>();
    let slowest = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(BASES[i % BASES.length]!, r);
      const t0 = performance.now();
      let outcome = 'read';
      try {
        const file = readTorchFile(input, { mode: i % 3 === 0 ? 'inspect' : 'strict' });
        summarize(file);
        const seen: Tensor[] = [];
        const walk = (v: unknown): void => {
          if (v instanceof Tensor) seen.push(v);
          else if (v instanceof Map) for (const x of v.values()) walk(x);
          else if (Array.isArray(v)) v.forEach(walk);
        };
        walk(file.root);
        for (const t of seen) if (t.numel < 1e6) tensorBytes(t);
        if (i % 3 !== 0) writeTorchFile(file.root);
      } catch (e) {
        if (!(e instanceof TorchFileError) || e.code === 'internal') {
          throw new Error(`mutation ${i} of base ${i % BASES.length} escaped as ${String(e)}\n${(e as Error).stack}`);
        }
        outcome = e.code;
      }
      slowest = Math.max(slowest, performance.now() - t0);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(slowest).toBeLessThan(1000);
    // the mutations reach both outcomes and many different checks
    expect(outcomes.get('read') ?? 0).toBeGreaterThan(100);
    expect(outcomes.size).toBeGreaterThan(8);
    console.log(`fuzz outcomes (slowest ${slowest.toFixed(1)} ms):`, Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])));
  });
});
