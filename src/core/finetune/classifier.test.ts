// Classifiers against PyTorch (scripts/fixtures/torch_finetune.py, torch_pipeline_check.py): the MoCo start
// is model_saver.py's hack with exactly the backbone loaded (a torch-written MoCo-CXR checkpoint, zip and
// legacy, gives torch's features); a pipeline checkpoint written here loads in torch with strict=True and
// predicts what we predict (CenterCrop with Python's rounding, ImageNet normalisation, study max-logit).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { useBackend } from '../backend/kernels/backends.testutil.ts';
import { backboneKeys, extractModel, toPipeline, toTorchvision, type CanonicalModel } from '../convert/index.ts';
import { ARCHS, exportStateDict, nchwToNhwc, type Arch } from '../models/index.ts';
import { sameBits } from '../moco/same.testutil.ts';
import { readTorchFile, tensorToFloat32 } from '../torchfile/index.ts';
import { buildClassifier, classifierToCanonical, ClassifierError, loadClassifier } from './classifier.ts';
import { entry, fixtureSplit, loadFinetuneFixture, pipelineCheck, type FinetuneFixture } from './fixture.testutil.ts';
import { predictLogits, predictStudies } from './predict.ts';
import { evalBatch, normalisationOf } from './preprocess.ts';

let fx: FinetuneFixture;
// a plain Uint8Array over the file: torchfile copies misaligned storages with .slice(), which on a Node
// Buffer is a view, not a copy
const bytesOf = (file: string) => {
  const b = readFileSync(file);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};
const mocoOf = (arch: Arch): CanonicalModel => extractModel(readTorchFile(bytesOf(join(fx.dir, `moco_${arch}.pth.tar`)), { mode: 'strict' }).root).model;
const dir = mkdtempSync(join(tmpdir(), 'finetune-classifier-'));

