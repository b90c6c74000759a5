// Training-worker methods for benchmarks (scripts/bench/moco.bench.ts): timed MoCo steps on the active
// backend, their FLOPs, the device's peak FLOP/s and the MFU they make, and where a step's time goes.
// Spread into the worker's API by train.worker.ts.
//
// The inputs are random NHWC tensors made once: the benchmark times the MoCo step (both encoders, the
// logits, the loss, backward, Adam), as PyTorch's side (scripts/bench/torch_moco_bench.py) does.
import * as tf from '@tensorflow/tfjs';
import type { CallContext, WorkerMethod } from '../../src/bridge/protocol.ts';
import { profileKernels, type KernelCall } from '../../src/core/backend/kernel-profile.ts';
import { measurePeakFlops, type PeakFlops } from '../../src/core/backend/peak.ts';
import { kernelFlops, kernelTable, mocoStepFlops, type KernelRow, type MocoStepFlops } from '../../src/core/moco/flops.ts';
import { MoCo, MOCO_CXR } from '../../src/core/moco/builder.ts';
import type { Arch } from '../../src/core/models/index.ts';

export interface MocoBenchInput {
  arch: Arch;
  batch: number;
  size: number;
  K: number;
  /** timed steps (fewer when maxSeconds runs out first; at least one) */
  steps: number;
  /** untimed steps first: kernel compilation, buffer pools, JIT (fewer when maxSeconds runs out; at least one) */
  warmup: number;
  /** stop further warm-up steps, and further timed steps, once those already run took this long */
  maxSeconds?: number;
  /** profile one more step per kernel (tf.profile) when the median timed step took at most this long */
  profileUnderSeconds?: number;
  /** matmul sizes for the peak probe (default: sized for the backend) */
  peakSizes?: number[];
}

export interface MocoBenchProgress {
  phase: 'warmup' | 'step' | 'profile' | 'peak';
  step: number;
  ms: number;
}

export interface MocoBenchProfile {
  /** wall time of the profiled step (profiling adds a sync per kernel on cpu and wasm) */
  wallMs: number;
  /** sum of the kernels' own times */
  kernelMs: number;
  /** conv and matmul FLOPs the kernels did (the backward's real work, not the 2x-forward convention) */
  kernelFlops: number;
  /** per kernel name, slowest first */
  kernels: KernelRow[];
  /** the slowest single calls */
  slowest: (KernelCall & { flops: number })[];
}

export interface MocoBenchOutput {
  backend: string;
  input: MocoBenchInput;
  warmupMs: number[];
  stepMs: number[];
  medianMs: number;
  imagesPerSecond: number;
  flops: MocoStepFlops;
  /** model FLOPs per step over the median step time */
  achievedFlopsPerSecond: number;
  peakFlops: PeakFlops;
  /** achieved over peak */
  mfu: number;
  losses: number[];
  profile: MocoBenchProfile | null;
  numTensorsBefore: number;
  numTensorsAfter: number;
  /** tf.memory().numBytes while the model and its optimizer state were alive */
  bytesInUse: number;
}

/** The peak probe per backend, measured once per worker: it takes seconds, and the device does not change. */
const peaks = new Map<string, PeakFlops>();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One step, synchronised by reading its loss back; returns the loss and the milliseconds. */
async function timedStep(moco: MoCo, q: tf.Tensor4D, k: tf.Tensor4D): Promise<{ loss: number; ms: number }> {
  const t0 = performance.now();
  const s = moco.step(q, k, 1e-4);
  const loss = (await s.loss.data())[0]!;
  const ms = performance.now() - t0;
  tf.dispose([s.loss, s.top1, s.top5]);
  return { loss, ms };
}

async function profileStep(moco: MoCo, q: tf.Tensor4D, k: tf.Tensor4D): Promise<MocoBenchProfile> {
  const { calls, wallMs } = await profileKernels(async () => {
    const s = moco.step(q, k, 1e-4);
    await s.loss.data();
    tf.dispose([s.loss, s.top1, s.top5]);
  });
  const priced = calls.map((c) => ({ ...c, flops: kernelFlops(c.name, c.inputShapes, c.outputShapes) ?? 0 }));
  return {
    wallMs,
    kernelMs: calls.reduce((a, c) => a + c.ms, 0),
    kernelFlops: priced.reduce((a, c) => a + c.flops, 0),
    kernels: kernelTable(calls),
    slowest: [...priced].sort((a, b) => b.ms - a.ms).slice(0, 12),
  };
}

