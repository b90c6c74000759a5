// Shared inputs of the handoff tests: demo phantoms as a dataset, a split manifest drawn as MoCo-CXR draws
// them, an experiment, a real MoCo state after two steps (wasm), and runners for the Python side.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PYTHON, REPO_ROOT } from '../../../scripts/fixtures/ensure.ts';
import { extractModel, newHead, toMoco, toPipeline } from '../convert/index.ts';
import { demoDataset } from '../data/demo/generate.ts';
import type { ImageMeta } from '../data/types.ts';
import { FINETUNE_DEFAULTS, type ExperimentSettings, type SplitManifest } from '../finetune/settings.ts';
import { CHEXPERT_TASKS, TASK_PRESETS } from '../finetune/tasks.ts';
import { MoCo } from '../moco/builder.ts';
import { MOCO_CXR_DEFAULTS, type PretrainSettings } from '../moco/settings.ts';
import { mocoToCanonical } from '../moco/state.ts';
import { chexpertLabelFractions } from '../splits/index.ts';
import { readTorchFile } from '../torchfile/index.ts';
import type { BundleDataset } from './bundle.ts';

export const CHECKER = join(REPO_ROOT, 'scripts/fixtures/moco_cxr_argparse.py');
export const BUNDLE_CHECK = join(REPO_ROOT, 'scripts/fixtures/handoff_bundle_check.py');

export function demoImages(count = 40): { dataset: BundleDataset; images: ImageMeta[] } {
  const d = demoDataset({ seed: 3, count, size: 16, validFraction: 0.2, testFraction: 0.2 });
  return {
    dataset: { id: 'demo-1', name: 'demo phantoms', kind: 'demo', labelColumns: d.labelColumns, imageSide: 16 },
    images: d.cases.map((c) => c.meta),
  };
}

/** valid/test from the dataset's own splits; train fractions drawn per image with random.seed(0), as
 *  reorganize_files.py draws them (here 50 % twice and 100 % once). */
export function demoManifest(images: readonly ImageMeta[], datasetId = 'demo-1'): SplitManifest {
  const train = images.filter((i) => i.split === 'train');
  const { draws } = chexpertLabelFractions(train, { fractions: [{ ratio: 0.5, draws: 2 }, { ratio: 1, draws: 1 }] });
  return {
    datasetId,
    unit: 'image',
    seed: 0,
    valid: images.filter((i) => i.split === 'valid').map((i) => i.key),
    test: images.filter((i) => i.split === 'test').map((i) => i.key),
    train: draws.map((d) => ({ ratio: d.ratio, draw: d.draw, name: d.name, keys: d.rows.map((r) => train[r]!.key) })),
  };
}

export function demoExperiment(over: Partial<ExperimentSettings['settings']> = {}): ExperimentSettings {
  return {
    name: 'moco vs imagenet',
    datasetId: 'demo-1',
    inits: [
      { label: 'MoCo r8', init: { kind: 'moco', checkpointId: 'ck-1' } },
      { label: 'ImageNet', init: { kind: 'imagenet', checkpointId: 'ck-2' } },
    ],
    fractions: [
      { ratio: 0.5, draws: 2 },
      { ratio: 1, draws: 1 },
    ],
    splitUnit: 'image',
    splitSeed: 0,
    scheduleByFraction: true,
    settings: { ...FINETUNE_DEFAULTS, arch: 'resnet18', tasks: { ...TASK_PRESETS['chexpert-14'] }, ...over },
    bootstrap: 1000,
  };
}

export const SMALL_MOCO: PretrainSettings = {
  ...MOCO_CXR_DEFAULTS,
  arch: 'resnet18',
  init: { kind: 'random' },
  dim: 8,
  K: 12,
  batch: 4,
  size: 16,
  crop: 16,
  lr: 1e-3,
  epochs: 5,
  seed: 7,
};

export interface SmallMoco {
  bytes: Uint8Array;
  queue: Float32Array;
  ptr: number;
  epoch: number;
  adamSteps: number;
  trainable: number;
}

