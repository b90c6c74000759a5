// The matmul probe on the cpu backend in Node: the rate is 2 n^3 products over the time, the best trial is
// reported, reps lengthen to minMillis, an abort stops it, nothing stays allocated.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { measurePeakFlops, probeSizes } from './peak.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('measurePeakFlops', () => {
  it('reports the best of its timed reps, with sizes and times', async () => {
    const before = tf.memory().numTensors;
    const p = await measurePeakFlops({ sizes: [32, 64], reps: 2, minMillis: 20 });
    expect(tf.memory().numTensors).toBe(before);
    expect(p.backend).toBe('cpu');
    expect(p.trials.map((t) => t.n)).toEqual([32, 32, 64, 64]);
    for (const t of p.trials) {
      expect(t.ms).toBeGreaterThan(0);
      expect(t.flopsPerSecond).toBeCloseTo((2 * t.n ** 3 * t.matmuls) / (t.ms / 1000), 0);
    }
    expect(p.flopsPerSecond).toBe(Math.max(...p.trials.map((t) => t.flopsPerSecond)));
    expect(p.best.flopsPerSecond).toBe(p.flopsPerSecond);
    // a 32 x 32 product takes microseconds: reps were lengthened towards 20 ms
    expect(p.trials[0]!.matmuls).toBeGreaterThan(1);
  });

  it('tries no larger size once one product is slow', async () => {
    const p = await measurePeakFlops({ sizes: [32, 64], reps: 1, minMillis: 1, slowProductMillis: 0 });
    expect(p.trials.map((t) => t.n)).toEqual([32]);
  });

  it('stops when aborted', async () => {
    const before = tf.memory().numTensors;
    const c = new AbortController();
    c.abort(new Error('stop'));
    await expect(measurePeakFlops({ sizes: [32], signal: c.signal })).rejects.toThrow('stop');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('sizes per backend', () => {
    expect(probeSizes('webgpu')).toEqual([256, 512, 1024, 2048]);
    expect(Math.max(...probeSizes('wasm'))).toBe(512);
  });
});
