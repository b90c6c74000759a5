// Reads scripts/fixtures/torch_finetune.py's output (PyTorch 1.13 / torchvision 0.14 / Pillow ground truth of
// MoCo-CXR's fine-tuning pipeline) for the fine-tuning tests, and runs torch_pipeline_check.py.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixtures, PYTHON, REPO_ROOT } from '../../../scripts/fixtures/ensure.ts';
import { toTrainingSize } from '../augment/training-size.ts';
import type { LabelValue } from '../data/types.ts';
import type { GreyImage } from '../image/types.ts';
import type { LabelledSplit } from './predict.ts';

export interface FixtureImage {
  key: string;
  width: number;
  height: number;
  offset: number;
  study: string;
  labels: (number | null)[];
}

export interface StepConfig {
  mode: 'linear' | 'full';
  bn: 'train' | 'frozen';
  policy: 'ignore' | 'ones';
  steps: number;
  masked_step: number | null;
  losses: (number | null)[];
  crops: { images: number[]; offsets: [number, number][] }[];
  targets: number[][];
  trained: string[];
  buffers: string[];
  adam_step: Record<string, number>;
  masked_batch_torch_loss: string | null;
  f32_error: { loss: number; buffers: number; update_worst: number; 'update_frac_over_0.01': number };
}

export interface FinetuneFixture {
  dir: string;
  tasks: string[];
  scale: number;
  crop: number;
  eval_scale: number;
  eval_crop: number;
  lr: number;
  batch: number;
  images: FixtureImage[];
  hack: Record<'resnet18' | 'densenet121', { missing: string[]; unexpected: string[]; legacy: boolean }>;
  configs: Record<string, StepConfig>;
  cadence: { examples: number; batch: number; epochs: number; examplesPerEval: number; points: { epoch: number; step: number; globalStep: number; save: boolean }[] }[];
  topk: { k: number; seq: [number, number][]; held: string[]; dropped: string[]; best: string }[];
  entries: { name: string; shape: number[]; offset: number }[];
  data: Float32Array;
  /** the grey images at their stored size */
  grey: GreyImage[];
}

let cached: FinetuneFixture | null = null;

export function loadFinetuneFixture(): FinetuneFixture {
  if (cached) return cached;
  // torch_finetune.py imports pipeline_models.py: its mtime in the stamp regenerates on either change
  const models = statSync(join(REPO_ROOT, 'scripts/fixtures/pipeline_models.py')).mtimeMs;
  const dir = ensureFixtures('torch_finetune', [`pipeline_models=${models}`]);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Omit<FinetuneFixture, 'dir' | 'data' | 'grey'>;
  const buf = readFileSync(join(dir, 'fixture.bin'));
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const raw = readFileSync(join(dir, 'images.u8'));
  const grey = index.images.map((im) => ({ width: im.width, height: im.height, data: Uint8Array.from(raw.subarray(im.offset, im.offset + im.width * im.height)) }));
  cached = { ...index, dir, data, grey };
  return cached;
}

export function entry(fx: FinetuneFixture, name: string): { shape: number[]; data: Float32Array } {
  const e = fx.entries.find((x) => x.name === name);
  if (!e) throw new Error(`finetune fixture has no ${name}`);
  const n = e.shape.reduce((a, b) => a * b, 1);
  return { shape: e.shape, data: fx.data.subarray(e.offset, e.offset + n) };
}

export const hasEntry = (fx: FinetuneFixture, name: string) => fx.entries.some((x) => x.name === name);

/** The fixture's images as a split, loaded at shorter side `scale` (Pillow-exact Resize). */
export function fixtureSplit(fx: FinetuneFixture, scale: number, which: number[] = fx.images.map((_, i) => i)): LabelledSplit {
  const byKey = new Map(fx.images.map((im, i) => [im.key, i]));
  return {
    images: which.map((i) => {
      const im = fx.images[i]!;
      return { key: im.key, study: im.study, labels: Object.fromEntries(fx.tasks.map((t, k) => [t, im.labels[k] as LabelValue])) };
    }),
    labelColumns: fx.tasks,
    load: async (keys) => keys.map((k) => toTrainingSize(fx.grey[byKey.get(k)!]!, scale)),
  };
}

export interface PipelineCheck {
  model_name: string;
  tasks: string[];
  ckpt_info: { epoch: number; iteration: number };
  keys: number;
  adam_groups: number;
  logits: number[][];
  studies: string[];
  probs: number[][];
}

/** torch_pipeline_check.py on a checkpoint file: PyTorch's load of it and its predictions on the fixture images. */
export function pipelineCheck(file: string, fx: FinetuneFixture): PipelineCheck {
  const out = execFileSync(PYTHON, [join(REPO_ROOT, 'scripts/fixtures/torch_pipeline_check.py'), file, fx.dir], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1' },
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out) as PipelineCheck;
}
