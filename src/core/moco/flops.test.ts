// FLOP counting against PyTorch (scripts/fixtures/torch_flops.py: forward hooks on every Conv2d and Linear
// of torchvision's models at 64 px), and each priced kernel against the forward it is the gradient of.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';
import { profileKernels } from '../backend/kernel-profile.ts';
import { ARCH_NAMES, createModel, type HeadKind } from '../models/index.ts';
import { forwardFlops, kernelFlops, kernelTable, mocoStepFlops, mocoStepFlopsFrom } from './flops.ts';

interface TorchFlops {
  size: number;
  batch: number;
  dim: number;
  models: Record<string, { conv_flops: number; linear_flops: number }>;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('forward FLOPs equal PyTorch conv + linear counts at 64 px', () => {
  const fx = JSON.parse(readFileSync(join(ensureFixtures('torch_flops'), 'flops.json'), 'utf8')) as TorchFlops;
  const heads: [HeadKind, number][] = [
    ['torchvision', 1000],
    ['mlp', fx.dim],
  ];
  for (const arch of ARCH_NAMES)
    for (const [head, numClasses] of heads)
      it(`${arch}, ${head} head`, async () => {
        const torch = fx.models[`${arch}/${head}`]!;
        const before = tf.memory().numTensors;
        const model = createModel(arch, { head, numClasses });
        const f = await forwardFlops(model, fx.size);
        model.dispose();
        expect(tf.memory().numTensors).toBe(before);
        expect(f.conv).toBe(torch.conv_flops);
        expect(f.matmul).toBe(torch.linear_flops);
        expect(f.total).toBe(torch.conv_flops + torch.linear_flops);
      });
});

/** FLOPs per kernel name of `f`'s kernels. */
async function flopsByKernel(f: () => void): Promise<Map<string, number>> {
  const { calls } = await profileKernels(f);
  return new Map(kernelTable(calls).map((r) => [r.name, r.flops]));
}

describe('kernelFlops', () => {
  it('matmul in every transpose combination: 2 M N K', async () => {
    const [m, k, n] = [3, 5, 7];
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const got = await flopsByKernel(() => {
        const a = tf.ones(ta ? [k, m] : [m, k]) as tf.Tensor2D;
        const b = tf.ones(tb ? [n, k] : [k, n]) as tf.Tensor2D;
        tf.dispose([a, b, tf.matMul(a, b, ta, tb)]);
      });
      expect(got.get('BatchMatMul')).toBe(2 * m * n * k);
    }
  });

  it('batched and fused matmul', () => {
    expect(kernelFlops('BatchMatMul', [[4, 3, 5], [4, 5, 7]], [[4, 3, 7]])).toBe(2 * 4 * 3 * 7 * 5);
    expect(kernelFlops('_FusedMatMul', [[3, 5], [5, 7], [7], null], [[3, 7]])).toBe(2 * 3 * 7 * 5);
    expect(kernelFlops('Relu', [[3, 5]], [[3, 5]])).toBeNull();
  });

  it('conv2d: each gradient of a stride-1 valid conv costs one forward', async () => {
    const x = tf.randomNormal([2, 9, 9, 3]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D;
    const got = await flopsByKernel(() => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid')));
      tf.dispose(g([x, w]));
    });
    const forward = 2 * (2 * 7 * 7 * 4) * 3 * 3 * 3;
    expect(got.get('Conv2D')).toBe(forward);
    expect(got.get('Conv2DBackpropInput')).toBe(forward);
    expect(got.get('Conv2DBackpropFilter')).toBe(forward);
    tf.dispose([x, w]);
  });

  it('depthwise conv2d: forward 2 out kh kw, and each gradient the same', async () => {
    const x = tf.randomNormal([2, 8, 8, 5]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 5, 1]) as tf.Tensor4D;
    const got = await flopsByKernel(() => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid')));
      tf.dispose(g([x, w]));
    });
    const forward = 2 * (2 * 6 * 6 * 5) * 3 * 3;
    expect(got.get('DepthwiseConv2dNative')).toBe(forward);
    expect(got.get('DepthwiseConv2dNativeBackpropInput')).toBe(forward);
    expect(got.get('DepthwiseConv2dNativeBackpropFilter')).toBe(forward);
    tf.dispose([x, w]);
  });
});

describe('MoCo step', () => {
  it('query forward + backward (2x) + key forward + logits and their gradient', () => {
    const fwd = { conv: 1000, matmul: 24, total: 1024 };
    const s = mocoStepFlopsFrom(fwd, { arch: 'resnet18', batch: 16, size: 64, dim: 128, K: 24576 });
    expect(s.queryForward).toBe(16 * 1024);
    expect(s.queryBackward).toBe(2 * 16 * 1024);
    expect(s.keyForward).toBe(16 * 1024);
    expect(s.logits).toBe(2 * 2 * 16 * 128 * 24577);
    expect(s.total).toBe(4 * 16 * 1024 + s.logits);
  });

  it('ResNet-18 at 64 px, batch 16: from a counted forward, nothing left allocated', async () => {
    const before = tf.memory().numTensors;
    const s = await mocoStepFlops({ arch: 'resnet18', batch: 16, size: 64, dim: 128, K: 24576 });
    expect(tf.memory().numTensors).toBe(before);
    expect(s.forwardPerImage.conv).toBe(296_091_648); // torchvision's ResNet-18 convs at 64 px
    expect(s.total).toBeCloseTo(4 * 16 * s.forwardPerImage.total + s.logits, 0);
  });
});
