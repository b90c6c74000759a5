// This device's sustained training speed, for time estimates before a run starts (issue 7's hand-off
// advice): a few end-to-end training steps of a ResNet-18 classifier on random input, timed after a
// warm-up, divided into their FLOPs (forward counted kernel by kernel, backward as twice the forward).
// Measured at a small size so that it takes seconds even on a CPU backend; a GPU usually runs faster at
// 320 px than at this size, so the estimate errs long.
import * as tf from '@tensorflow/tfjs';
import { FinetuneTrainer } from '../finetune/trainer.ts';
import { createModel } from '../models/index.ts';
import { forwardFlops } from '../moco/flops.ts';

export interface TrainingSpeed {
  flopsPerSecond: number;
  /** FLOPs of one timed step, and the timed steps' mean duration */
  stepFlops: number;
  stepMillis: number;
  size: number;
  batch: number;
  backend: string;
}

export async function measureTrainingSpeed(opts: { size?: number; batch?: number; steps?: number } = {}): Promise<TrainingSpeed> {
  const size = opts.size ?? 64;
  const batch = opts.batch ?? 4;
  const steps = opts.steps ?? 2;
  const model = createModel('resnet18', { head: 'linear', numClasses: 1, seed: 1 });
  const trainer = new FinetuneTrainer(model, { mode: 'end-to-end', linearBatchNorm: 'train', lr: 1e-4 });
  try {
    const forward = (await forwardFlops(model, size)).total;
    const targets = new Float32Array(batch).fill(1);
    const mask = new Float32Array(batch).fill(1);
    const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const step = async () => {
      const l = trainer.step(x, targets, mask);
      await l?.data();
      l?.dispose();
    };
    try {
      await step(); // warm-up: shader compilation, first allocations
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) await step();
      const stepMillis = (performance.now() - t0) / steps;
      const stepFlops = 3 * forward * batch;
      return { flopsPerSecond: stepFlops / (stepMillis / 1000), stepFlops, stepMillis, size, batch, backend: tf.getBackend() };
    } finally {
      x.dispose();
    }
  } finally {
    trainer.dispose();
  }
}
