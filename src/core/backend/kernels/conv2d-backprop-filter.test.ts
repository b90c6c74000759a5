// Our Conv2DBackpropFilter on cpu and wasm in Node: against tfjs's own cpu kernel (correct, only slow)
// over a table of shapes, against torch.nn.grad.conv2d_weight, and for tensor bookkeeping. The webgl path
// (tf ops) is checked here on cpu; webgpu runs in headless Chromium (e2e/kernels-webgpu.spec.ts).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { appKernelsRegistered, registerAppKernels, stockConv2dBackpropFilter } from './index.ts';
import { conv2dBackpropFilterKernel, filterGradGeometry, filterGradOps, type FilterGradGeometry } from './conv2d-backprop-filter.ts';
import { splitK } from './conv2d-backprop-filter-webgpu.ts';
import { stockKernel } from './registry.ts';
import { loadKernelFixtures } from './fixtures.testutil.ts';
import { NODE_BACKENDS, useBackend } from './backends.testutil.ts';
import { relErr } from './check.ts';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
const ex = (t: number, b: number, l: number, r: number): Pad => [[0, 0], [t, b], [l, r], [0, 0]];

// x shape (NHWC), k, stride, pad, out channels: k 1/3/7, stride 1/2, every kind of padding, odd sizes,
// asymmetric 'same' (even input, stride 2), windows that leave input rows unread, 3 to 64 channels.
const TABLE: [number[], number, number, Pad, number][] = [
  [[2, 9, 9, 3], 3, 1, 'same', 8],
  [[2, 9, 9, 3], 3, 2, 'same', 8],
  [[1, 8, 10, 5], 3, 2, 'same', 6],
  [[2, 13, 11, 16], 7, 2, 'same', 12],
  [[2, 12, 12, 3], 7, 2, 3, 64],
  [[2, 7, 7, 32], 1, 1, 'valid', 48],
  [[2, 9, 9, 24], 1, 2, 'valid', 16],
  [[3, 10, 9, 17], 3, 2, 'valid', 9],
  [[1, 11, 7, 64], 3, 1, ex(2, 0, 1, 3), 64],
  [[2, 6, 5, 8], 3, 1, 1, 5],
  [[2, 6, 6, 40], 3, 2, ex(1, 1, 1, 1), 64],
];

const TOL = 1e-5;

function rand(shape: number[], seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function outShape(xs: number[], k: number, stride: number, pad: Pad, co: number): number[] {
  return tf.backend_util.computeConv2DInfo(xs as [number, number, number, number], [k, k, xs[3]!, co], stride, 1, pad).outShape;
}

/** Runs whatever Conv2DBackpropFilter is registered on the active backend (tfjs does not export the op). */
function filterGrad(x: tf.Tensor, dy: tf.Tensor, filterShape: number[], strides: number, pad: Pad, dataFormat = 'NHWC'): tf.Tensor {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides, pad, dataFormat, filterShape } as unknown as tf.NamedAttrMap);
}

/** Reference filter gradients from tfjs's own cpu kernel, computed once. */
const reference = new Map<number, Float32Array>();

beforeAll(async () => {
  await useBackend('cpu');
  registerAppKernels();
  TABLE.forEach(([xs, k, s, pad, co], i) => {
    const x = tf.tensor4d(rand(xs, i + 1), xs as [number, number, number, number]);
    const dy = tf.tensor4d(rand(outShape(xs, k, s, pad, co), i + 100), outShape(xs, k, s, pad, co) as [number, number, number, number]);
    const dw = stockConv2dBackpropFilter(x, dy, [k, k, xs[3]!, co], s, pad);
    reference.set(i, dw.dataSync() as Float32Array);
    tf.dispose([x, dy, dw]);
  });
});

afterAll(() => tf.disposeVariables());

