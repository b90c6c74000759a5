// Reads the kernel fixtures written by scripts/fixtures/torch_kernels.py (Debian torch 1.13), and the
// comparison the kernel tests share.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { ensureFixtures } from '../../../../scripts/fixtures/ensure.ts';

export interface ConvCase {
  name: string;
  k: number;
  stride: number;
  /** top, bottom, left, right */
  pad: [number, number, number, number];
}

export interface AdamCase {
  name: string;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  steps: number;
}

export interface Arr {
  shape: number[];
  data: Float32Array;
}

export interface KernelFixtures {
  conv: ConvCase[];
  adam: AdamCase[];
  get(group: 'conv' | 'adam', kase: string, name: string): Arr;
}

export function loadKernelFixtures(): KernelFixtures {
  const dir = ensureFixtures('torch_kernels');
  const index = JSON.parse(readFileSync(join(dir, 'kernels.json'), 'utf8')) as {
    conv: ConvCase[];
    adam: AdamCase[];
    entries: { group: string; case: string; name: string; shape: number[]; offset: number }[];
  };
  const buf = readFileSync(join(dir, 'kernels.bin'));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const byKey = new Map(index.entries.map((e) => [`${e.group}/${e.case}/${e.name}`, e]));
  return {
    conv: index.conv,
    adam: index.adam,
    get(group, kase, name) {
      const e = byKey.get(`${group}/${kase}/${name}`);
      if (!e) throw new Error(`torch_kernels fixture has no ${group}/${kase}/${name}`);
      const n = e.shape.reduce((a, b) => a * b, 1);
      return { shape: e.shape, data: all.subarray(e.offset, e.offset + n) };
    },
  };
}

/** max |a - b| / max |b| (absolute when b is all zero). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return s > 0 ? d / s : d;
}

/** The Node backends the kernels are tested on; wasm loads its binary from node_modules. */
export const NODE_BACKENDS = ['cpu', 'wasm'] as const;

export async function useBackend(name: string): Promise<void> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} did not start`);
  await tf.ready();
}
