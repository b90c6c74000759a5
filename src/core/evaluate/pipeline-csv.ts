// The original pipeline's result files, written from a StudyTable and read back into an
// EvaluationResult (issue 6: the app writes what test.py writes; issue 7: a cluster run's files come
// back). Layouts, from stanfordmlgroup/MoCo-CXR chexpert_supervised/chexpert-model:
// - predictions.csv / groundtruth.csv (logger/logger.py `log_predictions_groundtruth`): pandas
//   `to_csv(index=False)` of predict.py's DataFrames with `Path` inserted as the first column. One row
//   per study (test.py predicts at study level); `Path` is the study, `Path(p).parent` of the image
//   paths (data/custom_dataset.py: info_dict['paths'] = study_path), rows in the order the loader
//   yields them (studies sorted, `sort_values(COL_STUDY)`). Task columns in the model's task order;
//   probabilities are float32 (torch.sigmoid) and labels float32 (torch.FloatTensor), written as numpy
//   prints float32 ('0.7310586', '1.0', '-1.0'). With test.py's --config_path (EnsemblePredictor,
//   all_gt_tasks=True), predictions.csv holds only final.json's tasks while groundtruth.csv keeps every
//   task of the model: the reader takes the prediction columns and finds them in the ground truth.
// - scores.csv (logger.py `log_metrics(save_csv=True)`): columns `Tasks,Metrics,Values` (COL_TASK,
//   COL_METRIC, COL_VALUE in constants.py), per task in prediction column order the rows AUPRC, AUROC,
//   log_loss, accuracy@thresh=0.5, precision@thresh=0.5, recall@thresh=0.5 (eval/evaluator.py's dict
//   order); float64 values, NaN written empty.
// - scores.txt: one line per metric, `print(f'{metric}:\t{value}')` with metric = 'task:name', so
//   'Edema:AUROC:\t0.8125' (NaN prints 'nan').
// - confidence.csv (confidence_interval.py `ConfidenceGenerator`): columns `name,lower,mean,upper`, one
//   row per task, each value np.round(x, 3) (confidenceRow); confidence_multi.csv has the same layout.
// What is inferred rather than read: the number text (numpy's float32/float64 str, see
// python-format.ts; pandas itself is not installed here to check against) and the '\n' line ends.
import { confidenceRow } from '../metrics/index.ts';
import { parseCsv } from '../data/csv.ts';
import type { EvaluationResult, StudyTable, TaskScore } from '../finetune/results.ts';
import { scoreStudies } from '../finetune/score.ts';
import { PIPELINE_METRICS, pipelineTaskMetrics, type PipelineMetric } from './pipeline-metrics.ts';
import { pandasFloat, pyCsv, pyFloatRepr } from './python-format.ts';

export const PATH_COLUMN = 'Path';
export const SCORES_HEADER = ['Tasks', 'Metrics', 'Values'] as const;
export const CONFIDENCE_HEADER = ['name', 'lower', 'mean', 'upper'] as const;

export class PipelineCsvError extends Error {
  override name = 'PipelineCsvError';
}

function checkTable(t: StudyTable): void {
  const S = t.studies.length;
  if (t.probs.length !== t.tasks.length || t.labels.length !== t.tasks.length) throw new RangeError(`the table has ${t.tasks.length} tasks but ${t.probs.length} probability and ${t.labels.length} label columns`);
  t.tasks.forEach((task, i) => {
    if (t.probs[i]!.length !== S || t.labels[i]!.length !== S) throw new RangeError(`task ${task}: ${t.probs[i]!.length} probabilities and ${t.labels[i]!.length} labels for ${S} studies`);
  });
}

/** predictions.csv: Path, then one float32 probability column per task. */
export function predictionsCsv(t: StudyTable): string {
  checkTable(t);
  return pyCsv(
    [PATH_COLUMN, ...t.tasks],
    t.studies.map((s, j) => [s, ...t.tasks.map((_, i) => pyFloatRepr(t.probs[i]![j]!, 32))]),
  );
}

