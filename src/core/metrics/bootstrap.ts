// Bootstrap confidence intervals over test studies, as MoCo-CXR's chexpert-model computes them:
// - confidence_interval.py `multi_replicate_performances`: one resample of the study rows per replicate
//   (`np.random.choice(n, n, replace=True)`), the AUROC of every draw's predictions on it, averaged over
//   draws ("single" is the same with one draw's predictions);
// - confidence_interval_diff.py `diff_replicate_performances`: on the same resample, mean over draws of
//   AUROC(model A) minus AUROC(model B);
// - `ConfidenceGenerator.compute_cis`: sort the replicate values, lower = sorted[int(a/2 * n) - 1],
//   upper = sorted[int((1 - a/2) * n) - 1] with a = 1 - 0.95 computed in floating point as there, and the
//   reported mean is the mean of the replicate values (rounded to 3 places only in the CSV).
// Decisions where the original gives no answer (documented in the report, kept here for readers):
// - The original's script computes "single" and "multi" on two separate resamples per replicate; each
//   function here uses one resample stream for what it computes.
// - Uncertain (-1) study labels: the original test set has none; here the resample is drawn over all
//   studies (shared by all tasks) and each task ignores its -1 studies inside it (evaluator.py's rule).
// - A resample with one class only makes sklearn raise, which stops the original script; here that
//   replicate is skipped for that task and counted in `skipped`, and n above counts the kept ones.
// - For n < 40 the original's lower index is -1, which Python reads as the largest value; it is clamped
//   to the smallest here (likewise the upper index for n < 2).
import { MetricError } from './roc.ts';
import { numpyResampler, type Resampler } from './resample.ts';

export interface Interval {
  lower: number;
  /** Mean of the kept replicate values (the bootstrap mean, as the original reports). */
  mean: number;
  upper: number;
  /** Replicates that gave a value. */
  replicates: number;
  /** Replicates left out because the resample held one class only for this task. */
  skipped: number;
}

/** compute_cis's index rule on replicate values; NaN bounds when there are none. */
export function percentileInterval(values: ArrayLike<number>, level = 0.95): Pick<Interval, 'lower' | 'mean' | 'upper'> {
  const n = values.length;
  if (n === 0) return { lower: NaN, mean: NaN, upper: NaN };
  const sorted = Float64Array.from(values).sort();
  const alpha = 1 - level; // the original passes confidence_level = 1 - 0.95 (= 0.05000000000000004)
  const lo = Math.max(0, Math.trunc((alpha / 2) * n) - 1);
  const hi = Math.max(0, Math.trunc((1 - alpha / 2) * n) - 1);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i] as number;
  return { lower: sorted[lo]!, mean: sum / n, upper: sorted[hi]! };
}

/** numpy's round(x, decimals) (x * 10**d, round half to even, / 10**d), as `.round(3)` in compute_cis. */
export function roundLikeNumpy(x: number, decimals: number): number {
  const f = 10 ** decimals;
  const y = x * f;
  const fl = Math.floor(y);
  const d = y - fl;
  const r = d > 0.5 ? fl + 1 : d < 0.5 ? fl : fl % 2 === 0 ? fl : fl + 1;
  return r / f;
}

/** A row of the original's confidence.csv / confidence_multi.csv / *_diff.csv (name, lower, mean, upper). */
export function confidenceRow(name: string, iv: Pick<Interval, 'lower' | 'mean' | 'upper'>): { name: string; lower: number; mean: number; upper: number } {
  return { name, lower: roundLikeNumpy(iv.lower, 3), mean: roundLikeNumpy(iv.mean, 3), upper: roundLikeNumpy(iv.upper, 3) };
}

export interface BootstrapOptions {
  /** Replicates (default 1000; the original takes it on the command line). */
  replicates?: number;
  level?: number;
  /** Seed for `np.random.seed` semantics (default 0); ignored when `resampler` is given. */
  seed?: number;
  resampler?: Resampler;
}

export interface BootstrapResult {
  /** One interval per task, in the order of `labels`. */
  tasks: Interval[];
  /** Per task, the kept replicate values in replicate order. */
  values: Float64Array[];
}

/** Per task, per study: 1, 0 or -1. Scores: [draw][task][study]. */
export type DrawScores = readonly (readonly ArrayLike<number>[])[];

/** AUROC averaged over draws on each resample of the studies ("multi"; one draw gives "single"). */
export function bootstrapAuroc(labels: readonly ArrayLike<number>[], draws: DrawScores, opts: BootstrapOptions = {}): BootstrapResult {
  return bootstrap(labels, [draws], ([m]) => m!, opts);
}

