// The fused Adam update on cpu and wasm in Node against torch.optim.Adam (several steps, with and
// without weight decay), the webgl path (tf ops) run on cpu, and tensor bookkeeping. webgpu runs in
// headless Chromium (e2e/kernels-webgpu.spec.ts).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { adamUpdate, appKernelStatus } from './index.ts';
import { adamLoop, adamOps, adamScalars } from './adam.ts';
import { loadKernelFixtures, type AdamCase, type KernelFixtures } from './fixtures.testutil.ts';
import { NODE_BACKENDS, useBackend } from './backends.testutil.ts';
import { relErr, worstRel } from './check.ts';

// Elementwise, relative to each value (check.ts, worstRel). The cpu and wasm loops reproduce Debian's torch (an
// AVX2 build, whose add_/addcmul_ fuse their multiply-adds) bit for bit, 0 here; a torch build without FMA
// rounds those twice and differs by an ulp, which after six steps stays below this.
const TOL = 1e-6;

type Step = (p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: Parameters<typeof adamUpdate>[4]) => ReturnType<typeof adamUpdate>;

/** Runs every step of a torch case through `step`; returns the worst error of each output over all steps. */
function runCase(fx: KernelFixtures, c: AdamCase, step: Step, err = worstRel): { param: number; expAvg: number; expAvgSq: number } {
  const get = (name: string) => fx.get('adam', c.name, name);
  const p0 = get('param0');
  let p = tf.tensor(p0.data, p0.shape);
  let m = tf.zerosLike(p);
  let v = tf.zerosLike(p);
  const worst = { param: 0, expAvg: 0, expAvgSq: 0 };
  for (let s = 1; s <= c.steps; s++) {
    const g = tf.tensor(get(`grad${s}`).data, p0.shape);
    const out = step(p, g, m, v, { lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, step: s });
    tf.dispose([p, m, v, g]);
    ({ param: p, expAvg: m, expAvgSq: v } = out);
    worst.param = Math.max(worst.param, err(p.dataSync(), get(`param${s}`).data));
    worst.expAvg = Math.max(worst.expAvg, err(m.dataSync(), get(`exp_avg${s}`).data));
    worst.expAvgSq = Math.max(worst.expAvgSq, err(v.dataSync(), get(`exp_avg_sq${s}`).data));
  }
  tf.dispose([p, m, v]);
  return worst;
}

let fx: KernelFixtures;
beforeAll(() => {
  fx = loadKernelFixtures();
});

describe.each(NODE_BACKENDS)('adamUpdate on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('matches torch.optim.Adam step by step: plain, with weight decay, other betas and eps', () => {
    expect(fx.adam.map((c) => c.weightDecay > 0)).toContain(true);
    expect(fx.adam.map((c) => c.weightDecay)).toContain(0);
    const n0 = tf.memory().numTensors;
    for (const c of fx.adam) {
      const worst = runCase(fx, c, adamUpdate);
      expect(worst.param, c.name).toBeLessThan(TOL);
      expect(worst.expAvg, c.name).toBeLessThan(TOL);
      expect(worst.expAvgSq, c.name).toBeLessThan(TOL);
    }
    expect(tf.memory().numTensors).toBe(n0);
    expect(appKernelStatus(backend).MocoCxrAdamUpdate).toBe(true); // the op registered it on first use
  });

  it('returns three new tensors and leaves its inputs as they were', () => {
    const p = tf.tensor1d([1, -2, 3]);
    const g = tf.tensor1d([0.5, 0.25, -1]);
    const m = tf.tensor1d([0.1, 0, 0]);
    const v = tf.tensor1d([0.01, 0, 0]);
    const mem0 = tf.memory();
    const out = adamUpdate(p, g, m, v, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5, step: 3 });
    expect(tf.memory().numTensors).toBe(mem0.numTensors + 3);
    expect(tf.memory().numBytes).toBe(mem0.numBytes + 3 * 3 * 4);
    for (const t of [out.param, out.expAvg, out.expAvgSq]) for (const i of [p, g, m, v]) expect(t.dataId).not.toBe(i.dataId);
    expect(Array.from(p.dataSync())).toEqual([1, -2, 3]);
    expect(Array.from(m.dataSync())).toEqual([Math.fround(0.1), 0, 0]);
    // m = 0.9*m + 0.1*(g + 0.5*p): plain arithmetic, float32 rounding apart
    expect(Array.from(out.expAvg.dataSync()).map((x) => +x.toFixed(6))).toEqual([0.19, -0.075, 0.05]);
    tf.dispose([p, g, m, v]);
    expect(out.param.dataSync().length).toBe(3); // still valid with the inputs gone
    tf.dispose([out.param, out.expAvg, out.expAvgSq]);
    expect(tf.memory().numTensors).toBe(mem0.numTensors - 4);
  });

  it('refuses mismatched shapes, non-float32 tensors and a step below 1, naming the problem', () => {
    const n0 = tf.memory().numTensors;
    const h = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 };
    const call = (grad: () => tf.Tensor, step = 1) => () =>
      tf.tidy(() => {
        const p = tf.zeros([2, 2]);
        adamUpdate(p, grad(), p, p, { ...h, step });
      });
    expect(call(() => tf.zeros([4]))).toThrow(/grad has shape \[4\], param \[2,2\]/);
    expect(call(() => tf.zeros([2, 2], 'int32'))).toThrow(/grad is int32, expected float32/);
    expect(call(() => tf.zeros([2, 2]), 0)).toThrow(/step must be an integer >= 1/);
    expect(tf.memory().numTensors).toBe(n0);
  });
});

