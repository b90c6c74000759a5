// One forward (eval, or train with optional gradients) of a model from a PyTorch state dict, on whatever
// backend is active, with plain arrays in and out: what a worker needs to check parity with torchvision on
// webgpu or wasm (the Node tests use parity.testutil.ts). Everything it creates is disposed.
import * as tf from '@tensorflow/tfjs';
import { ARCHS, createModel, exportStateDict, loadStateDict, nchwToNhwc, type Arch } from './index.ts';

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface ParityRunInput {
  arch: Arch;
  /** torchvision names, PyTorch shapes, C-order values; loaded strictly. */
  stateDict: NamedArray[];
  /** NCHW float32, as PyTorch takes it. */
  input: { shape: number[]; data: Float32Array };
  train: boolean;
  /** Train mode only: gradients of sum(logits * gradWeights), weights shaped as the logits. */
  gradWeights?: Float32Array;
  /** Which gradients to return (PyTorch layout); default all trainable parameters. */
  gradKeys?: string[];
}

export interface ParityRunOutput {
  backend: string;
  logits: { shape: number[]; data: Float32Array };
  /** Train mode: running_mean / running_var / num_batches_tracked of every BN after the forward. */
  stats: NamedArray[];
  grads: NamedArray[];
  numTensorsBefore: number;
  numTensorsAfter: number;
  millis: { load: number; run: number };
}

export async function parityRun(inp: ParityRunInput): Promise<ParityRunOutput> {
  const before = tf.memory().numTensors;
  const out = await runOnce(inp);
  return { ...out, numTensorsBefore: before, numTensorsAfter: tf.memory().numTensors };
}

async function runOnce(inp: ParityRunInput): Promise<Omit<ParityRunOutput, 'numTensorsBefore' | 'numTensorsAfter'>> {
  const headWeight = inp.stateDict.find((e) => e.name === ARCHS[inp.arch].headKeys[0]);
  if (!headWeight) throw new Error(`state dict lacks ${ARCHS[inp.arch].headKeys[0]}`);
  let t0 = performance.now();
  const model = createModel(inp.arch, { numClasses: headWeight.shape[0], dropout: 0 });
  let x: tf.Tensor4D | null = null;
  let v: tf.Tensor | null = null;
  try {
    loadStateDict(model, new Map(inp.stateDict.map((e) => [e.name, e])), { strict: true });
    const shape = inp.input.shape as [number, number, number, number];
    x = tf.tidy(() => nchwToNhwc(tf.tensor4d(inp.input.data, shape)));
    const tLoad = performance.now() - t0;
    t0 = performance.now();
    let logits: tf.Tensor;
    let grads: NamedArray[] = [];
    if (!inp.train) {
      logits = model.forward(x);
    } else if (!inp.gradWeights) {
      logits = model.forward(x, { train: true });
    } else {
      const xx = x;
      v = tf.tensor(inp.gradWeights);
      const vv = v;
      let kept: tf.Tensor | null = null;
      const { value, grads: g } = model.valueAndGrads(() => {
        const out = model.forward(xx, { train: true });
        kept = tf.keep(out.clone());
        return tf.sum(tf.mul(out, vv.reshape(out.shape))) as tf.Scalar;
      });
      value.dispose();
      const wanted = inp.gradKeys ? new Set(inp.gradKeys) : null;
      for (const [k, t] of g) {
        if (wanted && !wanted.has(k)) {
          t.dispose();
          g.delete(k);
        }
      }
      if (wanted) for (const k of wanted) if (!g.has(k)) throw new Error(`no gradient for ${k}`);
      const torch = await model.gradientsToTorch(g);
      for (const t of g.values()) t.dispose();
      grads = [...torch].map(([name, e]) => ({ name, shape: e.shape, data: e.data }));
      logits = kept as unknown as tf.Tensor;
    }
    const data = Float32Array.from((await logits.data()) as Float32Array);
    const logitsOut = { shape: logits.shape.slice(), data };
    logits.dispose();
    const tRun = performance.now() - t0;
    const stats: NamedArray[] = [];
    if (inp.train) {
      for (const [name, e] of await exportStateDict(model)) {
        if (/\.(running_mean|running_var|num_batches_tracked)$/.test(name)) stats.push({ name, shape: e.shape, data: e.data });
      }
    }
    return { backend: tf.getBackend(), logits: logitsOut, stats, grads, millis: { load: tLoad, run: tRun } };
  } finally {
    x?.dispose();
    v?.dispose();
    model.dispose();
  }
}