beforeAll(async () => {
  await useBackend('wasm');
  fx = loadFinetuneFixture();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / (s || 1);
}

describe('MoCo start (model_saver.py hack)', () => {
  for (const arch of ['resnet18', 'densenet121'] as const) {
    test(`${arch}: exactly the backbone of encoder_q is loaded and gives torch's features`, async () => {
      const moco = mocoOf(arch);
      const { model, loaded, fresh } = buildClassifier({ arch, outputs: 3, seed: 1, start: { kind: 'moco', model: moco } });
      try {
        // every backbone key, nothing else; torch's strict=False load left out only the new heads (and
        // Cadene's unused last_linear) and ignored only the MLP head DenseNet's rename lets through
        const bb = [...backboneKeys(arch).keys()];
        expect(new Set(loaded)).toEqual(new Set(bb));
        expect(loaded).toHaveLength(ARCHS[arch].stateDictEntries - 2);
        expect(fresh).toEqual(ARCHS[arch].headKeys);
        const hack = fx.hack[arch];
        const head = arch === 'resnet18' ? 'module.fc' : 'module.model.classifier';
        expect(hack.missing.filter((k) => !k.startsWith('module.model.last_linear.'))).toEqual([`${head}.weight`, `${head}.bias`]);
        expect(hack.unexpected).toEqual(arch === 'resnet18' ? [] : ['module.model.classifier.0.weight', 'module.model.classifier.0.bias', 'module.model.classifier.2.weight', 'module.model.classifier.2.bias']);
        // the loaded values are encoder_q's (not encoder_k's), bit for bit
        const sd = await exportStateDict(model);
        for (const k of bb) expect(sameBits(sd.get(k)!.data, tensorToFloat32(moco.backbone.get(k)!)), k).toBe(true);
        const x = entry(fx, `hack.${arch}.x`);
        const feats = tf.tidy(() => model.features(nchwToNhwc(tf.tensor4d(x.data, x.shape as [number, number, number, number])), { train: false }));
        const got = (await feats.data()) as Float32Array;
        feats.dispose();
        const d = maxRelDiff(got, entry(fx, `hack.${arch}.features`).data);
        console.log(`${arch} MoCo start (${hack.legacy ? 'legacy' : 'zip'} file): features vs torch, max |diff| / max |value| = ${d.toExponential(2)}`);
        expect(d).toBeLessThan(1e-4);
      } finally {
        model.dispose();
      }
    }, 60_000);
  }

  test('refuses what is not exactly a backbone, naming it', () => {
    const moco = mocoOf('resnet18');
    const start = (m: CanonicalModel) => () => buildClassifier({ arch: 'resnet18', outputs: 3, seed: 0, start: { kind: 'moco', model: m } });
    const missing = { ...moco, backbone: new Map(moco.backbone) };
    missing.backbone.delete('layer3.1.bn2.running_var');
    expect(start(missing)).toThrow(/1 backbone keys missing \(layer3\.1\.bn2\.running_var\)/);
    const extra = { ...moco, backbone: new Map(moco.backbone) };
    extra.backbone.set('layer5.0.conv1.weight', moco.backbone.get('conv1.weight')!);
    expect(start(extra)).toThrow(/keys that are not resnet18's \(layer5\.0\.conv1\.weight\)/);
    expect(() => buildClassifier({ arch: 'resnet50', outputs: 3, seed: 0, start: { kind: 'moco', model: moco } })).toThrow(/is a resnet18; the classifier is set to resnet50/);
    const plain: CanonicalModel = { arch: 'resnet18', backbone: moco.backbone };
    expect(() => buildClassifier({ arch: 'resnet18', outputs: 3, seed: 0, start: { kind: 'moco', model: plain } })).toThrow(ClassifierError);
  });

  test('ImageNet start: a torchvision checkpoint\'s backbone, its 1000-way head dropped', async () => {
    const moco = mocoOf('resnet18');
    const bytes = toTorchvision({ arch: 'resnet18', backbone: moco.backbone });
    const tv = extractModel(readTorchFile(bytes, { mode: 'strict' }).root).model;
    const { model, loaded } = buildClassifier({ arch: 'resnet18', outputs: 2, seed: 3, start: { kind: 'imagenet', model: tv } });
    try {
      expect(loaded).toHaveLength(120);
      const sd = await exportStateDict(model);
      expect(sameBits(sd.get('layer4.1.conv2.weight')!.data, tensorToFloat32(moco.backbone.get('layer4.1.conv2.weight')!))).toBe(true);
      // nn.Linear's default init: U(-1/sqrt(512), 1/sqrt(512)) for weight and bias
      const w = sd.get('fc.weight')!.data;
      const b = 1 / Math.sqrt(512);
      expect(w.length).toBe(2 * 512);
      expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(b);
      expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * b);
    } finally {
      model.dispose();
    }
  });
});

describe('pipeline checkpoint written here, loaded by PyTorch', () => {
  test('eval views (Resize, CenterCrop with Python rounding, ImageNet Normalize) equal torchvision bit for bit', async () => {
    const split = fixtureSplit(fx, fx.eval_scale);
    const images = await split.load(split.images.map((i) => i.key));
    const x = tf.tidy(() => tf.transpose(evalBatch(images, fx.eval_crop, normalisationOf('imagenet')), [0, 3, 1, 2]));
    const got = (await x.data()) as Float32Array;
    x.dispose();
    const per = 3 * fx.eval_crop * fx.eval_crop;
    fx.images.forEach((im, i) => {
      expect(sameBits(got.slice(i * per, (i + 1) * per), Float32Array.from(entry(fx, `eval_view.${i}`).data)), `${im.key} ${im.width}x${im.height}`).toBe(true);
    });
  });

  for (const arch of ['resnet18', 'densenet121'] as const) {
    test(`${arch}: strict load, model_name, tasks, ckpt_info, Adam state; same logits and study probabilities`, async () => {
      const start = arch === 'resnet18' ? ({ kind: 'moco', model: mocoOf(arch) } as const) : ({ kind: 'random' } as const);
      const { model } = buildClassifier({ arch, outputs: 3, seed: 9, start });
      try {
        const file = join(dir, `${arch}.pth.tar`);
        const canonical = await classifierToCanonical(model, fx.tasks, 2);
        writeFileSync(file, toPipeline(canonical, { iteration: 96 }));
        const torch = pipelineCheck(file, fx);
        expect(torch.model_name).toBe(arch === 'resnet18' ? 'ResNet18' : 'DenseNet121');
        expect(torch.tasks).toEqual(fx.tasks);
        expect(torch.ckpt_info).toEqual({ epoch: 2, iteration: 96 });
        expect(torch.adam_groups).toBe(1);
        const split = fixtureSplit(fx, fx.eval_scale);
        const opts = { scale: fx.eval_scale, crop: fx.eval_crop, normalization: 'imagenet' as const, batch: 5 };
        const logits = await predictLogits(model, split, opts);
        const d = maxRelDiff(logits, torch.logits.flat());
        const table = await predictStudies(model, split, fx.tasks, opts);
        expect(table.studies).toEqual(torch.studies);
        let pd = 0;
        table.studies.forEach((_, s) => fx.tasks.forEach((_, t) => (pd = Math.max(pd, Math.abs(table.probs[t]![s]! - torch.probs[s]![t]!)))));
        console.log(`${arch} pipeline checkpoint: ${torch.keys} keys loaded strictly by torch; logits max |diff| / max |value| = ${d.toExponential(2)}; study probabilities max |diff| = ${pd.toExponential(2)}`);
        expect(d).toBeLessThan(1e-4);
        expect(pd).toBeLessThan(1e-5);
        // and it reads back here as the same classifier
        const back = loadClassifier(extractModel(readTorchFile(bytesOf(file)).root, { arch }).model);
        try {
          expect(sameBits(await predictLogits(back, split, opts), logits)).toBe(true);
        } finally {
          back.dispose();
        }
      } finally {
        model.dispose();
      }
    }, 60_000);
  }
});