// Separate tf ops round every product, where torch fuses three multiply-adds: a value whose two terms nearly
// cancel (the first moment, when the gradient changes sign) then differs from torch's by a few ulps of the
// terms, so this path is held to 1e-6 of each tensor's largest value rather than of each value.
describe('the webgl path (tf ops), run on cpu', () => {
  it('matches torch.optim.Adam on every case', async () => {
    await useBackend('cpu');
    const n0 = tf.memory().numTensors;
    const viaOps: Step = (param, grad, expAvg, expAvgSq, h) => {
      const [p, m, v] = adamOps(tf.backend(), { param, grad, expAvg, expAvgSq }, adamScalars(h)).map((i) => tf.engine().makeTensorFromTensorInfo(i));
      return { param: p!, expAvg: m!, expAvgSq: v! };
    };
    for (const c of fx.adam) {
      const worst = runCase(fx, c, viaOps, relErr);
      expect(Math.max(worst.param, worst.expAvg, worst.expAvgSq), c.name).toBeLessThan(TOL);
    }
    expect(tf.memory().numTensors).toBe(n0);
  });
});

describe('adamScalars', () => {
  it('computes the bias corrections in float64 and rounds each constant to float32 once', () => {
    const s = adamScalars({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 10 });
    expect(s.stepSize).toBe(Math.fround(1e-3 / (1 - 0.9 ** 10)));
    expect(s.bc2Sqrt).toBe(Math.fround(Math.sqrt(1 - 0.999 ** 10)));
    expect(s.oneMinusBeta2).toBe(Math.fround(1 - 0.999));
  });
});

describe('adamLoop without fused multiply-adds', () => {
  it('is what separate float32 tf ops compute, bit for bit (the reference for GPUs that do not fuse)', async () => {
    await useBackend('cpu');
    const c = fx.adam.find((a) => a.weightDecay > 0)!;
    const get = (name: string) => fx.get('adam', c.name, name).data;
    const n = get('param0').length;
    let loop = { param: Float32Array.from(get('param0')), expAvg: new Float32Array(n), expAvgSq: new Float32Array(n) };
    const viaOps = runCase(fx, c, (param, grad, expAvg, expAvgSq, h) => {
      const next = { param: new Float32Array(n), expAvg: new Float32Array(n), expAvgSq: new Float32Array(n) };
      adamLoop(loop.param, grad.dataSync() as Float32Array, loop.expAvg, loop.expAvgSq, adamScalars(h), next, false);
      loop = next;
      const [p, m, v] = adamOps(tf.backend(), { param, grad, expAvg, expAvgSq }, adamScalars(h)).map((i) => tf.engine().makeTensorFromTensorInfo(i));
      expect(worstRel(p!.dataSync(), next.param)).toBe(0);
      expect(worstRel(m!.dataSync(), next.expAvg)).toBe(0);
      expect(worstRel(v!.dataSync(), next.expAvgSq)).toBe(0);
      return { param: p!, expAvg: m!, expAvgSq: v! };
    }, relErr);
    expect(Math.max(viaOps.param, viaOps.expAvg, viaOps.expAvgSq)).toBeLessThan(TOL);
  });
});
