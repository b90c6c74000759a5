// The peak FLOP/s of the active tfjs backend, measured, not looked up: the denominator of MFU. A dense
// square matmul is the most efficient kernel every backend has, so its best rate is what this device can
// give the model's convs and matmuls through tfjs.
//
// Each timed rep queues `matmuls` products and then reads back one element of the last: the GPU runs its
// queue in order, so that read waits for all of them, while reading the whole n x n result would add a
// transfer as long as the products themselves on a real GPU. `matmuls` doubles until a rep lasts
// `minMillis`, so that queueing and the read-back round trip are a small part of what is timed.
//
// Sizes go up from small to the size that fills a big GPU, and stop growing once one product takes longer
// than `slowProductMillis`: a device that slow (SwiftShader's software WebGPU here needs seconds for a
// 1024 product) is saturated by a smaller product already, and a 2048 one would cost minutes.
import * as tf from '@tensorflow/tfjs';

export interface PeakTrial {
  /** square matmul size: [n, n] x [n, n] */
  n: number;
  /** products queued per timed rep */
  matmuls: number;
  ms: number;
  flopsPerSecond: number;
}

export interface PeakFlops {
  backend: string;
  /** the best rate seen */
  flopsPerSecond: number;
  best: PeakTrial;
  /** every timed rep, in order */
  trials: PeakTrial[];
}

export interface PeakOptions {
  signal?: AbortSignal;
  /** matmul sizes to try (default `probeSizes(backend)`) */
  sizes?: number[];
  /** timed reps per size after the warm-up and calibration (default 3) */
  reps?: number;
  /** a rep is lengthened (more products) until it lasts this long (default 150 ms) */
  minMillis?: number;
  /** at most this many products per rep (default 64) */
  maxMatmuls?: number;
  /** no larger size is tried once one product takes longer than this (default 500 ms) */
  slowProductMillis?: number;
}

/**
 * Sizes, ascending, up to one that fills the backend: GPUs reach their peak only on large products (2048
 * occupies every core of a big GPU); on wasm and cpu, 512 is past the cache-blocking sweet spot.
 */
export function probeSizes(backend: string): number[] {
  return backend === 'webgpu' || backend === 'webgl' ? [256, 512, 1024, 2048] : [256, 512];
}

/** Queues `count` n x n products and waits for the last; returns the milliseconds. */
async function timeMatmuls(a: tf.Tensor2D, b: tf.Tensor2D, count: number): Promise<number> {
  const t0 = performance.now();
  let last: tf.Tensor | null = null;
  for (let i = 0; i < count; i++) {
    last?.dispose();
    last = tf.matMul(a, b);
  }
  const probe = tf.slice(last as tf.Tensor, [0, 0], [1, 1]);
  await probe.data();
  const ms = performance.now() - t0;
  tf.dispose([probe, last as tf.Tensor]);
  return ms;
}

/** Measures the active backend's matmul FLOP/s; everything it allocates is freed. */
export async function measurePeakFlops(opts: PeakOptions = {}): Promise<PeakFlops> {
  const backend = tf.getBackend();
  const sizes = opts.sizes ?? probeSizes(backend);
  const reps = opts.reps ?? 3;
  const minMillis = opts.minMillis ?? 150;
  const maxMatmuls = opts.maxMatmuls ?? 64;
  const slowProductMillis = opts.slowProductMillis ?? 500;
  const trials: PeakTrial[] = [];
  for (const n of sizes) {
    opts.signal?.throwIfAborted();
    const a = tf.randomUniform([n, n], -1, 1, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomUniform([n, n], -1, 1, 'float32', 2) as tf.Tensor2D;
    try {
      await timeMatmuls(a, b, 1); // warm-up: shader compilation, buffer allocation
      let matmuls = 1;
      let ms = await timeMatmuls(a, b, matmuls);
      while (ms < minMillis && matmuls < maxMatmuls) {
        opts.signal?.throwIfAborted();
        matmuls = Math.min(maxMatmuls, matmuls * 2);
        ms = await timeMatmuls(a, b, matmuls);
      }
      for (let r = 0; r < reps; r++) {
        opts.signal?.throwIfAborted();
        const t = await timeMatmuls(a, b, matmuls);
        trials.push({ n, matmuls, ms: t, flopsPerSecond: (2 * n ** 3 * matmuls) / (t / 1000) });
      }
      // per product in this size's best rep: a first call's latency must not stop the growth
      const fastest = Math.min(...trials.filter((t) => t.n === n).map((t) => t.ms / t.matmuls));
      if (fastest > slowProductMillis) break;
    } finally {
      tf.dispose([a, b]);
    }
  }
  if (!trials.length) throw new Error('measurePeakFlops: no sizes to try');
  const best = trials.reduce((x, y) => (y.flopsPerSecond > x.flopsPerSecond ? y : x));
  return { backend, flopsPerSecond: best.flopsPerSecond, best, trials };
}
