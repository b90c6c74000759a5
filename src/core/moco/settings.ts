// Pretraining settings: MoCo-CXR's recipe as defaults, a preset per published checkpoint, validation, and
// whether a batch fits the adapter's buffer limits.
import type { Arch } from '../models/index.ts';
import { CXR_MEAN, CXR_STD, DEFAULT_ROTATE } from '../augment/params.ts';

export interface PretrainSettings {
  arch: Arch;
  /** where the weights start: random, the backbone of a stored checkpoint (ImageNet weights as a
   *  torchvision .pth), or a stored MoCo checkpoint whose whole state resumes */
  init: { kind: 'random' } | { kind: 'backbone'; checkpointId: string } | { kind: 'moco'; checkpointId: string };
  dim: number;
  K: number;
  m: number;
  T: number;
  lr: number;
  weightDecay: number;
  batch: number;
  epochs: number;
  schedule: 'step' | 'cos';
  milestones: number[];
  cosRate: number;
  /** Resize(size) of the shorter side; RandomCrop(crop) */
  size: number;
  crop: number;
  rotate: number;
  mean: number;
  std: number;
  seed: number;
  /** a checkpoint every this many steps (and at each epoch end) */
  checkpointEvery: number;
}

export const MOCO_CXR_DEFAULTS: Omit<PretrainSettings, 'arch' | 'init'> = {
  dim: 128,
  K: 24576,
  m: 0.999,
  T: 0.2,
  lr: 1e-4,
  weightDecay: 1e-4,
  batch: 16,
  epochs: 20,
  schedule: 'step',
  milestones: [12, 18, 24],
  cosRate: 4,
  size: 320,
  crop: 320,
  rotate: DEFAULT_ROTATE,
  mean: CXR_MEAN,
  std: CXR_STD,
  seed: 0,
  checkpointEvery: 200,
};

export interface Preset {
  id: string;
  label: string;
  arch: Arch;
  lr: number;
  epochs: number;
  /** the 'w' in the name: both encoders start from torchvision ImageNet weights */
  imagenet: boolean;
}

/** One per published MoCo-CXR checkpoint (REFERENCE 1.1, 1.2): r8 resnet18, r5 resnet50, d1 densenet121,
 *  mnn mnasnet; w = from ImageNet; 00001 / 0001 / 001 = lr 1e-4 / 1e-3 / 1e-2. Batch, K, T and image size
 *  are not recorded for r5w, d1w and mnn; they take r8w's (16, 24576, 0.2, 320). Epochs follow the
 *  generator's LR_EPOCH_MAP (35 at lr 1e-2). */
export const PRESETS: Preset[] = [
  { id: 'r8w-00001', label: 'r8w-00001: ResNet-18, ImageNet start, lr 1e-4', arch: 'resnet18', lr: 1e-4, epochs: 20, imagenet: true },
  { id: 'r8w-0001', label: 'r8w-0001: ResNet-18, ImageNet start, lr 1e-3', arch: 'resnet18', lr: 1e-3, epochs: 20, imagenet: true },
  { id: 'r8w-001', label: 'r8w-001: ResNet-18, ImageNet start, lr 1e-2', arch: 'resnet18', lr: 1e-2, epochs: 35, imagenet: true },
  { id: 'r5w-00001', label: 'r5w-00001: ResNet-50, ImageNet start, lr 1e-4', arch: 'resnet50', lr: 1e-4, epochs: 20, imagenet: true },
  { id: 'd1w-00001', label: 'd1w-00001: DenseNet-121, ImageNet start, lr 1e-4', arch: 'densenet121', lr: 1e-4, epochs: 20, imagenet: true },
  { id: 'mnn-00001', label: 'mnn-00001: MNASNet 1.0, ImageNet start, lr 1e-4', arch: 'mnasnet1_0', lr: 1e-4, epochs: 20, imagenet: true },
];

export function presetSettings(id: string): Omit<PretrainSettings, 'init'> {
  const p = PRESETS.find((x) => x.id === id);
  if (!p) throw new Error(`no preset ${id}`);
  return { ...MOCO_CXR_DEFAULTS, arch: p.arch, lr: p.lr, epochs: p.epochs };
}

