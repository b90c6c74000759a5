// Binary ranking metrics equal to scikit-learn 1.2 (sklearn/metrics/_ranking.py), which MoCo-CXR's
// chexpert-model calls in eval/evaluator.py and confidence_interval.py:
// - `_binary_clf_curve`: scores sorted descending, one point per distinct score (ties form one step);
// - `roc_curve` (drop_intermediate=True drops points whose second differences of fps and tps are both
//   zero; an extra first point at thresholds[0] + 1, the 1.2 rule, 1.3+ uses inf);
// - `roc_auc_score` = trapezoids under that curve, so ties count one half (Mann-Whitney U);
// - `average_precision_score` = sum over thresholds of (R_k - R_{k-1}) * P_k.
// Counts are kept as exact integers and divided once, so results agree with sklearn to ~1e-16.
// One difference on purpose: where sklearn warns and returns NaN or a conventional value for a curve with
// only one class, these functions throw, because such a number is never meaningful in a report.

export class MetricError extends Error {
  override name = 'MetricError';
}

export const ONE_CLASS_MESSAGE = 'Only one class present in y_true. ROC AUC score is not defined in that case.';

/** Row indices sorted by score, highest first (O(n log n)); the order within ties does not matter. */
export function descendingOrder(scores: ArrayLike<number>): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => (scores[b] as number) - (scores[a] as number));
}

/** Checks labels are 0/1, scores finite, lengths equal; returns the number of positives. */
export function checkBinary(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  if (labels.length !== scores.length) {
    throw new MetricError(`labels and scores differ in length (${labels.length} vs ${scores.length})`);
  }
  if (labels.length === 0) throw new MetricError('no samples');
  let pos = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y === 1) pos++;
    else if (y !== 0) throw new MetricError(`label ${y} at ${i} is not 0 or 1 (drop uncertain -1 rows first)`);
    if (!Number.isFinite(scores[i])) throw new MetricError(`score ${scores[i]} at ${i} is not finite`);
  }
  return pos;
}

/** `_binary_clf_curve`: cumulative false and true positives at each distinct score, highest first. */
export interface ClfCurve {
  fps: Float64Array;
  tps: Float64Array;
  thresholds: Float64Array;
}

export function binaryClfCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): ClfCurve {
  checkBinary(labels, scores);
  const order = descendingOrder(scores);
  const n = order.length;
  const fps: number[] = [];
  const tps: number[] = [];
  const thr: number[] = [];
  let tp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    tp += labels[i] as number;
    const s = scores[i] as number;
    // np.where(np.diff(y_score)): a point closes at the last row of each run of equal scores.
    if (k === n - 1 || (scores[order[k + 1]!] as number) !== s) {
      tps.push(tp);
      fps.push(k + 1 - tp);
      thr.push(s);
    }
  }
  return { fps: Float64Array.from(fps), tps: Float64Array.from(tps), thresholds: Float64Array.from(thr) };
}

function requireBothClasses(c: ClfCurve): void {
  const last = c.fps.length - 1;
  if (c.tps[last]! === 0 || c.fps[last]! === 0) throw new MetricError(ONE_CLASS_MESSAGE);
}

/** `roc_auc_score` for binary labels: exact area, ties count one half. Throws with one class only. */
export function auroc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const c = binaryClfCurve(labels, scores);
  requireBothClasses(c);
  return trapezoidArea(c.fps, c.tps);
}

/** Twice the trapezoid sum over integer counts (exact below 2**53), divided once by 2 * P * N. */
export function trapezoidArea(fps: ArrayLike<number>, tps: ArrayLike<number>): number {
  let twice = 0;
  let fp0 = 0;
  let tp0 = 0;
  for (let k = 0; k < fps.length; k++) {
    const fp = fps[k] as number;
    const tp = tps[k] as number;
    twice += (fp - fp0) * (tp + tp0);
    fp0 = fp;
    tp0 = tp;
  }
  return twice / (2 * fp0 * tp0);
}

export interface RocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
  /** Decreasing; the first is thresholds[1] + 1 (scikit-learn 1.2), a point above every score. */
  thresholds: Float64Array;
}

/** `roc_curve`; `dropIntermediate` defaults to true as in sklearn (collinear points removed). */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>, opts: { dropIntermediate?: boolean } = {}): RocCurve {
  const c = binaryClfCurve(labels, scores);
  requireBothClasses(c);
  let keep: number[] | null = null;
  const k = c.fps.length;
  if ((opts.dropIntermediate ?? true) && k > 2) {
    keep = [0];
    for (let i = 1; i < k - 1; i++) {
      const d2f = c.fps[i + 1]! - 2 * c.fps[i]! + c.fps[i - 1]!;
      const d2t = c.tps[i + 1]! - 2 * c.tps[i]! + c.tps[i - 1]!;
      if (d2f !== 0 || d2t !== 0) keep.push(i);
    }
    keep.push(k - 1);
  }
  const idx = keep ?? Array.from({ length: k }, (_, i) => i);
  const m = idx.length + 1;
  const fpr = new Float64Array(m);
  const tpr = new Float64Array(m);
  const thresholds = new Float64Array(m);
  const N = c.fps[k - 1]!;
  const P = c.tps[k - 1]!;
  thresholds[0] = c.thresholds[0]! + 1;
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j]!;
    fpr[j + 1] = c.fps[i]! / N;
    tpr[j + 1] = c.tps[i]! / P;
    thresholds[j + 1] = c.thresholds[i]!;
  }
  return { fpr, tpr, thresholds };
}

export interface PrCurve {
  /** Increasing thresholds order as sklearn returns it, ending with precision 1 / recall 0. */
  precision: Float64Array;
  recall: Float64Array;
  thresholds: Float64Array;
}

/** `precision_recall_curve` (sklearn 1.2: every distinct score, reversed, then (1, 0) appended). */
export function precisionRecallCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): PrCurve {
  const c = binaryClfCurve(labels, scores);
  const k = c.fps.length;
  const P = c.tps[k - 1]!;
  if (P === 0) throw new MetricError('No positive class found in y_true: precision and recall are not defined');
  const precision = new Float64Array(k + 1);
  const recall = new Float64Array(k + 1);
  const thresholds = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const i = k - 1 - j;
    precision[j] = c.tps[i]! / (c.tps[i]! + c.fps[i]!);
    recall[j] = c.tps[i]! / P;
    thresholds[j] = c.thresholds[i]!;
  }
  precision[k] = 1;
  recall[k] = 0;
  return { precision, recall, thresholds };
}

/**
 * `average_precision_score`: sum of precision at each threshold weighted by the recall gained there.
 * Throws when there is no positive (sklearn warns and returns 0); all positives gives 1, as in sklearn.
 */
export function auprc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const c = binaryClfCurve(labels, scores);
  const k = c.fps.length;
  const P = c.tps[k - 1]!;
  if (P === 0) throw new MetricError('No positive class found in y_true: average precision is not defined');
  let sum = 0;
  let tp0 = 0;
  for (let i = 0; i < k; i++) {
    const tp = c.tps[i]!;
    if (tp !== tp0) sum += (tp - tp0) * (tp / (tp + c.fps[i]!));
    tp0 = tp;
  }
  return sum / P;
}