describe.each(NODE_BACKENDS)('Conv2DBackpropFilter on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('is ours after registerAppKernels', () => {
    expect(appKernelsRegistered(backend)).toBe(true);
  });

  it.each(TABLE.map((row, i) => [i, ...row] as const))('case %i: x %j, k %i, stride %i, pad %j, Co %i: tf.conv2d gradient equals the stock kernel', (i, xs, k, s, pad, co) => {
    const x = tf.tensor4d(rand(xs, i + 1), xs as [number, number, number, number]);
    const dys = outShape(xs, k, s, pad, co);
    const dy = tf.tensor4d(rand(dys, i + 100), dys as [number, number, number, number]);
    const w = tf.zeros([k, k, xs[3]!, co]) as tf.Tensor4D;
    // d/dw sum(conv2d(x, w) * dy) = the filter gradient for dy, through the engine and our kernel
    const dw = tf.grad((wi: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, wi as tf.Tensor4D, s, pad), dy)))(w);
    expect(dw.shape).toEqual([k, k, xs[3], co]);
    expect(relErr(dw.dataSync(), reference.get(i)!)).toBeLessThan(TOL);
    tf.dispose([x, dy, w, dw]);
  });

  it('matches torch.nn.grad.conv2d_weight (float64 reference) on every fixture case', () => {
    const fx = loadKernelFixtures();
    expect(fx.conv.length).toBeGreaterThanOrEqual(9);
    for (const c of fx.conv) {
      const xa = fx.get('conv', c.name, 'x');
      const dya = fx.get('conv', c.name, 'dy');
      const ref = fx.get('conv', c.name, 'dw');
      const [t, b, l, r] = c.pad;
      const x = tf.tensor4d(xa.data, xa.shape as [number, number, number, number]);
      const dy = tf.tensor4d(dya.data, dya.shape as [number, number, number, number]);
      const dw = filterGrad(x, dy, ref.shape, c.stride, ex(t, b, l, r));
      expect(dw.shape, c.name).toEqual(ref.shape);
      expect(relErr(dw.dataSync(), ref.data), c.name).toBeLessThan(TOL);
      tf.dispose([x, dy, dw]);
    }
  });

  it('leaves no tensor or byte behind, and frees nothing early (inputs intact, output valid after they go)', () => {
    const xs = [2, 9, 9, 8];
    const x = tf.tensor4d(rand(xs, 7), xs as [number, number, number, number]);
    const dy = tf.tensor4d(rand([2, 5, 5, 16], 8), [2, 5, 5, 16]);
    const xBefore = x.dataSync().slice();
    const mem0 = tf.memory();
    const dw = filterGrad(x, dy, [3, 3, 8, 16], 2, 'same');
    expect(tf.memory().numTensors).toBe(mem0.numTensors + 1);
    expect(tf.memory().numBytes).toBe(mem0.numBytes + 3 * 3 * 8 * 16 * 4);
    expect(x.dataSync()).toEqual(xBefore);
    const first = dw.dataSync().slice();
    tf.dispose([x, dy]);
    expect(dw.dataSync()).toEqual(first);
    dw.dispose();
    expect(tf.memory().numTensors).toBe(mem0.numTensors - 2);
    expect(tf.memory().numBytes).toBe(mem0.numBytes - (2 * 9 * 9 * 8 + 2 * 5 * 5 * 16) * 4);
  });

  it('an empty batch gives a zero gradient of the filter shape', () => {
    const x = tf.zeros([0, 5, 5, 3]);
    const dy = tf.zeros([0, 5, 5, 4]);
    const dw = filterGrad(x, dy, [3, 3, 3, 4], 1, 'same');
    expect(dw.shape).toEqual([3, 3, 3, 4]);
    expect(Array.from(dw.dataSync()).every((v) => v === 0)).toBe(true);
    tf.dispose([x, dy, dw]);
  });

  it('called by a backend with bare TensorInfos, takes no reference it does not give back', () => {
    const x = tf.tensor4d(rand([1, 6, 6, 4], 3), [1, 6, 6, 4]);
    const dy = tf.tensor4d(rand([1, 6, 6, 5], 4), [1, 6, 6, 5]);
    const be = tf.backend();
    const info = (t: tf.Tensor): tf.TensorInfo => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
    const refCounts = [be.refCount(x.dataId), be.refCount(dy.dataId)];
    const n0 = tf.memory().numTensors;
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 4, 5] } as unknown as tf.NamedAttrMap;
    const out = conv2dBackpropFilterKernel({ inputs: { x: info(x), dy: info(dy) }, backend: be, attrs }) as tf.TensorInfo;
    expect([be.refCount(x.dataId), be.refCount(dy.dataId)]).toEqual(refCounts);
    expect(tf.memory().numTensors).toBe(n0);
    const dw = tf.engine().makeTensorFromTensorInfo(out);
    const viaOp = filterGrad(x, dy, [3, 3, 4, 5], 1, 'same');
    expect(relErr(dw.dataSync(), viaOp.dataSync())).toBe(0);
    tf.dispose([x, dy, dw, viaOp]);
    expect(tf.memory().numTensors).toBe(n0 - 2);
  });
});

