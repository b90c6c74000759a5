// IndexedDB schema. Metadata, pixels and thumbnails live in separate stores so that browsing a
// dataset reads kilobytes, not the 100 KB of pixels each image holds.
import type { DBSchema } from 'idb';
import type { DatasetKind, ImageMeta, LabelState, Split } from '../data/types.ts';

export const DB_NAME = 'moco-cxr';
/** 1: datasets, images, pixels, thumbs, problems. 2: + checkpoints, checkpointBytes. 3: + runs.
 *  4: + experiments, results. */
export const DB_VERSION = 4;

export type DatasetStatus = 'importing' | 'complete' | 'cancelled' | 'failed';

export type LabelCounts = Record<LabelState, number>;

export interface DatasetRecord {
  id: string;
  name: string;
  kind: DatasetKind;
  /** What the user picked (folder name), used to recognise a re-import of the same folder. */
  source: string;
  /** True for generated data (the demo phantoms). */
  synthetic: boolean;
  labelColumns: string[];
  /** Stored images have this shorter side (aspect kept), as MoCo-CXR's `Resize(side)`. */
  imageSide: number;
  thumbSide: number;
  status: DatasetStatus;
  /** Images the last plan listed, stored or not. */
  planned: number;
  counts: Record<Split, number>;
  /** Per label column, per state; filled when an import ends. */
  labelStats: Record<string, LabelCounts>;
  /** Bytes of pixels and thumbnails stored. */
  bytes: number;
  createdAt: number;
  updatedAt: number;
  /** Last import's problem count (the problems themselves are in their own store). */
  problemCount: number;
  /** Last error that stopped an import, if any. */
  lastError?: string;
}

export interface StoredImage extends ImageMeta {
  dataset: string;
  width: number;
  height: number;
  /** Size of the file as decoded, before resizing. */
  originalWidth: number;
  originalHeight: number;
}

export interface StoredPixels {
  dataset: string;
  key: string;
  width: number;
  height: number;
  /** Grey uint8, row-major, width * height bytes. */
  data: Uint8Array;
}

export interface StoredProblem {
  id?: number;
  dataset: string;
  where: string;
  reason: string;
}

/** A model kept in the browser (Checkpoints page). Its weights are in `checkpointBytes` under the
 *  same id, in the app's own format, so that it can be written out in every export format. */
export interface CheckpointRecord {
  id: string;
  name: string;
  createdAt: number;
  /** the file it was imported from */
  sourceFile: string;
  /** bytes of the source file */
  size: number;
  /** bytes stored (the app-format file) */
  storedSize: number;
  /** the layout it was read as: moco, torchvision, pipeline, app */
  layout: string;
  arch: string;
  epoch: number | null;
  /** 'none', 'linear (14 outputs)', 'mlp (128 dim)' */
  head: string;
  tasks?: string[];
  /** one line on what was detected: "moco (resnet18, dim 128, K 256, ...)" */
  summary: string;
  /** tensors in the source file */
  tensorCount: number;
  /** learnable parameters of the (query) model: backbone and head */
  parameterCount: number;
}

/** Where a training run is: 'running' is also what a run interrupted by a closed tab or a crash shows
 *  until it resumes (its worker is gone; the page resumes it from its last checkpoint). */
export type RunStatus = 'running' | 'paused' | 'stopped' | 'complete' | 'failed';

export interface RunPoint {
  globalStep: number;
  epoch: number;
  loss: number;
  top1: number;
  top5: number;
  lr: number;
  imagesPerSecond: number;
}

/** A MoCo pretraining run. Its resumable state is the checkpoint `checkpointId` (app format, MoCo state
 *  and Adam included); `progress` is where that checkpoint stands. */
export interface RunRecord {
  id: string;
  kind: 'moco';
  name: string;
  datasetId: string;
  /** PretrainSettings as JSON-safe data */
  settings: import('../moco/settings.ts').PretrainSettings;
  status: RunStatus;
  /** at the last checkpoint: completed epochs, steps into the current epoch, steps in all */
  progress: { epoch: number; step: number; globalStep: number };
  stepsPerEpoch: number;
  imageCount: number;
  /** the latest resumable checkpoint, and the epoch-end checkpoints kept */
  checkpointId: string | null;
  epochCheckpoints: string[];
  /** the loss curve, thinned to at most HISTORY_MAX points */
  history: RunPoint[];
  /** why the run last stopped or fell back (a lost device, no memory, a full storage), if it did */
  message?: string;
  backend?: string;
  createdAt: number;
  updatedAt: number;
}

export const HISTORY_MAX = 2000;

/** A checkpoint's bytes, in parts: Chrome aborts the whole transaction when one value is larger than
 *  about 128 MB (measured: 120 MB stored, 140 MB aborted), and a MoCo ResNet-18 state is 183 MB. Part 0 is
 *  under the checkpoint's id and says how many parts there are; part i > 0 is under `${id}#${i}`. */
export interface StoredCheckpointBytes {
  id: string;
  bytes: Uint8Array;
  /** number of parts (part 0 only; absent = 1, as version 2 stored them) */
  parts?: number;
}

export const CHECKPOINT_PART_BYTES = 32 << 20;

export interface MocoCxrDB extends DBSchema {
  datasets: { key: string; value: DatasetRecord };
  images: { key: [string, string]; value: StoredImage; indexes: { byDataset: string } };
  pixels: { key: [string, string]; value: StoredPixels };
  thumbs: { key: [string, string]; value: StoredPixels };
  problems: { key: number; value: StoredProblem; indexes: { byDataset: string } };
  checkpoints: { key: string; value: CheckpointRecord };
  checkpointBytes: { key: string; value: StoredCheckpointBytes };
  runs: { key: string; value: RunRecord };
  experiments: { key: string; value: ExperimentRecord };
  results: { key: string; value: import('../finetune/results.ts').EvaluationResult };
}

export type JobStatus = 'queued' | 'running' | 'complete' | 'failed' | 'stopped';

/** One fine-tuning run of an experiment (an initialisation x fraction x draw). */
export interface ExperimentJob {
  id: string;
  initIndex: number;
  init: string;
  ratio: number;
  draw: number;
  trainName: string;
  trainCount: number;
  status: JobStatus;
  /** examples trained, of examplesTotal */
  examples: number;
  examplesTotal: number;
  /** validation mean AUROC over the picking tasks at each evaluation */
  validation: { examples: number; meanAuroc: number }[];
  /** store ids of the checkpoints this job holds now (the top k while it runs, the best after) */
  kept?: string[];
  /** the best checkpoint, kept for download (in the pipeline format) after the job */
  bestCheckpointId?: string;
  /** the test result (EvaluationResult id) */
  resultId?: string;
  message?: string;
  startedAt?: number;
  endedAt?: number;
}

/** A label-fraction sweep: its settings, the split manifest it drew, and its jobs in queue order. */
export interface ExperimentRecord {
  id: string;
  name: string;
  datasetId: string;
  settings: import('../finetune/settings.ts').ExperimentSettings;
  manifest: import('../finetune/settings.ts').SplitManifest;
  jobs: ExperimentJob[];
  status: 'queued' | 'running' | 'paused' | 'stopped' | 'complete' | 'failed';
  message?: string;
  backend?: string;
  createdAt: number;
  updatedAt: number;
}
