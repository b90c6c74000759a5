// Conv2DBackpropFilter (the filter gradient of tf.conv2d) as matrix products, registered in place of
// tfjs 4.22's own: on cpu and webgpu that one is a loop per filter weight over the whole batch, and wasm
// has none at all (a ResNet-18 backward at 2x64 px took 72 s on cpu with it).
//
// dW[i, j, ci, co] = sum over (n, oh, ow) of x[n, oh*sh + i - top, ow*sw + j - left, ci] * dy[n, oh, ow, co],
// so each kernel tap (i, j) is a [Ci, M] x [M, Co] product with M = N*Ho*Wo, the tap's strided window of
// the zero-padded input on the left. webgpu runs that as one WGSL program (conv2d-backprop-filter-webgpu.ts),
// cpu and wasm fill an im2col matrix in a JS loop and multiply with the backend's matMul
// (conv2d-backprop-filter-host.ts), webgl composes tf ops (filterGradOps). NCHW and non-float32 inputs go
// to the stock kernel.
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { asTensor, handOff, isRegistered, replaceKernel, stockKernel } from './registry.ts';
import { filterGradWebGpu } from './conv2d-backprop-filter-webgpu.ts';
import { cpuMemory, filterGradHost, wasmMemory } from './conv2d-backprop-filter-host.ts';

export const CONV2D_BACKPROP_FILTER = 'Conv2DBackpropFilter';
export const CONV_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;