/** The cached peak of `backend`, measured on first use. */
async function peakOf(backend: string, sizes: number[] | undefined, signal: AbortSignal, measured?: () => void): Promise<PeakFlops> {
  let p = peaks.get(backend);
  if (!p) {
    p = await measurePeakFlops({ signal, ...(sizes ? { sizes } : {}) });
    peaks.set(backend, p);
    measured?.();
  }
  return p;
}

export const benchDiagnostics = {
  /** The active backend's matmul peak FLOP/s (src/core/backend/peak.ts), measured once per worker and
   *  backend unless `remeasure`: the denominator of the MFU the training page shows. */
  async peakFlops(input: { sizes?: number[]; remeasure?: boolean } | null, ctx: CallContext<never>): Promise<PeakFlops> {
    const backend = tf.engine().backendName;
    if (!backend) throw new Error('backend not initialised: call initBackend first');
    if (input?.remeasure) peaks.delete(backend);
    return peakOf(backend, input?.sizes, ctx.signal);
  },

  /** Timed MoCo steps of `arch` on random inputs on the active backend; everything it makes is disposed. */
  async mocoBench(input: MocoBenchInput, ctx: CallContext<MocoBenchProgress>): Promise<MocoBenchOutput> {
    const backend = tf.engine().backendName;
    if (!backend) throw new Error('backend not initialised: call initBackend first');
    const { arch, batch, size, K } = input;
    const numTensorsBefore = tf.memory().numTensors;
    const moco = new MoCo({ ...MOCO_CXR, arch, K }, { seed: 1 });
    const q = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const k = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    let out: Omit<MocoBenchOutput, 'numTensorsAfter'>;
    try {
      const flops = await mocoStepFlops({ arch, batch, size, dim: MOCO_CXR.dim, K }, moco.encoderQ);
      const losses: number[] = [];
      const warmupMs: number[] = [];
      const budget = (input.maxSeconds ?? Infinity) * 1000;
      const spent = (ms: number[]) => ms.reduce((a, b) => a + b, 0);
      for (let i = 0; i < input.warmup && (i === 0 || spent(warmupMs) < budget); i++) {
        ctx.signal.throwIfAborted();
        const r = await timedStep(moco, q, k);
        warmupMs.push(r.ms);
        losses.push(r.loss);
        ctx.progress({ phase: 'warmup', step: i + 1, ms: r.ms });
      }
      const stepMs: number[] = [];
      while (stepMs.length < Math.max(1, input.steps) && (stepMs.length === 0 || spent(stepMs) < budget)) {
        ctx.signal.throwIfAborted();
        const r = await timedStep(moco, q, k);
        stepMs.push(r.ms);
        losses.push(r.loss);
        ctx.progress({ phase: 'step', step: stepMs.length, ms: r.ms });
      }
      const medianMs = median(stepMs);
      const profile = medianMs <= (input.profileUnderSeconds ?? -1) * 1000 ? await profileStep(moco, q, k) : null;
      if (profile) ctx.progress({ phase: 'profile', step: 1, ms: profile.wallMs });
      const bytesInUse = tf.memory().numBytes;
      const peakFlops = await peakOf(backend, input.peakSizes, ctx.signal, () => ctx.progress({ phase: 'peak', step: 1, ms: 0 }));
      const achievedFlopsPerSecond = flops.total / (medianMs / 1000);
      out = {
        backend,
        input,
        warmupMs,
        stepMs,
        medianMs,
        imagesPerSecond: batch / (medianMs / 1000),
        flops,
        achievedFlopsPerSecond,
        peakFlops,
        mfu: achievedFlopsPerSecond / peakFlops.flopsPerSecond,
        losses,
        profile,
        numTensorsBefore,
        bytesInUse,
      };
    } finally {
      tf.dispose([q, k]);
      moco.dispose();
    }
    return { ...out, numTensorsAfter: tf.memory().numTensors };
  },
} satisfies Record<string, WorkerMethod>;
