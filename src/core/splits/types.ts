// Inputs and outputs of the split procedures. Rows are plain objects; the app's ImageMeta
// (src/core/data/types.ts) fits SplitRow as it is, so splits work on imported datasets without the store.
import type { LabelValue } from '../data/types.ts';

export interface SplitRow {
  /** The row's path (CheXpert `Path`, Shenzhen file name). */
  key: string;
  /** Patient id; a row without one is treated as its own patient. */
  patient: string | null;
  study: string;
  labels?: Readonly<Record<string, LabelValue>>;
}

/** A label fraction and how many independent draws of it to make. */
export interface FractionSpec {
  ratio: number;
  draws: number;
}

/** One drawn subset: indices into the input rows, ascending (input order). */
export interface FractionDraw {
  ratio: number;
  draw: number;
  /** The original's file name without `.csv` (`train_semi_0.01-it3`, `chexpert_like_0.25_1`, ...). */
  name: string;
  rows: number[];
}

export class SplitError extends Error {
  override name = 'SplitError';
}

export function checkFractions(fractions: readonly FractionSpec[]): void {
  if (fractions.length === 0) throw new SplitError('no fractions given');
  for (const f of fractions) {
    if (!(f.ratio > 0 && f.ratio <= 1)) throw new SplitError(`fraction ${f.ratio} is not in (0, 1]`);
    if (!Number.isInteger(f.draws) || f.draws < 1) throw new SplitError(`fraction ${f.ratio}: draws must be a positive integer, got ${f.draws}`);
  }
  const seen = new Set(fractions.map((f) => f.ratio));
  if (seen.size !== fractions.length) throw new SplitError('a fraction is listed twice');
}

/**
 * Python's repr() of a float, which the original scripts put in file names (`f'{s}'`): shortest
 * round-trip digits, positional for 1e-4 <= |x| < 1e16, else `1e-05` style. Integers print as ints
 * because the originals append the int `1` to their ratio lists.
 */
export function pythonRatioName(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return String(x);
  return pythonFloatRepr(x);
}

export function pythonFloatRepr(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mant, expStr] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${int}.${frac === '' ? '0' : frac}`;
}
