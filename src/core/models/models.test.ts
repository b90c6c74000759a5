// The models' API: torchvision's keys and shapes, strict and non-strict loads, export, heads, train-mode
// forward without gradients, small inputs, and tf.memory() hygiene.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ARCHS,
  ARCH_NAMES,
  StateDictError,
  createModel,
  exportStateDict,
  loadStateDict,
  nchwToNhwc,
  type StateEntryInput,
} from './index.ts';
import { loadModelFixture, relDiff } from './fixtures.testutil.ts';

/** Bit-for-bit equality of two float arrays. */
function same(a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('state-dict keys', () => {
  for (const arch of ARCH_NAMES) {
    it(`${arch}: every key and shape of torchvision's state dict, in order`, () => {
      const fx = loadModelFixture(arch);
      const before = tf.memory().numTensors;
      const m = createModel(arch);
      const keys = m.stateDictKeys();
      expect(keys).toEqual(fx.keys.map(([k]) => k));
      for (const [k, shape] of fx.keys) expect(m.torchShape(k), k).toEqual(shape);
      const info = ARCHS[arch];
      expect(keys.length).toBe(info.stateDictEntries);
      expect(m.headKeys()).toEqual(info.headKeys);
      expect(keys.slice(-2)).toEqual(info.headKeys);
      expect(m.torchShape(info.headKeys[0] as string)).toEqual([1000, info.featureDim]);
      expect(m.featureDim).toBe(info.featureDim);
      expect(m.torchShape(info.signature.key)).toEqual(info.signature.shape);
      for (const other of ARCH_NAMES) {
        if (other !== arch) expect(m.torchShape(ARCHS[other].signature.key)).not.toEqual(ARCHS[other].signature.shape);
      }
      expect([...m.trainableVariables().keys()].sort()).toEqual([...fx.trainable].sort());
      m.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }, 120_000);
  }

  it('other heads: linear and MoCo MLP', () => {
    const m = createModel('mnasnet1_0', { head: 'linear', numClasses: 128 });
    expect(m.headKeys()).toEqual(['classifier.weight', 'classifier.bias']);
    expect(m.torchShape('classifier.weight')).toEqual([128, 1280]);
    m.dispose();
    const r = createModel('resnet18', { head: 'mlp', numClasses: 128 });
    expect(r.headKeys()).toEqual(['fc.0.weight', 'fc.0.bias', 'fc.2.weight', 'fc.2.bias']);
    expect(r.torchShape('fc.0.weight')).toEqual([512, 512]);
    expect(r.torchShape('fc.2.weight')).toEqual([128, 512]);
    expect(r.stateDictKeys().length).toBe(124);
    const x = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
    const y = r.forward(x);
    expect(y.shape).toEqual([2, 128]);
    tf.dispose([x, y]);
    r.dispose();
    const d = createModel('densenet121', { head: 'mlp', numClasses: 128 });
    expect(d.headKeys()).toEqual(['classifier.0.weight', 'classifier.0.bias', 'classifier.2.weight', 'classifier.2.bias']);
    d.dispose();
  });

  it('rejects a bad numClasses', () => {
    expect(() => createModel('resnet18', { numClasses: 0 })).toThrow(/numClasses/);
  });
});

describe('loadStateDict / exportStateDict', () => {
  const fx = loadModelFixture('resnet18');
  const state = fx.group('state');

  it('round-trips the torchvision state dict exactly (num_batches_tracked as a 0-d int64)', async () => {
    const before = tf.memory().numTensors;
    const m = createModel('resnet18', { numClasses: fx.num_classes });
    expect(loadStateDict(m, state)).toEqual({ missing: [], unexpected: [], wrongShape: [], loaded: true });
    const out = await exportStateDict(m);
    expect([...out.keys()]).toEqual([...state.keys()]);
    for (const [k, ref] of state) {
      const e = out.get(k);
      expect(e?.shape, k).toEqual(ref.shape);
      expect(e?.dtype).toBe(k.endsWith('num_batches_tracked') ? 'int64' : 'float32');
      expect(same(e?.data, ref.data), k).toBe(true);
    }
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('strict: names every missing, unexpected and wrongly shaped key and assigns nothing', async () => {
    const m = createModel('resnet18', { numClasses: fx.num_classes, seed: 3 });
    const orig = await exportStateDict(m);
    const bad = new Map<string, StateEntryInput>(state);
    bad.delete('layer2.1.bn1.running_var');
    bad.delete('bn1.num_batches_tracked');
    bad.set('module.queue', { shape: [2], data: [1, 2] });
    bad.set('fc.weight', { shape: [1000, 512], data: new Float32Array(512000) });
    let err: unknown;
    try {
      loadStateDict(m, bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateDictError);
    const se = err as StateDictError;
    expect(se.result.missing).toEqual(['bn1.num_batches_tracked', 'layer2.1.bn1.running_var']);
    expect(se.result.unexpected).toEqual(['module.queue']);
    expect(se.result.wrongShape).toEqual([{ key: 'fc.weight', expected: [7, 512], got: [1000, 512] }]);
    expect(se.result.loaded).toBe(false);
    expect(se.message).toMatch(/layer2\.1\.bn1\.running_var/);
    expect(se.message).toMatch(/module\.queue/);
    expect(se.message).toMatch(/fc\.weight is \[1000, 512\], resnet18 needs \[7, 512\]/);
    const after = await exportStateDict(m);
    for (const [k, e] of orig) expect(same(after.get(k)?.data, e.data), k).toBe(true);

    // non-strict: the rest loads, the problems are still listed
    const r = loadStateDict(m, bad, { strict: false });
    expect(r.loaded).toBe(true);
    expect(r.missing.length + r.unexpected.length + r.wrongShape.length).toBe(4);
    const partial = await exportStateDict(m);
    expect(same(partial.get('conv1.weight')?.data, state.get('conv1.weight')?.data)).toBe(true);
    expect(same(partial.get('fc.weight')?.data, orig.get('fc.weight')?.data)).toBe(true);
    m.dispose();
  });

  it('accepts int64 num_batches_tracked as a BigInt64Array', async () => {
    const m = createModel('resnet18', { numClasses: fx.num_classes });
    const s = new Map<string, StateEntryInput>(state);
    s.set('bn1.num_batches_tracked', { shape: [], data: BigInt64Array.of(12345n) });
    loadStateDict(m, s);
    expect((await exportStateDict(m)).get('bn1.num_batches_tracked')?.data[0]).toBe(12345);
    m.dispose();
  });
});

describe('forward', () => {
  it('resnet18 train mode without gradients: logits and running stats as torch; updateStats false keeps them', async () => {
    const fx = loadModelFixture('resnet18');
    const before = tf.memory().numTensors;
    const m = createModel('resnet18', { numClasses: fx.num_classes });
    loadStateDict(m, fx.group('state'));
    const xin = fx.get('input', 'x');
    const x = tf.tidy(() => nchwToNhwc(tf.tensor4d(xin.data, xin.shape as [number, number, number, number])));
    const y0 = m.forward(x, { train: true, updateStats: false });
    expect(relDiff(await y0.data(), fx.get('train', 'logits').data)).toBeLessThan(1e-4);
    const s0 = await exportStateDict(m);
    for (const [k, ref] of fx.group('state')) expect(same(s0.get(k)?.data, ref.data), k).toBe(true);
    const y = m.forward(x, { train: true });
    expect(relDiff(await y.data(), fx.get('train', 'logits').data)).toBeLessThan(1e-4);
    const s = await exportStateDict(m);
    for (const [k, ref] of fx.group('stats')) {
      if (k.endsWith('num_batches_tracked')) expect(s.get(k)?.data[0]).toBe(ref.data[0]);
      else expect(relDiff(s.get(k)?.data ?? [], ref.data), k).toBeLessThan(1e-4);
    }
    tf.dispose([x, y0, y]);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  for (const arch of ARCH_NAMES) {
    it(`${arch}: 32 px inputs in eval and train mode, memory returns`, () => {
      const before = tf.memory().numTensors;
      const m = createModel(arch, { numClasses: 3, seed: 1 });
      const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      const a = m.forward(x);
      const b = m.forward(x, { train: true });
      const f = m.features(x);
      expect(a.shape).toEqual([2, 3]);
      expect(b.shape).toEqual([2, 3]);
      expect(f.shape).toEqual([2, ARCHS[arch].featureDim]);
      expect(Array.from(a.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([x, a, b, f]);
      m.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }, 120_000);
  }

  it('mnasnet dropout acts only in train mode', () => {
    const m = createModel('mnasnet1_0', { numClasses: 4, dropout: 0.5 });
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const e1 = m.forward(x);
    const e2 = m.forward(x);
    expect(Array.from(e1.dataSync())).toEqual(Array.from(e2.dataSync()));
    tf.dispose([x, e1, e2]);
    m.dispose();
  });
});
