// train.py's evaluation cadence and ModelSaver's top-k keeping against the Python of torch_finetune.py (the
// original's counters over a real DataLoader; a PriorityQueue of (metric, Path)); the crop helpers.
import { beforeAll, describe, expect, test } from 'vitest';
import { checkpointName, evaluationSchedule, savesAnyCheckpoint, TopK, type Ranked } from './cadence.ts';
import { loadFinetuneFixture, type FinetuneFixture } from './fixture.testutil.ts';
import { bceWithLogits, maskedBceLoss, maskedCellCount } from './loss.ts';
import { centerCropOffset, pyRound, randomCropSampler } from './preprocess.ts';
import * as tf from '@tensorflow/tfjs';

let fx: FinetuneFixture;
beforeAll(() => {
  fx = loadFinetuneFixture();
});

describe('evaluation cadence (train.py)', () => {
  test('every evaluation and save point equals the original loop counted over a DataLoader', () => {
    expect(fx.cadence.length).toBeGreaterThan(5);
    for (const c of fx.cadence) {
      expect(evaluationSchedule(c.examples, c.batch, c.epochs, c.examplesPerEval), JSON.stringify(c)).toEqual(c.points);
    }
    // the cases cover an epoch-end evaluation before a partial batch, none when the batch divides the
    // dataset, a save at global step 0 when the dataset is smaller than a batch, and no final evaluation
    const points = (N: number, B: number, ep: number, E: number) => fx.cadence.find((c) => c.examples === N && c.batch === B && c.epochs === ep && c.examplesPerEval === E)!.points;
    expect(points(10, 4, 3, 8).filter((p) => !p.save).length).toBeGreaterThan(0);
    expect(points(16, 16, 3, 32)).toEqual([{ epoch: 2, step: 0, globalStep: 32, save: true }]);
    expect(points(7, 8, 2, 16)[0]).toEqual({ epoch: 0, step: 0, globalStep: 0, save: true });
  });

  test('savesAnyCheckpoint agrees with the schedule', () => {
    for (let N = 1; N <= 20; N++) {
      for (const B of [1, 2, 4, 8]) {
        for (const ep of [1, 2, 3]) {
          for (const k of [1, 2, 3, 5]) {
            const E = k * B;
            expect(savesAnyCheckpoint(N, B, ep, E), `${N} ${B} ${ep} ${E}`).toBe(evaluationSchedule(N, B, ep, E).some((p) => p.save));
          }
        }
      }
    }
  });
});

describe('top-k keeping (ModelSaver keep_topk)', () => {
  test('held, dropped and best equal the PriorityQueue of (metric, Path)', () => {
    for (const c of fx.topk) {
      const keeper = new TopK(c.k);
      const dropped: string[] = [];
      for (const [g, m] of c.seq) {
        const r = keeper.offer({ id: checkpointName(g), globalStep: g, metric: m });
        if (!r.keep) dropped.push(checkpointName(g));
        if (r.drop) dropped.push(r.drop.id);
      }
      expect(dropped, JSON.stringify(c.seq)).toEqual(c.dropped);
      // list() is best first: the queue's reverse
      expect(keeper.list().map((r) => r.id)).toEqual([...c.held].reverse());
      expect(keeper.best?.id).toBe(c.best);
    }
  });

  test('NaN metrics (a picking task with one class) order below every number and are never best', () => {
    const k = new TopK<Ranked>(2);
    const r = (g: number, metric: number) => ({ id: checkpointName(g), globalStep: g, metric });
    expect(k.offer(r(4, NaN))).toEqual({ keep: true, drop: null });
    expect(k.best).toBeNull();
    k.offer(r(8, 0.6));
    expect(k.offer(r(12, 0.5)).drop?.id).toBe('iter_4.pth.tar');
    expect(k.offer(r(16, NaN))).toEqual({ keep: false, drop: null });
    expect(k.best?.id).toBe('iter_8.pth.tar');
    expect(k.list().map((x) => x.globalStep)).toEqual([8, 12]);
  });

  test('a keeper restored from its list carries on as the original', () => {
    const seq = fx.topk[0]!;
    const whole = new TopK(seq.k);
    const half = new TopK(seq.k);
    seq.seq.forEach(([g, m], i) => {
      whole.offer({ id: checkpointName(g), globalStep: g, metric: m });
      if (i < 4) half.offer({ id: checkpointName(g), globalStep: g, metric: m });
    });
    const resumed = new TopK(seq.k, half.list(), half.best);
    seq.seq.slice(4).forEach(([g, m]) => resumed.offer({ id: checkpointName(g), globalStep: g, metric: m }));
    expect(resumed.list()).toEqual(whole.list());
    expect(resumed.best).toEqual(whole.best);
  });
});

describe('crops and loss edges', () => {
  test("Python's round: halves to even", () => {
    expect([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 7, 7.4, 7.6].map(pyRound)).toEqual([0, 2, 2, 4, 4, 6, 7, 7, 8]);
    expect(centerCropOffset(45, 41, 32)).toEqual({ top: 4, left: 6 });
    expect(() => centerCropOffset(31, 40, 32)).toThrow(/larger than the 31 x 40 image/);
  });

  test('RandomCrop offsets: seeded, inclusive ranges, every offset reachable', () => {
    const a = randomCropSampler(7, 32);
    const b = randomCropSampler(7, 32);
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const o = a(35, 34);
      expect(b(35, 34)).toEqual(o);
      expect(o.top >= 0 && o.top <= 2 && o.left >= 0 && o.left <= 3).toBe(true);
      seen.add(`${o.top},${o.left}`);
    }
    expect(seen.size).toBe(12);
    expect(randomCropSampler(8, 32)(32, 32)).toEqual({ top: 0, left: 0 });
  });

  test('masked BCE: extreme logits stay finite; no cell is refused', async () => {
    const l = bceWithLogits(tf.tensor1d([-200, 200, 0]), tf.tensor1d([1, 0, 1]));
    expect(Array.from(await l.data()).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([200, 200, 0.6931]);
    l.dispose();
    expect(maskedCellCount(new Float32Array([0, 0, 1, 0]))).toBe(1);
    const z = tf.zeros([1, 2]) as tf.Tensor2D;
    expect(() => maskedBceLoss(z, z, z, 0)).toThrow(/at least one unmasked cell/);
    z.dispose();
  });
});
