// CheXpert label-fraction draws as MoCo-CXR made them: moco_pretraining/scripts/reorganize_files.py,
// mode `chexpert_random` (`move_chexpert_random`):
//   random.seed(0)                                    # at module import
//   for row in train.csv rows (in file order):
//     for s in [0.001, 0.01, 0.1, 0.5, 1]:            # ALL_SEMI_RATIO + [1]
//       for it in range(SEMI_ITERATIONS[s]):          # 5, 5, 5, 5, 1
//         if random.random() < s: subset[s][it].append(row)
// written as moving_logs/train_semi_{s}-it{it}.csv, and `train.csv` for s == 1. So every draw is an
// independent Bernoulli per image (lower ratios are not subsets of higher ones, whatever the comment
// there says). 0.5 is drawn although the paper reports 0.1 %, 1 %, 10 %, 100 %: it is kept in the
// defaults because leaving it out would change every later random number.
// To get the original's files, pass every train.csv row in file order (dropping a row shifts the stream).
//
// The patient-level option is ours, in the manner of the same file's `move_chexpert_single_target`:
// patients in order of first appearance; with a validation fraction, one random() per patient first
// sends the whole patient to validation (and no draws are made for it); otherwise one random() per
// (ratio, draw) includes or leaves out all of the patient's rows. No patient is both in validation and
// in a training subset, and every subset holds whole patients.
import { MT19937 } from './mt19937.ts';
import { checkFractions, pythonRatioName, SplitError, type FractionDraw, type FractionSpec, type SplitRow } from './types.ts';

/** ALL_SEMI_RATIO + [1] with SEMI_ITERATIONS, in the original loop order. */
export const CHEXPERT_FRACTIONS: readonly FractionSpec[] = [
  { ratio: 0.001, draws: 5 },
  { ratio: 0.01, draws: 5 },
  { ratio: 0.1, draws: 5 },
  { ratio: 0.5, draws: 5 },
  { ratio: 1, draws: 1 },
];

export interface ChexpertSplitOptions {
  /** `random.seed(seed)`; 0 as in the original. */
  seed?: number | bigint;
  fractions?: readonly FractionSpec[];
  /** 'image' (the original) or 'patient' (whole patients in or out). */
  unit?: 'image' | 'patient';
  /** Patient level only: the share of patients held out as validation first (0 = none). */
  validationFraction?: number;
}

export interface ChexpertSplits {
  draws: FractionDraw[];
  /** Rows held out for validation (patient level with validationFraction > 0), ascending. */
  validation: number[];
}

/** The original's name for a draw: `train` for the full set, else `train_semi_{s}-it{it}`. */
export function chexpertDrawName(ratio: number, draw: number): string {
  return ratio === 1 ? 'train' : `train_semi_${pythonRatioName(ratio)}-it${draw}`;
}

export function chexpertLabelFractions(rows: readonly SplitRow[], opts: ChexpertSplitOptions = {}): ChexpertSplits {
  const fractions = opts.fractions ?? CHEXPERT_FRACTIONS;
  checkFractions(fractions);
  const unit = opts.unit ?? 'image';
  const valFraction = opts.validationFraction ?? 0;
  if (!(valFraction >= 0 && valFraction < 1)) throw new SplitError(`validation fraction ${valFraction} is not in [0, 1)`);
  if (unit === 'image' && valFraction > 0) {
    throw new SplitError('a validation hold-out is drawn per patient; use unit "patient" (CheXpert has valid.csv)');
  }
  const rng = new MT19937(opts.seed ?? 0);
  const slots = fractions.flatMap((f) => Array.from({ length: f.draws }, (_, draw) => ({ ratio: f.ratio, draw })));
  const picked: number[][] = slots.map(() => []);
  const validation: number[] = [];

  // Units in order of first appearance; image level is one unit per row.
  const units: number[][] = [];
  if (unit === 'image') {
    for (let i = 0; i < rows.length; i++) units.push([i]);
  } else {
    const byPatient = new Map<string, number[]>();
    rows.forEach((r, i) => {
      const id = r.patient ?? `\u0000row:${r.key}`; // no patient id: the row is its own patient
      let list = byPatient.get(id);
      if (!list) byPatient.set(id, (list = []));
      list.push(i);
      if (list.length === 1) units.push(list);
    });
  }

  for (const members of units) {
    if (valFraction > 0 && rng.random() < valFraction) {
      validation.push(...members);
      continue;
    }
    for (let k = 0; k < slots.length; k++) {
      if (rng.random() < slots[k]!.ratio) picked[k]!.push(...members);
    }
  }

  const asc = (a: number, b: number) => a - b;
  return {
    draws: slots.map((s, k) => ({
      ratio: s.ratio,
      draw: s.draw,
      name: chexpertDrawName(s.ratio, s.draw),
      rows: unit === 'image' ? picked[k]! : picked[k]!.sort(asc),
    })),
    validation: validation.sort(asc),
  };
}
