// Study predictions -> per-task scores with bootstrap intervals: the one place that turns predictions
// into what tables and figures show, for browser runs, offline evaluations and cluster results alike.
import { bootstrapAuroc, studyAuprcs, studyAurocs, type StudyPredictions } from '../metrics/index.ts';
import type { StudyTable, TaskScore } from './results.ts';

export function toStudyTable(sp: StudyPredictions): StudyTable {
  return { tasks: [...sp.tasks], studies: [...sp.studies], probs: sp.probs.map((p) => Array.from(p)), labels: sp.labels.map((l) => Array.from(l)) };
}

export function fromStudyTable(t: StudyTable): StudyPredictions {
  return { tasks: [...t.tasks], studies: [...t.studies], probs: t.probs.map((p) => Float64Array.from(p)), labels: t.labels.map((l) => Int8Array.from(l)) };
}

const orNull = (x: number) => (Number.isNaN(x) ? null : x);

export interface ScoreOptions {
  /** bootstrap replicates; 0 leaves the intervals out */
  bootstrap?: number;
  seed?: number;
}

/**
 * AUROC and AUPRC per task (uncertain studies dropped per task) and, with `bootstrap` > 0, the 95 %
 * interval of the AUROC over resampled studies. `draws` (the same studies and tasks) gives the
 * draw-averaged ("multi") interval; the first table's point estimates are reported either way.
 */
export function scoreStudies(table: StudyTable, opts: ScoreOptions = {}, draws: readonly StudyTable[] = [table]): TaskScore[] {
  const sp = fromStudyTable(table);
  const aurocs = studyAurocs(sp);
  const auprcs = studyAuprcs(sp);
  const R = opts.bootstrap ?? 1000;
  for (const d of draws) {
    if (d.studies.length !== table.studies.length || d.tasks.join('\n') !== table.tasks.join('\n')) {
      throw new RangeError('draws must share the same tasks and studies to be averaged');
    }
  }
  // Tasks with one class have no AUROC and no interval; bootstrap the rest.
  const defined = table.tasks.map((_, t) => !Number.isNaN(aurocs[t]!));
  const idx = table.tasks.map((_, t) => t).filter((t) => defined[t]);
  const boot =
    R > 0 && idx.length > 0
      ? bootstrapAuroc(
          idx.map((t) => sp.labels[t]!),
          draws.map((d) => idx.map((t) => d.probs[t]!)),
          { replicates: R, seed: opts.seed ?? 0 },
        )
      : null;
  return table.tasks.map((task, t) => {
    const labels = sp.labels[t]!;
    let studies = 0;
    let positives = 0;
    for (const y of labels) {
      if (y !== -1) studies++;
      if (y === 1) positives++;
    }
    const score: TaskScore = { task, auroc: orNull(aurocs[t]!), auprc: orNull(auprcs[t]!), studies, positives };
    const b = boot ? idx.indexOf(t) : -1;
    if (boot && b >= 0) {
      const iv = boot.tasks[b]!;
      score.ci = { lower: iv.lower, mean: iv.mean, upper: iv.upper, replicates: iv.replicates };
    }
    return score;
  });
}

/** Mean AUROC over `tasks` (NaN spreads, as np.mean in evaluate_average_metric). */
export function meanAuroc(scores: readonly TaskScore[], tasks: readonly string[]): number {
  let sum = 0;
  for (const t of tasks) {
    const s = scores.find((x) => x.task === t);
    if (!s) throw new RangeError(`no score for task ${t}`);
    sum += s.auroc ?? NaN;
  }
  return sum / tasks.length;
}
