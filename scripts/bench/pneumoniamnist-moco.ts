// MoCo pretraining on PneumoniaMNIST's training images (labels unused) with the app's engine: the MoCo
// builder and pretrainLoop of src/core/moco (the loop the Pretrain page's runs drive), fed from memory
// instead of IndexedDB. Returns the run as the app stores it (MoCo state -> the app's checkpoint bytes ->
// read back with the strict reader and extractModel: what a fine-tuning run gets from a stored MoCo
// checkpoint) and the loss curve.
import { extractModel, toApp, type CanonicalModel } from '../../src/core/convert/index.ts';
import { MoCo, MOCO_CXR_ADAM_HYPER } from '../../src/core/moco/builder.ts';
import { pretrainLoop, type ImageSource, type StepReport } from '../../src/core/moco/run.ts';
import { MOCO_CXR_DEFAULTS, stepsPerEpoch, validateSettings, type PretrainSettings } from '../../src/core/moco/settings.ts';
import { mocoToCanonical } from '../../src/core/moco/state.ts';
import { readTorchFile } from '../../src/core/torchfile/index.ts';
import type { PneumoniaRow } from './pneumoniamnist-data.ts';

/**
 * The settings used here, and why they depart from MoCo-CXR's (320 px, K 24576, m 0.999, lr 1e-4 from
 * ImageNet weights, 20 epochs):
 * - size 28 (the images as stored), crop 24: at 28 px a RandomCrop(28) would be the identity and leave
 *   only flip and a 10 degree rotation between the two views; a 24 px crop adds translation. ResNet-18's
 *   global pool takes 24 px training views and 28 px fine-tuning images alike (layer4 is 1 x 1 for both);
 * - batch 64 and K 4096 (64 batches of keys, a multiple of the batch; 4708 images cannot fill 24576);
 * - m 0.99: at 73 steps an epoch a run has hundreds of steps, not MoCo-CXR's hundreds of thousands, and
 *   with 0.999 the key encoder would hardly leave its random start (time constant 1000 steps);
 * - lr 1e-3 (MoCo-CXR's r8w-0001), cosine decay over the run: the start is random, not ImageNet;
 * - mean and std: MoCo-CXR's CXR_MEAN / CXR_STD (the fine-tuning runs here use the same, 'chexpert').
 */
export function pneumoniaMocoSettings(over: Partial<PretrainSettings> = {}): PretrainSettings {
  return {
    ...MOCO_CXR_DEFAULTS,
    arch: 'resnet18',
    init: { kind: 'random' },
    dim: 128,
    K: 4096,
    m: 0.99,
    T: 0.2,
    lr: 1e-3,
    batch: 64,
    epochs: 8,
    schedule: 'cos',
    cosRate: 1,
    size: 28,
    crop: 24,
    seed: 1,
    checkpointEvery: 1_000_000,
    ...over,
  };
}

export interface MocoPretrainResult {
  settings: PretrainSettings;
  /** every step's loss, top-1 and learning rate */
  steps: Pick<StepReport, 'epoch' | 'globalStep' | 'loss' | 'top1' | 'lr'>[];
  /** mean loss over each epoch's steps */
  epochLoss: number[];
  /** the final MoCo state as read back from its checkpoint bytes */
  checkpoint: CanonicalModel;
  checkpointBytes: number;
  seconds: number;
  imagesPerSecond: number;
}

export async function pretrainMoco(train: readonly PneumoniaRow[], settings: PretrainSettings, log: (line: string) => void = () => {}): Promise<MocoPretrainResult> {
  const problems = validateSettings(settings, train.length, 28);
  if (problems.length) throw new Error(`MoCo settings: ${problems.join('; ')}`);
  const byKey = new Map(train.map((r) => [r.meta.key, r.image]));
  const source: ImageSource = {
    keys: train.map((r) => r.meta.key),
    load: async (keys) => keys.map((k) => byKey.get(k)!),
  };
  const s = settings;
  const moco = new MoCo({ arch: s.arch, dim: s.dim, K: s.K, m: s.m, T: s.T }, { seed: s.seed, adam: { ...MOCO_CXR_ADAM_HYPER, weightDecay: s.weightDecay } });
  const steps: MocoPretrainResult['steps'] = [];
  const perEpoch = stepsPerEpoch(train.length, s.batch);
  const t0 = performance.now();
  try {
    const status = await pretrainLoop({
      moco,
      settings: s,
      source,
      start: { epoch: 0, step: 0, globalStep: 0 },
      control: () => 'run',
      onStep: (r) => {
        steps.push({ epoch: r.epoch, globalStep: r.globalStep, loss: r.loss, top1: r.top1, lr: r.lr });
        if (r.step === perEpoch || r.globalStep === 1 || r.step % 10 === 0) {
          const secs = (performance.now() - t0) / 1000;
          log(`moco epoch ${r.epoch + 1}/${s.epochs} step ${r.step}/${perEpoch}: loss ${r.loss.toFixed(3)}, top-1 ${r.top1.toFixed(1)} %, lr ${r.lr.toExponential(2)}, ${secs.toFixed(0)} s`);
        }
      },
      checkpoint: async () => {},
    });
    if (status !== 'complete') throw new Error(`pretraining ended ${status}`);
    const seconds = (performance.now() - t0) / 1000;
    const bytes = toApp(await mocoToCanonical(moco, { epoch: s.epochs, lr: steps.at(-1)?.lr ?? s.lr }));
    const checkpoint = extractModel(readTorchFile(bytes, { mode: 'strict' }).root).model;
    const epochLoss = Array.from({ length: s.epochs }, (_, e) => {
      const l = steps.filter((x) => x.epoch === e).map((x) => x.loss);
      return l.reduce((a, b) => a + b, 0) / l.length;
    });
    return { settings: s, steps, epochLoss, checkpoint, checkpointBytes: bytes.byteLength, seconds, imagesPerSecond: (steps.length * s.batch) / seconds };
  } finally {
    moco.dispose();
  }
}
