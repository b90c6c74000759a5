// The filter gradient (Conv2DBackpropFilter) of every conv layer of ResNet-18 at batch 16, 64 px, in Node:
// our registered kernel next to what ran before it, same shapes, same process.
//   cpu:  tfjs 4.22's own kernel (a loop per filter weight), timed once per shape: 10-30 s each.
//   wasm: tfjs has no kernel there; the reference is the tf-ops composition the models used through a
//         tf.customGrad before (per-tap stridedSlice + transposed matMul; copied below as it was).
// Each distinct layer shape is timed (ours: median of REPS after a warm-up) and weighted by how many layers
// of ResNet-18 have it, so the totals are one backward pass's worth of filter gradients.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerAppKernels, stockConv2dBackpropFilter } from '../../src/core/backend/kernels/index.ts';
import type { BenchResult } from './main.ts';

const REPS = 3;
const BATCH = 16;

// x shape (NHWC) at 64 px input, k, stride, out channels, how many layers have this shape
const LAYERS: [string, number[], number, number, number, number][] = [
  ['conv1', [BATCH, 64, 64, 3], 7, 2, 64, 1],
  ['layer1 3x3', [BATCH, 16, 16, 64], 3, 1, 64, 4],
  ['layer2.0.conv1', [BATCH, 16, 16, 64], 3, 2, 128, 1],
  ['layer2 3x3', [BATCH, 8, 8, 128], 3, 1, 128, 3],
  ['layer2.0.downsample', [BATCH, 16, 16, 64], 1, 2, 128, 1],
  ['layer3.0.conv1', [BATCH, 8, 8, 128], 3, 2, 256, 1],
  ['layer3 3x3', [BATCH, 4, 4, 256], 3, 1, 256, 3],
  ['layer3.0.downsample', [BATCH, 8, 8, 128], 1, 2, 256, 1],
  ['layer4.0.conv1', [BATCH, 4, 4, 256], 3, 2, 512, 1],
  ['layer4 3x3', [BATCH, 2, 2, 512], 3, 1, 512, 3],
  ['layer4.0.downsample', [BATCH, 4, 4, 256], 1, 2, 512, 1],
];

/** The models' filter gradient before the registered kernel (src/core/models/conv.ts, customGrad). */
function previousFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number, stride: number, pad: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, , , c] = x.shape;
    const [, ho, wo, co] = dy.shape;
    const m = n * ho * wo;
    const dy2 = tf.reshape(dy, [m, co]);
    const xp = pad === 0 ? x : tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
    const tap = (i: number, j: number): tf.Tensor2D => {
      const win =
        k === 1 && stride === 1 && pad === 0
          ? xp
          : tf.stridedSlice(xp, [0, i, j, 0], [n, i + (ho - 1) * stride + 1, j + (wo - 1) * stride + 1, c], [1, stride, stride, 1]);
      return tf.reshape(win, [m, c]);
    };
    if (k === 1) return tf.reshape(tf.matMul(tap(0, 0), dy2, true, false), [1, 1, c, co]);
    if (c < 16) {
      const cols: tf.Tensor2D[] = [];
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) cols.push(tap(i, j));
      return tf.reshape(tf.matMul(tf.concat(cols, 1), dy2, true, false), [k, k, c, co]);
    }
    const parts: tf.Tensor2D[] = [];
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) parts.push(tf.matMul(tap(i, j), dy2, true, false));
    return tf.reshape(tf.stack(parts), [k, k, c, co]);
  });
}

/** Median milliseconds of `reps` timed runs (after one untimed run when warm), output read back. */
function time(f: () => tf.Tensor, reps: number, warm: boolean): number {
  if (warm) f().dispose();
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const out = f();
    out.dataSync();
    ms.push(performance.now() - t0);
    out.dispose();
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
}

async function pass(backend: 'cpu' | 'wasm'): Promise<{ ours: number; reference: number }> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend(backend);
  registerAppKernels(backend);
  let ours = 0;
  let reference = 0;
  for (const [name, xs, k, s, co, count] of LAYERS) {
    const p = (k - 1) / 2;
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [p, p], [p, p], [0, 0]];
    const ho = Math.floor((xs[1]! + 2 * p - k) / s) + 1;
    const x = tf.randomNormal(xs as [number, number, number, number], 0, 1, 'float32', 1) as tf.Tensor4D;
    const dy = tf.randomNormal([BATCH, ho, ho, co], 0, 1, 'float32', 2) as tf.Tensor4D;
    const filterShape: [number, number, number, number] = [k, k, xs[3]!, co];
    const attrs = { strides: s, pad, dataFormat: 'NHWC', filterShape } as unknown as tf.NamedAttrMap;
    const o = time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor, REPS, true);
    const r =
      backend === 'cpu' ? time(() => stockConv2dBackpropFilter(x, dy, filterShape, s, pad), 1, false) : time(() => previousFilterGrad(x, dy, k, s, p), REPS, true);
    console.error(`  ${backend} ${name}: ours ${o.toFixed(1)} ms, reference ${r.toFixed(1)} ms (x${count})`);
    ours += count * o;
    reference += count * r;
    tf.dispose([x, dy]);
  }
  return { ours, reference };
}

export async function run(): Promise<BenchResult[]> {
  const what = 'ResNet-18 conv filter gradients (20 layers), batch 16, 64 px, Node';
  const cpu = await pass('cpu');
  const wasm = await pass('wasm');
  return [
    {
      name: `${what}, cpu`,
      unit: 'ms',
      value: cpu.ours,
      reference: { name: 'tfjs 4.22 Conv2DBackpropFilter (cpu)', value: cpu.reference },
      ratio: cpu.reference / cpu.ours,
      goal: null,
    },
    {
      name: `${what}, wasm`,
      unit: 'ms',
      value: wasm.ours,
      reference: { name: 'previous tf-ops customGrad (wasm has no kernel)', value: wasm.reference },
      ratio: wasm.reference / wasm.ours,
      goal: null,
    },
  ];
}
