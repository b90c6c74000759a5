// MoCo v2 as MoCo-CXR trains it: the builder.py of this project (moco_pretraining/moco/moco/builder.py
// plus the body of main_moco.py's train loop). One process, so DDP's gather and shuffle-BN, which are
// identities at world size 1, are left out (REFERENCE-moco-cxr.md 1.5).
//
// Shapes: N batch, C = dim (128) feature width, K queue length, d backbone width (512 for ResNet-18).
// Images are NHWC [N, H, W, 3]; the queue is [C, K], one key per column, as builder.py keeps it.
import * as tf from '@tensorflow/tfjs';
import { MOCO_CXR_ADAM } from '../convert/index.ts';
import { createModel, loadStateDict, type Arch, type StateEntryInput, type TorchModel } from '../models/index.ts';
import { Adam, type AdamHyper, type AdamUpdate } from './adam.ts';

export interface MocoConfig {
  arch: Arch;
  /** feature dimension C (MoCo-CXR: 128) */
  dim: number;
  /** queue length K (MoCo-CXR: 24576); a multiple of the batch size */
  K: number;
  /** key-encoder momentum m (0.999) */
  m: number;
  /** softmax temperature T (0.2) */
  T: number;
}

export const MOCO_CXR: Omit<MocoConfig, 'arch'> = { dim: 128, K: 24576, m: 0.999, T: 0.2 };
/** MoCo-CXR's Adam (the converter's MOCO_CXR_ADAM) without lr, which the schedule sets per epoch. */
export const MOCO_CXR_ADAM_HYPER: AdamHyper = { betas: MOCO_CXR_ADAM.betas, eps: MOCO_CXR_ADAM.eps, weightDecay: MOCO_CXR_ADAM.weightDecay };

/** What one step reports, as tensors (read them when needed: reading forces a GPU sync). */
export interface StepStats {
  loss: tf.Scalar;
  /** instance-discrimination accuracy (percent): the positive among the top 1 / top 5 of 1 + K logits */
  top1: tf.Scalar;
  top5: tf.Scalar;
}

export interface MocoOptions {
  seed?: number;
  adam?: AdamHyper;
  /** the Adam update (default: the engine's fused kernel) */
  adamUpdate?: AdamUpdate;
}

/** F.normalize(x, dim=1): x / max(||x||, 1e-12) per row. */
function l2normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)));
}

export class MoCo {
  readonly encoderQ: TorchModel;
  readonly encoderK: TorchModel;
  /** [C, K] unit columns: the keys of earlier batches */
  readonly queue: tf.Variable;
  queuePtr = 0;
  readonly optimizer: Adam;

  constructor(
    readonly config: MocoConfig,
    opts: MocoOptions = {},
  ) {
    const { arch, dim, K } = config;
    const seed = opts.seed ?? 0;
    // base_encoder(num_classes=dim) with the MLP head: fc = Linear(d, d) -> ReLU -> Linear(d, dim)
    this.encoderQ = createModel(arch, { numClasses: dim, head: 'mlp', seed });
    this.encoderK = createModel(arch, { numClasses: dim, head: 'mlp', seed: seed + 1 });
    this.copyParamsToKey();
    // register_buffer("queue", randn(dim, K)); normalize(queue, dim=0)
    const unit = tf.tidy(() => {
      const r = tf.randomNormal([dim, K], 0, 1, 'float32', seed + 2);
      return tf.div(r, tf.maximum(tf.norm(r, 'euclidean', 0, true), 1e-12));
    });
    this.queue = tf.variable(unit, false);
    unit.dispose();
    this.optimizer = new Adam(this.encoderQ.trainableVariables(), opts.adam ?? MOCO_CXR_ADAM_HYPER, opts.adamUpdate);
  }

  /** param_k.data.copy_(param_q.data): parameters only; encoder_k keeps its own BN buffers. */
  copyParamsToKey(): void {
    const k = this.encoderK.trainableVariables();
    for (const [name, q] of this.encoderQ.trainableVariables()) (k.get(name) as tf.Variable).assign(q);
  }

  /**
   * Backbone weights for both encoders (buffers included), as builder.py's pretrained branch builds both
   * from ImageNet: `base_encoder(pretrained=True)` twice. The head stays fresh; parameters are then
   * copied from encoder_q to encoder_k. Only the backbone may be loaded: any other key is refused.
   */
  loadBackbone(entries: Map<string, StateEntryInput>): void {
    const headKeys = new Set(this.encoderQ.headKeys());
    for (const model of [this.encoderQ, this.encoderK]) {
      const res = loadStateDict(model, entries, { strict: false });
      const missing = res.missing.filter((k) => !headKeys.has(k));
      const problems = [...missing.map((k) => `missing ${k}`), ...res.wrongShape.map((w) => `${w.key} is [${w.got.join(', ')}], needs [${w.expected.join(', ')}]`)];
      if (problems.length) throw new Error(`backbone weights do not fit ${this.config.arch}: ${problems.join('; ')}`);
    }
    this.copyParamsToKey();
  }

