// The pretraining loop: epochs of shuffled batches (drop_last), two augmented views per image on the
// device, one MoCo step each, the learning rate set at each epoch start (main_moco.py's
// adjust_learning_rate), and a checkpoint every N steps and at each epoch end. Where it stands is
// (epoch, step): the order of an epoch and each step's views derive from the seed, so a run resumed
// from a checkpoint draws the same batches and views it would have drawn.
import * as tf from '@tensorflow/tfjs';
import { twoViews } from '../augment/device.ts';
import { viewSampler } from '../augment/params.ts';
import type { GreyImage } from '../image/types.ts';
import { mulberry32 } from '../random.ts';
import type { MoCo } from './builder.ts';
import { lrAt } from './schedule.ts';
import { stepsPerEpoch, type PretrainSettings } from './settings.ts';

export interface ImageSource {
  /** the images to train on, in a fixed order */
  readonly keys: readonly string[];
  /** the images at training size (shorter side = settings.size), in the order asked */
  load(keys: readonly string[]): Promise<GreyImage[]>;
}

export interface RunProgress {
  /** epochs completed */
  epoch: number;
  /** steps done in the current epoch */
  step: number;
  globalStep: number;
}

export interface StepReport extends RunProgress {
  stepsPerEpoch: number;
  loss: number;
  top1: number;
  top5: number;
  lr: number;
  /** images per second over this step (loading, augmentation and the step) */
  imagesPerSecond: number;
  stepMillis: number;
}

export type CheckpointReason = 'interval' | 'epoch' | 'pause' | 'stop';

export interface LoopOptions {
  moco: MoCo;
  settings: PretrainSettings;
  source: ImageSource;
  /** where to start (a checkpoint's progress, or zeros) */
  start: RunProgress;
  /** asked between steps: 'pause' and 'stop' end the loop after a checkpoint */
  control: () => 'run' | 'pause' | 'stop';
  onStep: (r: StepReport) => void;
  checkpoint: (at: RunProgress, reason: CheckpointReason, lr: number) => Promise<void>;
}

/** The epoch's image order: a seeded Fisher-Yates shuffle (the DistributedSampler's per-epoch reshuffle). */
export function epochOrder(count: number, seed: number, epoch: number): Uint32Array {
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  const rand = mulberry32((seed * 1_000_003 + epoch * 7919) >>> 0);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** The seed of one step's views: the same step of the same run always draws the same views. */
export const stepSeed = (seed: number, globalStep: number) => (Math.imul(globalStep + 1, 0x9e3779b1) ^ seed) >>> 0;

export async function pretrainLoop(o: LoopOptions): Promise<'complete' | 'paused' | 'stopped'> {
  const { moco, settings: s, source } = o;
  const perEpoch = stepsPerEpoch(source.keys.length, s.batch);
  if (perEpoch < 1) throw new Error(`the dataset has ${source.keys.length} images, fewer than one batch of ${s.batch}`);
  let { epoch, step, globalStep } = o.start;
  const lrOf = (e: number) => lrAt(e, { lr: s.lr, kind: s.schedule, milestones: s.milestones, epochs: s.epochs, cosRate: s.cosRate });
  const batchKeys = (e: number, st: number, order: Uint32Array) => Array.from(order.subarray(st * s.batch, (st + 1) * s.batch), (i) => source.keys[i]!);

  while (epoch < s.epochs) {
    const order = epochOrder(source.keys.length, s.seed, epoch);
    const lr = lrOf(epoch);
    // the next batch's pixels load while the current step runs
    let next: Promise<GreyImage[]> | null = step < perEpoch ? source.load(batchKeys(epoch, step, order)) : null;
    while (step < perEpoch) {
      const c = o.control();
      if (c !== 'run') {
        await o.checkpoint({ epoch, step, globalStep }, c, lr);
        return c === 'pause' ? 'paused' : 'stopped';
      }
      const t0 = performance.now();
      const images = await (next as Promise<GreyImage[]>);
      next = step + 1 < perEpoch ? source.load(batchKeys(epoch, step + 1, order)) : null;
      const views = twoViews(images, viewSampler(stepSeed(s.seed, globalStep), { crop: s.crop, rotate: s.rotate }), { crop: s.crop, mean: s.mean, std: s.std });
      let stats;
      try {
        stats = moco.step(views.query, views.key, lr);
      } finally {
        tf.dispose([views.query, views.key]);
      }
      // one readback (one GPU sync) for the three numbers
      const packed = tf.stack([stats.loss, stats.top1, stats.top5]);
      tf.dispose([stats.loss, stats.top1, stats.top5]);
      const [loss, top1, top5] = (await packed.data()) as Float32Array;
      packed.dispose();
      const stepMillis = performance.now() - t0;
      step++;
      globalStep++;
      if (!Number.isFinite(loss!)) throw new Error(`the loss became ${loss} at step ${globalStep} (epoch ${epoch + 1}): lower the learning rate`);
      o.onStep({ epoch, step, globalStep, stepsPerEpoch: perEpoch, loss: loss!, top1: top1!, top5: top5!, lr, imagesPerSecond: (s.batch * 1000) / stepMillis, stepMillis });
      if (step < perEpoch && globalStep % s.checkpointEvery === 0) await o.checkpoint({ epoch, step, globalStep }, 'interval', lr);
    }
    await next; // nothing left to load in this epoch; keep no promise dangling
    epoch++;
    step = 0;
    await o.checkpoint({ epoch, step, globalStep }, 'epoch', lrOf(Math.min(epoch, s.epochs - 1)));
  }
  return 'complete';
}
