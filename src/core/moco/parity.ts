// MoCo steps from given start weights and already-augmented batches, and their comparison with PyTorch's
// (scripts/fixtures/moco_steps.py). Plain arrays in and out, so the same code runs in the Node tests (cpu)
// and in the training worker (webgpu, wasm) for e2e/moco-webgpu.spec.ts.
import * as tf from '@tensorflow/tfjs';
import { exportStateDict, loadStateDict, nchwToNhwc, type Arch, type StateEntry } from '../models/index.ts';
import { MoCo } from './builder.ts';

export interface MocoFixtureConfig {
  arch: Arch;
  dim: number;
  K: number;
  m: number;
  T: number;
  lr: number;
  wd: number;
  batch: number;
  size: number;
  steps: number;
}

/** The index and data of one config of scripts/fixtures/moco_steps.py. */
export interface MocoFixture {
  config: MocoFixtureConfig;
  ptr0: number;
  steps: { loss: number; top1: number; top5: number; ptr: number }[];
  adam_step: number;
  q_keys: string[];
  trainable: string[];
  torch_f32_error: { loss: number; queue: number; buffers: number; update: { worst: number; 'frac_over_0.01': number; 'frac_over_0.1': number } };
  entries: { name: string; shape: number[]; offset: number }[];
  data: Float32Array;
}

export interface MocoRunResult {
  steps: { loss: number; top1: number; top5: number; ptr: number; queue: Float32Array }[];
  q: Map<string, StateEntry>;
  k: Map<string, StateEntry>;
  adam: Map<string, { step: number; expAvg: Float32Array; expAvgSq: Float32Array }>;
  numTensorsBefore?: number;
  numTensorsAfter?: number;
  backend?: string;
}

export function fixtureEntry(fx: Pick<MocoFixture, 'entries' | 'data'>, name: string): { shape: number[]; data: Float32Array } {
  const e = fx.entries.find((x) => x.name === name);
  if (!e) throw new Error(`MoCo fixture has no ${name}`);
  const n = e.shape.reduce((a, b) => a * b, 1);
  return { shape: e.shape, data: fx.data.subarray(e.offset, e.offset + n) };
}

/** Runs the fixture's steps on the active backend. Everything it creates is disposed. */
export async function runMocoSteps(
  fx: Omit<MocoFixture, 'steps' | 'torch_f32_error'>,
  afterStep?: (step: number, moco: MoCo) => Promise<void>,
): Promise<MocoRunResult> {
  const c = fx.config;
  const before = tf.memory().numTensors;
  const moco = new MoCo({ arch: c.arch, dim: c.dim, K: c.K, m: c.m, T: c.T }, { adam: { betas: [0.9, 0.999], eps: 1e-8, weightDecay: c.wd } });
  try {
    const group = (prefix: string) => new Map(fx.q_keys.map((k) => [k, fixtureEntry(fx, prefix + k)]));
    loadStateDict(moco.encoderQ, group('q0.'), { strict: true });
    loadStateDict(moco.encoderK, group('k0.'), { strict: true });
    moco.setQueue(fixtureEntry(fx, 'queue0').data, fx.ptr0);
    const steps: MocoRunResult['steps'] = [];
    for (let s = 0; s < c.steps; s++) {
      const view = (v: string) => {
        const e = fixtureEntry(fx, `batch.${s}.${v}`);
        return tf.tidy(() => nchwToNhwc(tf.tensor4d(e.data, e.shape as [number, number, number, number])));
      };
      const q = view('q');
      const k = view('k');
      const st = moco.step(q, k, c.lr);
      q.dispose();
      k.dispose();
      const [loss, top1, top5] = await Promise.all([st.loss.data(), st.top1.data(), st.top5.data()]);
      steps.push({ loss: loss[0]!, top1: top1[0]!, top5: top5[0]!, ptr: moco.queuePtr, queue: Float32Array.from(await moco.queue.data()) });
      tf.dispose([st.loss, st.top1, st.top5]);
      await afterStep?.(s, moco);
    }
    const adam: MocoRunResult['adam'] = new Map();
    for (const [name, s] of moco.optimizer.slots) {
      const a = moco.encoderQ.store.toTorchLayout(name, s.expAvg);
      const b = moco.encoderQ.store.toTorchLayout(name, s.expAvgSq);
      adam.set(name, { step: s.step, expAvg: Float32Array.from(await a.data()), expAvgSq: Float32Array.from(await b.data()) });
      tf.dispose([a, b]);
    }
    return { steps, q: await exportStateDict(moco.encoderQ), k: await exportStateDict(moco.encoderK), adam, backend: tf.getBackend() };
  } finally {
    moco.dispose();
    const after = tf.memory().numTensors;
    if (after !== before) throw new Error(`MoCo steps leaked ${after - before} tensors`);
  }
}

// ---- comparison ---------------------------------------------------------------------------------

/**
 * Tolerances. Losses, accuracies, the queue, the pointer, BN buffers and step counts are compared
 * directly. Parameters are compared through their updates (w - w0) in units of lr: Adam divides each
 * gradient by its own running magnitude, so an element whose gradient is near rounding noise gets an
 * update of about lr with either sign, and torch's own float32 run differs from float64 that way in about
 * 1e-5 of the elements (the fixture's torch_f32_error.update). A wrong rule (decoupled decay, a missing
 * bias correction, a different order) moves most elements by much more than 0.1 lr.
 */