/** groundtruth.csv: Path, then one label column per task (1.0, 0.0, -1.0 as float32). */
export function groundtruthCsv(t: StudyTable): string {
  checkTable(t);
  return pyCsv(
    [PATH_COLUMN, ...t.tasks],
    t.studies.map((s, j) => [s, ...t.tasks.map((_, i) => pyFloatRepr(t.labels[i]![j]!, 32))]),
  );
}

export interface ScoreRow {
  task: string;
  metric: PipelineMetric;
  value: number;
}

/** evaluator.py's metrics per task, in scores.csv's row order. */
export function pipelineScoreRows(t: StudyTable): ScoreRow[] {
  checkTable(t);
  return t.tasks.flatMap((task, i) => {
    const m = pipelineTaskMetrics(t.labels[i]!, t.probs[i]!);
    return PIPELINE_METRICS.map((metric) => ({ task, metric, value: m[metric] }));
  });
}

export function scoresCsv(rows: readonly ScoreRow[]): string {
  return pyCsv(SCORES_HEADER, rows.map((r) => [r.task, r.metric, pandasFloat(r.value)]));
}

export function scoresTxt(rows: readonly ScoreRow[]): string {
  return rows.map((r) => `${r.task}:${r.metric}:\t${pyFloatRepr(r.value)}\n`).join('');
}

/** confidence.csv from scores with intervals (tasks without one are left out, as the original cannot
 *  compute them: its script stops on a one-class resample). */
export function confidenceCsv(scores: readonly TaskScore[]): string {
  const rows = scores.filter((s) => s.ci).map((s) => confidenceRow(s.task, s.ci!));
  return pyCsv(CONFIDENCE_HEADER, rows.map((r) => [r.name, pandasFloat(r.lower), pandasFloat(r.mean), pandasFloat(r.upper)]));
}

/** Every file test.py (and confidence_interval.py) would write for this table, by file name. */
export function pipelineFiles(t: StudyTable, scores: readonly TaskScore[]): Record<string, string> {
  const rows = pipelineScoreRows(t);
  const files: Record<string, string> = {
    'predictions.csv': predictionsCsv(t),
    'groundtruth.csv': groundtruthCsv(t),
    'scores.csv': scoresCsv(rows),
    'scores.txt': scoresTxt(rows),
  };
  if (scores.some((s) => s.ci)) files['confidence.csv'] = confidenceCsv(scores);
  return files;
}

// ---------------------------------------------------------------------------------------------
// reading

/** A Path-first CSV as columns: paths, task names, and values [task][row]. */
export interface PathTable {
  paths: string[];
  tasks: string[];
  values: number[][];
}

function parseTable(text: string, what: string): { header: string[]; rows: string[][] } {
  const { header, rows, errors } = parseCsv(text);
  if (errors.length) throw new PipelineCsvError(`${what}: line ${errors[0]!.line}: ${errors[0]!.message}`);
  if (header.length === 0) throw new PipelineCsvError(`${what} is empty`);
  return { header: header.map((h, i) => (i === 0 ? h.replace(/^\uFEFF/, '') : h)), rows: rows.map((r) => r.fields) };
}

/** predictions.csv or groundtruth.csv: `Path` first, then numeric task columns. */
export function parsePathTable(text: string, what: string): PathTable {
  const { header, rows } = parseTable(text, what);
  if (header[0] !== PATH_COLUMN) throw new PipelineCsvError(`${what}: the first column is '${header[0]}', not '${PATH_COLUMN}' (test.py writes Path first)`);
  const tasks = header.slice(1);
  if (tasks.length === 0) throw new PipelineCsvError(`${what} has no task columns after Path`);
  const dup = tasks.find((t, i) => tasks.indexOf(t) !== i);
  if (dup !== undefined) throw new PipelineCsvError(`${what}: column '${dup}' appears twice`);
  const values = tasks.map(() => [] as number[]);
  const paths: string[] = [];
  rows.forEach((r, j) => {
    paths.push(r[0]!);
    tasks.forEach((task, i) => {
      const cell = (r[i + 1] ?? '').trim();
      const v = cell === '' ? NaN : Number(cell);
      if (Number.isNaN(v) && !/^nan$/i.test(cell)) throw new PipelineCsvError(`${what}: row ${j + 2} (${r[0]}), column '${task}': '${cell}' is not a number`);
      values[i]!.push(v);
    });
  });
  return { paths, tasks, values };
}

