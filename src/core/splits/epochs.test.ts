// gen_sbatch.py's epochs and evaluation cadence by label fraction, and Python's repr() of ratios used in
// file names, against CPython (scripts/fixtures/python_splits.py) and the reference's table (§3.7).
import { describe, expect, it } from 'vitest';
import { epochsForFraction, examplesPerEvalForFraction } from './epochs.ts';
import { pythonFloatRepr } from './types.ts';
import { splitsFixture } from './fixtures.testutil.ts';

const ref = splitsFixture<{ ratio: number; repr: string; epochs: number; examples_per_eval: number }[]>('epochs.json');

describe('epochsForFraction', () => {
  it('the documented values', () => {
    const table: [number, number, number][] = [
      [1 / 512, 320, 256], [1 / 256, 201, 512], [1 / 128, 126, 1024], [1 / 64, 80, 2048], [1 / 32, 50, 4096],
      [1 / 16, 31, 8192], [1 / 8, 20, 8192], [1 / 4, 12, 8192], [1 / 2, 7, 8192], [1, 5, 8192],
      [0.001, 500, 131], [0.01, 107, 1310], [0.1, 23, 8192],
    ];
    for (const [ratio, epochs, examples] of table) {
      expect(epochsForFraction(ratio), `epochs(${ratio})`).toBe(epochs);
      expect(examplesPerEvalForFraction(ratio), `examples(${ratio})`).toBe(examples);
    }
  });

  it('equals CPython over many ratios (the truncation is sensitive to the last bit of the log)', () => {
    const valid = ref.filter((r) => r.ratio <= 1);
    expect(valid.length).toBeGreaterThan(150);
    for (const r of valid) {
      expect(epochsForFraction(r.ratio), `epochs(${r.ratio})`).toBe(r.epochs);
      expect(examplesPerEvalForFraction(r.ratio), `examples(${r.ratio})`).toBe(r.examples_per_eval);
    }
  });

  it('refuses fractions outside (0, 1]', () => {
    expect(() => epochsForFraction(0)).toThrow();
    expect(() => epochsForFraction(1.5)).toThrow();
    expect(() => examplesPerEvalForFraction(-0.1)).toThrow();
  });
});

describe('pythonFloatRepr', () => {
  it("equals CPython's repr() for every ratio in the fixture, exponents included", () => {
    for (const r of ref) expect(pythonFloatRepr(r.ratio)).toBe(r.repr);
    expect(ref.some((r) => r.repr.includes('e-'))).toBe(true);
    expect(ref.some((r) => r.repr.includes('e+'))).toBe(true);
  });
});
