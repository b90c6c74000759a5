// Predictions of a classifier on a split, as chexpert-model's predict/predict.py and test.py make them:
// eval mode (BN with running statistics), CenterCrop views, per study the max logit over its images, then
// sigmoid (metrics/study.ts aggregateStudies); an ensemble is the mean of its members' study probabilities
// (test.py's EnsemblePredictor with final.json's aggregation_method "mean": np.mean over checkpoints).
//
// API (small on purpose; src/core/evaluate uses it too):
//   predictLogits(model, split, opts)          -> Float32Array [images x outputs], split.images order
//   predictStudies(model, split, tasks, opts)  -> StudyTable (study probabilities and labels)
//   ensembleStudies(tables)                    -> StudyTable, the members' mean probability
// `split` is a LabelledSplit: its images' keys, studies and labels, and a loader of their pixels at
// training size (shorter side = opts.scale, Pillow-exact Resize: augment/training-size.ts).
// Images go through the model `batch` at a time; each batch's tensors are freed before the next, and the
// next batch's pixels load while the current one runs.
import * as tf from '@tensorflow/tfjs';
import type { ImageMeta } from '../data/types.ts';
import type { GreyImage } from '../image/types.ts';
import { aggregateStudies } from '../metrics/index.ts';
import type { TorchModel } from '../models/index.ts';
import { checkTrainingSize, evalBatch, normalisationOf } from './preprocess.ts';
import type { StudyTable } from './results.ts';
import { toStudyTable } from './score.ts';
import type { FinetuneSettings } from './settings.ts';
import { evaluationLabels } from './tasks.ts';

/** One image of a split: its key, study and label cells (as imported: 1, 0, -1, null). */
export type LabelledImage = Pick<ImageMeta, 'key' | 'study' | 'labels'>;

/** A split's images in a fixed order, and their pixels on demand. */
export interface LabelledSplit {
  readonly images: readonly LabelledImage[];
  /** the dataset's label columns (CheXpert's `Lung Opacity` feeds the task `Airspace Opacity`) */
  readonly labelColumns: readonly string[];
  /** the images' pixels at training size (shorter side = scale), in the order asked */
  load(keys: readonly string[]): Promise<GreyImage[]>;
}

export interface PredictOptions {
  /** Resize(scale) the images arrive at, and CenterCrop(crop) */
  scale: number;
  crop: number;
  normalization: FinetuneSettings['normalization'];
  /** images per forward pass (default 16) */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Logits [images x outputs] in eval mode, row i for split.images[i]. */
export async function predictLogits(model: TorchModel, split: LabelledSplit, opts: PredictOptions): Promise<Float32Array> {
  const B = opts.batch ?? 16;
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`prediction batch must be a positive integer, got ${B}`);
  const norm = normalisationOf(opts.normalization);
  const keys = split.images.map((i) => i.key);
  const N = keys.length;
  const T = model.numClasses;
  const out = new Float32Array(N * T);
  const batchKeys = (b: number) => keys.slice(b * B, Math.min(N, (b + 1) * B));
  const batches = Math.ceil(N / B);
  let next: Promise<GreyImage[]> | null = batches > 0 ? split.load(batchKeys(0)) : null;
  try {
    for (let b = 0; b < batches; b++) {
      opts.signal?.throwIfAborted();
      const bk = batchKeys(b);
      const images = await (next as Promise<GreyImage[]>);
      next = b + 1 < batches ? split.load(batchKeys(b + 1)) : null;
      if (images.length !== bk.length) throw new RangeError(`the split loaded ${images.length} images for ${bk.length} keys`);
      images.forEach((img, i) => checkTrainingSize(img, opts.scale, bk[i]!));
      const logits = tf.tidy(() => {
        const x = evalBatch(images, opts.crop, norm);
        return model.forward(x, { train: false });
      });
      try {
        out.set((await logits.data()) as Float32Array, b * B * T);
      } finally {
        logits.dispose();
      }
      opts.onProgress?.(b * B + bk.length, N);
    }
  } finally {
    // a batch still loading when an error or abort ends the loop: settle it, so nothing is left unhandled
    await next?.catch(() => undefined);
  }
  return out;
}

/** Study-level table: per study and task, sigmoid of the max logit over the study's images. */
export function studiesFromLogits(logits: Float32Array, split: Pick<LabelledSplit, 'images' | 'labelColumns'>, tasks: readonly string[]): StudyTable {
  const T = tasks.length;
  if (logits.length !== split.images.length * T) throw new RangeError(`${logits.length} logits for ${split.images.length} images x ${T} tasks`);
  const rows = split.images.map((img, i) => ({ study: img.study, logits: logits.subarray(i * T, (i + 1) * T), labels: evaluationLabels(img, tasks, split.labelColumns) }));
  return toStudyTable(aggregateStudies(rows, tasks));
}

/** The classifier's study table on a split; `tasks` name its outputs, in order. */
export async function predictStudies(model: TorchModel, split: LabelledSplit, tasks: readonly string[], opts: PredictOptions): Promise<StudyTable> {
  if (tasks.length !== model.numClasses) throw new RangeError(`${tasks.length} tasks for a classifier with ${model.numClasses} outputs`);
  return studiesFromLogits(await predictLogits(model, split, opts), split, tasks);
}

/** The mean probability of several members' tables (same tasks and studies, in the same order). */
export function ensembleStudies(tables: readonly StudyTable[]): StudyTable {
  const first = tables[0];
  if (!first) throw new RangeError('an ensemble needs at least one member');
  for (const [i, t] of tables.entries()) {
    if (t.tasks.join('\n') !== first.tasks.join('\n') || t.studies.join('\n') !== first.studies.join('\n')) {
      throw new RangeError(`ensemble member ${i} has other tasks or studies than member 0`);
    }
  }
  const probs = first.tasks.map((_, t) =>
    first.studies.map((_, s) => {
      let sum = 0;
      for (const m of tables) sum += m.probs[t]![s]!;
      return sum / tables.length;
    }),
  );
  return { tasks: [...first.tasks], studies: [...first.studies], probs, labels: first.labels.map((l) => [...l]) };
}
