// The original's result files: scores.csv numbers against scikit-learn 1.2 as eval/evaluator.py calls
// it, number text against numpy/CPython (scripts/fixtures/sklearn_scores.py), and write -> read round
// trips (a cluster run's files come back as the same table and scores).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';
import type { StudyTable } from '../finetune/results.ts';
import { scoreStudies } from '../finetune/score.ts';
import { confidenceRow } from '../metrics/index.ts';
import {
  clusterResult,
  confidenceCsv,
  groundtruthCsv,
  parseConfidenceCsv,
  parseScoresCsv,
  pipelineFiles,
  pipelineScoreRows,
  predictionsCsv,
  scoresCsv,
  scoresTxt,
  studyTableFromCsv,
} from './pipeline-csv.ts';
import { PIPELINE_METRICS, pipelineTaskMetrics } from './pipeline-metrics.ts';
import { pyFloatRepr } from './python-format.ts';

interface Case {
  name: string;
  labels: number[];
  probs: number[];
  expected: Record<string, number | null | '-0.0'>;
}
const fx = JSON.parse(readFileSync(join(ensureFixtures('sklearn_scores'), 'scores.json'), 'utf8')) as {
  tasks: Case[];
  formats: { float64: number[]; float64_str: string[]; float64_pystr: string[]; float32: number[]; float32_str: string[] };
};

function expectMetric(got: number, want: number | null | '-0.0', what: string): void {
  if (want === null) expect(got, what).toBeNaN();
  else if (want === '-0.0') expect(Object.is(got, -0), what).toBe(true);
  else if (want === 0 || Number.isInteger(want)) expect(got, what).toBe(want);
  else expect(Math.abs(got - want) / Math.abs(want), `${what}: ${got} vs sklearn ${want}`).toBeLessThan(1e-13);
}

describe('number text as pandas writes it', () => {
  test("float64 as Python's repr / numpy's astype(str), float32 as numpy's float32 str", () => {
    fx.formats.float64.forEach((v, i) => {
      expect(pyFloatRepr(v, 64)).toBe(fx.formats.float64_str[i]);
      expect(pyFloatRepr(v, 64)).toBe(fx.formats.float64_pystr[i]);
    });
    fx.formats.float32.forEach((v, i) => expect(pyFloatRepr(v, 32), `${v}`).toBe(fx.formats.float32_str[i]));
    expect(pyFloatRepr(NaN)).toBe('nan');
  });
});

describe("scores.csv: evaluator.py's metrics equal scikit-learn's", () => {
  test.each(fx.tasks.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const m = pipelineTaskMetrics(c.labels, c.probs);
    for (const metric of PIPELINE_METRICS) expectMetric(m[metric], c.expected[metric]!, `${c.name} ${metric}`);
    // and through the file: one task, six rows, values back as written (NaN empty)
    const table: StudyTable = { tasks: [c.name], studies: c.labels.map((_, j) => `s${j}`), probs: [c.probs], labels: [c.labels] };
    const rows = parseScoresCsv(scoresCsv(pipelineScoreRows(table)));
    expect(rows.map((r) => r.metric)).toEqual([...PIPELINE_METRICS]);
    rows.forEach((r) => expectMetric(r.value, c.expected[r.metric]!, `${c.name} ${r.metric} (read back)`));
  });

  test('layout: Tasks,Metrics,Values, tasks in prediction column order; scores.txt as logger.py prints', () => {
    const table: StudyTable = { tasks: ['Edema', 'Pleural Effusion'], studies: ['a', 'b', 'c'], probs: [[0.25, 0.75, 0.5], [0.5, 0.5, 0.5]], labels: [[0, 1, 1], [0, 0, 0]] };
    const rows = pipelineScoreRows(table);
    const csv = scoresCsv(rows).split('\n');
    expect(csv[0]).toBe('Tasks,Metrics,Values');
    expect(csv.slice(1, 8)).toEqual([
      'Edema,AUPRC,1.0',
      'Edema,AUROC,1.0',
      `Edema,log_loss,${pyFloatRepr((-Math.log(0.75) - Math.log(0.75) - Math.log(0.5)) / 3)}`,
      `Edema,accuracy@thresh=0.5,${pyFloatRepr(2 / 3)}`,
      'Edema,precision@thresh=0.5,1.0',
      'Edema,recall@thresh=0.5,0.5',
      'Pleural Effusion,AUPRC,-0.0',
    ]);
    expect(csv[8]).toBe('Pleural Effusion,AUROC,');
    expect(scoresTxt(rows).split('\n').slice(0, 2)).toEqual(['Edema:AUPRC:\t1.0', 'Edema:AUROC:\t1.0']);
    expect(scoresTxt(rows)).toContain('Pleural Effusion:AUROC:\tnan\n');
  });
});

