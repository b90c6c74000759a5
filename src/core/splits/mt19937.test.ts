// CPython's random module, value for value, from CPython's own output (scripts/fixtures/python_splits.py).
import { describe, expect, it } from 'vitest';
import { MT19937 } from './mt19937.ts';
import { splitsFixture } from './fixtures.testutil.ts';

interface MtCase {
  seed: string;
  random: number[];
  getrandbits: { k: number; v: string[] }[];
  randrange: number[];
  randrange_step: number[];
  randint: number[];
  choice: number[];
  shuffle: number[];
  sample: { n: number; k: number; v: number[] }[];
  after: number;
}

const cases = splitsFixture<MtCase[]>('mt.json');
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('MT19937 = CPython random', () => {
  it('covers seed 0, 2**32 - 1, 2**32, > 2**64, 200 bits and a negative seed', () => {
    expect(cases.map((c) => c.seed)).toEqual(expect.arrayContaining(['0', '4294967295', '4294967296', '-42']));
    expect(cases.some((c) => BigInt(c.seed) > 2n ** 190n)).toBe(true);
  });

  for (const c of cases) {
    it(`seed ${c.seed.length > 24 ? `${c.seed.slice(0, 12)}... (${c.seed.length} digits)` : c.seed}`, () => {
      const seed = BigInt(c.seed);
      const r = new MT19937(seed);
      expect(Array.from({ length: c.random.length }, () => r.random())).toEqual(c.random);

      r.seed(seed);
      for (const g of c.getrandbits) {
        expect(Array.from({ length: g.v.length }, () => r.getrandbits(g.k).toString()), `getrandbits(${g.k})`).toEqual(g.v);
      }

      r.seed(seed);
      const bounds = [1, 2, 3, 7, 10, 1000, 2 ** 31 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 3, 2 ** 53 - 1];
      expect(bounds.flatMap((n) => range(5).map(() => r.randrange(n))), 'randrange').toEqual(c.randrange);
      expect([...range(10).map(() => r.randrange(5, 100, 7)), ...range(10).map(() => r.randrange(50, -3, -4))], 'randrange step').toEqual(c.randrange_step);
      expect(range(30).map(() => r.randint(-5, 5)), 'randint').toEqual(c.randint);
      const seq = range(37);
      expect(range(30).map(() => r.choice(seq)), 'choice').toEqual(c.choice);
      expect(r.shuffle(range(100)), 'shuffle').toEqual(c.shuffle);
      for (const s of c.sample) expect(r.sample(range(s.n), s.k), `sample(${s.n}, ${s.k})`).toEqual(s.v);
      expect(r.random(), 'state after everything').toBe(c.after);
    });
  }

  it('refuses what CPython refuses and non-integer seeds', () => {
    const r = new MT19937(0);
    expect(() => r.randrange(0)).toThrow(/empty range/);
    expect(() => r.randrange(5, 5)).toThrow(/empty range/);
    expect(() => r.randrange(0, 10, 0)).toThrow(/zero step/);
    expect(() => r.choice([])).toThrow(/empty/);
    expect(() => r.sample([1, 2], 3)).toThrow(/larger/);
    expect(() => new MT19937(0.5)).toThrow(/integer/);
    expect(() => r.getrandbits(-1)).toThrow(/non-negative/);
  });
});
