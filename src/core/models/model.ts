// The common part of the four architectures: torchvision-named parameters (ParamStore), PyTorch-exact
// building blocks on tf ops (symmetric padding, batch norm with eps 1e-5, momentum and unbiased running
// variance, max-pool padding that never wins), heads, state-dict import/export and gradients.
// Channels-last inside: inputs are NHWC float32 [N, H, W, 3].
import * as tf from '@tensorflow/tfjs';
import { conv2d } from './conv.ts';
import { ParamStore, mulberry32, type StateEntry, type StateEntryInput } from './params.ts';

export type Arch = 'resnet18' | 'resnet50' | 'densenet121' | 'mnasnet1_0';

/**
 * The final layer(s):
 * - 'torchvision': as torchvision builds it: `fc` (ResNet), `classifier` (DenseNet), `classifier.1` after a
 *   Dropout(0.2) at `classifier.0` (MNASNet).
 * - 'linear': one Linear at the bare head name (`fc` / `classifier`), as MoCo-CXR's builder.py puts on a
 *   pretrained MNASNet (`classifier.weight`); same as 'torchvision' for ResNet and DenseNet.
 * - 'mlp': MoCo v2's Linear(d, d) -> ReLU -> Linear(d, numClasses) at `<head>.0` and `<head>.2`.
 */
export type HeadKind = 'torchvision' | 'linear' | 'mlp';

export interface ModelOptions {
  /** Outputs of the last Linear (torchvision's default 1000). */
  numClasses?: number;
  head?: HeadKind;
  /** MNASNet 'torchvision' head only: dropout rate before `classifier.1` in train mode (default 0.2). */
  dropout?: number;
  /** Seed for the random initialisation (torchvision's init schemes). */
  seed?: number;
}

export interface ForwardOptions {
  /** Train mode: batch statistics in batch norm (and dropout where the head has it). Default false. */
  train?: boolean;
  /** In train mode, update running_mean / running_var / num_batches_tracked (default true). */
  updateStats?: boolean;
}

export interface LoadResult {
  missing: string[];
  unexpected: string[];
  /** Keys present in both whose shapes differ. */
  wrongShape: { key: string; expected: number[]; got: number[] }[];
  /** Whether values were assigned (a strict load with any problem assigns nothing). */
  loaded: boolean;
}

export class StateDictError extends Error {
  constructor(
    message: string,
    readonly result: LoadResult,
  ) {
    super(message);
    this.name = 'StateDictError';
  }
}

const BN_EPS = 1e-5;

export abstract class TorchModel {
  abstract readonly arch: Arch;
  /** Width of the pooled features that the head takes. */
  readonly featureDim: number;
  readonly numClasses: number;
  readonly head: HeadKind;
  readonly store: ParamStore;
  protected readonly dropoutRate: number;
  private training = false;
  private updateStats = true;

  protected constructor(featureDim: number, opts: ModelOptions, defaultDropout = 0) {
    this.featureDim = featureDim;
    this.numClasses = opts.numClasses ?? 1000;
    if (!Number.isInteger(this.numClasses) || this.numClasses < 1) throw new Error(`numClasses must be a positive integer, got ${this.numClasses}`);
    this.head = opts.head ?? 'torchvision';
    this.dropoutRate = opts.dropout ?? defaultDropout;
    this.store = new ParamStore(mulberry32(opts.seed ?? 0));
  }

  /** Prefix of the head in the state dict: `fc` or `classifier`. */
  protected abstract readonly headBase: string;
  /** Backbone up to and including the global average pool: [N, featureDim]. */
  protected abstract backbone(x: tf.Tensor4D): tf.Tensor2D;

  /** State-dict keys of the head's Linear layer(s), in order. */
  headKeys(): string[] {
    return this.headLinears().flatMap((p) => [`${p}.weight`, `${p}.bias`]);
  }

  private headLinears(): string[] {
    const b = this.headBase;
    if (this.head === 'mlp') return [`${b}.0`, `${b}.2`];
    if (this.head === 'torchvision' && this.arch === 'mnasnet1_0') return [`${b}.1`];
    return [b];
  }

  protected buildHead(init: 'default' | 'zero-bias' | 'mnasnet'): void {
    const ls = this.headLinears();
    if (ls.length === 2) {
      this.store.linear(ls[0] as string, this.featureDim, this.featureDim, init);
      this.store.linear(ls[1] as string, this.numClasses, this.featureDim, init);
    } else this.store.linear(ls[0] as string, this.numClasses, this.featureDim, init);
  }

