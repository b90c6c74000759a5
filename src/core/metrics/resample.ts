// Bootstrap resamples. MoCo-CXR's confidence_interval.py draws each replicate with
// `np.random.choice(len(gt), size=len(gt), replace=True)` from numpy's global, unseeded RandomState.
// `numpyResampler(seed)` reproduces that stream exactly after `np.random.seed(seed)`: numpy's legacy
// RandomState seeds MT19937 with init_genrand, `choice(n, n)` is `randint(0, n, n)`, and legacy randint
// draws each index as `genrand_uint32() & mask` (mask = smallest 2**k - 1 >= n - 1), redrawn while it
// exceeds n - 1; for n == 1 it returns 0 without drawing (numpy's random_bounded_uint64_fill).
// So an interval computed here with seed s equals the original script run after np.random.seed(s).
import { MT19937 } from '../splits/mt19937.ts';

/** One resample of 0..n-1 with replacement (n indices). */
export type Resampler = (n: number) => Uint32Array;

/** `np.random.seed(seed)`, then each call is `np.random.choice(n, size=n, replace=True)`. */
export function numpyResampler(seed: number): Resampler {
  const mt = new MT19937();
  mt.seedNumpyLegacy(seed);
  return (n) => {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new RangeError(`cannot resample ${n} items`);
    const out = new Uint32Array(n);
    const rng = n - 1;
    if (rng === 0) return out;
    let mask = rng;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    for (let i = 0; i < n; i++) {
      let v: number;
      do v = (mt.nextUint32() & mask) >>> 0;
      while (v > rng);
      out[i] = v;
    }
    return out;
  };
}

/** Plays back given resamples in order (e.g. indices written by Python), then refuses. */
export function replayResampler(resamples: readonly ArrayLike<number>[]): Resampler {
  let next = 0;
  return (n) => {
    const r = resamples[next++];
    if (r === undefined) throw new RangeError(`only ${resamples.length} resamples were given`);
    if (r.length !== n) throw new RangeError(`resample ${next - 1} has ${r.length} indices, wanted ${n}`);
    const out = Uint32Array.from(r);
    for (const i of out) if (i >= n) throw new RangeError(`resample ${next - 1} holds index ${i} >= ${n}`);
    return out;
  };
}