export const MOCO_TOL = {
  loss: 1e-4,
  queue: 5e-4,
  /** BN running statistics, relative to the largest |value| of the tensor: this, or ten times the error
   *  of torch's own float32 run (torch_f32_error.buffers), whichever is larger; the statistics of later
   *  steps see the parameter-update noise described above */
  buffers: 1e-3,
  /** fractions of parameter elements whose update differs from PyTorch's by more than 0.01 lr / 0.1 lr */
  frac001: 5e-3,
  frac01: 2e-4,
  /** Adam's moments: fraction of elements off by more than 1e-3 of their tensor's largest |value| */
  moments: 2e-3,
};

export interface MocoParityReport {
  loss: number;
  queue: number;
  buffers: number;
  /** the buffer with the largest relative difference */
  worstBuffer: string;
  update: { worst: number; frac001: number; frac01: number };
  moments: number;
  failures: string[];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

function maxAbs(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i]!));
  return s;
}

export function compareMocoRun(fx: MocoFixture, got: MocoRunResult): MocoParityReport {
  const failures: string[] = [];
  const lr = fx.config.lr;
  const trainable = new Set(fx.trainable);
  const r: MocoParityReport = { loss: 0, queue: 0, buffers: 0, worstBuffer: '', update: { worst: 0, frac001: 0, frac01: 0 }, moments: 0, failures };

  fx.steps.forEach((want, s) => {
    const g = got.steps[s];
    if (!g) return failures.push(`step ${s} missing`);
    r.loss = Math.max(r.loss, Math.abs(g.loss - want.loss));
    if (g.top1 !== want.top1 || g.top5 !== want.top5) failures.push(`step ${s}: top1/top5 ${g.top1}/${g.top5}, PyTorch ${want.top1}/${want.top5}`);
    if (g.ptr !== want.ptr) failures.push(`step ${s}: queue_ptr ${g.ptr}, PyTorch ${want.ptr}`);
    r.queue = Math.max(r.queue, maxAbsDiff(g.queue, fixtureEntry(fx, `step.${s}.queue`).data));
  });

  let total = 0;
  let over001 = 0;
  let over01 = 0;
  for (const enc of ['q', 'k'] as const) {
    const state = got[enc];
    for (const key of fx.q_keys) {
      const e = state.get(key);
      if (!e) {
        failures.push(`encoder_${enc}: no ${key}`);
        continue;
      }
      const want = fixtureEntry(fx, `${enc}.${key}`).data;
      if (key.endsWith('num_batches_tracked')) {
        if (e.data[0] !== want[0]) failures.push(`encoder_${enc}.${key}: ${e.data[0]}, PyTorch ${want[0]}`);
      } else if (trainable.has(key)) {
        const w0 = fixtureEntry(fx, `${enc}0.${key}`).data;
        for (let i = 0; i < want.length; i++) {
          const d = Math.abs(e.data[i]! - w0[i]! - (want[i]! - w0[i]!)) / lr;
          total++;
          if (d > 0.01) over001++;
          if (d > 0.1) over01++;
          r.update.worst = Math.max(r.update.worst, d);
        }
      } else {
        const d = maxAbsDiff(e.data, want) / (maxAbs(want) || 1);
        if (d > r.buffers) {
          r.buffers = d;
          r.worstBuffer = `encoder_${enc}.${key}`;
        }
      }
    }
  }
  r.update.frac001 = over001 / total;
  r.update.frac01 = over01 / total;

  let mTotal = 0;
  let mOver = 0;
  for (const key of fx.trainable) {
    const a = got.adam.get(key);
    if (!a) {
      failures.push(`Adam: no state for ${key}`);
      continue;
    }
    if (a.step !== fx.adam_step) failures.push(`Adam ${key}: step ${a.step}, PyTorch ${fx.adam_step}`);
    for (const [mine, name] of [
      [a.expAvg, `exp_avg.${key}`],
      [a.expAvgSq, `exp_avg_sq.${key}`],
    ] as const) {
      const want = fixtureEntry(fx, name).data;
      const tol = 1e-3 * maxAbs(want);
      for (let i = 0; i < want.length; i++) {
        mTotal++;
        if (Math.abs(mine[i]! - want[i]!) > tol) mOver++;
      }
    }
  }
  r.moments = mOver / mTotal;

  if (r.loss > MOCO_TOL.loss) failures.push(`loss off by ${r.loss}`);
  if (r.queue > MOCO_TOL.queue) failures.push(`queue off by ${r.queue}`);
  if (r.buffers > Math.max(MOCO_TOL.buffers, 10 * fx.torch_f32_error.buffers)) failures.push(`BN buffers off by ${r.buffers} (relative, ${r.worstBuffer})`);
  if (r.update.frac001 > MOCO_TOL.frac001) failures.push(`${r.update.frac001} of parameter updates off by > 0.01 lr`);
  if (r.update.frac01 > MOCO_TOL.frac01) failures.push(`${r.update.frac01} of parameter updates off by > 0.1 lr`);
  if (r.moments > MOCO_TOL.moments) failures.push(`${r.moments} of Adam moments off by > 1e-3 of their scale`);
  return r;
}
