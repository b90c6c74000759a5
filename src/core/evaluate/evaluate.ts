// Offline evaluation as test.py runs one checkpoint (predict/predict.py + eval/evaluator.py): images
// in eval mode (batch norm on running statistics), batched forward, per study the max logit over its
// images then sigmoid, labels from the study's first image, uncertain (-1) left out per task; then
// AUROC, AUPRC and the bootstrap interval (finetune/score.ts).
// Order: the pipeline's loader sorts rows by study (`df.sort_values(COL_STUDY)` on pathlib paths,
// i.e. by path components); studies are taken in that order here too (stable within a study), so the
// tables, the CSV rows and the bootstrap resamples line up with the original's.
// Probabilities are kept as float32 values (sigmoid of the max logit, rounded), as test.py holds them
// and writes them: scores computed here equal those computed again from the written CSV.
import * as tf from '@tensorflow/tfjs';
import type { ImageMeta } from '../data/types.ts';
import type { EvaluationResult, StudyTable, TaskScore } from '../finetune/results.ts';
import { scoreStudies, toStudyTable } from '../finetune/score.ts';
import { evaluationLabels, labelColumnOf } from '../finetune/tasks.ts';
import { aggregateStudies, type ImagePrediction } from '../metrics/index.ts';
import type { Classifier } from './classifier.ts';
import { evalBatchTensor, IMAGENET_NORMALISATION, type EvalImage, type Normalisation } from './preprocess.ts';

export class EvaluationError extends Error {
  override name = 'EvaluationError';
}

/** One image to evaluate: its study, its labels for the evaluated tasks, and how to get its pixels. */
export interface EvalSample {
  study: string;
  /** one per evaluated task: 1, 0, -1 (uncertain) or null (blank, counts as 0) */
  labels: readonly (number | null)[];
  /** for messages (a file path, a dataset key) */
  name?: string;
  load(): Promise<EvalImage> | EvalImage;
}

export interface EvaluateOptions {
  /** the outputs to score, a subset of classifier.tasks in any order (default: all of them) */
  tasks?: readonly string[];
  /** images per forward pass (default 16, the pipeline's batch size) */
  batch?: number;
  /** bootstrap replicates of the AUROC interval (default 1000; 0 leaves it out) */
  bootstrap?: number;
  seed?: number;
  normalisation?: Normalisation;
  signal?: AbortSignal;
  onProgress?(done: number, total: number): void;
}

export interface Evaluation {
  tasks: string[];
  /** per sample, in the order given: the logits of `tasks` (float32, as the model computed them) */
  imageLogits: Float32Array[];
  table: StudyTable;
  scores: TaskScore[];
  images: number;
  seconds: number;
}

/** pathlib's ordering of study paths: component by component (so 'a/b' sorts before 'a-b'). */
export function compareStudyPaths(a: string, b: string): number {
  const pa = pathParts(a);
  const pb = pathParts(b);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  }
  return pa.length - pb.length;
}

function pathParts(p: string): string[] {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  return p.startsWith('/') ? ['/', ...parts] : parts;
}

/** Indices of the outputs to score, by name; names what is not an output. */
export function taskIndices(classifier: Pick<Classifier, 'tasks'>, tasks: readonly string[] | undefined): number[] {
  if (!tasks) return classifier.tasks.map((_, i) => i);
  if (tasks.length === 0) throw new EvaluationError('no tasks to evaluate');
  const missing = tasks.filter((t) => !classifier.tasks.includes(t));
  if (missing.length) throw new EvaluationError(`the model has no output ${missing.map((t) => `'${t}'`).join(', ')} (its outputs: ${classifier.tasks.join(', ')})`);
  if (new Set(tasks).size !== tasks.length) throw new EvaluationError(`a task is listed twice (${tasks.join(', ')})`);
  return tasks.map((t) => classifier.tasks.indexOf(t));
}

