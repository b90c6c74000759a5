// Bootstrap intervals: the same resample indices (drawn in numpy) through our code and through a numpy +
// sklearn rendering of confidence_interval.py / confidence_interval_diff.py; our numpy-compatible
// resampler against np.random.choice; and our own generator path (determinism, coverage).
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random.ts';
import { bootstrapAuroc, bootstrapAurocDiff, confidenceRow, percentileInterval, roundLikeNumpy } from './bootstrap.ts';
import { numpyResampler, replayResampler } from './resample.ts';
import { expectClose, sklearnFixture } from './fixtures.testutil.ts';

interface Ref {
  lower: number;
  mean: number;
  upper: number;
  rounded: [number, number, number];
  values: number[];
  skipped: number;
}
interface BootFixture {
  labels: number[][];
  A: number[][][];
  B: number[][][];
  resamples: number[][];
  seed: number;
  results: Record<'single' | 'multi' | 'diff', Ref[]>;
}

const TOL = 1e-12;

describe('against the original rule on numpy-drawn resamples', () => {
  const f = sklearnFixture<BootFixture>('bootstrap.json');
  const R = f.resamples.length;
  const runs = {
    single: () => bootstrapAuroc(f.labels, f.A.slice(0, 1), { replicates: R, resampler: replayResampler(f.resamples) }),
    multi: () => bootstrapAuroc(f.labels, f.A, { replicates: R, resampler: replayResampler(f.resamples) }),
    diff: () => bootstrapAurocDiff(f.labels, f.A, f.B, { replicates: R, resampler: replayResampler(f.resamples) }),
  };
  for (const kind of ['single', 'multi', 'diff'] as const) {
    it(`${kind}: every replicate value, the interval, and the CSV rounding`, () => {
      const res = runs[kind]();
      f.results[kind].forEach((ref, t) => {
        const got = res.tasks[t]!;
        expectClose(res.values[t]!, ref.values, TOL, `${kind} task ${t} replicate values`);
        expect(got.skipped, `${kind} task ${t} skipped`).toBe(ref.skipped);
        expect(got.replicates).toBe(R - ref.skipped);
        expectClose([got.lower, got.mean, got.upper], [ref.lower, ref.mean, ref.upper], TOL, `${kind} task ${t} interval`);
        const row = confidenceRow('x', got);
        expect([row.lower, row.mean, row.upper]).toEqual(ref.rounded);
      });
      // Task 2 has three positives, so some resamples had none: the skip rule was exercised.
      expect(f.results[kind][2]!.skipped).toBeGreaterThan(0);
    });
  }

  it('numpyResampler(seed) draws exactly the indices np.random.choice drew after np.random.seed(seed)', () => {
    const r = numpyResampler(f.seed);
    f.resamples.forEach((ref, i) => expect([...r(ref.length)], `resample ${i}`).toEqual(ref));
    // So the default generator path gives the same intervals with no indices passed in.
    const res = bootstrapAuroc(f.labels, f.A, { replicates: R, seed: f.seed });
    expectClose(res.values[0]!, f.results.multi[0]!.values, TOL, 'seeded multi values');
  });

  it('numpyResampler over sizes that hit numpy special cases (n = 1, powers of two, > 2**16)', () => {
    const seqs = sklearnFixture<{ seed: number; calls: { n: number; idx: number[] }[] }[]>('numpy_choice.json');
    for (const s of seqs) {
      const r = numpyResampler(s.seed);
      for (const c of s.calls) expect([...r(c.n)], `seed ${s.seed} n ${c.n}`).toEqual(c.idx);
    }
  });

  it('roundLikeNumpy equals np.round(x, 3), halves to even', () => {
    const cases = sklearnFixture<{ x: number; r: number }[]>('rounding.json');
    for (const c of cases) expect(roundLikeNumpy(c.x, 3), `round(${c.x})`).toBe(c.r);
  });
});

