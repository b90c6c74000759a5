// Reads the parity fixtures written by scripts/fixtures/torch_models.py (torchvision 0.14, Debian torch 1.13).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';
import type { Arch } from './model.ts';

export interface FixtureEntry {
  group: 'state' | 'input' | 'loss_vec' | 'eval' | 'train' | 'stats' | 'grads';
  name: string;
  shape: number[];
  offset: number;
}

export interface ModelFixture {
  arch: Arch;
  num_classes: number;
  batch: number;
  size: number;
  seed: number;
  margin: number;
  grad_check_prefixes: string[] | null;
  trainable: string[];
  keys: [string, number[]][];
  torch_f32_error: Record<string, number>;
  entries: FixtureEntry[];
  /** group -> name -> {shape, data} */
  get(group: FixtureEntry['group'], name: string): { shape: number[]; data: Float32Array };
  group(group: FixtureEntry['group']): Map<string, { shape: number[]; data: Float32Array }>;
}

export function loadModelFixture(arch: Arch): ModelFixture {
  const dir = ensureFixtures('torch_models');
  const index = JSON.parse(readFileSync(join(dir, `${arch}.json`), 'utf8')) as Omit<ModelFixture, 'get' | 'group'>;
  const buf = readFileSync(join(dir, `${arch}.bin`));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const slice = (e: FixtureEntry) => {
    const n = e.shape.reduce((a, b) => a * b, 1);
    return { shape: e.shape, data: all.subarray(e.offset, e.offset + n) };
  };
  const groups = new Map<string, Map<string, { shape: number[]; data: Float32Array }>>();
  for (const e of index.entries) {
    let g = groups.get(e.group);
    if (!g) groups.set(e.group, (g = new Map()));
    g.set(e.name, slice(e));
  }
  return {
    ...index,
    group: (group) => groups.get(group) ?? new Map(),
    get: (group, name) => {
      const v = groups.get(group)?.get(name);
      if (!v) throw new Error(`fixture ${arch}: no ${group}/${name}`);
      return v;
    },
  };
}

/** max |a - b| / scale, where scale defaults to max |b|. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>, scale?: number): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
    s = Math.max(s, Math.abs(b[i] as number));
  }
  const sc = scale ?? s;
  return sc > 0 ? d / sc : d;
}

export function maxAbs(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i] as number));
  return s;
}

/**
 * The scale a parameter's gradient error is measured against (same rule as the fixture script): the
 * largest |reference gradient| over its module's weight and bias together, since a BN bias followed by
 * another train-mode BN has an exactly-zero gradient whose own scale is rounding noise.
 */
export function gradScale(name: string, ref: Map<string, { data: Float32Array }>): number {
  const base = name.slice(0, name.lastIndexOf('.'));
  let s = 0;
  for (const k of [`${base}.weight`, `${base}.bias`]) {
    const g = ref.get(k);
    if (g) s = Math.max(s, maxAbs(g.data));
  }
  return s;
}
