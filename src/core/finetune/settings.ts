// Fine-tuning settings: MoCo-CXR's chexpert-model defaults (args/train_arg_parser.py, gen_sbatch.py) and an
// experiment, the label-fraction sweep the paper's figures come from. Plain data: it crosses the worker
// boundary, goes into IndexedDB, into run.json of a cluster bundle, and back.
import type { Arch } from '../models/index.ts';
import { epochsForFraction, examplesPerEvalForFraction } from '../splits/epochs.ts';
import type { FractionSpec } from '../splits/types.ts';
import type { TaskSpec, UncertaintyPolicy } from './tasks.ts';

/** ImageNet's per-channel mean and std (fine-tuning's default `--normalization imagenet`). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * Where a classifier's weights start:
 * - 'moco': the query encoder of a stored MoCo checkpoint, head dropped (model_saver.py's "hack");
 * - 'imagenet': a stored torchvision checkpoint's backbone (ImageNet weights);
 * - 'random': torchvision's initialisation with the seed;
 * in every case the task head is new (PyTorch's default Linear init).
 */
export type FinetuneInit = { kind: 'moco'; checkpointId: string } | { kind: 'imagenet'; checkpointId: string } | { kind: 'random' };

/**
 * 'linear': only the head trains (`--fine_tuning module.fc.weight,module.fc.bias`); 'end-to-end': all
 * (`--fine_tuning full`).
 */
export type FinetuneMode = 'linear' | 'end-to-end';

/**
 * Batch norm in linear mode: 'train' as MoCo-CXR left it (train.py keeps model.train(), so BN normalises
 * with batch statistics and updates its running statistics), 'frozen' as the standard protocol
 * (main_lincls.py: model.eval()). End-to-end always trains BN.
 */
export type LinearBatchNorm = 'train' | 'frozen';

/** Final predictions: the mean of the top-k checkpoints' probabilities (select_ensemble.py + test.py),
 *  or the single best checkpoint. */
export type PredictWith = 'ensemble' | 'best';

export interface FinetuneSettings {
  arch: Arch;
  init: FinetuneInit;
  mode: FinetuneMode;
  linearBatchNorm: LinearBatchNorm;
  tasks: TaskSpec;
  uncertainty: UncertaintyPolicy;
  /** Adam (betas 0.9/0.999, eps 1e-8, weight decay 0), no scheduler */
  lr: number;
  batch: number;
  /** Resize(scale) of the shorter side, then RandomCrop(crop) for training and CenterCrop(crop) for eval */
  scale: number;
  crop: number;
  normalization: 'imagenet' | 'chexpert';
  epochs: number;
  /** evaluate on the validation split (and save) every this many training examples */
  examplesPerEval: number;
  /** checkpoints kept, the best by mean validation AUROC over tasks.pick (max_ckpts = 10) */
  keepTopK: number;
  predictWith: PredictWith;
  seed: number;
}

export const FINETUNE_DEFAULTS: Omit<FinetuneSettings, 'arch' | 'init' | 'tasks'> = {
  mode: 'linear',
  linearBatchNorm: 'train',
  uncertainty: 'ignore',
  lr: 1e-4,
  batch: 16,
  scale: 320,
  crop: 320,
  normalization: 'imagenet',
  epochs: 5,
  examplesPerEval: 8192,
  keepTopK: 10,
  predictWith: 'ensemble',
  seed: 0,
};

/**
 * The original's length and cadence for a label fraction: epochs `int(5 * 4 ** log8(1/ratio))`, and
 * `min(int(2**17 * ratio), 8192)` examples between evaluations, rounded up to a whole batch (the
 * original refuses a cadence that is not a multiple of the batch, which 0.1 % and 1 % are not).
 */
export function scheduleForFraction(ratio: number, batch: number): { epochs: number; examplesPerEval: number } {
  const raw = examplesPerEvalForFraction(ratio);
  return { epochs: epochsForFraction(ratio), examplesPerEval: Math.max(batch, Math.ceil(raw / batch) * batch) };
}

export function validateFinetuneSettings(s: FinetuneSettings): string[] {
  const errs: string[] = [];
  const posInt = (v: number, name: string) => {
    if (!Number.isInteger(v) || v < 1) errs.push(`${name} must be a positive integer, got ${v}`);
  };
  posInt(s.batch, 'batch');
  posInt(s.scale, 'scale');
  posInt(s.crop, 'crop');
  posInt(s.epochs, 'epochs');
  posInt(s.examplesPerEval, 'examples per evaluation');
  posInt(s.keepTopK, 'checkpoints kept');
  if (s.crop > s.scale) errs.push(`crop ${s.crop} is larger than the resized side ${s.scale}`);
  if (!(s.lr > 0 && s.lr < 1)) errs.push(`learning rate must be in (0, 1), got ${s.lr}`);
  if (s.examplesPerEval % s.batch !== 0) errs.push(`examples per evaluation (${s.examplesPerEval}) must be a multiple of the batch (${s.batch})`);
  if (s.tasks.outputs.length === 0) errs.push('no tasks chosen');
  if (!Number.isInteger(s.seed) || s.seed < 0) errs.push(`seed must be a non-negative integer, got ${s.seed}`);
  return errs;
}

/**
 * A label-fraction sweep: every initialisation x fraction x draw is one fine-tuning run on the same
 * validation and test splits; the figure is test AUROC against fraction, a line per initialisation.
 */
export interface ExperimentSettings {
  name: string;
  datasetId: string;
  /** the named initialisations compared (e.g. "MoCo r8w-00001" and "ImageNet") */
  inits: { label: string; init: FinetuneInit }[];
  fractions: FractionSpec[];
  /** how the train fractions are drawn: MoCo-CXR's per-image procedure or whole patients */
  splitUnit: 'image' | 'patient';
  /** `random.seed(splitSeed)` for the draws */
  splitSeed: number;
  /** epochs and cadence per fraction from the original's formula, or settings.epochs/examplesPerEval */
  scheduleByFraction: boolean;
  /** the rest of each run's settings */
  settings: Omit<FinetuneSettings, 'init'>;
  /** bootstrap replicates of the confidence intervals */
  bootstrap: number;
}

/** Which image is in which split, fraction and draw: what re-runs an experiment on the same images. */
export interface SplitManifest {
  datasetId: string;
  unit: 'image' | 'patient';
  seed: number;
  /** image keys (ImageMeta.key) of the validation split (model picking) and the test split */
  valid: string[];
  test: string[];
  /** one entry per fraction and draw; name as the original's file (`train_semi_0.01-it3`, `train`) */
  train: { ratio: number; draw: number; name: string; keys: string[] }[];
}
