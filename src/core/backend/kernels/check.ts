// Runs the app's kernels next to tfjs's own on the active backend and measures the differences: what the
// training worker's `kernelCheck` diagnostic does in the browser (webgpu and webgl cannot run in Node).
// Plain arrays in and numbers out, so that calls cross the worker boundary and page.evaluate unchanged.
import * as tf from '@tensorflow/tfjs';
import { adamLoop, adamScalars, adamUpdate, type AdamHyper } from './adam.ts';
import { appKernelStatus, registerAppKernels } from './index.ts';
import { stockConv2dBackpropFilter } from './conv2d-backprop-filter.ts';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

export interface ConvCheckCase {
  name: string;
  /** NHWC */
  x: { shape: number[]; data: ArrayLike<number> };
  dy: { shape: number[]; data: ArrayLike<number> };
  filterShape: [number, number, number, number];
  strides: number;
  pad: Pad;
  /** An independent answer (torch), HWIO. */
  expected?: ArrayLike<number>;
}

export interface AdamCheckCase {
  name: string;
  shape: number[];
  param0: ArrayLike<number>;
  /** One gradient per step; step numbers start at 1. */
  grads: ArrayLike<number>[];
  hyper: Omit<AdamHyper, 'step'>;
  /** torch's param / exp_avg / exp_avg_sq after each step. */
  expected?: { param: ArrayLike<number>[]; expAvg: ArrayLike<number>[]; expAvgSq: ArrayLike<number>[] };
}

export interface KernelCheckInput {
  conv: ConvCheckCase[];
  adam: AdamCheckCase[];
}

type Worst = { param: number; expAvg: number; expAvgSq: number };

export interface KernelCheckOutput {
  backend: string;
  registered: ReturnType<typeof appKernelStatus>;
  conv: {
    name: string;
    /** max |ours - stock| / max |stock|; null where tfjs has no kernel (stockError says why) */
    oursVsStock: number | null;
    stockError: string | null;
    oursVsExpected: number | null;
    /** tf.grad of tf.conv2d, which must reach our kernel: its difference from the direct call */
    gradVsOurs: number;
    millis: { ours: number; stock: number | null };
  }[];
  adam: {
    name: string;
    /** worst over all steps of max |ours - torch| / max |torch| per tensor (relErr) */
    vsExpected: Worst | null;
    /** worst over all steps, elementwise (worstRel), against the float32 loop of the cpu and wasm kernels
     *  run here in JS: with torch's fused multiply-adds, and with every product rounded */
    vsLoop: { fused: Worst; unfused: Worst };
  }[];
  numTensorsBefore: number;
  numTensorsAfter: number;
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

/** Worst |a - b| / |b| per element, with 1e-3 of the tensor's largest |b| as the floor near zero. */
export function worstRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-3 * scale, 1e-30));
  return worst;
}

async function timed<T extends tf.Tensor>(f: () => T): Promise<{ data: Float32Array; millis: number }> {
  const t0 = performance.now();
  const t = f();
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return { data, millis: performance.now() - t0 };
}

async function checkConv(c: ConvCheckCase): Promise<KernelCheckOutput['conv'][number]> {
  const x = tf.tensor4d(Float32Array.from(c.x.data), c.x.shape as [number, number, number, number]);
  const dy = tf.tensor4d(Float32Array.from(c.dy.data), c.dy.shape as [number, number, number, number]);
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filterShape } as unknown as tf.NamedAttrMap;
  try {
    const ours = await timed(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor);
    let stock: { data: Float32Array; millis: number } | null = null;
    let stockError: string | null = null;
    try {
      stock = await timed(() => stockConv2dBackpropFilter(x, dy, c.filterShape, c.strides, c.pad));
    } catch (e) {
      stockError = e instanceof Error ? e.message : String(e);
    }
    const w = tf.zeros(c.filterShape);
    const viaGrad = await timed(() => tf.grad((wi: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, wi as tf.Tensor4D, c.strides, c.pad), dy)))(w));
    w.dispose();
    return {
      name: c.name,
      oursVsStock: stock ? relErr(ours.data, stock.data) : null,
      stockError,
      oursVsExpected: c.expected ? relErr(ours.data, c.expected) : null,
      gradVsOurs: relErr(viaGrad.data, ours.data),
      millis: { ours: ours.millis, stock: stock?.millis ?? null },
    };
  } finally {
    tf.dispose([x, dy]);
  }
}

async function checkAdam(c: AdamCheckCase): Promise<KernelCheckOutput['adam'][number]> {
  const n = c.param0.length;
  let p = tf.tensor(Float32Array.from(c.param0), c.shape);
  let m = tf.zeros(c.shape);
  let v = tf.zeros(c.shape);
  const fresh = () => ({ param: Float32Array.from(c.param0), expAvg: new Float32Array(n), expAvgSq: new Float32Array(n) });
  const loops = { fused: fresh(), unfused: fresh() };
  const zero = (): Worst => ({ param: 0, expAvg: 0, expAvgSq: 0 });
  const vsExpected: Worst | null = c.expected ? zero() : null;
  const vsLoop = { fused: zero(), unfused: zero() };
  for (let s = 1; s <= c.grads.length; s++) {
    const gData = Float32Array.from(c.grads[s - 1]!);
    const g = tf.tensor(gData, c.shape);
    const out = adamUpdate(p, g, m, v, { ...c.hyper, step: s });
    tf.dispose([p, m, v, g]);
    ({ param: p, expAvg: m, expAvgSq: v } = out);
    for (const kind of ['fused', 'unfused'] as const) {
      const l = loops[kind];
      const next = { param: new Float32Array(n), expAvg: new Float32Array(n), expAvgSq: new Float32Array(n) };
      adamLoop(l.param, gData, l.expAvg, l.expAvgSq, adamScalars({ ...c.hyper, step: s }), next, kind === 'fused');
      loops[kind] = next;
    }
    const got = { param: await p.data(), expAvg: await m.data(), expAvgSq: await v.data() };
    for (const k of ['param', 'expAvg', 'expAvgSq'] as const) {
      for (const kind of ['fused', 'unfused'] as const) vsLoop[kind][k] = Math.max(vsLoop[kind][k], worstRel(got[k], loops[kind][k]));
      if (vsExpected && c.expected) vsExpected[k] = Math.max(vsExpected[k], relErr(got[k], c.expected[k][s - 1]!));
    }
  }
  tf.dispose([p, m, v]);
  return { name: c.name, vsExpected, vsLoop };
}

/** Registers our kernels on the active backend, runs every case, and reports; disposes all it creates. */
export async function kernelCheck(input: KernelCheckInput): Promise<KernelCheckOutput> {
  const backend = tf.getBackend();
  registerAppKernels(backend);
  const numTensorsBefore = tf.memory().numTensors;
  const conv = [];
  for (const c of input.conv) conv.push(await checkConv(c));
  const adam = [];
  for (const c of input.adam) adam.push(await checkAdam(c));
  return { backend, registered: appKernelStatus(backend), conv, adam, numTensorsBefore, numTensorsAfter: tf.memory().numTensors };
}