  /** Logits [N, numClasses] of NHWC float32 input [N, H, W, 3]. */
  forward(x: tf.Tensor4D, opts: ForwardOptions = {}): tf.Tensor2D {
    return this.run(opts, () => this.applyHead(this.backbone(x)));
  }

  /** Pooled features before the head, [N, featureDim]. */
  features(x: tf.Tensor4D, opts: ForwardOptions = {}): tf.Tensor2D {
    return this.run(opts, () => this.backbone(x));
  }

  /** The head alone on pooled features. */
  applyHead(f: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const ls = this.headLinears();
      if (ls.length === 2) return this.linear(tf.relu(this.linear(f, ls[0] as string)), ls[1] as string);
      let h = f;
      if (this.head === 'torchvision' && this.arch === 'mnasnet1_0' && this.training && this.dropoutRate > 0) {
        h = tf.dropout(h, this.dropoutRate) as tf.Tensor2D;
      }
      return this.linear(h, ls[0] as string);
    });
  }

  private run<T extends tf.Tensor>(opts: ForwardOptions, f: () => T): T {
    const x = this.training;
    const u = this.updateStats;
    this.training = opts.train ?? false;
    this.updateStats = opts.updateStats ?? true;
    try {
      return tf.tidy(f);
    } finally {
      this.training = x;
      this.updateStats = u;
    }
  }

  // ---- building blocks -------------------------------------------------------------------------

  /** Conv2d without bias, symmetric zero padding `pad` (PyTorch's `padding=pad`). */
  protected conv(x: tf.Tensor4D, name: string, stride: number, pad: number): tf.Tensor4D {
    return conv2d(x, this.store.get(name) as tf.Tensor4D, stride, pad);
  }

  /** Depthwise Conv2d (groups = channels, multiplier 1), symmetric padding. */
  protected dwconv(x: tf.Tensor4D, name: string, stride: number, pad: number): tf.Tensor4D {
    const w = this.store.get(name) as tf.Tensor4D;
    const p: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [pad, pad],
      [pad, pad],
      [0, 0],
    ];
    return tf.depthwiseConv2d(x, w, stride, pad === 0 ? 'valid' : p);
  }

  /**
   * BatchNorm2d as PyTorch computes it. Eval: running statistics. Train: batch mean and biased batch
   * variance normalise; running_mean/var move by `momentum` towards the batch mean and the unbiased batch
   * variance, and num_batches_tracked grows by one.
   */
  protected bn(x: tf.Tensor4D, prefix: string): tf.Tensor4D {
    const s = this.store;
    const gamma = s.get(`${prefix}.weight`) as tf.Tensor1D;
    const beta = s.get(`${prefix}.bias`) as tf.Tensor1D;
    const rm = s.get(`${prefix}.running_mean`);
    const rv = s.get(`${prefix}.running_var`);
    if (!this.training) return tf.batchNorm4d(x, rm as tf.Tensor1D, rv as tf.Tensor1D, beta, gamma, BN_EPS);
    const [n, h, w] = x.shape;
    const count = n * h * w;
    if (count < 2) throw new Error(`${prefix}: batch norm in train mode needs more than 1 value per channel (input ${x.shape.join('x')})`);
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    if (this.updateStats) {
      const st = s.bnStat(prefix);
      const m = st.momentum;
      // tf.tidy keeps the assigned values (a Variable holds its own reference).
      tf.tidy(() => {
        rm.assign(tf.add(tf.mul(rm, 1 - m), tf.mul(mean, m)));
        rv.assign(tf.add(tf.mul(rv, 1 - m), tf.mul(variance, (m * count) / (count - 1))));
      });
      st.numBatchesTracked += 1;
    }
    return tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, beta, gamma, BN_EPS);
  }

  /** MaxPool2d(k, stride, padding) as PyTorch pads (padded cells never win; floor output size). */
  protected maxPool(x: tf.Tensor4D, k: number, stride: number, pad: number): tf.Tensor4D {
    return tf.maxPool(x, k, stride, pad);
  }

  /** Adaptive average pooling to 1x1, flattened: [N, C]. */
  protected globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
    return tf.mean(x, [1, 2]) as tf.Tensor2D;
  }

  protected linear(x: tf.Tensor2D, prefix: string): tf.Tensor2D {
    const w = this.store.get(`${prefix}.weight`) as tf.Tensor2D;
    const b = this.store.get(`${prefix}.bias`);
    return tf.add(tf.matMul(x, w), b);
  }

  // ---- state dict --------------------------------------------------------------------------------

  /** Every state-dict key in torchvision's order. */
  stateDictKeys(): string[] {
    return this.store.order.slice();
  }

  /** PyTorch shape of a key, or null when the model has no such key. */
  torchShape(key: string): number[] | null {
    return this.store.torchShape(key);
  }

  /** Trainable parameters (torchvision's `named_parameters()`), as tf.Variables in tfjs layout. */
  trainableVariables(): Map<string, tf.Variable> {
    return this.store.trainableVariables();
  }

  /**
   * Value of a scalar loss and its gradient for every trainable parameter, keyed by state-dict name, in
   * tfjs layout (as the variables are; see `gradientsToTorch`). `f` runs the model itself, e.g.
   * `() => lossOf(model.forward(x, {train: true}))`; batch-norm running statistics update as a side effect
   * and take no part in the gradient. The caller disposes `value` and the gradients.
   */
  valueAndGrads(f: () => tf.Scalar): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
    const vars = this.store.trainableVariables();
    const byVarName = new Map<string, string>();
    for (const [name, v] of vars) byVarName.set(v.name, name);
    const { value, grads } = tf.variableGrads(f, [...vars.values()]);
    const out = new Map<string, tf.Tensor>();
    for (const name of vars.keys()) {
      const v = vars.get(name) as tf.Variable;
      const g = grads[v.name];
      if (g) out.set(name, g);
    }
    return { value, grads: out };
  }

  /** Gradients (tfjs layout, from `valueAndGrads`) as state-dict entries in PyTorch layout. */
  async gradientsToTorch(grads: Map<string, tf.Tensor>): Promise<Map<string, StateEntry>> {
    const out = new Map<string, StateEntry>();
    for (const [name, g] of grads) {
      const t = this.store.toTorchLayout(name, g);
      const data = Float32Array.from((await t.data()) as Float32Array);
      t.dispose();
      out.set(name, { shape: t.shape.slice(), data, dtype: 'float32' });
    }
    return out;
  }

  /** Frees every variable. The model cannot be used afterwards. */
  dispose(): void {
    this.store.dispose();
  }
}

