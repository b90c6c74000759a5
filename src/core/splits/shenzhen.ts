// Shenzhen splits as MoCo-CXR's moco_pretraining/scripts/shenzhen_mutiple_split.py `perform_split`
// makes them, after `random.seed(seed)` (the original is unseeded and reads files in os.listdir order,
// so its own splits cannot be recovered; with a seed and a row order this is reproducible):
// - one random() per row: < 0.15 validation, < 0.15 + 0.20 test, else train; the whole pass is redrawn
//   until validation and test each pass `verify_one_split`: size within the original's band
//   (TOTAL * ratio > len * 0.95 and < len * 1.05) and 0.9 < #negatives / #TB < 1.2;
// - then per fraction s and draw it, in list order: one random() per train row (`< s` keeps it),
//   redrawn until the class ratio is in (0.9, 1.2); the size check there is computed but ignored by the
//   original, so it is not applied here either;
// - files `chexpert_like_{s}_{it}.csv`.
// Departures, each only where the original would not finish:
// - TOTAL is the number of rows given (662 hard-coded there);
// - with a 100 % fraction requested, validation/test are also redrawn while the train rows are out of
//   balance: the original would take every train row at 100 % forever without passing its balance check.
//   Whenever the original finishes, it accepted that same pass, so results are the same;
// - every rejection loop stops after `maxAttempts` with an error instead of running on.
import { MT19937 } from './mt19937.ts';
import { checkFractions, pythonRatioName, SplitError, type FractionDraw, type FractionSpec, type SplitRow } from './types.ts';

export const SHENZHEN_VAL_RATIO = 0.15;
export const SHENZHEN_TEST_RATIO = 0.2;

/** The fractions of the paper's flowchart: 6.25 % (8 draws), 25 % (4), 100 % (1). */
export const SHENZHEN_PAPER_FRACTIONS: readonly FractionSpec[] = [
  { ratio: 0.0625, draws: 8 },
  { ratio: 0.25, draws: 4 },
  { ratio: 1, draws: 1 },
];

/** ALL_SEMI_RATIO + [1] with SEMI_ITERATIONS of shenzhen_mutiple_split.py. */
export const SHENZHEN_ORIGINAL_FRACTIONS: readonly FractionSpec[] = [
  { ratio: 0.0078125, draws: 12 },
  { ratio: 0.015625, draws: 10 },
  { ratio: 0.03125, draws: 8 },
  { ratio: 0.0625, draws: 8 },
  { ratio: 0.125, draws: 4 },
  { ratio: 0.25, draws: 4 },
  { ratio: 0.5, draws: 4 },
  { ratio: 1, draws: 1 },
];

export interface ShenzhenSplitOptions {
  seed?: number | bigint;
  fractions?: readonly FractionSpec[];
  /** The label whose 1/0 balance is checked (default `Tuberculosis`). */
  label?: string;
  /** Redraws allowed per rejection loop before giving up (default 100 000). */
  maxAttempts?: number;
}

export interface ShenzhenSplits {
  validation: number[];
  test: number[];
  train: number[];
  draws: FractionDraw[];
  /** Passes taken: validation/test, then each draw (1 = accepted at once). */
  attempts: { valTest: number; draws: number[] };
}

export function shenzhenDrawName(ratio: number, draw: number): string {
  return `chexpert_like_${pythonRatioName(ratio)}_${draw}`;
}

/** `verify_one_split`'s class-balance rule: both classes present, 0.9 < #0 / #1 < 1.2. */
export function isBalanced(rows: readonly SplitRow[], idx: readonly number[], label = 'Tuberculosis'): boolean {
  let tb = 0;
  let noTb = 0;
  for (const i of idx) {
    const v = rows[i]!.labels?.[label];
    if (v === 1) tb++;
    else if (v === 0) noTb++;
  }
  if (tb === 0 || noTb === 0) return false;
  const ratio = noTb / tb;
  return ratio > 0.9 && ratio < 1.2;
}

/** `verify_one_split`'s size rule, with TOTAL = the number of rows. */
export function hasSplitSize(total: number, len: number, ratio: number): boolean {
  return total * ratio > len * 0.95 && total * ratio < len * 1.05;
}

export function shenzhenSplits(rows: readonly SplitRow[], opts: ShenzhenSplitOptions = {}): ShenzhenSplits {
  const fractions = opts.fractions ?? SHENZHEN_PAPER_FRACTIONS;
  checkFractions(fractions);
  const label = opts.label ?? 'Tuberculosis';
  const maxAttempts = opts.maxAttempts ?? 100_000;
  const total = rows.length;
  const rng = new MT19937(opts.seed ?? 0);
  const wantsFull = fractions.some((f) => f.ratio >= 1);
  const ok = (idx: number[]) => isBalanced(rows, idx, label);

  let validation: number[] = [];
  let test: number[] = [];
  let train: number[] = [];
  let valTest = 0;
  for (;;) {
    if (++valTest > maxAttempts) {
      throw new SplitError(`no balanced validation/test split of ${total} rows after ${maxAttempts} passes`);
    }
    validation = [];
    test = [];
    train = [];
    for (let i = 0; i < total; i++) {
      const rnd = rng.random();
      if (rnd < SHENZHEN_VAL_RATIO) validation.push(i);
      else if (rnd < SHENZHEN_VAL_RATIO + SHENZHEN_TEST_RATIO) test.push(i);
      else train.push(i);
    }
    const accepted =
      hasSplitSize(total, validation.length, SHENZHEN_VAL_RATIO) &&
      ok(validation) &&
      hasSplitSize(total, test.length, SHENZHEN_TEST_RATIO) &&
      ok(test) &&
      (!wantsFull || ok(train));
    if (accepted) break;
  }

  const draws: FractionDraw[] = [];
  const drawAttempts: number[] = [];
  for (const f of fractions) {
    for (let it = 0; it < f.draws; it++) {
      let picked: number[] = [];
      let tries = 0;
      do {
        if (++tries > maxAttempts) {
          throw new SplitError(`no balanced ${f.ratio} draw ${it} from ${train.length} train rows after ${maxAttempts} passes`);
        }
        picked = [];
        for (const i of train) if (rng.random() < f.ratio) picked.push(i);
      } while (!ok(picked));
      draws.push({ ratio: f.ratio, draw: it, name: shenzhenDrawName(f.ratio, it), rows: picked });
      drawAttempts.push(tries);
    }
  }
  return { validation, test, train, draws, attempts: { valTest, draws: drawAttempts } };
}