/** Paired difference on the same resamples: mean AUROC over A's draws minus mean over B's draws. */
export function bootstrapAurocDiff(labels: readonly ArrayLike<number>[], drawsA: DrawScores, drawsB: DrawScores, opts: BootstrapOptions = {}): BootstrapResult {
  // The original averages AUC(A_i) - AUC(B_i) over paired draws i; with equal counts that is this same
  // number, and this form also allows A and B to have different numbers of draws.
  return bootstrap(labels, [drawsA, drawsB], ([a, b]) => a! - b!, opts);
}

function bootstrap(
  labels: readonly ArrayLike<number>[],
  groups: readonly DrawScores[],
  combine: (groupMeans: number[]) => number,
  opts: BootstrapOptions,
): BootstrapResult {
  const R = opts.replicates ?? 1000;
  if (!Number.isInteger(R) || R <= 0) throw new MetricError(`replicates must be a positive integer, got ${R}`);
  const T = labels.length;
  const S = labels[0]?.length ?? 0;
  if (T === 0 || S === 0) throw new MetricError('no tasks or no studies to bootstrap');
  for (const [g, draws] of groups.entries()) {
    if (draws.length === 0) throw new MetricError(`prediction set ${g} has no draws`);
    for (const d of draws) {
      if (d.length !== T) throw new MetricError(`a draw has ${d.length} tasks, the labels ${T}`);
      for (const s of d) if (s.length !== S) throw new MetricError(`a draw has ${s.length} studies, the labels ${S}`);
    }
  }
  // Per task and draw, the definite-label studies sorted by score once; each replicate then only
  // counts how often it drew each study (O(S) per AUROC instead of a sort).
  const orders = labels.map((lab, t) => {
    if (lab.length !== S) throw new MetricError(`task ${t} has ${lab.length} labels, task 0 has ${S}`);
    const keep: number[] = [];
    for (let s = 0; s < S; s++) {
      const y = lab[s];
      if (y === 0 || y === 1) keep.push(s);
      else if (y !== -1) throw new MetricError(`label ${y} (task ${t}, study ${s}) is not 1, 0 or -1`);
    }
    return groups.map((draws) =>
      draws.map((d) => {
        const sc = d[t]!;
        for (const s of keep) if (!Number.isFinite(sc[s])) throw new MetricError(`score ${sc[s]} (task ${t}, study ${s}) is not finite`);
        return Uint32Array.from(keep).sort((a, b) => (sc[b] as number) - (sc[a] as number));
      }),
    );
  });
  const resample = opts.resampler ?? numpyResampler(opts.seed ?? 0);
  const weights = new Uint32Array(S);
  const values: number[][] = labels.map(() => []);
  const skipped = new Array<number>(T).fill(0);
  for (let r = 0; r < R; r++) {
    weights.fill(0);
    for (const i of resample(S)) weights[i]!++;
    for (let t = 0; t < T; t++) {
      const means: number[] = [];
      for (let g = 0; g < groups.length; g++) {
        const m = meanOverDraws(orders[t]![g]!, groups[g]!, t, labels[t]!, weights);
        if (m === null) break; // one class in this resample: the same for every draw and group
        means.push(m);
      }
      if (means.length === groups.length) values[t]!.push(combine(means));
      else skipped[t]!++;
    }
  }
  const level = opts.level ?? 0.95;
  return {
    tasks: values.map((v, t) => ({ ...percentileInterval(v, level), replicates: v.length, skipped: skipped[t]! })),
    values: values.map((v) => Float64Array.from(v)),
  };
}

/** np.mean over draws of each draw's AUROC on the resample (summed in draw order); null with one class. */
function meanOverDraws(orders: Uint32Array[], draws: DrawScores, t: number, labels: ArrayLike<number>, weights: Uint32Array): number | null {
  let sum = 0;
  for (let d = 0; d < draws.length; d++) {
    const a = weightedAuroc(orders[d]!, draws[d]![t]!, labels, weights);
    if (a === null) return null;
    sum += a;
  }
  return sum / draws.length;
}

/**
 * AUROC of the studies in `order` (sorted by descending score), each counted `weights[s]` times: the
 * same integer counts, hence the same curve and area, as sklearn on the resample with its repeats.
 * Null when the weighted rows hold one class only.
 */
export function weightedAuroc(order: Uint32Array, scores: ArrayLike<number>, labels: ArrayLike<number>, weights: ArrayLike<number>): number | null {
  let twice = 0;
  let fp = 0;
  let tp = 0;
  let fp0 = 0;
  let tp0 = 0;
  const n = order.length;
  for (let k = 0; k < n; k++) {
    const s = order[k]!;
    const w = weights[s] as number;
    if (labels[s] === 1) tp += w;
    else fp += w;
    if (k === n - 1 || scores[order[k + 1]!] !== scores[s]) {
      twice += (fp - fp0) * (tp + tp0);
      fp0 = fp;
      tp0 = tp;
    }
  }
  return tp === 0 || fp === 0 ? null : twice / (2 * fp * tp);
}