/** scores.csv back into rows (unknown metric names are kept as they are). */
export function parseScoresCsv(text: string, what = 'scores.csv'): { task: string; metric: string; value: number }[] {
  const { header, rows } = parseTable(text, what);
  if (header.join(',') !== SCORES_HEADER.join(',')) throw new PipelineCsvError(`${what}: header is '${header.join(',')}', expected '${SCORES_HEADER.join(',')}'`);
  return rows.map((r) => ({ task: r[0]!, metric: r[1]!, value: r[2] === '' ? NaN : Number(r[2]) }));
}

export interface ConfidenceRecord {
  name: string;
  lower: number;
  mean: number;
  upper: number;
}

export function parseConfidenceCsv(text: string, what = 'confidence.csv'): ConfidenceRecord[] {
  const { header, rows } = parseTable(text, what);
  const col = (c: string) => {
    const i = header.indexOf(c);
    if (i < 0) throw new PipelineCsvError(`${what}: no '${c}' column (columns: ${header.join(', ')})`);
    return i;
  };
  const [n, l, m, u] = CONFIDENCE_HEADER.map(col) as [number, number, number, number];
  return rows.map((r, j) => {
    const num = (i: number) => {
      const v = Number(r[i]);
      if (r[i] === '' || Number.isNaN(v)) throw new PipelineCsvError(`${what}: row ${j + 2} (${r[n]}), column '${header[i]}': '${r[i]}' is not a number`);
      return v;
    };
    return { name: r[n]!, lower: num(l), mean: num(m), upper: num(u) };
  });
}

/** Study table from a cluster's predictions.csv and groundtruth.csv (rows matched by Path). */
export function studyTableFromCsv(predictions: string, groundtruth: string): StudyTable {
  const p = parsePathTable(predictions, 'predictions.csv');
  const g = parsePathTable(groundtruth, 'groundtruth.csv');
  const missingTasks = p.tasks.filter((t) => !g.tasks.includes(t));
  if (missingTasks.length) throw new PipelineCsvError(`groundtruth.csv has no column for ${missingTasks.join(', ')} (its columns: ${g.tasks.join(', ')})`);
  const gRow = new Map<string, number>();
  g.paths.forEach((path, j) => {
    if (gRow.has(path)) throw new PipelineCsvError(`groundtruth.csv: study '${path}' appears twice (rows ${gRow.get(path)! + 2} and ${j + 2})`);
    gRow.set(path, j);
  });
  const seen = new Set<string>();
  const rows = p.paths.map((path, j) => {
    if (seen.has(path)) throw new PipelineCsvError(`predictions.csv: study '${path}' appears twice (row ${j + 2})`);
    seen.add(path);
    const r = gRow.get(path);
    if (r === undefined) throw new PipelineCsvError(`predictions.csv row ${j + 2}: study '${path}' is not in groundtruth.csv`);
    return r;
  });
  if (p.paths.length !== g.paths.length) {
    const extra = g.paths.filter((x) => !seen.has(x));
    throw new PipelineCsvError(`groundtruth.csv has ${extra.length} studies that predictions.csv lacks (first: '${extra[0]}')`);
  }
  // The file holds float32 values (torch's sigmoid) in their shortest digits: rounding what is read to
  // float32 gives back exactly the values test.py held (ties and ranks included).
  const probs = p.tasks.map((task, i) =>
    p.values[i]!.map((v, j) => {
      if (!Number.isFinite(v) || v < 0 || v > 1) throw new PipelineCsvError(`predictions.csv: row ${j + 2} (${p.paths[j]}), '${task}': ${v} is not a probability`);
      return Math.fround(v);
    }),
  );
  const labels = p.tasks.map((task) => {
    const gi = g.tasks.indexOf(task);
    return rows.map((r) => {
      const v = g.values[gi]![r]!;
      if (v !== 1 && v !== 0 && v !== -1) throw new PipelineCsvError(`groundtruth.csv: row ${r + 2} (${g.paths[r]}), '${task}': ${Number.isNaN(v) ? 'blank' : v} is not 1, 0 or -1`);
      return v;
    });
  });
  return { tasks: [...p.tasks], studies: [...p.paths], probs, labels };
}

