// The filter gradient on the CPU backends (cpu, wasm): the im2col matrix is written by a plain loop
// straight into backend memory, and the products go to the backend's matMul (XNNPACK on wasm).
//
// Why not tf ops as on webgl: wasm runs Slice, StridedSlice with a step, Concat and rank-5+ Transpose as
// JS loops that copy a few floats per call (a 7x7 stride-2 stem took 330 ms that way, about 40 ms here),
// and its BatchMatMul leaves XNNPACK for a naive loop, about 10 times slower, when an operand is transposed.
// So the matrix is written transposed, and each product takes both operands as stored. (Written the other
// way round, as [M, taps*Ci], it needs dy and the result transposed: 1.5 times slower over ResNet-18.)
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { FilterGradGeometry } from './conv2d-backprop-filter.ts';

/** Float32 storage of a CPU backend: fresh tensors to fill, and views of existing ones. */
export interface HostMemory {
  /** A new float32 tensor (tracked by the engine) and its storage, to be filled completely. */
  alloc(shape: number[]): { tensor: tf.Tensor; data: Float32Array };
  /** The values of `t`; on wasm a view that the next alloc may detach, so read after allocating. */
  read(t: tf.TensorInfo): Float32Array;
}

/** The cpu backend's storage, as far as used here (the class is not a direct dependency). */
interface CpuBackend {
  data: { get(dataId: tf.DataId): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

export function cpuMemory(backend: tf.KernelBackend): HostMemory {
  const b = backend as unknown as CpuBackend;
  return {
    alloc(shape) {
      const data = new Float32Array(shape.reduce((a, s) => a * s, 1));
      return { tensor: tf.engine().makeTensorFromTensorInfo(b.makeTensorInfo(shape, 'float32', data), backend), data };
    },
    read: (t) => b.data.get(t.dataId).values as Float32Array,
  };
}

export function wasmMemory(backend: tf.KernelBackend): HostMemory {
  const b = backend as unknown as BackendWasm;
  return {
    alloc(shape) {
      const info = b.makeOutput(shape, 'float32');
      return { tensor: tf.engine().makeTensorFromTensorInfo(info, backend), data: b.typedArrayFromHeap(info) as Float32Array };
    },
    read: (t) => b.typedArrayFromHeap(t) as Float32Array,
  };
}

/**
 * Writes the transposed im2col matrix for taps [t0, t1): row (t - t0)*Ci + ci holds, for every output
 * position m = (n, oh, ow), the input value tap t multiplies there (zero in the padding). Loop order: taps,
 * then positions, then channels, so reads are contiguous runs of Ci and writes advance Ci sequential
 * streams (one per row); every element is written, since wasm memory is not zeroed.
 */
export function fillColsT(x: Float32Array, cols: Float32Array, g: FilterGradGeometry, t0: number, t1: number): void {
  const { n, inH, inW, inC: c, outH, outW, kw, sh, sw, top, left } = g;
  const m = n * outH * outW;
  for (let t = t0; t < t1; t++) {
    const i = Math.floor(t / kw);
    const iw0 = t - i * kw - left;
    const base = (t - t0) * c * m;
    let pos = 0;
    for (let b = 0; b < n; b++)
      for (let oh = 0; oh < outH; oh++) {
        const ih = oh * sh + i - top;
        if (ih < 0 || ih >= inH) {
          for (let k = 0; k < c; k++) cols.fill(0, base + k * m + pos, base + k * m + pos + outW);
          pos += outW;
          continue;
        }
        const xRow = (b * inH + ih) * inW;
        for (let ow = 0; ow < outW; ow++, pos++) {
          const iw = ow * sw + iw0;
          if (iw < 0 || iw >= inW) {
            for (let k = 0; k < c; k++) cols[base + k * m + pos] = 0;
            continue;
          }
          const src = (xRow + iw) * c;
          for (let k = 0; k < c; k++) cols[base + k * m + pos] = x[src + k]!;
        }
      }
  }
}

/**
 * The filter gradient [kh, kw, Ci, Co] of x (NHWC, in `mem`) and dy: per group of taps one product
 * colsT [taps*Ci, M] x dy [M, Co], whose rows are already HWIO rows. Groups hold at most `limit` floats of
 * matrix, so memory stays bounded for large inputs.
 */
export function filterGradHost(mem: HostMemory, x: tf.TensorInfo, dy: tf.Tensor, g: FilterGradGeometry, limit: number): tf.Tensor4D {
  const { kh, kw, inC: c, outC: co } = g;
  const m = g.n * g.outH * g.outW;
  const taps = kh * kw;
  const per = Math.max(1, Math.floor(limit / Math.max(1, m * c)));
  return tf.tidy(() => {
    const dy2 = tf.reshape(dy, [m, co]);
    const parts: tf.Tensor[] = [];
    for (let t0 = 0; t0 < taps; t0 += per) {
      const t1 = Math.min(taps, t0 + per);
      const cols = mem.alloc([(t1 - t0) * c, m]);
      fillColsT(mem.read(x), cols.data, g, t0, t1);
      parts.push(tf.matMul(cols.tensor, dy2));
      cols.tensor.dispose(); // now rather than at the end of the tidy: one group's matrix at a time
    }
    return tf.reshape(parts.length === 1 ? parts[0]! : tf.concat(parts, 0), [kh, kw, c, co]);
  });
}
