// FLOPs of one MoCo step, for images/s -> FLOP/s -> MFU. Counted, not looked up: the encoder runs once at
// batch 1 under tf.profile and every conv and matmul kernel it ran is priced from its recorded shapes, so
// any architecture the models module builds is covered, at any image size.
//
// A multiply-add is 2 FLOPs. Elementwise work (batch norm, activations, pooling, the optimizer) is left
// out, as PyTorch's and the usual MFU accounting leave it out: MFU is model FLOPs over peak FLOP/s.
import * as tf from '@tensorflow/tfjs';
import { profileKernels, type KernelCall } from '../backend/kernel-profile.ts';
import { createModel, type Arch, type TorchModel } from '../models/index.ts';

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

type Shapes = (number[] | null)[];

/** Kernels priced by `kernelFlops`, by family. */
const CONV = new Set(['Conv2D', 'FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter']);
const MATMUL = new Set(['BatchMatMul', '_FusedMatMul']);

/** Work a kernel of this name does on its own, but that `kernelFlops` cannot price: counting must not skip it. */
const UNPRICED = /conv|matmul|einsum/i;

function shape(s: Shapes, i: number, name: string): number[] {
  const v = s[i];
  if (!v) throw new Error(`${name}: input ${i} has no recorded shape`);
  return v;
}

/**
 * FLOPs of one kernel call from its input and output shapes (tfjs layouts: NHWC activations, HWIO filters,
 * HW(C, multiplier) depthwise filters), or null for a kernel that is not a conv or a matmul.
 */
export function kernelFlops(name: string, inputShapes: Shapes, outputShapes: number[][]): number | null {
  const out = outputShapes[0] ?? [];
  switch (name) {
    case 'Conv2D':
    case 'FusedConv2D': {
      // every output element: kh * kw * Cin multiply-adds
      const [kh, kw, ci] = shape(inputShapes, 1, name);
      return 2 * prod(out) * kh! * kw! * ci!;
    }
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D': {
      const [kh, kw] = shape(inputShapes, 1, name);
      return 2 * prod(out) * kh! * kw!;
    }
    case 'Conv2DBackpropInput': {
      // inputs {dy, filter}: every dy element meets kh * kw * Cin weights
      const [kh, kw, ci] = shape(inputShapes, 1, name);
      return 2 * prod(shape(inputShapes, 0, name)) * kh! * kw! * ci!;
    }
    case 'Conv2DBackpropFilter': {
      // inputs {x, dy}, output the filter [kh, kw, Cin, Cout]
      const [kh, kw, ci] = out;
      return 2 * prod(shape(inputShapes, 1, name)) * kh! * kw! * ci!;
    }
    case 'DepthwiseConv2dNativeBackpropInput': {
      const [kh, kw] = shape(inputShapes, 1, name);
      return 2 * prod(shape(inputShapes, 0, name)) * kh! * kw!;
    }
    case 'DepthwiseConv2dNativeBackpropFilter': {
      const [kh, kw] = out;
      return 2 * prod(shape(inputShapes, 1, name)) * kh! * kw!;
    }
    case 'BatchMatMul':
    case '_FusedMatMul': {
      // out [..., M, N]; a's last two dims are M and K in either order (transposeA), so K = their product / M
      const a = shape(inputShapes, 0, name);
      const m = out[out.length - 2]!;
      const k = (a[a.length - 1]! * a[a.length - 2]!) / m;
      return 2 * prod(out) * k;
    }
    default:
      return null;
  }
}

export interface ForwardFlops {
  /** conv kernels (Conv2D, depthwise, fused) */
  conv: number;
  /** matmul kernels (the Linear layers) */
  matmul: number;
  total: number;
}

/** Forward FLOPs per image of `model` (eval mode) on size x size inputs, counted on the active backend. */
export async function forwardFlops(model: TorchModel, size: number): Promise<ForwardFlops> {
  const x = tf.zeros([1, size, size, 3]) as tf.Tensor4D;
  const { calls } = await profileKernels(() => {
    const y = model.forward(x, { train: false });
    y.dispose();
  });
  x.dispose();
  let conv = 0;
  let matmul = 0;
  for (const c of calls) {
    const f = kernelFlops(c.name, c.inputShapes, c.outputShapes);
    if (f === null) {
      if (UNPRICED.test(c.name)) throw new Error(`cannot price kernel ${c.name}; FLOPs would be undercounted`);
      continue;
    }
    if (CONV.has(c.name)) conv += f;
    else if (MATMUL.has(c.name)) matmul += f;
  }
  return { conv, matmul, total: conv + matmul };
}

export interface MocoFlopsConfig {
  arch: Arch;
  batch: number;
  size: number;
  /** feature dimension C (128) */
  dim: number;
  /** queue length K */
  K: number;
}

export interface MocoStepFlops extends MocoFlopsConfig {
  /** one encoder forward of one image */
  forwardPerImage: ForwardFlops;
  queryForward: number;
  /** 2x the forward: the gradient of each layer's input and of its weights, each a forward's worth */
  queryBackward: number;
  keyForward: number;
  /** l_neg = q . queue, N x C x (K + 1) with l_pos, and its gradient to q (the queue takes none) */
  logits: number;
  total: number;
}

/** A MoCo step's FLOPs from the per-image forward count. */
export function mocoStepFlopsFrom(forwardPerImage: ForwardFlops, cfg: MocoFlopsConfig): MocoStepFlops {
  const f = forwardPerImage.total * cfg.batch;
  const logits = 2 * (2 * cfg.batch * cfg.dim * (cfg.K + 1));
  return { ...cfg, forwardPerImage, queryForward: f, queryBackward: 2 * f, keyForward: f, logits, total: 4 * f + logits };
}

/** FLOPs of one MoCo step of `cfg` (builds an encoder with the MLP head, counts, disposes it). */
export async function mocoStepFlops(cfg: MocoFlopsConfig, encoder?: TorchModel): Promise<MocoStepFlops> {
  const model = encoder ?? createModel(cfg.arch, { numClasses: cfg.dim, head: 'mlp' });
  try {
    return mocoStepFlopsFrom(await forwardFlops(model, cfg.size), cfg);
  } finally {
    if (!encoder) model.dispose();
  }
}

export interface KernelRow {
  name: string;
  calls: number;
  ms: number;
  /** FLOPs these calls did (0 for kernels that are not convs or matmuls) */
  flops: number;
}

/** Profiled kernel calls summed per kernel name, slowest first. */
export function kernelTable(calls: readonly KernelCall[]): KernelRow[] {
  const rows = new Map<string, KernelRow>();
  for (const c of calls) {
    const r = rows.get(c.name) ?? { name: c.name, calls: 0, ms: 0, flops: 0 };
    r.calls++;
    r.ms += c.ms;
    r.flops += kernelFlops(c.name, c.inputShapes, c.outputShapes) ?? 0;
    rows.set(c.name, r);
  }
  return [...rows.values()].sort((a, b) => b.ms - a.ms);
}
