// Study-level scoring as MoCo-CXR's chexpert-model evaluates validation and test sets:
// - predict/predict.py: images are grouped by study (PadCollate), padded views get -inf, the study's
//   logit per task is the max over its images, then sigmoid;
// - the study's labels are those of its first row (`drop_duplicates(subset=COL_STUDY)`), blanks read
//   as 0 (`fillna(value=0)` in data/chexpert_dataset.py);
// - eval/evaluator.py drops, per task, the studies whose label is -1 (uncertain) before the AUROC, and
//   reports NaN where a task is left with one class.
// Sigmoid is taken in float64 here (torch works in float32); it is monotone, so AUROC only changes where
// float32 would have rounded two different logits to one probability.
import { auprc, auroc } from './roc.ts';

/** One image's output: its study, one logit per task, and its labels (1, 0, -1, or null for blank). */
export interface ImagePrediction {
  study: string;
  logits: ArrayLike<number>;
  labels: ArrayLike<number | null>;
}

export interface StudyPredictions {
  tasks: string[];
  /** Study ids in order of first appearance. */
  studies: string[];
  /** [task][study]: sigmoid of the max logit over the study's images. */
  probs: Float64Array[];
  /** [task][study]: 1, 0, or -1 (uncertain, left out of that task's metrics). */
  labels: Int8Array[];
}

export function sigmoid(x: number): number {
  // Written so that neither branch overflows exp() for large |x|.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Groups image rows by study: max logit per task, then sigmoid; labels from the study's first row. */
export function aggregateStudies(rows: readonly ImagePrediction[], tasks: readonly string[]): StudyPredictions {
  const T = tasks.length;
  const index = new Map<string, number>();
  const maxLogit: number[][] = [];
  const firstLabels: Int8Array[] = [];
  rows.forEach((r, i) => {
    if (r.logits.length !== T || r.labels.length !== T) {
      throw new RangeError(`row ${i} (${r.study}) has ${r.logits.length} logits and ${r.labels.length} labels for ${T} tasks`);
    }
    let s = index.get(r.study);
    if (s === undefined) {
      s = maxLogit.length;
      index.set(r.study, s);
      maxLogit.push(new Array<number>(T).fill(-Infinity));
      const lab = new Int8Array(T);
      for (let t = 0; t < T; t++) lab[t] = labelCode(r.labels[t], i, tasks[t]!);
      firstLabels.push(lab);
    }
    const m = maxLogit[s]!;
    for (let t = 0; t < T; t++) {
      const x = r.logits[t] as number;
      if (Number.isNaN(x)) throw new RangeError(`row ${i} (${r.study}): logit for ${tasks[t]} is NaN`);
      if (x > m[t]!) m[t] = x;
    }
  });
  const S = maxLogit.length;
  const probs = tasks.map((_, t) => Float64Array.from({ length: S }, (_, s) => sigmoid(maxLogit[s]![t]!)));
  const labels = tasks.map((_, t) => Int8Array.from({ length: S }, (_, s) => firstLabels[s]![t]!));
  return { tasks: [...tasks], studies: [...index.keys()], probs, labels };
}

function labelCode(v: number | null | undefined, row: number, task: string): number {
  if (v === null || v === undefined) return 0; // blank = not mentioned = negative (fillna(0))
  if (v === 1 || v === 0 || v === -1) return v;
  throw new RangeError(`row ${row}: label ${v} for ${task} is not 1, 0, -1 or blank`);
}

/** One task's studies with a definite label: 0/1 labels, scores, and their study positions. */
export interface TaskView {
  labels: Uint8Array;
  scores: Float64Array;
  studyIndex: Uint32Array;
}

/** Drops the studies whose label for task t is -1 (evaluator.py: `gt != -1` per task). */
export function taskView(labels: ArrayLike<number>, scores: ArrayLike<number>): TaskView {
  const keep: number[] = [];
  for (let s = 0; s < labels.length; s++) if (labels[s] !== -1) keep.push(s);
  return {
    labels: Uint8Array.from(keep, (s) => labels[s] as number),
    scores: Float64Array.from(keep, (s) => scores[s] as number),
    studyIndex: Uint32Array.from(keep),
  };
}

function perTask(
  sp: StudyPredictions,
  metric: (y: Uint8Array, s: Float64Array) => number,
  defined: (pos: number, n: number) => boolean,
): number[] {
  return sp.tasks.map((_, t) => {
    const v = taskView(sp.labels[t]!, sp.probs[t]!);
    let pos = 0;
    for (const y of v.labels) pos += y;
    // evaluator.py's undefined_catcher turns a metric that raises into NaN (and a NaN then spreads into
    // any mean over tasks, as np.mean does).
    return defined(pos, v.labels.length) ? metric(v.labels, v.scores) : NaN;
  });
}

/** Per-task study-level AUROC, NaN where a task has one class only after dropping -1. */
export function studyAurocs(sp: StudyPredictions): number[] {
  return perTask(sp, auroc, (pos, n) => pos > 0 && pos < n);
}

/**
 * Per-task study-level average precision: NaN where a task has no positive (sklearn would warn and
 * give 0, which reads like a real score), 1 where every study is positive (as sklearn).
 */
export function studyAuprcs(sp: StudyPredictions): number[] {
  return perTask(sp, auprc, (pos) => pos > 0);
}
