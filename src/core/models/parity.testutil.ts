// One parity run of a model against its torchvision fixture: eval logits, one train-mode forward with the
// gradient of sum(logits * v), the running statistics it leaves, and tf.memory() hygiene.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { createModel, exportStateDict, loadStateDict, nchwToNhwc, type Arch } from './index.ts';
import { gradScale, loadModelFixture, relDiff } from './fixtures.testutil.ts';

export interface ParityReport {
  arch: Arch;
  eval: number;
  train: number;
  stats: number;
  nbtOk: boolean;
  gradChecked: number;
  gradWorst: { name: string; err: number };
  gradAllWorst: { name: string; err: number };
  torchF32: Record<string, number>;
  seconds: { eval: number; trainGrad: number };
}

// Relative to the largest |reference| value (per BN buffer for stats; per module for gradients, see
// gradScale). The references are float64 runs of the float32 weights; torch's own float32 run differs
// from them by up to 8e-5 in train-mode logits and 5e-5 in running stats (ResNet-50, index.torch_f32_error),
// so train and stats get 2e-4.
export const TOL = { eval: 1e-4, train: 2e-4, stats: 2e-4, grad: 1e-3 };

export async function runParity(arch: Arch): Promise<ParityReport> {
  await tf.setBackend('cpu');
  await tf.ready();
  const fx = loadModelFixture(arch);
  const before = tf.memory().numTensors;

  const model = createModel(arch, { numClasses: fx.num_classes, dropout: 0 });
  const state = fx.group('state');
  const res = loadStateDict(model, state, { strict: true });
  expect(res).toEqual({ missing: [], unexpected: [], wrongShape: [], loaded: true });

  const xin = fx.get('input', 'x');
  const x = tf.tidy(() => nchwToNhwc(tf.tensor4d(xin.data, xin.shape as [number, number, number, number])));
  const vin = fx.get('loss_vec', 'v');
  const v = tf.tensor2d(vin.data, vin.shape as [number, number]);

  let t0 = performance.now();
  const ev = model.forward(x);
  const evData = await ev.data();
  const tEval = (performance.now() - t0) / 1000;
  ev.dispose();
  const evalErr = relDiff(evData, fx.get('eval', 'logits').data);

  t0 = performance.now();
  let trainLogits: tf.Tensor | null = null;
  const { value, grads } = model.valueAndGrads(() => {
    const logits = model.forward(x, { train: true });
    trainLogits = tf.keep(logits.clone());
    return tf.sum(tf.mul(logits, v)) as tf.Scalar;
  });
  const torchGrads = await model.gradientsToTorch(grads);
  const tTrain = (performance.now() - t0) / 1000;
  value.dispose();
  for (const g of grads.values()) g.dispose();
  const tl = trainLogits as tf.Tensor | null;
  if (!tl) throw new Error('no train logits');
  const trainErr = relDiff(await tl.data(), fx.get('train', 'logits').data);
  tl.dispose();

  // running statistics after the one train-mode forward
  const exported = await exportStateDict(model);
  let statsErr = 0;
  let nbtOk = true;
  for (const [k, ref] of fx.group('stats')) {
    const got = exported.get(k);
    if (!got) throw new Error(`export lacks ${k}`);
    if (k.endsWith('num_batches_tracked')) {
      nbtOk &&= got.data[0] === ref.data[0] && got.dtype === 'int64' && got.shape.length === 0;
    } else statsErr = Math.max(statsErr, relDiff(got.data, ref.data));
  }

  // gradients: every trainable parameter is present; the checked set is all of them or the fixture's subset
  const refGrads = fx.group('grads');
  expect([...torchGrads.keys()].sort()).toEqual([...fx.trainable].sort());
  const prefixes = fx.grad_check_prefixes;
  let gradChecked = 0;
  let worst = { name: '', err: 0 };
  let allWorst = { name: '', err: 0 };
  for (const [k, ref] of refGrads) {
    const got = torchGrads.get(k);
    if (!got) throw new Error(`no gradient for ${k}`);
    expect(got.shape).toEqual(ref.shape);
    const err = relDiff(got.data, ref.data, gradScale(k, refGrads));
    if (err > allWorst.err) allWorst = { name: k, err };
    if (prefixes === null || prefixes.some((p) => k.startsWith(p))) {
      gradChecked++;
      if (err > worst.err) worst = { name: k, err };
    }
  }

  x.dispose();
  v.dispose();
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);

  return {
    arch,
    eval: evalErr,
    train: trainErr,
    stats: statsErr,
    nbtOk,
    gradChecked,
    gradWorst: worst,
    gradAllWorst: allWorst,
    torchF32: fx.torch_f32_error,
    seconds: { eval: tEval, trainGrad: tTrain },
  };
}

export function expectParity(r: ParityReport): void {
  console.log(`[models parity] ${JSON.stringify(r)}`);
  expect(r.eval).toBeLessThan(TOL.eval);
  expect(r.train).toBeLessThan(TOL.train);
  expect(r.stats).toBeLessThan(TOL.stats);
  expect(r.nbtOk).toBe(true);
  expect(r.gradChecked).toBeGreaterThan(0);
  expect(r.gradWorst.err).toBeLessThan(TOL.grad);
}
