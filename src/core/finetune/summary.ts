// The paper's figure and table from an experiment's test results: per initialisation and label fraction,
// the AUROC of a task averaged over the fraction's draws, with the draw-averaged bootstrap interval
// (confidence_interval.py's "multi": every draw's AUROC on the same resample of the test studies, averaged),
// and the paired difference of two initialisations on the same resamples (confidence_interval_diff.py).
import { bootstrapAurocDiff } from '../metrics/bootstrap.ts';
import type { EvaluationResult, StudyTable } from './results.ts';
import { scoreStudies } from './score.ts';

export interface SummaryCell {
  init: string;
  ratio: number;
  draws: number;
  /** mean over draws of the point AUROC (null if a draw has none) */
  auroc: number | null;
  ci?: { lower: number; mean: number; upper: number; replicates: number };
}

export interface DiffCell {
  ratio: number;
  a: string;
  b: string;
  /** bootstrap mean and 95 % interval of mean_draws AUROC(a) - mean_draws AUROC(b) */
  lower: number;
  mean: number;
  upper: number;
}

/** One task's column of a study table, so draws of models with different heads compare on that task. */
function taskTable(t: StudyTable, task: string): StudyTable {
  const i = t.tasks.indexOf(task);
  if (i < 0) throw new RangeError(`the predictions have no task ${task} (they have ${t.tasks.join(', ')})`);
  return { tasks: [task], studies: t.studies, probs: [t.probs[i]!], labels: [t.labels[i]!] };
}

/** Draw tables on the same studies in the same order: the first draw's study order rules. */
function aligned(tables: StudyTable[]): StudyTable[] {
  const first = tables[0]!;
  const index = new Map(first.studies.map((s, i) => [s, i]));
  return tables.map((t, k) => {
    if (t.studies.length !== first.studies.length) throw new RangeError(`draw ${k} was scored on ${t.studies.length} studies, draw 0 on ${first.studies.length}`);
    const order = t.studies.map((s) => {
      const i = index.get(s);
      if (i === undefined) throw new RangeError(`draw ${k} has a study (${s}) that draw 0 does not`);
      return i;
    });
    const probs = t.probs.map((p) => {
      const out = new Array<number>(p.length);
      order.forEach((i, j) => (out[i] = p[j]!));
      return out;
    });
    return { ...t, studies: first.studies, probs, labels: first.labels };
  });
}

function group(results: readonly EvaluationResult[]): Map<string, Map<number, EvaluationResult[]>> {
  const by = new Map<string, Map<number, EvaluationResult[]>>();
  for (const r of results) {
    if (r.init === undefined || r.ratio === undefined) continue;
    let m = by.get(r.init);
    if (!m) by.set(r.init, (m = new Map()));
    let l = m.get(r.ratio);
    if (!l) m.set(r.ratio, (l = []));
    l.push(r);
  }
  return by;
}

export function summarize(results: readonly EvaluationResult[], task: string, opts: { bootstrap?: number; seed?: number } = {}): SummaryCell[] {
  const cells: SummaryCell[] = [];
  for (const [init, byRatio] of group(results)) {
    for (const [ratio, rs] of [...byRatio].sort((a, b) => a[0] - b[0])) {
      const tables = aligned(rs.sort((a, b) => (a.draw ?? 0) - (b.draw ?? 0)).map((r) => taskTable(r.predictions, task)));
      const points = tables.map((t) => scoreStudies(t, { bootstrap: 0 })[0]!.auroc);
      const auroc = points.some((p) => p === null) ? null : points.reduce<number>((s, p) => s + (p as number), 0) / points.length;
      const cell: SummaryCell = { init, ratio, draws: tables.length, auroc };
      if ((opts.bootstrap ?? 1000) > 0 && auroc !== null) {
        const ci = scoreStudies(tables[0]!, { bootstrap: opts.bootstrap ?? 1000, seed: opts.seed ?? 0 }, tables)[0]!.ci;
        if (ci) cell.ci = ci;
      }
      cells.push(cell);
    }
  }
  return cells;
}

/** Paired bootstrap of init a minus init b at every fraction both have. */
export function pairedDifferences(results: readonly EvaluationResult[], task: string, a: string, b: string, opts: { bootstrap?: number; seed?: number } = {}): DiffCell[] {
  const by = group(results);
  const ra = by.get(a);
  const rb = by.get(b);
  if (!ra || !rb) return [];
  const out: DiffCell[] = [];
  for (const ratio of [...ra.keys()].filter((r) => rb.has(r)).sort((x, y) => x - y)) {
    const ta = ra.get(ratio)!.map((r) => taskTable(r.predictions, task));
    const tb = rb.get(ratio)!.map((r) => taskTable(r.predictions, task));
    const all = aligned([...ta, ...tb]);
    const labels = all[0]!.labels;
    const res = bootstrapAurocDiff(
      labels,
      all.slice(0, ta.length).map((t) => t.probs),
      all.slice(ta.length).map((t) => t.probs),
      { replicates: opts.bootstrap ?? 1000, seed: opts.seed ?? 0 },
    );
    const iv = res.tasks[0]!;
    out.push({ ratio, a, b, lower: iv.lower, mean: iv.mean, upper: iv.upper });
  }
  return out;
}
