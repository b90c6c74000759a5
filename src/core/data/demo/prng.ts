// Seeded pseudo-random numbers for the synthetic demo dataset: sfc32 (Chris Doty-Humphrey's
// "small fast counting" generator, 128-bit state) seeded through splitmix32, so every seed (any
// 32-bit integer, or any finite number, hashed to one) gives an independent, reproducible stream
// in browsers, workers and Node alike.

/** splitmix32 step: returns the next state and a well-mixed 32-bit output. */
export function splitmix32(state: number): [next: number, out: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  z ^= z >>> 15;
  return [next, z >>> 0];
}

/** Mixes any number of integers (or finite numbers) into one 32-bit seed. */
export function mixSeed(...parts: number[]): number {
  let h = 0x6a09e667 | 0;
  for (const p of parts) {
    // Fold non-integers and values beyond 32 bits in deterministically.
    const lo = Number.isInteger(p) ? p | 0 : Math.floor(p * 4294967296) | 0;
    const hi = Number.isInteger(p) ? Math.floor(p / 4294967296) | 0 : Math.floor(p) | 0;
    h = splitmix32(h ^ lo)[1] | 0;
    h = splitmix32(h ^ hi)[1] | 0;
  }
  return h >>> 0;
}

/** A seeded stream of numbers with the helpers the generator needs. */
export interface Rng {
  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number;
  /** Uniform in [a, b). */
  uniform(a: number, b: number): number;
  /** Normal with the given mean and standard deviation (Box-Muller, spare cached). */
  normal(mean?: number, sd?: number): number;
  /** True with probability p. */
  bernoulli(p: number): boolean;
  /** Integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** Index drawn with the given non-negative weights. */
  weighted(weights: readonly number[]): number;
  /** A new independent stream derived from this one (advances this one by one step). */
  fork(): Rng;
  /** Raw 32-bit unsigned output. */
  u32(): number;
}

/** sfc32 seeded from one 32-bit seed via splitmix32, warmed up by 12 rounds. */
export function createRng(seed: number): Rng {
  // State in a typed array: 32-bit values beyond the small-integer range would otherwise be
  // boxed on every step when kept in closure variables.
  const st = new Int32Array(4);
  let s = mixSeed(seed) | 0;
  let out: number;
  for (let i = 0; i < 3; i++) {
    [s, out] = splitmix32(s);
    st[i] = out;
  }
  st[3] = 1;
  function u32(): number {
    const a = st[0]!;
    const b = st[1]!;
    const c = st[2]!;
    const d = st[3]!;
    const t = (((a + b) | 0) + d) | 0;
    st[3] = (d + 1) | 0;
    st[0] = b ^ (b >>> 9);
    st[1] = (c + (c << 3)) | 0;
    st[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }
  for (let i = 0; i < 12; i++) u32();

  let spare: number | null = null;
  const rng: Rng = {
    u32,
    next: () => u32() / 4294967296,
    uniform: (lo, hi) => lo + (hi - lo) * (u32() / 4294967296),
    normal(mean = 0, sd = 1) {
      if (spare !== null) {
        const z = spare;
        spare = null;
        return mean + sd * z;
      }
      let u = 0;
      while (u === 0) u = u32() / 4294967296;
      const v = u32() / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return mean + sd * r * Math.cos(2 * Math.PI * v);
    },
    bernoulli: (p) => u32() / 4294967296 < p,
    int: (lo, hi) => lo + Math.floor((u32() / 4294967296) * (hi - lo + 1)),
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('pick from an empty array');
      return items[Math.floor((u32() / 4294967296) * items.length)] as T;
    },
    weighted(weights) {
      let total = 0;
      for (const w of weights) total += Math.max(0, w);
      let r = (u32() / 4294967296) * total;
      for (let i = 0; i < weights.length; i++) {
        r -= Math.max(0, weights[i] ?? 0);
        if (r < 0) return i;
      }
      return weights.length - 1;
    },
    fork: () => createRng(u32()),
  };
  return rng;
}