/**
 * Loads a PyTorch state dict (names as torchvision has them, PyTorch shapes, C-order values).
 * Lists missing, unexpected and wrongly shaped keys by name; with `strict` (the default) any of them
 * refuses the load (throws StateDictError) and nothing is assigned. Non-strict loads assign the keys
 * that match and report the rest.
 */
export function loadStateDict(
  model: TorchModel,
  entries: Map<string, StateEntryInput>,
  opts: { strict?: boolean } = {},
): LoadResult {
  const strict = opts.strict ?? true;
  const keys = model.stateDictKeys();
  const known = new Set(keys);
  const missing = keys.filter((k) => !entries.has(k));
  const unexpected = [...entries.keys()].filter((k) => !known.has(k));
  const wrongShape: LoadResult['wrongShape'] = [];
  for (const k of keys) {
    const e = entries.get(k);
    if (!e) continue;
    const expected = model.torchShape(k) as number[];
    const got = [...e.shape];
    const size = got.reduce((a, b) => a * b, 1);
    if (got.length !== expected.length || got.some((d, i) => d !== expected[i]) || e.data.length !== size) {
      wrongShape.push({ key: k, expected, got });
    }
  }
  const result: LoadResult = { missing, unexpected, wrongShape, loaded: false };
  const problems = missing.length + unexpected.length + wrongShape.length;
  if (strict && problems > 0) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
    if (unexpected.length) parts.push(`unexpected keys: ${unexpected.join(', ')}`);
    if (wrongShape.length) {
      parts.push(`wrong shapes: ${wrongShape.map((w) => `${w.key} is [${w.got.join(', ')}], ${model.arch} needs [${w.expected.join(', ')}]`).join('; ')}`);
    }
    throw new StateDictError(`state dict does not fit ${model.arch} (${model.numClasses} outputs): ${parts.join('; ')}`, result);
  }
  const bad = new Set(wrongShape.map((w) => w.key));
  for (const k of keys) {
    const e = entries.get(k);
    if (!e || bad.has(k)) continue;
    model.store.assignTorch(k, toFloat32(e.data));
  }
  result.loaded = true;
  return result;
}

function toFloat32(d: ArrayLike<number> | BigInt64Array): Float32Array {
  if (d instanceof Float32Array) return d;
  if (d instanceof BigInt64Array) return Float32Array.from(d, (v) => Number(v));
  return Float32Array.from(d);
}

/** The model's state dict: torchvision names in order, PyTorch shapes, C-order values. */
export function exportStateDict(model: TorchModel): Promise<Map<string, StateEntry>> {
  return model.store.exportTorch();
}

/** NCHW (PyTorch) to NHWC (the models' input layout). */
export function nchwToNhwc(x: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(x, [0, 2, 3, 1]);
}
