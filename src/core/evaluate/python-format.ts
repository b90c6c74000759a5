// Numbers and CSV fields written the way the original's pandas `to_csv` writes them, so that a file
// from the app reads like one from chexpert-model (and diffs cleanly against one):
// - a float64 column is `values.astype(str)`: Python's repr (shortest round-trip digits, e.g.
//   `0.8333333333333334`, `1.0`, `1e-05`);
// - a float32 column (predict.py's probabilities, its FloatTensor labels) is numpy's float32 str: the
//   shortest digits that round-trip through float32 (`0.1`, `0.7310586`);
// - both in scientific notation when the value is below 1e-4 or at least 1e16 in magnitude (numpy's
//   rule, on the value: float32(0.0001) is just below 1e-4 and prints as `1e-04`; for float64 this is
//   the same as Python's rule on the decimal exponent), with at least two exponent digits;
// - NaN is written as the empty field (pandas' default na_rep ''); str() of NaN is `nan` (scores.txt);
// - fields are quoted as Python's csv module does with QUOTE_MINIMAL: only when they hold the
//   delimiter, the quote character or a line break.
// Checked against numpy 1.24 / CPython in pipeline-csv.test.ts (scripts/fixtures/sklearn_scores.py).

/** Shortest decimal digits and exponent: value = 0.d1d2d3... x 10^(exp + 1), i.e. d1.d2d3 x 10^exp. */
function shortest(x: number, bits: 32 | 64): { digits: string; exp: number } {
  let s: string | null = null;
  if (bits === 64) s = x.toExponential();
  else {
    // The p-digit decimal nearest the float32 value (exact as a double) for the smallest p whose
    // decimal rounds back to it: numpy's Dragon4 "unique" digits (closest among the shortest).
    for (let p = 1; p <= 9 && s === null; p++) {
      const t = x.toExponential(p - 1);
      if (Math.fround(Number(t)) === x) s = t;
    }
    s ??= x.toExponential(8);
  }
  const m = /^-?(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s)!;
  const digits = (m[1]! + (m[2] ?? '')).replace(/0+$/, '') || '0';
  return { digits, exp: Number(m[3]) };
}

/** Python's repr of a float (bits 64) or numpy's str of a float32 (bits 32); the value is rounded to
 *  float32 first when bits is 32. */
export function pyFloatRepr(value: number, bits: 32 | 64 = 64): string {
  const x = bits === 32 ? Math.fround(value) : value;
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return `${sign}0.0`;
  const { digits, exp } = shortest(Math.abs(x), bits);
  const a = Math.abs(x);
  if (a < 1e-4 || a >= 1e16) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intLen = exp + 1;
  if (digits.length <= intLen) return `${sign}${digits}${'0'.repeat(intLen - digits.length)}.0`;
  return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
}

/** A float cell as pandas writes it: the repr, or '' for NaN. */
export function pandasFloat(value: number | null, bits: 32 | 64 = 64): string {
  return value === null || Number.isNaN(value) ? '' : pyFloatRepr(value, bits);
}

/** A field as Python's csv writer with QUOTE_MINIMAL writes it. */
export function pyCsvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Header and rows of already formatted fields, '\n' line ends (pandas on Linux), final newline. */
export function pyCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map((r) => r.map(pyCsvField).join(',')).join('\n') + '\n';
}
