// Shenzhen splits against shenzhen_mutiple_split.py `perform_split` run by CPython after
// random.seed(seed) (scripts/fixtures/python_splits.py), plus the balance and size rules checked here.
import { describe, expect, it } from 'vitest';
import {
  hasSplitSize,
  isBalanced,
  SHENZHEN_ORIGINAL_FRACTIONS,
  SHENZHEN_PAPER_FRACTIONS,
  SHENZHEN_TEST_RATIO,
  SHENZHEN_VAL_RATIO,
  shenzhenSplits,
  type ShenzhenSplits,
} from './shenzhen.ts';
import type { SplitRow } from './types.ts';
import { splitsFixture } from './fixtures.testutil.ts';

interface Run {
  dataset: string;
  fractions: 'paper' | 'original';
  seed: number;
  result:
    | { hang: string }
    | {
        val_test_attempts: number;
        validation: number[];
        test: number[];
        train: number[];
        draws: { name: string; ratio: number; draw: number; attempts: number; rows: number[] }[];
      };
}
interface ShenzhenRef {
  datasets: Record<string, { id: string; Tuberculosis: number }[]>;
  runs: Run[];
}

const ref = splitsFixture<ShenzhenRef>('shenzhen.json');
// ImageMeta-shaped rows as the Shenzhen importer makes them (labels No Finding / Tuberculosis).
const datasets: Record<string, SplitRow[]> = Object.fromEntries(
  Object.entries(ref.datasets).map(([k, v]) => [
    k,
    v.map((r) => ({
      key: `CHNCXR_${r.id}_${r.Tuberculosis}.png`,
      patient: r.id,
      study: r.id,
      labels: { 'No Finding': r.Tuberculosis ? 0 : 1, Tuberculosis: r.Tuberculosis as 0 | 1 },
    })),
  ]),
);
const FRACTIONS = { paper: SHENZHEN_PAPER_FRACTIONS, original: SHENZHEN_ORIGINAL_FRACTIONS };

/** The rules that hold for any result, checked without the reference. */
function expectRules(rows: SplitRow[], s: ShenzhenSplits): void {
  const all = [...s.validation, ...s.test, ...s.train].sort((a, b) => a - b);
  expect(all).toEqual(rows.map((_, i) => i)); // a partition
  expect(hasSplitSize(rows.length, s.validation.length, SHENZHEN_VAL_RATIO)).toBe(true);
  expect(hasSplitSize(rows.length, s.test.length, SHENZHEN_TEST_RATIO)).toBe(true);
  expect(isBalanced(rows, s.validation)).toBe(true);
  expect(isBalanced(rows, s.test)).toBe(true);
  const train = new Set(s.train);
  for (const d of s.draws) {
    expect(isBalanced(rows, d.rows), d.name).toBe(true);
    for (const i of d.rows) expect(train.has(i), `${d.name} row ${i} is not a train row`).toBe(true);
  }
}

