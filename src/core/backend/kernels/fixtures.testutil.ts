// Reads the kernel fixtures written by scripts/fixtures/torch_kernels.py (Debian torch 1.13), for the Node
// tests and the end-to-end spec alike (no tfjs here, so Playwright's process does not load it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixtures } from '../../../../scripts/fixtures/ensure.ts';
import type { AdamCheckCase, ConvCheckCase, KernelCheckInput } from './check.ts';

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

/** The fixture cases as kernelCheck input: every conv case with torch's dw, every Adam case with all steps. */
export function checkInputFromFixtures(fx: KernelFixtures): KernelCheckInput {
  const conv: ConvCheckCase[] = fx.conv.map((c) => {
    const dw = fx.get('conv', c.name, 'dw');
    const [t, b, l, r] = c.pad;
    return {
      name: c.name,
      x: fx.get('conv', c.name, 'x'),
      dy: fx.get('conv', c.name, 'dy'),
      filterShape: dw.shape as [number, number, number, number],
      strides: c.stride,
      pad: [[0, 0], [t, b], [l, r], [0, 0]],
      expected: dw.data,
    };
  });
  const adam: AdamCheckCase[] = fx.adam.map((c) => {
    const get = (name: string) => fx.get('adam', c.name, name).data;
    const steps = Array.from({ length: c.steps }, (_, i) => i + 1);
    return {
      name: c.name,
      shape: fx.get('adam', c.name, 'param0').shape,
      param0: get('param0'),
      grads: steps.map((s) => get(`grad${s}`)),
      hyper: { lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay },
      expected: {
        param: steps.map((s) => get(`param${s}`)),
        expAvg: steps.map((s) => get(`exp_avg${s}`)),
        expAvgSq: steps.map((s) => get(`exp_avg_sq${s}`)),
      },
    };
  });
  return { conv, adam };
}