/** Runs the classifier over the samples and scores the studies. */
export async function evaluateClassifier(classifier: Classifier, samples: readonly EvalSample[], opts: EvaluateOptions = {}): Promise<Evaluation> {
  const t0 = performance.now();
  const idx = taskIndices(classifier, opts.tasks);
  const tasks = idx.map((i) => classifier.tasks[i]!);
  if (samples.length === 0) throw new EvaluationError('no images to evaluate');
  samples.forEach((s, n) => {
    if (s.labels.length !== tasks.length) throw new EvaluationError(`image ${s.name ?? n} has ${s.labels.length} labels for ${tasks.length} tasks`);
  });
  const batch = opts.batch ?? 16;
  if (!Number.isInteger(batch) || batch < 1) throw new EvaluationError(`batch must be a positive whole number, got ${batch}`);
  const norm = opts.normalisation ?? IMAGENET_NORMALISATION;
  const T = classifier.tasks.length;
  const imageLogits: Float32Array[] = new Array(samples.length);
  for (let start = 0; start < samples.length; start += batch) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new DOMException('evaluation cancelled', 'AbortError');
    const part = samples.slice(start, start + batch);
    const images = await Promise.all(
      part.map(async (s, k) => {
        try {
          return await s.load();
        } catch (e) {
          throw new EvaluationError(`${s.name ?? `image ${start + k}`}: ${(e as Error).message}`);
        }
      }),
    );
    const logits = tf.tidy(() => {
      const x = evalBatchTensor(images, norm);
      return classifier.model.forward(x, { train: false });
    });
    const data = (await logits.data()) as Float32Array;
    logits.dispose();
    part.forEach((_, k) => {
      imageLogits[start + k] = Float32Array.from(idx, (i) => data[k * T + i]!);
    });
    opts.onProgress?.(Math.min(start + batch, samples.length), samples.length);
  }
  const order = samples.map((_, i) => i).sort((a, b) => compareStudyPaths(samples[a]!.study, samples[b]!.study) || a - b);
  const rows: ImagePrediction[] = order.map((i) => ({ study: samples[i]!.study, logits: imageLogits[i]!, labels: samples[i]!.labels }));
  const table = toStudyTable(aggregateStudies(rows, tasks));
  table.probs = table.probs.map((p) => p.map((v) => Math.fround(v)));
  const scores = scoreStudies(table, { bootstrap: opts.bootstrap ?? 1000, seed: opts.seed ?? 0 });
  return { tasks, imageLogits, table, scores, images: samples.length, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Samples from a dataset's images: each image's study and its labels for `tasks` (a task reads its
 * dataset column, `Airspace Opacity` from `Lung Opacity`), pixels from `load`. Names the tasks the
 * dataset has no column for.
 */
export function samplesFromImages(
  images: readonly ImageMeta[],
  tasks: readonly string[],
  labelColumns: readonly string[],
  load: (img: ImageMeta) => Promise<EvalImage> | EvalImage,
): EvalSample[] {
  const missing = tasks.filter((t) => !labelColumns.includes(labelColumnOf(t, labelColumns)));
  if (missing.length) {
    throw new EvaluationError(`the dataset has no label column for ${missing.map((t) => `'${t}'`).join(', ')} (its columns: ${labelColumns.join(', ') || 'none'})`);
  }
  return images.map((img) => ({ study: img.study, labels: evaluationLabels(img, tasks, labelColumns), name: img.file, load: () => load(img) }));
}

export interface OfflineResultMeta {
  label: string;
  split: 'valid' | 'test';
  id?: string;
  datasetId?: string;
  experimentId?: string;
  init?: string;
  createdAt?: number;
}

/** An evaluation as the app stores and shows results (source 'offline'). */
export function offlineResult(e: Evaluation, meta: OfflineResultMeta): EvaluationResult {
  const r: EvaluationResult = {
    id: meta.id ?? `offline-${meta.label}-${meta.createdAt ?? Date.now()}`,
    label: meta.label,
    source: 'offline',
    split: meta.split,
    predictions: e.table,
    scores: e.scores,
    createdAt: meta.createdAt ?? Date.now(),
  };
  if (meta.datasetId !== undefined) r.datasetId = meta.datasetId;
  if (meta.experimentId !== undefined) r.experimentId = meta.experimentId;
  if (meta.init !== undefined) r.init = meta.init;
  return r;
}
