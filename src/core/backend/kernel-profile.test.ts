// profileKernels: each kernel once, wrappers replaced by what they ran, custom kernels built from tf ops
// counted as themselves.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { profileKernels } from './kernel-profile.ts';

const NESTED = 'MocoCxrProfileTestNested';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  // A kernel built from tf ops, as src/core/backend/kernels builds some: its inner kernels run nested.
  tf.registerKernel({
    kernelName: NESTED,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs['x'] as tf.Tensor;
      const y = tf.tidy(() => tf.relu(tf.matMul(x as tf.Tensor2D, x as tf.Tensor2D)));
      (backend as tf.KernelBackend).incRef(y.dataId);
      const info = { dataId: y.dataId, shape: y.shape, dtype: y.dtype };
      y.dispose();
      return info;
    },
  });
});

describe('profileKernels', () => {
  it('flat ops: every kernel, in order, with shapes and times', async () => {
    const a = tf.ones([4, 6]) as tf.Tensor2D;
    const { result, calls, wallMs } = await profileKernels(() => tf.tidy(() => tf.relu(tf.matMul(a, a, false, true))));
    expect(calls.map((c) => c.name)).toEqual(['BatchMatMul', 'Relu']);
    expect(calls[0]!.inputShapes).toEqual([
      [4, 6],
      [4, 6],
    ]);
    expect(calls[0]!.outputShapes).toEqual([[4, 4]]);
    expect(calls.every((c) => c.ms >= 0)).toBe(true);
    expect(wallMs).toBeGreaterThan(0);
    expect(result.shape).toEqual([4, 4]);
    tf.dispose([a, result]);
  });

  it('a customGrad wrapper is replaced by the kernels it ran', async () => {
    const f = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => ({
      value: tf.square(x as tf.Tensor),
      gradFunc: (dy: tf.Tensor) => tf.mul(dy, 2),
    }));
    const x = tf.ones([3]);
    const { result, calls } = await profileKernels(() => f(x));
    expect(calls.map((c) => c.name)).toEqual(['Square']);
    tf.dispose([x, result]);
  });

  it('a kernel built from tf ops counts once, as itself', async () => {
    const x = tf.ones([3, 3]);
    const { result, calls } = await profileKernels(() => tf.tidy(() => tf.add(tf.engine().runKernel(NESTED, { x }) as tf.Tensor, 1)));
    expect(calls.map((c) => c.name)).toEqual([NESTED, 'Add']);
    expect(Array.from(await result.data())).toEqual(new Array(9).fill(4));
    tf.dispose([x, result]);
  });
});
