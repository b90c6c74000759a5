// The per-task numbers of the original's scores.csv / scores.txt, as chexpert-model's
// eval/evaluator.py computes them with scikit-learn (1.2.1 here, Debian's) on the study-level
// predictions test.py holds in float32:
// - per task, the studies whose label is -1 are dropped first;
// - summary metrics in this order: AUPRC (average_precision_score), AUROC (roc_auc_score), log_loss;
// - point metrics at `predictions > threshold` (strictly greater, threshold 0.5): accuracy, precision,
//   recall;
// - any metric that raises becomes NaN (`undefined_catcher`); those that only warn keep sklearn's value
//   (precision or recall with a zero denominator: 0.0; average precision with no positive: see below).
// log_loss is sklearn 1.2's: eps = float32 machine epsilon (eps='auto' on float32 predictions), clip to
// [eps, 1 - eps], the two columns [1 - p, p] renormalised by their float32 sum, then the mean of -log of
// the true class's column in float64. (sklearn before 1.2, which the original's environment may have
// had, clipped at 1e-15 instead: the numbers then differ for probabilities within 1.2e-7 of 0 or 1.)
import { auprc, auroc } from '../metrics/index.ts';

export const PIPELINE_THRESHOLD = 0.5;

/** The metric names of scores.csv, in evaluator.py's order (Metrics column). */
export const PIPELINE_METRICS = ['AUPRC', 'AUROC', 'log_loss', 'accuracy@thresh=0.5', 'precision@thresh=0.5', 'recall@thresh=0.5'] as const;
export type PipelineMetric = (typeof PIPELINE_METRICS)[number];

export type PipelineTaskMetrics = Record<PipelineMetric, number>;

const F32_EPS = 2 ** -23;

/** sklearn.metrics.log_loss(y, p) for binary y and float32 p (see the header); NaN with one class. */
export function logLoss32(labels: ArrayLike<number>, probs: ArrayLike<number>): number {
  const n = labels.length;
  let hasPos = false;
  let hasNeg = false;
  for (let i = 0; i < n; i++) {
    if (labels[i] === 1) hasPos = true;
    else hasNeg = true;
  }
  if (!hasPos || !hasNeg) return NaN; // "y_true contains only one label": raises
  const lo = Math.fround(F32_EPS);
  const hi = Math.fround(1 - F32_EPS);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(Math.max(Math.fround(probs[i] as number), lo), hi);
    const q = Math.fround(1 - p);
    const s = Math.fround(q + p);
    const v = labels[i] === 1 ? Math.fround(p / s) : Math.fround(q / s);
    sum += -Math.log(v);
  }
  return sum / n;
}

/**
 * The six numbers evaluator.py reports for one task. `labels` 1, 0 or -1 (dropped), `probs` the
 * study probabilities (rounded to float32 here, as test.py holds them).
 */
export function pipelineTaskMetrics(labels: ArrayLike<number>, probs: ArrayLike<number>, threshold = PIPELINE_THRESHOLD): PipelineTaskMetrics {
  const y: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    if (v === -1) continue;
    if (v !== 0 && v !== 1) throw new RangeError(`label ${v} at ${i} is not 1, 0 or -1`);
    y.push(v);
    p.push(Math.fround(probs[i] as number));
  }
  const n = y.length;
  if (n === 0) {
    // every study uncertain: the ranking metrics and log_loss raise on empty input, accuracy is the
    // mean of nothing (NaN), precision and recall warn and give 0.0
    return { AUPRC: NaN, AUROC: NaN, log_loss: NaN, 'accuracy@thresh=0.5': NaN, 'precision@thresh=0.5': 0, 'recall@thresh=0.5': 0 };
  }
  let pos = 0;
  let tp = 0;
  let fp = 0;
  let correct = 0;
  const t = Math.fround(threshold);
  for (let i = 0; i < n; i++) {
    const predicted = p[i]! > t ? 1 : 0;
    pos += y[i]!;
    if (predicted === 1 && y[i] === 1) tp++;
    if (predicted === 1 && y[i] === 0) fp++;
    if (predicted === y[i]) correct++;
  }
  const twoClasses = pos > 0 && pos < n;
  return {
    // no positive: sklearn 1.2 warns, sets recall to 1 at every threshold and returns -0.0 (the sum
    // of zero recall steps, negated)
    AUPRC: pos === 0 ? -0 : auprc(y, p),
    AUROC: twoClasses ? auroc(y, p) : NaN,
    log_loss: logLoss32(y, p),
    'accuracy@thresh=0.5': correct / n,
    'precision@thresh=0.5': tp + fp === 0 ? 0 : tp / (tp + fp),
    'recall@thresh=0.5': pos === 0 ? 0 : tp / pos,
  };
}