/** What the kernel needs of a convolution, with tfjs's own padding and output-size rules applied. */
export interface FilterGradGeometry {
  n: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  /** zeros above and left of the input (tfjs puts the odd one of 'same' at the bottom and right) */
  top: number;
  left: number;
}

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** The geometry of a Conv2DBackpropFilter call, or why ours does not take it. */
export function filterGradGeometry(xShape: number[], dyShape: number[], attrs: Attrs): FilterGradGeometry | string {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') return `dataFormat ${attrs.dataFormat}`;
  if (xShape.length !== 4 || dyShape.length !== 4) return `ranks ${xShape.length}, ${dyShape.length}`;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (expected.join() !== dyShape.join()) return `dy shape ${dyShape.join('x')}, expected ${expected.join('x')}`;
  return {
    n: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

/**
 * Above this many floats the taps are not gathered into one im2col matrix ([kh*kw*Ci, M]) for a single
 * product but multiplied one by one, so memory stays at one tap's window (ResNet-18's first stage at batch
 * 32, 224 px would need 231 MB for the matrix).
 */
export const IM2COL_LIMIT = 4 << 20;

/**
 * The filter gradient from tf ops on the active backend (the webgl path). The input is laid out once as
 * [sh, sw, Ci, N, H/sh, W/sw] (stride phases first, channels before positions), so that every tap's window
 * is a plain slice, no strided one, and is already the [Ci, M] operand: the products need no transposed
 * operand and their rows are HWIO rows as they stand.
 */
export function filterGradOps(x: tf.Tensor4D, dy: tf.Tensor4D, g: FilterGradGeometry, im2colLimit = IM2COL_LIMIT): tf.Tensor4D {
  return tf.tidy(() => {
    const { n, inH, inW, inC: c, outH, outW, outC: co, kh, kw, sh, sw, top, left } = g;
    const m = n * outH * outW;
    const dy2 = tf.reshape(dy, [m, co]);
    // Rows tap i reads: i + oh*sh, i = sh*ai + bi. With the padded height a multiple of sh (hs rows per
    // phase), that is row ai + oh of phase bi. Rows past the last window are cropped, never padded.
    const hs = Math.floor((kh - 1) / sh) + outH;
    const ws = Math.floor((kw - 1) / sw) + outW;
    const bottom = hs * sh - top - inH;
    const right = ws * sw - left - inW;
    let xp: tf.Tensor4D = x;
    if (bottom < 0 || right < 0) xp = tf.slice(xp, [0, 0, 0, 0], [n, inH + Math.min(0, bottom), inW + Math.min(0, right), c]);
    if (top > 0 || left > 0 || bottom > 0 || right > 0)
      xp = tf.pad(xp, [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]]);
    // [sh*sw, C*N, hs, ws]: rank 4, since some backends (wasm) slice tensors of rank 5 and up element by element.
    const phases = tf.reshape(tf.transpose(tf.reshape(xp, [n, hs, sh, ws, sw, c]), [2, 4, 5, 0, 1, 3]), [sh * sw, c * n, hs, ws]);
    const tap = (i: number, j: number): tf.Tensor2D => {
      const [ai, bi, aj, bj] = [Math.floor(i / sh), i % sh, Math.floor(j / sw), j % sw];
      const whole = hs === outH && ws === outW && sh * sw === 1;
      return tf.reshape(whole ? phases : tf.slice(phases, [bi * sw + bj, 0, ai, aj], [1, c * n, outH, outW]), [c, m]);
    };
    const taps: [number, number][] = [];
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push([i, j]);
    if (taps.length === 1 || m * taps.length * c <= im2colLimit) {
      const cols = taps.length === 1 ? tap(0, 0) : tf.concat(taps.map(([i, j]) => tap(i, j)), 0); // [kh*kw*Ci, M]
      return tf.reshape(tf.matMul(cols, dy2), [kh, kw, c, co]);
    }
    return tf.reshape(tf.stack(taps.map(([i, j]) => tf.matMul(tap(i, j), dy2))), [kh, kw, c, co]);
  });
}

function unsupported(backendName: string, why: string, args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const stock = stockKernel(CONV2D_BACKPROP_FILTER, backendName, conv2dBackpropFilterKernel);
  if (!stock) throw new Error(`Conv2DBackpropFilter on ${backendName}: ${why} is not supported, and tfjs has no kernel of its own here`);
  return stock.kernelFunc(args);
}

/** The registered kernel (one function for every backend: it asks the backend it is given which path to take). */
export const conv2dBackpropFilterKernel: tf.KernelFunc = (args) => {
  const backend = args.backend as tf.KernelBackend;
  const backendName = tf.getBackend();
  const x = args.inputs.x as tf.TensorInfo;
  const dy = args.inputs.dy as tf.TensorInfo;
  const attrs = args.attrs as unknown as Attrs;
  const g = filterGradGeometry(x.shape, dy.shape, attrs);
  if (typeof g === 'string') return unsupported(backendName, g, args);
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return unsupported(backendName, `dtype ${x.dtype}/${dy.dtype}`, args);
  // An empty batch or image: nothing to sum, and no buffer to bind on webgpu.
  if (g.n * g.outH * g.outW * g.inH * g.inW === 0) return handOff(tf.zeros(attrs.filterShape), backend);
  if (backendName === 'webgpu') return filterGradWebGpu(backend as unknown as WebGPUBackend, x, dy, g);
  const host = backendName === 'cpu' ? cpuMemory(backend) : backendName === 'wasm' ? wasmMemory(backend) : null;
  const dyt = asTensor(dy, backend);
  const xt = host ? null : asTensor(x, backend);
  try {
    const dw = xt ? filterGradOps(xt.t as tf.Tensor4D, dyt.t as tf.Tensor4D, g) : filterGradHost(host!, x, dyt.t, g, IM2COL_LIMIT);
    return handOff(dw, backend);
  } finally {
    xt?.release();
    dyt.release();
  }
};

export function registerConv2dBackpropFilter(backendName: string): void {
  replaceKernel(CONV2D_BACKPROP_FILTER, backendName, conv2dBackpropFilterKernel);
}

export function conv2dBackpropFilterRegistered(backendName: string): boolean {
  return isRegistered(CONV2D_BACKPROP_FILTER, backendName, conv2dBackpropFilterKernel);
}

/**
 * tfjs's own Conv2DBackpropFilter on the active backend, run directly (for comparisons): the same inputs
 * and attributes as tf.conv2d's gradient passes. Throws where tfjs has none (wasm).
 */
export function stockConv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Attrs['pad'],
): tf.Tensor4D {
  const backendName = tf.getBackend();
  const stock = stockKernel(CONV2D_BACKPROP_FILTER, backendName, conv2dBackpropFilterKernel);
  if (!stock) throw new Error(`tfjs has no Conv2DBackpropFilter on ${backendName}`);
  const attrs = { strides, pad, dataFormat: 'NHWC', filterShape } as unknown as tf.NamedAttrMap;
  const out = stock.kernelFunc({ inputs: { x, dy }, backend: tf.backend(), attrs }) as tf.TensorInfo;
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor4D;
}
