// One fine-tuning step as chexpert-model's train.py takes it: forward, masked BCE, backward, Adam
// (lr 1e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0; torch.optim.Adam over model.parameters(), so a
// frozen parameter, which gets no gradient, is skipped and keeps no state).
// - 'end-to-end' (--fine_tuning full): everything trains, BN in train mode.
// - 'linear' (--fine_tuning module.fc.weight,module.fc.bias): only the head's weight and bias train. The
//   backbone runs outside the gradient tape (its features are a constant for the head's gradient), BN
//   either in train mode as MoCo-CXR leaves it (batch statistics, running statistics updated: train.py's
//   model.train()) or in eval mode ('frozen', main_lincls.py's model.eval()).
import * as tf from '@tensorflow/tfjs';
import { PIPELINE_ADAM } from '../convert/index.ts';
import type { TorchModel } from '../models/index.ts';
import { Adam, type AdamHyper, type AdamUpdate } from '../moco/adam.ts';
import { maskedBceLoss, maskedCellCount } from './loss.ts';
import type { FinetuneMode, LinearBatchNorm } from './settings.ts';

/** The pipeline's Adam without lr (train_arg_parser.py: betas (0.9, 0.999), eps 1e-8, weight decay 0). */
export const FINETUNE_ADAM_HYPER: AdamHyper = { betas: PIPELINE_ADAM.betas, eps: PIPELINE_ADAM.eps, weightDecay: PIPELINE_ADAM.weightDecay };

export interface TrainerOptions {
  mode: FinetuneMode;
  linearBatchNorm: LinearBatchNorm;
  lr: number;
  adam?: AdamHyper;
  adamUpdate?: AdamUpdate;
}

/** Adam's state of one parameter, PyTorch layout, plain data (stored with a paused run). */
export interface AdamSlotData {
  name: string;
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
}

export class FinetuneTrainer {
  readonly optimizer: Adam;
  /** state-dict names of the parameters that train */
  readonly trained: string[];

  constructor(
    readonly model: TorchModel,
    readonly opts: TrainerOptions,
  ) {
    const all = model.trainableVariables();
    const params = opts.mode === 'linear' ? new Map(model.headKeys().map((k) => [k, all.get(k) as tf.Variable])) : all;
    this.trained = [...params.keys()];
    this.optimizer = new Adam(params, opts.adam ?? FINETUNE_ADAM_HYPER, opts.adamUpdate);
  }

  /** Whether batch norm runs in train mode (batch statistics, running statistics updated). */
  get bnTrain(): boolean {
    return this.opts.mode === 'end-to-end' || this.opts.linearBatchNorm === 'train';
  }

  /**
   * One step on views x [N, C, C, 3] with targets and mask [N, T] (row-major). Returns the loss (the
   * caller disposes it), or null when the mask leaves no cell: then nothing runs (see loss.ts).
   */
  step(x: tf.Tensor4D, targets: Float32Array, mask: Float32Array): tf.Scalar | null {
    const n = x.shape[0];
    const T = this.model.numClasses;
    if (targets.length !== n * T || mask.length !== n * T) throw new RangeError(`targets and mask need ${n} x ${T} values, got ${targets.length} and ${mask.length}`);
    const cells = maskedCellCount(mask);
    if (cells === 0) return null;
    const t = tf.tensor2d(targets, [n, T]);
    const m = tf.tensor2d(mask, [n, T]);
    try {
      let loss: tf.Scalar;
      let grads: Map<string, tf.Tensor>;
      if (this.opts.mode === 'linear') {
        // features outside the tape: no backbone gradient is ever computed
        const feats = this.model.features(x, { train: this.bnTrain });
        try {
          const vars = [...this.optimizer.params.values()];
          const res = tf.variableGrads(() => maskedBceLoss(this.model.applyHead(feats), t, m, cells), vars);
          loss = res.value;
          grads = new Map();
          for (const [name, v] of this.optimizer.params) {
            const g = res.grads[v.name];
            if (g) grads.set(name, g);
          }
        } finally {
          feats.dispose();
        }
      } else {
        ({ value: loss, grads } = this.model.valueAndGrads(() => maskedBceLoss(this.model.forward(x, { train: true }), t, m, cells)));
      }
      this.optimizer.step(grads, this.opts.lr);
      return loss;
    } finally {
      t.dispose();
      m.dispose();
    }
  }

  /** Adam's state, PyTorch layout. */
  async adamState(): Promise<AdamSlotData[]> {
    const out: AdamSlotData[] = [];
    for (const [name, s] of this.optimizer.slots) {
      const a = this.model.store.toTorchLayout(name, s.expAvg);
      const b = this.model.store.toTorchLayout(name, s.expAvgSq);
      out.push({ name, step: s.step, expAvg: Float32Array.from((await a.data()) as Float32Array), expAvgSq: Float32Array.from((await b.data()) as Float32Array) });
      tf.dispose([a, b]);
    }
    return out;
  }

  /** Restores Adam's state (PyTorch layout), e.g. when a paused run resumes. */
  setAdamState(slots: readonly AdamSlotData[]): void {
    for (const s of slots) {
      if (!this.optimizer.params.has(s.name)) throw new RangeError(`Adam state for ${s.name}, which does not train in ${this.opts.mode} mode`);
      const a = this.model.store.fromTorchLayout(s.name, s.expAvg);
      const b = this.model.store.fromTorchLayout(s.name, s.expAvgSq);
      try {
        this.optimizer.setSlot(s.name, s.step, a, b);
      } finally {
        tf.dispose([a, b]);
      }
    }
  }

  /** Frees the optimizer's state and the model. */
  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}