describe('predictions.csv / groundtruth.csv / confidence.csv round trip', () => {
  const f32 = (x: number) => Math.fround(x);
  const S = 40;
  let seed = 9;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const table: StudyTable = {
    tasks: ['Atelectasis', 'Lung, other "quoted"', 'Tuberculosis'],
    studies: Array.from({ length: S }, (_, j) => `CheXpert-v1.0/test/patient${String(64000 + j).padStart(5, '0')}/study1`),
    probs: [0, 1, 2].map(() => Array.from({ length: S }, () => f32(rnd()))),
    labels: [0, 1, 2].map((t) => Array.from({ length: S }, (_, j) => (t === 2 && j % 7 === 0 ? -1 : rnd() < 0.4 ? 1 : 0))),
  };
  table.probs[0]![3] = f32(1e-5); // scientific notation in the file
  table.probs[1]![4] = table.probs[1]![5]!; // a tie

  test('Path first, float32 text; read back: the same table, scores and intervals', () => {
    const scores = scoreStudies(table, { bootstrap: 200, seed: 4 });
    const files = pipelineFiles(table, scores);
    expect(Object.keys(files).sort()).toEqual(['confidence.csv', 'groundtruth.csv', 'predictions.csv', 'scores.csv', 'scores.txt']);
    const pred = files['predictions.csv']!.split('\n');
    expect(pred[0]).toBe('Path,Atelectasis,"Lung, other ""quoted""",Tuberculosis');
    expect(pred[1]).toBe(`${table.studies[0]},${pyFloatRepr(table.probs[0]![0]!, 32)},${pyFloatRepr(table.probs[1]![0]!, 32)},${pyFloatRepr(table.probs[2]![0]!, 32)}`);
    expect(pred[4]!.split(',')[1]).toBe('1e-05');
    expect(files['groundtruth.csv']!.split('\n')[1]).toBe(`${table.studies[0]},${table.labels.map((l) => `${l[0]}.0`).join(',')}`);
    expect(files['groundtruth.csv']).toContain(',-1.0\n');

    const r = clusterResult({ predictions: files['predictions.csv']!, groundtruth: files['groundtruth.csv']!, confidence: files['confidence.csv']! }, { label: 'r8w lin', replicates: 200, createdAt: 1 });
    expect(r.source).toBe('cluster');
    expect(r.split).toBe('test');
    expect(r.predictions).toEqual(table);
    r.scores.forEach((s, t) => {
      expect(s.auroc).toBe(scores[t]!.auroc);
      expect(s.auprc).toBe(scores[t]!.auprc);
      expect(s.studies).toBe(scores[t]!.studies);
      const row = confidenceRow(s.task, scores[t]!.ci!);
      expect(s.ci).toEqual({ lower: row.lower, mean: row.mean, upper: row.upper, replicates: 200 });
    });
    expect(parseConfidenceCsv(confidenceCsv(scores)).map((c) => c.name)).toEqual(table.tasks);

    // scores.csv of the same run agrees; one from another run is refused, naming the task
    const both = { predictions: files['predictions.csv']!, groundtruth: files['groundtruth.csv']! };
    expect(clusterResult({ ...both, scores: files['scores.csv']! }, { label: 'x' }).scores.map((s) => s.auroc)).toEqual(scores.map((s) => s.auroc));
    const task = scores.find((s) => s.auroc !== null)!;
    const tampered = files['scores.csv']!.split('\n').map((line) => (line.startsWith(`${task.task.includes(',') ? `"${task.task}"` : task.task},AUROC,`) ? `${line.split(',AUROC,')[0]},AUROC,0.123` : line)).join('\n');
    expect(tampered).not.toBe(files['scores.csv']);
    expect(() => clusterResult({ ...both, scores: tampered }, { label: 'x' })).toThrow(new RegExp(`scores\\.csv gives ${task.task} an AUROC of 0\\.123`));
  });

  test("the ensemble's files: ground truth with more tasks and rows in another order", () => {
    const preds = predictionsCsv({ ...table, tasks: table.tasks.slice(0, 2), probs: table.probs.slice(0, 2), labels: table.labels.slice(0, 2) });
    const order = table.studies.map((_, j) => S - 1 - j);
    const extra = { tasks: [...table.tasks, 'Edema'], studies: order.map((j) => table.studies[j]!), probs: [], labels: [...table.labels, table.labels[0]!].map((l) => order.map((j) => l[j]!)) };
    const gt = groundtruthCsv({ ...extra, probs: extra.tasks.map(() => order.map(() => 0)) });
    const back = studyTableFromCsv(preds, gt);
    expect(back.tasks).toEqual(table.tasks.slice(0, 2));
    expect(back.labels).toEqual(table.labels.slice(0, 2));
    expect(back.probs).toEqual(table.probs.slice(0, 2));
  });

  test('refusals name the file, row and column', () => {
    const preds = predictionsCsv(table);
    const gt = groundtruthCsv(table);
    expect(() => studyTableFromCsv(preds, groundtruthCsv({ ...table, tasks: ['Atelectasis', 'X', 'Tuberculosis'] }))).toThrow(/groundtruth\.csv has no column for Lung, other "quoted"/);
    expect(() => studyTableFromCsv(preds.replace('patient64003', 'patient99999'), gt)).toThrow(/predictions\.csv row 5: study '.*patient99999\/study1' is not in groundtruth\.csv/);
    expect(() => studyTableFromCsv(preds, gt.replace(/,-1\.0\n/, ',2.0\n'))).toThrow(/groundtruth\.csv: row \d+ \(.*\), 'Tuberculosis': 2 is not 1, 0 or -1/);
    expect(() => studyTableFromCsv(preds.replace(/^Path,/, 'Study,'), gt)).toThrow(/predictions\.csv: the first column is 'Study', not 'Path'/);
    expect(() => studyTableFromCsv(preds.replace(/,(0\.\d+)\n/, ',abc\n'), gt)).toThrow(/predictions\.csv: row 2 \(.*\), column 'Tuberculosis': 'abc' is not a number/);
    expect(() => clusterResult({ predictions: preds, groundtruth: gt, confidence: 'name,lower,mean,upper\nEdema,0.1,0.2,0.3\n' }, { label: 'x' })).toThrow(/confidence\.csv names Edema, which predictions\.csv does not have/);
  });
});