/** Problems with the settings, in words; empty when they can run on `imageCount` images. */
export function validateSettings(s: PretrainSettings, imageCount: number, storedSide: number): string[] {
  const out: string[] = [];
  const posInt = (v: number, name: string) => {
    if (!Number.isInteger(v) || v < 1) out.push(`${name} must be a positive whole number (got ${v})`);
  };
  posInt(s.batch, 'batch size');
  posInt(s.K, 'queue length K');
  posInt(s.dim, 'feature dimension');
  posInt(s.epochs, 'epochs');
  posInt(s.size, 'image size');
  posInt(s.crop, 'crop');
  posInt(s.checkpointEvery, 'checkpoint interval');
  if (s.batch < 2) out.push('batch norm in train mode needs a batch of at least 2');
  if (Number.isInteger(s.K) && Number.isInteger(s.batch) && s.batch > 0 && s.K % s.batch !== 0) {
    out.push(`the queue length K = ${s.K} must be a multiple of the batch size ${s.batch} (MoCo asserts K % batch == 0)`);
  }
  if (!(s.m >= 0 && s.m < 1)) out.push(`momentum m must be in [0, 1) (got ${s.m})`);
  if (!(s.T > 0)) out.push(`temperature T must be positive (got ${s.T})`);
  if (!(s.lr > 0)) out.push(`learning rate must be positive (got ${s.lr})`);
  if (!(s.weightDecay >= 0)) out.push(`weight decay must be 0 or more (got ${s.weightDecay})`);
  if (s.crop > s.size) out.push(`crop ${s.crop} is larger than the image size ${s.size}`);
  if (s.size > storedSide) out.push(`image size ${s.size} is larger than the dataset's stored images (shorter side ${storedSide}); import it again at a larger side`);
  if (!(s.rotate >= 0 && s.rotate <= 180)) out.push(`rotation must be within 0 to 180 degrees (got ${s.rotate})`);
  if (imageCount < s.batch) out.push(`the dataset has ${imageCount} images, fewer than one batch of ${s.batch} (the last partial batch is dropped)`);
  return out;
}

/** Steps per epoch with drop_last. */
export const stepsPerEpoch = (images: number, batch: number) => Math.floor(images / batch);

/**
 * The largest activation buffer of a train-mode forward, in bytes: the stem's output before max-pooling
 * (64 channels at half the crop) for the ResNets, DenseNet-121's first dense block concatenation (256
 * channels at a quarter) or MNASNet's first expanded layer (48 channels at half). WebGPU refuses any buffer
 * above maxBufferSize and any binding above maxStorageBufferBindingSize, and tfjs allocates one buffer per
 * tensor, so this is what the batch must fit.
 */
export function largestActivationBytes(arch: Arch, batch: number, crop: number): number {
  const half = Math.ceil(crop / 2);
  const quarter = Math.ceil(crop / 4);
  const perImage = arch === 'densenet121' ? Math.max(64 * half * half, 256 * quarter * quarter) : arch === 'mnasnet1_0' ? 48 * half * half : 64 * half * half;
  // the augmented input itself (3 channels at full crop) can be larger than the stem for small models
  return 4 * batch * Math.max(perImage, 3 * crop * crop);
}

export interface FitReport {
  fits: boolean;
  largestBytes: number;
  limitBytes: number;
  /** the largest power-of-two batch that fits (and divides K), or 0 */
  suggestedBatch: number;
}

export function batchFit(arch: Arch, batch: number, crop: number, K: number, limits: { maxBufferSize: number; maxStorageBufferBindingSize: number }): FitReport {
  const limit = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  const largest = largestActivationBytes(arch, batch, crop);
  let suggested = 0;
  for (let b = 2; b <= 1024; b *= 2) if (largestActivationBytes(arch, b, crop) <= limit && K % b === 0) suggested = b;
  return { fits: largest <= limit, largestBytes: largest, limitBytes: limit, suggestedBatch: suggested };
}