describe('index rule and our generator path', () => {
  it('percentileInterval picks sorted[int(0.025 n) - 1] and sorted[int(0.975 n) - 1]', () => {
    const v = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000); // a permutation of 0..999
    const iv = percentileInterval(v);
    expect(iv).toEqual({ lower: 24, mean: 499.5, upper: 974 });
    // n = 40: int(0.05/2 * 40) = 1 (0.05 is 0.05000000000000004 there) -> index 0; int(0.975 * 40) - 1 = 38.
    expect(percentileInterval(Array.from({ length: 40 }, (_, i) => i))).toMatchObject({ lower: 0, upper: 38 });
    // Below 40 values the original's index is -1 (Python's last element); clamped to the smallest here.
    expect(percentileInterval([3, 1, 2])).toMatchObject({ lower: 1, upper: 2 });
    expect(percentileInterval([])).toMatchObject({ lower: NaN, upper: NaN });
  });

  it('the same seed repeats, another seed differs, resamples are shared by tasks', () => {
    const rnd = mulberry32(5);
    const y = Array.from({ length: 120 }, () => (rnd() < 0.4 ? 1 : 0));
    const s = y.map((v) => v + rnd() * 1.5);
    const a = bootstrapAuroc([y, y], [[s, s]], { replicates: 200, seed: 9 });
    const b = bootstrapAuroc([y, y], [[s, s]], { replicates: 200, seed: 9 });
    const c = bootstrapAuroc([y, y], [[s, s]], { replicates: 200, seed: 10 });
    expect(a).toEqual(b);
    expect(c.values[0]).not.toEqual(a.values[0]);
    expect(a.values[1]).toEqual(a.values[0]); // identical tasks on one resample give identical values
    const d = bootstrapAurocDiff([y], [[s]], [[s]], { replicates: 50, seed: 1 });
    expect(d.tasks[0]).toMatchObject({ lower: 0, mean: 0, upper: 0 }); // a model against itself
  });

  it('95 % intervals cover the true AUROC in about 95 % of binormal experiments', () => {
    // Positives ~ N(1, 1), negatives ~ N(0, 1): true AUROC = Phi(1 / sqrt 2) = 0.76025.
    const truth = 0.7602499389065233;
    const rnd = mulberry32(2024);
    const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    const experiments = 200;
    let covered = 0;
    for (let e = 0; e < experiments; e++) {
      const y = Array.from({ length: 150 }, (_, i) => (i % 2 === 0 ? 1 : 0));
      const s = y.map((v) => v + normal());
      const iv = bootstrapAuroc([y], [[s]], { replicates: 400, seed: e }).tasks[0]!;
      if (iv.lower <= truth && truth <= iv.upper) covered++;
    }
    // Binomial(200, 0.95) lies in [0.88, 0.99] with overwhelming probability; a broken interval
    // (too narrow, off-centre, wrong indices) falls well outside.
    expect(covered / experiments).toBeGreaterThanOrEqual(0.88);
    expect(covered / experiments).toBeLessThanOrEqual(0.99);
  });

  it('refuses malformed input', () => {
    expect(() => bootstrapAuroc([[1, 0]], [[[0.1]]])).toThrow(/studies/);
    expect(() => bootstrapAuroc([[1, 2]], [[[0.1, 0.2]]])).toThrow(/not 1, 0 or -1/);
    expect(() => bootstrapAuroc([[1, 0]], [])).toThrow(/no draws/);
    expect(() => bootstrapAuroc([[1, 0]], [[[0.1, NaN]]])).toThrow(/not finite/);
    expect(() => bootstrapAuroc([[1, 0]], [[[0.1, 0.2]]], { replicates: 0 })).toThrow(/positive integer/);
    expect(() => bootstrapAuroc([[1, 0]], [[[0.1, 0.2]]], { replicates: 2, resampler: replayResampler([[0, 1]]) })).toThrow(/only 1 resamples/);
  });
});