  /** Sets the queue ([C, K], C-order values) and its pointer, e.g. from a checkpoint. */
  setQueue(data: Float32Array, ptr: number): void {
    const { dim, K } = this.config;
    if (data.length !== dim * K) throw new Error(`the queue holds ${data.length} values; [${dim}, ${K}] needs ${dim * K}`);
    if (!Number.isInteger(ptr) || ptr < 0 || ptr >= K) throw new Error(`queue_ptr ${ptr} is outside [0, ${K})`);
    tf.tidy(() => this.queue.assign(tf.tensor2d(data, [dim, K])));
    this.queuePtr = ptr;
  }

  /** _momentum_update_key_encoder: θk = m·θk + (1 − m)·θq, parameters only. */
  momentumUpdate(): void {
    const m = this.config.m;
    const k = this.encoderK.trainableVariables();
    tf.tidy(() => {
      for (const [name, q] of this.encoderQ.trainableVariables()) {
        const vk = k.get(name) as tf.Variable;
        vk.assign(tf.add(tf.mul(vk, m), tf.mul(q, 1 - m)));
      }
    });
  }

  /** _dequeue_and_enqueue: queue[:, ptr:ptr+N] = keys.T; ptr = (ptr + N) % K. */
  private enqueue(keys: tf.Tensor2D): void {
    const [n, c] = keys.shape;
    const K = this.config.K;
    const ptr = this.queuePtr;
    tf.tidy(() => {
      const parts: tf.Tensor2D[] = [];
      if (ptr > 0) parts.push(tf.slice(this.queue, [0, 0], [c, ptr]) as tf.Tensor2D);
      parts.push(tf.transpose(keys));
      if (ptr + n < K) parts.push(tf.slice(this.queue, [0, ptr + n], [c, K - ptr - n]) as tf.Tensor2D);
      this.queue.assign(parts.length === 1 ? (parts[0] as tf.Tensor2D) : tf.concat(parts, 1));
    });
    this.queuePtr = (ptr + n) % K;
  }

  /**
   * One training step on two views of the same N images, at learning rate `lr`.
   *
   * builder.py runs: q forward, momentum update, k forward, logits, enqueue; then main_moco.py's loss,
   * backward and Adam step. Here the momentum update and the key forward come first, because tfjs records
   * the gradient of the query branch inside one closure that needs k. The arithmetic is the same: the
   * momentum update reads encoder_q's parameters, which its forward pass does not change (that pass only
   * moves encoder_q's BN buffers, which are never copied), and the key branch takes no gradient.
   */
  step(imQ: tf.Tensor4D, imK: tf.Tensor4D, lr: number): StepStats {
    const n = imQ.shape[0];
    if (this.config.K % n !== 0) throw new Error(`the queue length K = ${this.config.K} must be a multiple of the batch size ${n}`);
    if (imK.shape[0] !== n) throw new Error(`the two views hold ${n} and ${imK.shape[0]} images`);
    const T = this.config.T;

    this.momentumUpdate();
    // k: N x C, encoder_k in train mode (batch statistics, its own running stats move), no gradient
    const k = tf.tidy(() => l2normalize(this.encoderK.forward(imK, { train: true })));

    let logitsOut: tf.Tensor2D | null = null;
    const { value: loss, grads } = this.encoderQ.valueAndGrads(() => {
      const q = l2normalize(this.encoderQ.forward(imQ, { train: true })); // N x C
      const lPos = tf.sum(tf.mul(q, k), 1, true); // N x 1: einsum('nc,nc->n')
      const lNeg = tf.matMul(q, this.queue); // N x K: einsum('nc,ck->nk'), the queue before this batch
      const logits = tf.div(tf.concat([lPos, lNeg], 1), T) as tf.Tensor2D; // N x (1+K), positive at 0
      logitsOut = tf.keep(logits.clone());
      // CrossEntropyLoss with label 0, mean over the batch
      return tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.squeeze(tf.slice(logits, [0, 0], [n, 1]), [1]))) as tf.Scalar;
    });
    this.enqueue(k);
    k.dispose();
    this.optimizer.step(grads, lr);

    const logits = logitsOut as unknown as tf.Tensor2D;
    const [top1, top5] = tf.tidy(() => {
      // rank of the positive = how many logits beat it; torch's topk agrees except on exact ties
      const pos = tf.slice(logits, [0, 0], [n, 1]);
      const rank = tf.sum(tf.cast(tf.greater(logits, pos), 'float32'), 1);
      const pct = (r: number) => tf.mul(tf.mean(tf.cast(tf.less(rank, r), 'float32')), 100) as tf.Scalar;
      return [pct(1), pct(5)];
    });
    logits.dispose();
    return { loss, top1, top5 };
  }

  dispose(): void {
    this.encoderQ.dispose();
    this.encoderK.dispose();
    this.queue.dispose();
    this.optimizer.dispose();
  }
}
