// mocoBench on the cpu backend in Node, at a tiny size: its arithmetic (images/s, FLOP/s, MFU), the step
// budget, the profile, and that it leaves no tensor behind.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { benchDiagnostics, type MocoBenchProgress } from './bench-diagnostics.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

function ctx(progress: MocoBenchProgress[] = [], signal = new AbortController().signal) {
  return { signal, progress: (p: MocoBenchProgress) => progress.push(p) };
}

const TINY = { arch: 'resnet18' as const, batch: 2, size: 16, K: 8, peakSizes: [64] };

describe('mocoBench', () => {
  it('times steps, prices them and profiles one', async () => {
    const before = tf.memory().numTensors;
    const progress: MocoBenchProgress[] = [];
    const r = await benchDiagnostics.mocoBench({ ...TINY, steps: 2, warmup: 1, profileUnderSeconds: Infinity }, ctx(progress));
    expect(r.backend).toBe('cpu');
    expect(r.numTensorsBefore).toBe(before);
    expect(r.numTensorsAfter).toBe(before);
    expect(r.warmupMs).toHaveLength(1);
    expect(r.stepMs).toHaveLength(2);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    expect(r.medianMs).toBeCloseTo((r.stepMs[0]! + r.stepMs[1]!) / 2, 6);
    expect(r.imagesPerSecond).toBeCloseTo(2 / (r.medianMs / 1000), 6);
    expect(r.flops.total).toBe(4 * 2 * r.flops.forwardPerImage.total + r.flops.logits);
    expect(r.achievedFlopsPerSecond).toBeCloseTo(r.flops.total / (r.medianMs / 1000), 0);
    expect(r.mfu).toBeCloseTo(r.achievedFlopsPerSecond / r.peakFlops.flopsPerSecond, 9);
    expect(r.peakFlops.trials.every((t) => t.n === 64)).toBe(true);
    expect(progress.map((p) => p.phase)).toEqual(['warmup', 'step', 'step', 'profile', 'peak']);
    const p = r.profile!;
    const names = p.kernels.map((k) => k.name);
    expect(names).toContain('Conv2D');
    expect(names).toContain('BatchMatMul');
    // what the kernels did is close to the 3x-forward convention plus the key forward: the model's
    // custom conv gradient computes the stem's input gradient too, which nobody needs
    expect(p.kernelFlops / r.flops.total).toBeGreaterThan(0.95);
    expect(p.kernelFlops / r.flops.total).toBeLessThan(1.15);
    expect(p.slowest.length).toBeGreaterThan(0);
  });

  it('stops warming up and timing when maxSeconds is spent, after one step of each; no profile of slow steps; the peak is measured once', async () => {
    const progress: MocoBenchProgress[] = [];
    const r = await benchDiagnostics.mocoBench({ ...TINY, steps: 5, warmup: 3, maxSeconds: 0, profileUnderSeconds: 0 }, ctx(progress));
    expect(r.warmupMs).toHaveLength(1);
    expect(r.stepMs).toHaveLength(1);
    expect(r.profile).toBeNull();
    expect(progress.map((p) => p.phase)).toEqual(['warmup', 'step']);
    const again = await benchDiagnostics.peakFlops(null, ctx() as never);
    expect(again).toBe(r.peakFlops);
    const fresh = await benchDiagnostics.peakFlops({ sizes: [32], remeasure: true }, ctx() as never);
    expect(fresh.trials.every((t) => t.n === 32)).toBe(true);
  });

  it('an aborted call throws and frees what it made', async () => {
    const before = tf.memory().numTensors;
    const c = new AbortController();
    c.abort(new Error('stop'));
    await expect(benchDiagnostics.mocoBench({ ...TINY, steps: 1, warmup: 1 }, ctx([], c.signal))).rejects.toThrow('stop');
    expect(tf.memory().numTensors).toBe(before);
  });
});