export interface ClusterFiles {
  predictions: string;
  groundtruth: string;
  /** confidence.csv or confidence_multi.csv; its intervals replace any computed here */
  confidence?: string;
  /** scores.csv of the same run: its AUROCs must equal what the predictions give */
  scores?: string;
}

export interface ClusterResultMeta {
  label: string;
  id?: string;
  split?: 'valid' | 'test';
  init?: string;
  ratio?: number;
  draw?: number;
  experimentId?: string;
  datasetId?: string;
  createdAt?: number;
  /** bootstrap replicates to compute here when no confidence file is given (0: none; default 0) */
  bootstrap?: number;
  seed?: number;
  /** replicates behind the given confidence file (the file does not say; 0 = unknown) */
  replicates?: number;
}

/**
 * A cluster run's files as an EvaluationResult (source 'cluster'): the study table from
 * predictions.csv + groundtruth.csv, AUROC/AUPRC computed here from it, and the 95 % intervals from
 * confidence.csv when given (rounded to 3 places there), else bootstrapped here if asked.
 */
export function clusterResult(files: ClusterFiles, meta: ClusterResultMeta): EvaluationResult {
  const table = studyTableFromCsv(files.predictions, files.groundtruth);
  const scores = scoreStudies(table, { bootstrap: files.confidence ? 0 : (meta.bootstrap ?? 0), seed: meta.seed ?? 0 });
  if (files.confidence) {
    const byName = new Map(parseConfidenceCsv(files.confidence).map((r) => [r.name, r]));
    const unknown = [...byName.keys()].filter((n) => !table.tasks.includes(n));
    if (unknown.length) throw new PipelineCsvError(`confidence.csv names ${unknown.join(', ')}, which predictions.csv does not have (its tasks: ${table.tasks.join(', ')})`);
    for (const s of scores) {
      const r = byName.get(s.task);
      if (r) s.ci = { lower: r.lower, mean: r.mean, upper: r.upper, replicates: meta.replicates ?? 0 };
    }
  }
  if (files.scores) {
    for (const row of parseScoresCsv(files.scores).filter((r) => r.metric === 'AUROC')) {
      const s = scores.find((x) => x.task === row.task);
      if (!s) throw new PipelineCsvError(`scores.csv scores ${row.task}, which predictions.csv does not have (its tasks: ${table.tasks.join(', ')})`);
      const ours = s.auroc ?? NaN;
      const same = (Number.isNaN(row.value) && Number.isNaN(ours)) || Math.abs(row.value - ours) <= 1e-6;
      if (!same) throw new PipelineCsvError(`scores.csv gives ${row.task} an AUROC of ${row.value}, but predictions.csv and groundtruth.csv give ${ours}: are they from the same run?`);
    }
  }
  const result: EvaluationResult = {
    id: meta.id ?? `cluster-${meta.label}`,
    label: meta.label,
    source: 'cluster',
    split: meta.split ?? 'test',
    predictions: table,
    scores,
    createdAt: meta.createdAt ?? Date.now(),
  };
  for (const k of ['init', 'ratio', 'draw', 'experimentId', 'datasetId'] as const) if (meta[k] !== undefined) (result as unknown as Record<string, unknown>)[k] = meta[k];
  return result;
}