/** A real MoCo state: two steps of SMALL_MOCO on random views (the active backend), written as MoCo-CXR's
 *  checkpoint at epoch 3 (the run's latest state, as the Pretrain page exports it). */
export async function smallMocoCheckpoint(): Promise<SmallMoco> {
  const s = SMALL_MOCO;
  const moco = new MoCo({ arch: s.arch, dim: s.dim, K: s.K, m: s.m, T: s.T }, { seed: 11 });
  try {
    for (let i = 0; i < 2; i++) {
      const [q, k] = tf.tidy(() => [tf.randomNormal([s.batch, s.crop, s.crop, 3], 0, 1, 'float32', 100 + i), tf.randomNormal([s.batch, s.crop, s.crop, 3], 0, 1, 'float32', 200 + i)] as tf.Tensor4D[]);
      const st = moco.step(q!, k!, s.lr);
      await st.loss.data();
      tf.dispose([q!, k!, st.loss, st.top1, st.top5]);
    }
    const model = await mocoToCanonical(moco, { epoch: 3, lr: s.lr });
    return {
      bytes: toMoco(model),
      queue: (await moco.queue.data()) as Float32Array,
      ptr: moco.queuePtr,
      epoch: 3,
      adamSteps: 2,
      trainable: moco.encoderQ.trainableVariables().size,
    };
  } finally {
    moco.dispose();
  }
}

/** A CheXpert-pipeline start: the MoCo checkpoint's backbone with a new 14-output head, epoch 0, fresh Adam. */
export function pipelineStart(mocoBytes: Uint8Array): Uint8Array {
  const { model } = extractModel(readTorchFile(mocoBytes, { mode: 'strict' }).root, { take: 'backbone' });
  model.head = newHead('resnet18', { kind: 'linear', outputs: CHEXPERT_TASKS.length }, 3);
  delete model.moco;
  return toPipeline({ ...model, epoch: 0 }, { tasks: [...CHEXPERT_TASKS], epoch: 0 });
}

/** Unzips with Python's zipfile (an independent reader, which checks every CRC). */
export function unzip(zipPath: string, dir: string): void {
  execFileSync(PYTHON, ['-m', 'zipfile', '-e', zipPath, dir]);
}

/** A stand-in MoCo-CXR checkout: the files the scripts look for, with the two lines setup patches. */
export function fakeMocoCxr(dir: string): void {
  const files: Record<string, string> = {
    'moco_pretraining/moco/main_moco.py': 'def main():\n    args = None\n    ngpus_per_node = 1\n    import pdb; pdb.set_trace()\n    # import pdb; pdb.set_trace()\n',
    'moco_pretraining/moco/aihc_utils/storage_util.py': "import os\nfrom pathlib import Path\nSTORAGE_ROOT = Path('/deep/group/aihc-bootcamp-spring2020/cxr_fewer_samples/experiments')\n",
    'chexpert_supervised/chexpert-model/train.py': '',
    'chexpert_supervised/chexpert-model/select_ensemble.py': '',
    'chexpert_supervised/chexpert-model/test.py': '',
  };
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
}

export interface CheckerInvocation {
  script: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  errors?: string[];
  parsed?: Record<string, unknown>;
  nnodes?: number;
  node_rank?: number;
  nproc_per_node?: number;
  no_python?: boolean;
}

export interface CheckerResult {
  ok: boolean;
  rc: number;
  errors: string[];
  sbatch: string[];
  invocations: CheckerInvocation[];
  stdout: string;
  stderr: string;
}

/** Runs a launch script under moco_cxr_argparse.py's shims; never throws on a failed check. */
export function runChecker(script: string, env: Record<string, string>): CheckerResult {
  const args = [CHECKER, 'run-script', script, ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`])];
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: 600_000, env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (!r.stdout.trim()) throw new Error(`the checker printed nothing: ${r.stderr}`);
  return JSON.parse(r.stdout) as CheckerResult;
}

export const calls = (r: CheckerResult, script: string) => r.invocations.filter((i) => i.script === script);
