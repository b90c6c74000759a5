// Parameter store: every tensor of a torchvision state dict under its torchvision name, held as a
// tf.Variable in tfjs layout (conv HWIO, depthwise [kh,kw,C,1], Linear [in,out]); num_batches_tracked as a
// plain number. Import and export speak PyTorch shapes and C-order data.
import * as tf from '@tensorflow/tfjs';

/** How a tensor maps between PyTorch and tfjs layouts. */
export type ParamKind = 'conv' | 'dwconv' | 'linear' | 'vector';

/** One state-dict entry at the API boundary: PyTorch shape, C-order values. */
export interface StateEntry {
  shape: number[];
  data: Float32Array;
  /** 'int64' for num_batches_tracked (a 0-d int64 tensor in PyTorch); 'float32' otherwise. */
  dtype: 'float32' | 'int64';
}

/** What `loadStateDict` accepts per key: values in C order under the PyTorch shape. */
export interface StateEntryInput {
  shape: readonly number[];
  data: ArrayLike<number> | BigInt64Array;
}

export interface ParamInfo {
  name: string;
  kind: ParamKind;
  /** Shape as PyTorch has it. */
  torchShape: number[];
  trainable: boolean;
  variable: tf.Variable;
}

export interface BnStat {
  /** Module prefix, e.g. `layer1.0.bn1`. */
  prefix: string;
  momentum: number;
  numBatchesTracked: number;
}

/** tfjs perm that turns a PyTorch-layout tensor of this kind into the tfjs layout. */
function toTfPerm(kind: ParamKind): number[] | null {
  switch (kind) {
    case 'conv':
      return [2, 3, 1, 0]; // OIHW -> HWIO
    case 'dwconv':
      return [2, 3, 0, 1]; // [C,1,kh,kw] -> [kh,kw,C,1]
    case 'linear':
      return [1, 0];
    case 'vector':
      return null;
  }
}

function fromTfPerm(kind: ParamKind): number[] | null {
  switch (kind) {
    case 'conv':
      return [3, 2, 0, 1]; // HWIO -> OIHW
    case 'dwconv':
      return [2, 3, 0, 1]; // [kh,kw,C,1] -> [C,1,kh,kw]
    case 'linear':
      return [1, 0];
    case 'vector':
      return null;
  }
}

function tfShape(kind: ParamKind, s: number[]): number[] {
  const p = toTfPerm(kind);
  return p ? p.map((i) => s[i] as number) : s.slice();
}

export class ParamStore {
  /** In torchvision's state-dict order; num_batches_tracked entries are in `order` only. */
  readonly params = new Map<string, ParamInfo>();
  readonly bn = new Map<string, BnStat>();
  /** Every state-dict key in torchvision's order. */
  readonly order: string[] = [];
  private disposed = false;

  constructor(private readonly rng: () => number) {}

  private add(name: string, kind: ParamKind, torchShape: number[], trainable: boolean, init: tf.Tensor): tf.Variable {
    if (this.params.has(name)) throw new Error(`duplicate parameter ${name}`);
    const v = tf.variable(init, trainable);
    init.dispose();
    this.params.set(name, { name, kind, torchShape, trainable, variable: v });
    this.order.push(name);
    return v;
  }

  private seed(): number {
    return Math.floor(this.rng() * 2 ** 31);
  }

  /** Conv2d weight [out, in/groups, kh, kw], kaiming normal with fan_out (torchvision's resnet/densenet/mnasnet init). */
  conv(name: string, out: number, inPerGroup: number, k: number, depthwise = false): tf.Variable {
    const torchShape = [out, inPerGroup, k, k];
    const kind: ParamKind = depthwise ? 'dwconv' : 'conv';
    const std = Math.sqrt(2 / (out * k * k));
    return this.add(name, kind, torchShape, true, tf.randomNormal(tfShape(kind, torchShape), 0, std, 'float32', this.seed()));
  }