describe('Shenzhen = perform_split after random.seed', () => {
  const done = ref.runs.filter((r) => !('hang' in r.result));
  const hangs = ref.runs.filter((r) => 'hang' in r.result);

  it('the reference has finished runs on the 662-image set and original-hanging runs on a small set', () => {
    expect(done.filter((r) => r.dataset === 'shenzhen662').length).toBeGreaterThanOrEqual(12);
    expect(hangs.length).toBeGreaterThan(0);
    expect(datasets.shenzhen662!.length).toBe(662);
  });

  it('row for row, including the number of redraws, wherever the original finishes', () => {
    for (const run of done) {
      const res = run.result as Exclude<Run['result'], { hang: string }>;
      const what = `${run.dataset} ${run.fractions} seed ${run.seed}`;
      const rows = datasets[run.dataset]!;
      const s = shenzhenSplits(rows, { seed: run.seed, fractions: FRACTIONS[run.fractions] });
      expect(s.attempts.valTest, `${what} passes`).toBe(res.val_test_attempts);
      expect(s.validation, what).toEqual(res.validation);
      expect(s.test, what).toEqual(res.test);
      expect(s.train, what).toEqual(res.train);
      expect(s.draws.map((d) => d.name), what).toEqual(res.draws.map((d) => d.name));
      expect(s.draws.map((d) => d.rows), what).toEqual(res.draws.map((d) => d.rows));
      expect(s.attempts.draws, what).toEqual(res.draws.map((d) => d.attempts));
      expectRules(rows, s);
    }
  });

  it('where the original would loop forever (unbalanced 100 % train), it finishes with every rule holding', () => {
    for (const run of hangs) {
      const rows = datasets[run.dataset]!;
      const s = shenzhenSplits(rows, { seed: run.seed, fractions: FRACTIONS[run.fractions] });
      expectRules(rows, s);
      expect(isBalanced(rows, s.train)).toBe(true);
      expect(s.draws.at(-1)!.rows).toEqual(s.train);
    }
  });

  it('fraction sizes: 100 % is the whole train split, 25 % and 6.25 % near their share', () => {
    const rows = datasets.shenzhen662!;
    for (let seed = 0; seed < 5; seed++) {
      const s = shenzhenSplits(rows, { seed });
      const n = s.train.length;
      expect(s.draws.map((d) => d.name)).toEqual([
        ...Array.from({ length: 8 }, (_, i) => `chexpert_like_0.0625_${i}`),
        ...Array.from({ length: 4 }, (_, i) => `chexpert_like_0.25_${i}`),
        'chexpert_like_1_0',
      ]);
      for (const d of s.draws) {
        const sd = Math.sqrt(n * d.ratio * (1 - d.ratio));
        expect(Math.abs(d.rows.length - n * d.ratio), `${d.name} of ${n}`).toBeLessThanOrEqual(4 * sd + 1e-9);
      }
      expect(n).toBeGreaterThan(0.6 * rows.length);
      expect(n).toBeLessThan(0.7 * rows.length);
    }
  });
});

describe('rules and limits', () => {
  const row = (tb: 0 | 1 | -1 | null, i: number): SplitRow => ({ key: `k${i}`, patient: `${i}`, study: `${i}`, labels: { Tuberculosis: tb } });

  it('balance: 0.9 < #negative / #TB < 1.2 strictly, both classes needed, other labels not counted', () => {
    // Rows 0..11 negative, 12..23 TB, 24 blank, 25 uncertain.
    const rows = [...Array.from({ length: 24 }, (_, i) => row(i < 12 ? 0 : 1, i)), row(null, 24), row(-1, 25)];
    const pick = (neg: number, tb: number) => [...Array.from({ length: neg }, (_, i) => i), ...Array.from({ length: tb }, (_, i) => 12 + i)];
    expect(isBalanced(rows, pick(9, 10))).toBe(false); // 0.9: the bound itself is out
    expect(isBalanced(rows, pick(10, 11))).toBe(true); // 0.909
    expect(isBalanced(rows, pick(9, 9))).toBe(true);
    expect(isBalanced(rows, [...pick(9, 9), 24, 25])).toBe(true); // blank and -1 count for neither class
    expect(isBalanced(rows, [...pick(9, 10), 24, 25])).toBe(false);
    expect(isBalanced(rows, pick(11, 10))).toBe(true); // 1.1
    expect(isBalanced(rows, pick(6, 5))).toBe(false); // 1.2: the bound itself is out
    expect(isBalanced(rows, pick(0, 3))).toBe(false);
    expect(isBalanced(rows, pick(3, 0))).toBe(false);
  });

  it('size band of the original: TOTAL * ratio within (0.95, 1.05) times the split size', () => {
    expect(hasSplitSize(662, 99, 0.15)).toBe(true); // 99.3
    expect(hasSplitSize(662, 94, 0.15)).toBe(false);
    expect(hasSplitSize(662, 105, 0.15)).toBe(false);
  });

  it('gives up with an error instead of looping forever', () => {
    const oneClass = Array.from({ length: 40 }, (_, i) => row(1, i));
    expect(() => shenzhenSplits(oneClass, { maxAttempts: 50 })).toThrow(/no balanced validation\/test split/);
  });
});
