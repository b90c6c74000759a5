// The two numeric steps of PIL's Image.rotate that JavaScript does not give bit-for-bit:
//
// - math.cos / math.sin. CPython calls glibc; V8's Math.cos / Math.sin (an fdlibm port) differ from glibc's
//   in the last bit for about 1 % of angles in [-10, 10] degrees, and Python's round(x, 15) keeps that
//   difference for about 1 angle in 2 000 (measured on 300 000 angles). The correctly rounded values
//   computed here (double-double arithmetic, rounded once) agree with glibc more often: glibc itself errs
//   by up to about 0.502 ulp, so 1 angle in 15 000 still gets one matrix entry 1e-15 away from Python's.
//   That practically never reaches the pixels: PIL turns the matrix into 16.16 fixed point, and a 1e-15
//   change moves a fixed-point value only when it sits within about 1e-10 of a rounding boundary.
//   src/core/augment/index-map.test.ts checks the fixed-point matrix for 50 000 angles against Python's.
// - round(x, 15), which rounds the exact binary value of x to 15 decimals; Number.prototype.toFixed(15)
//   does the same, and parsing the string back is correctly rounded on both sides.

type DD = [hi: number, lo: number];

const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitter for doubles

function twoSum(a: number, b: number): DD {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

function quickTwoSum(a: number, b: number): DD {
  const s = a + b;
  return [s, b - (s - a)];
}

function twoProd(a: number, b: number): DD {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function ddAdd(a: DD, b: DD): DD {
  const [s, e] = twoSum(a[0], b[0]);
  const [t, f] = twoSum(a[1], b[1]);
  const [s2, e2] = quickTwoSum(s, e + t);
  return quickTwoSum(s2, e2 + f);
}

function ddMul(a: DD, b: DD): DD {
  const [p, e] = twoProd(a[0], b[0]);
  return quickTwoSum(p, e + (a[0] * b[1] + a[1] * b[0]));
}

/** a / d for a small integer d (exact as a double). */
function ddDivInt(a: DD, d: number): DD {
  const q1 = a[0] / d;
  const [p, e] = twoProd(q1, d);
  const r = (a[0] - p - e + a[1]) / d;
  return quickTwoSum(q1, r);
}

// pi/2 as the sum of three doubles (about 160 bits), from a 100-digit decimal expansion.
const PIO2_1 = 1.5707963267948966;
const PIO2_2 = 6.123233995736766e-17;
const PIO2_3 = -1.4973849048591698e-33;

/** x - k * pi/2 in double-double, for the small k that arguments up to 8 radians need. */
function reduce(x: number, k: number): DD {
  const [ph, pl] = twoProd(k, PIO2_1);
  let r = twoSum(x, -ph);
  r = ddAdd(r, [-pl, 0]);
  const [qh, ql] = twoProd(k, PIO2_2);
  r = ddAdd(r, [-qh, -ql]);
  return ddAdd(r, [-k * PIO2_3, 0]);
}

/** Taylor series of sin (odd = true) or cos around 0 for |x| <= pi/4, to beyond double-double precision. */
function series(x: DD, odd: boolean): DD {
  const x2 = ddMul(x, x);
  let term: DD = odd ? x : [1, 0];
  let sum: DD = term;
  for (let n = 1; n < 40; n++) {
    const a = odd ? 2 * n : 2 * n - 1;
    term = ddDivInt(ddMul(term, x2), a * (a + 1));
    term = [-term[0], -term[1]];
    sum = ddAdd(sum, term);
    if (Math.abs(term[0]) < 1e-40 * Math.abs(sum[0]) || term[0] === 0) break;
  }
  return sum;
}

/** sin and cos of x (radians, |x| <= 8), each the double nearest the exact value. */
export function sinCosCorrectlyRounded(x: number): { sin: number; cos: number } {
  if (!(Math.abs(x) <= 8)) throw new RangeError(`sinCosCorrectlyRounded: ${x} is outside [-8, 8]`);
  if (x === 0) return { sin: x, cos: 1 }; // keeps the sign of a zero, as libm does
  const k = Math.round(x / PIO2_1);
  const r = reduce(x, k);
  const s = series(r, true);
  const c = series(r, false);
  const q = ((k % 4) + 4) % 4;
  // sin(r + k pi/2) and cos(r + k pi/2) by quadrant; hi + lo rounds the double-double once.
  const pick = (v: DD, neg: boolean) => (neg ? -(v[0] + v[1]) : v[0] + v[1]);
  switch (q) {
    case 0:
      return { sin: pick(s, false), cos: pick(c, false) };
    case 1:
      return { sin: pick(c, false), cos: pick(s, true) };
    case 2:
      return { sin: pick(s, true), cos: pick(c, true) };
    default:
      return { sin: pick(c, true), cos: pick(s, false) };
  }
}

/** Python's round(x, 15) for |x| < 1e21: the double nearest x rounded to 15 decimals (-0.0 kept). */
export function pyRound15(x: number): number {
  return Number(x.toFixed(15));
}

/** Python's `x % 360.0` for finite x: fmod, then moved into [0, 360) when the signs differ. */
export function pyMod360(x: number): number {
  const m = x % 360;
  if (m === 0) return 0; // CPython returns +0.0 for a zero remainder whatever the sign of x
  return m < 0 ? m + 360 : m;
}