  /** Linear weight and bias. `init`: torch's default (U(±1/sqrt(in)) for both), 'zero-bias' (densenet), 'mnasnet'. */
  linear(prefix: string, out: number, inF: number, init: 'default' | 'zero-bias' | 'mnasnet' = 'default'): void {
    const bw = init === 'mnasnet' ? Math.sqrt(3 / out) : 1 / Math.sqrt(inF);
    this.add(`${prefix}.weight`, 'linear', [out, inF], true, tf.randomUniform([inF, out], -bw, bw, 'float32', this.seed()));
    const bias = init === 'default' ? tf.randomUniform([out], -bw, bw, 'float32', this.seed()) : tf.zeros([out]);
    this.add(`${prefix}.bias`, 'vector', [out], true, bias);
  }

  /** BatchNorm2d: weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0. */
  batchNorm(prefix: string, c: number, momentum = 0.1): void {
    this.add(`${prefix}.weight`, 'vector', [c], true, tf.ones([c]));
    this.add(`${prefix}.bias`, 'vector', [c], true, tf.zeros([c]));
    this.add(`${prefix}.running_mean`, 'vector', [c], false, tf.zeros([c]));
    this.add(`${prefix}.running_var`, 'vector', [c], false, tf.ones([c]));
    this.order.push(`${prefix}.num_batches_tracked`);
    this.bn.set(prefix, { prefix, momentum, numBatchesTracked: 0 });
  }

  get(name: string): tf.Variable {
    const p = this.params.get(name);
    if (!p) throw new Error(`no parameter ${name}`);
    return p.variable;
  }

  bnStat(prefix: string): BnStat {
    const s = this.bn.get(prefix);
    if (!s) throw new Error(`no batch norm ${prefix}`);
    return s;
  }

  /** Shape of every state-dict key as PyTorch has it. */
  torchShape(name: string): number[] | null {
    const p = this.params.get(name);
    if (p) return p.torchShape.slice();
    if (name.endsWith('.num_batches_tracked') && this.bn.has(name.slice(0, -'.num_batches_tracked'.length))) return [];
    return null;
  }

  trainableVariables(): Map<string, tf.Variable> {
    const m = new Map<string, tf.Variable>();
    for (const p of this.params.values()) if (p.trainable) m.set(p.name, p.variable);
    return m;
  }

  /** A tfjs-layout tensor of parameter `name` turned into PyTorch layout (caller disposes). */
  toTorchLayout(name: string, t: tf.Tensor): tf.Tensor {
    const p = this.params.get(name);
    if (!p) throw new Error(`no parameter ${name}`);
    const perm = fromTfPerm(p.kind);
    return perm ? tf.transpose(t, perm) : t.clone();
  }

  /** A PyTorch-layout value of parameter `name` (C order) as a tfjs-layout tensor (caller disposes). */
  fromTorchLayout(name: string, data: Float32Array): tf.Tensor {
    const p = this.params.get(name);
    if (!p) throw new Error(`no parameter ${name}`);
    const perm = toTfPerm(p.kind);
    return tf.tidy(() => {
      const t = tf.tensor(data, p.torchShape, 'float32');
      return perm ? tf.transpose(t, perm) : t;
    });
  }

  /** Assigns a PyTorch-layout value (already shape-checked). */
  assignTorch(name: string, data: Float32Array): void {
    const p = this.params.get(name);
    if (p) {
      tf.tidy(() => {
        const t = tf.tensor(data, p.torchShape, 'float32');
        const perm = toTfPerm(p.kind);
        p.variable.assign(perm ? tf.transpose(t, perm) : t);
      });
      return;
    }
    const s = this.bn.get(name.slice(0, -'.num_batches_tracked'.length));
    if (!s || !name.endsWith('.num_batches_tracked')) throw new Error(`no parameter ${name}`);
    s.numBatchesTracked = data[0] ?? 0;
  }

  async exportTorch(): Promise<Map<string, StateEntry>> {
    const out = new Map<string, StateEntry>();
    for (const name of this.order) {
      const p = this.params.get(name);
      if (p) {
        const t = this.toTorchLayout(name, p.variable);
        const data = (await t.data()) as Float32Array;
        t.dispose();
        out.set(name, { shape: p.torchShape.slice(), data: Float32Array.from(data), dtype: 'float32' });
      } else {
        const s = this.bnStat(name.slice(0, -'.num_batches_tracked'.length));
        out.set(name, { shape: [], data: Float32Array.of(s.numBatchesTracked), dtype: 'int64' });
      }
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.params.values()) p.variable.dispose();
  }
}

export { mulberry32 } from '../random.ts';