describe('what our kernel does not take', () => {
  it('NCHW goes to the stock kernel on cpu (same numbers as NHWC), and is refused with the reason on wasm', async () => {
    await useBackend('cpu');
    const x = tf.tensor4d(rand([2, 7, 7, 3], 11), [2, 7, 7, 3]);
    const dy = tf.tensor4d(rand([2, 7, 7, 4], 12), [2, 7, 7, 4]);
    const nhwc = filterGrad(x, dy, [3, 3, 3, 4], 1, 'same');
    const nchw = filterGrad(tf.transpose(x, [0, 3, 1, 2]), tf.transpose(dy, [0, 3, 1, 2]), [3, 3, 3, 4], 1, 'same', 'NCHW');
    expect(relErr(nchw.dataSync(), nhwc.dataSync())).toBeLessThan(TOL);
    await useBackend('wasm');
    expect(() => filterGrad(tf.transpose(x, [0, 3, 1, 2]), tf.transpose(dy, [0, 3, 1, 2]), [3, 3, 3, 4], 1, 'same', 'NCHW')).toThrow(
      /Conv2DBackpropFilter on wasm: dataFormat NCHW is not supported, and tfjs has no kernel of its own here/,
    );
    await useBackend('cpu');
  });
});

describe('the webgl path (tf ops), run on cpu', () => {
  it.each(TABLE.map((row, i) => [i, ...row] as const))('case %i: x %j, k %i, stride %i, pad %j, Co %i', async (i, xs, k, s, pad, co) => {
    await useBackend('cpu');
    const dys = outShape(xs, k, s, pad, co);
    const g = filterGradGeometry(xs, dys, { strides: s, pad, dataFormat: 'NHWC', filterShape: [k, k, xs[3]!, co] }) as FilterGradGeometry;
    const x = tf.tensor4d(rand(xs, i + 1), xs as [number, number, number, number]);
    const dy = tf.tensor4d(rand(dys, i + 100), dys as [number, number, number, number]);
    const n0 = tf.memory().numTensors;
    // both ways of gathering the taps: one im2col matrix, and tap by tap
    for (const limit of [Infinity, 0]) {
      const dw = filterGradOps(x, dy, g, limit);
      expect(relErr(dw.dataSync(), reference.get(i)!)).toBeLessThan(TOL);
      dw.dispose();
    }
    expect(tf.memory().numTensors).toBe(n0);
    tf.dispose([x, dy]);
  });
});

describe('registration', () => {
  it('is idempotent and silent; notices a stock kernel put back and restores ours', async () => {
    await useBackend('cpu');
    const warn = vi.spyOn(console, 'warn');
    registerAppKernels();
    registerAppKernels('cpu');
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
    for (const b of ['cpu', 'wasm', 'webgl', 'webgpu']) expect(appKernelsRegistered(b), b).toBe(true);
    // what importing a backend package after us does: its register_all_kernels registers the stock kernel
    const stock = stockKernel('Conv2DBackpropFilter', 'cpu', conv2dBackpropFilterKernel)!;
    expect(stock.kernelFunc).not.toBe(conv2dBackpropFilterKernel);
    tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
    tf.registerKernel(stock);
    expect(appKernelsRegistered('cpu')).toBe(false);
    registerAppKernels('cpu');
    expect(appKernelsRegistered('cpu')).toBe(true);
    expect(stockKernel('Conv2DBackpropFilter', 'cpu', conv2dBackpropFilterKernel)).toBe(stock);
  });

  it('an unknown backend name registers nothing and reports false', () => {
    registerAppKernels('no-such-backend');
    expect(appKernelsRegistered('no-such-backend')).toBe(false);
  });
});

describe('split-K plan of the webgpu program', () => {
  it.each([
    [147, 64, 16384],
    [576, 64, 4096],
    [4608, 512, 64],
    [27, 8, 5],
    [9, 3, 0],
  ])('rows %i, Co %i, M %i: every split non-empty, chunks of whole steps cover M', (rows, co, m) => {
    const { splits, chunk } = splitK(rows, co, m);
    expect(chunk % 16).toBe(0);
    expect(splits).toBeGreaterThanOrEqual(1);
    expect(splits * chunk).toBeGreaterThanOrEqual(m);
    if (m > 0) expect((splits - 1) * chunk).toBeLessThan(m);
  });
});
