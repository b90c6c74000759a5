// Offline evaluation against PyTorch: nothing is fine-tuned. scripts/fixtures/torch_classifier_eval.py
// builds classifier checkpoints with torch (seeded random weights, batch-norm running statistics that
// differ from batch statistics), runs them in torch on real images from ../shared/data with the
// pipeline's eval transform and study-level max, and the app runs the same files here (tfjs wasm):
// the input tensors are equal bit for bit and the probabilities equal PyTorch's within 1e-4.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { ensureFixtures, SHARED_DATA } from '../../../scripts/fixtures/ensure.ts';
import { useBackend } from '../backend/kernels/backends.testutil.ts';
import { ConvertError, extractModel, newHead, toApp, toMoco, toTorchvision } from '../convert/index.ts';
import { CHEXPERT_TASKS } from '../finetune/tasks.ts';
import { decodeImageSync, decodeToGreySync } from '../image/decode.ts';
import { resizeShorterSide } from '../image/resize.ts';
import { sameBits } from '../moco/same.testutil.ts';
import { readTorchFile, type PickleValue } from '../torchfile/index.ts';
import { ClassifierError, classifierFromModel, loadClassifier, type Classifier } from './classifier.ts';
import { evaluateClassifier, type EvalSample } from './evaluate.ts';
import { evalImageFromDecoded, evalImageFromGrey, normalisedPixels, type EvalImage } from './preprocess.ts';

interface ModelRun {
  images: number[];
  logits: number[][];
  studies: string[];
  probs: number[][];
  study_labels: number[][];
}
interface Manifest {
  images: { file: string; study: string; labels: (number | null)[] }[];
  models: Record<string, ModelRun>;
  colour: { file: string; mode: string; size: [number, number] }[];
}

const dir = ensureFixtures('torch_classifier_eval', [SHARED_DATA]);
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
const rootOf = (name: string): PickleValue => readTorchFile(new Uint8Array(readFileSync(join(dir, name)))).root;
const decoded = new Map<number, EvalImage>();
function evalImage(i: number): EvalImage {
  let im = decoded.get(i);
  if (!im) {
    const file = manifest.images[i]!.file;
    im = evalImageFromDecoded(decodeImageSync(new Uint8Array(readFileSync(join(SHARED_DATA, file))), file));
    decoded.set(i, im);
  }
  return im;
}

function samples(run: ModelRun, labelsOf: (i: number) => (number | null)[]): EvalSample[] {
  return run.images.map((i) => ({ study: manifest.images[i]!.study, labels: labelsOf(i), name: manifest.images[i]!.file, load: () => evalImage(i) }));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Runs the classifier on the fixture's images and checks logits, studies, labels and probabilities. */
async function checkAgainstTorch(c: Classifier, run: ModelRun, labelsOf: (i: number) => (number | null)[], batch: number): Promise<{ logit: number; prob: number }> {
  const e = await evaluateClassifier(c, samples(run, labelsOf), { batch, bootstrap: 0 });
  let logit = 0;
  run.images.forEach((_, k) => {
    logit = Math.max(logit, maxAbsDiff(e.imageLogits[k]!, run.logits[k]!));
  });
  // studies come out in the pipeline's sorted order; the fixture lists them as they first appear
  expect([...e.table.studies].sort()).toEqual([...run.studies].sort());
  let prob = 0;
  run.studies.forEach((s, j) => {
    const col = e.table.studies.indexOf(s);
    const ours = e.table.tasks.map((_, t) => e.table.probs[t]![col]!);
    prob = Math.max(prob, maxAbsDiff(ours, run.probs[j]!));
    expect(e.table.tasks.map((_, t) => e.table.labels[t]![col]!)).toEqual(run.study_labels[j]!.slice(0, e.table.tasks.length));
  });
  expect(prob).toBeLessThan(1e-4);
  return { logit, prob };
}

beforeAll(async () => {
  await useBackend('wasm');
});

describe('evaluation inputs', () => {
  test("equal torchvision's Resize(320) + CenterCrop(320) + ToTensor + Normalize(ImageNet) bit for bit on every image", () => {
    manifest.images.forEach((img, i) => {
      const torchNchw = new Float32Array(readFileSync(join(dir, `input_${i}.f32`)).buffer.slice(0));
      const ours = normalisedPixels([evalImage(i)]);
      const nchw = new Float32Array(ours.length);
      const per = 320 * 320;
      for (let k = 0; k < per; k++) for (let c = 0; c < 3; c++) nchw[c * per + k] = ours[k * 3 + c]!;
      expect(sameBits(nchw, torchNchw), `${img.file}`).toBe(true);
      // grey files and the RGB files with R = G = B: convert('RGB') and convert('L').convert('RGB') agree
      const file = new Uint8Array(readFileSync(join(SHARED_DATA, img.file)));
      const grey = evalImageFromDecoded(decodeImageSync(file), { mode: 'grey' });
      expect(grey.planes).toHaveLength(1);
      expect(Buffer.compare(Buffer.from(grey.planes[0]!), Buffer.from(evalImage(i).planes[0]!))).toBe(0);
    });
  });
});

/** Our [1, C, C, 3] batch as torch's [3, C, C] NCHW. */
function asNchw(im: EvalImage): Float32Array {
  const ours = normalisedPixels([im]);
  const per = im.size * im.size;
  const nchw = new Float32Array(ours.length);
  for (let k = 0; k < per; k++) for (let c = 0; c < 3; c++) nchw[c * per + k] = ours[k * 3 + c]!;
  return nchw;
}
const torchInput = (name: string) => new Float32Array(readFileSync(join(dir, name)).buffer.slice(0));

describe('evaluation inputs from colour files and from stored grey images', () => {
  test("colour PNGs (RGB, palette): convert('RGB') keeps three channels, 'grey' is convert('L').convert('RGB'), both as torch", () => {
    for (const c of manifest.colour) {
      const file = decodeImageSync(new Uint8Array(readFileSync(join(dir, c.file))), c.file);
      const rgb = evalImageFromDecoded(file, { mode: 'rgb' });
      expect(rgb.planes, c.file).toHaveLength(3);
      expect(sameBits(asNchw(rgb), torchInput(c.file.replace('.png', '_rgb.f32'))), `${c.file} rgb`).toBe(true);
      const grey = evalImageFromDecoded(file, { mode: 'grey' });
      expect(grey.planes).toHaveLength(1);
      expect(sameBits(asNchw(grey), torchInput(c.file.replace('.png', '_grey.f32'))), `${c.file} grey`).toBe(true);
    }
  });

  test("a stored image at imageSide 320 gives torch's input exactly; at another side it is resized again (not the same)", () => {
    const i = 7; // a 512 px NIH image
    const grey = decodeToGreySync(new Uint8Array(readFileSync(join(SHARED_DATA, manifest.images[i]!.file))));
    const stored320 = resizeShorterSide(grey, 320);
    expect(sameBits(asNchw(evalImageFromGrey(stored320)), torchInput(`input_${i}.f32`))).toBe(true);
    const stored256 = resizeShorterSide(grey, 256);
    const again = evalImageFromGrey(stored256);
    expect(again.size).toBe(320);
    expect(sameBits(asNchw(again), torchInput(`input_${i}.f32`))).toBe(false);
  });
});

describe('classifier checkpoints evaluated as PyTorch runs them', () => {
  test('pipeline ResNet-18 (Cadene keys, last_linear ignored, 14 CheXpert tasks): 13 images, 11 studies', async () => {
    const { classifier, detected } = loadClassifier(rootOf('pipeline_r18.pth.tar'));
    try {
      expect(detected.layout).toBe('pipeline');
      expect(classifier.arch).toBe('resnet18');
      expect(classifier.tasks).toEqual([...CHEXPERT_TASKS]);
      expect(classifier.taskSource).toBe('checkpoint');
      const d = await checkAgainstTorch(classifier, manifest.models.pipeline_r18!, (i) => manifest.images[i]!.labels, 5);
      console.log(`pipeline ResNet-18: max |logit - torch| ${d.logit.toExponential(2)}, max |p - torch| ${d.prob.toExponential(2)}`);
    } finally {
      classifier.dispose();
    }
  }, 60_000);

  test('pipeline DenseNet-121 (features.* + classifier.*): 4 images, 3 studies', async () => {
    const { classifier } = loadClassifier(rootOf('pipeline_d121.pth.tar'));
    try {
      expect(classifier.arch).toBe('densenet121');
      expect(classifier.tasks).toEqual(CHEXPERT_TASKS.slice(0, 5));
      const d = await checkAgainstTorch(classifier, manifest.models.pipeline_d121!, (i) => manifest.images[i]!.labels.slice(0, 5), 4);
      console.log(`pipeline DenseNet-121: max |logit - torch| ${d.logit.toExponential(2)}, max |p - torch| ${d.prob.toExponential(2)}`);
    } finally {
      classifier.dispose();
    }
  }, 60_000);

  test('torchvision resnet18 with a 2-output fc: names output_0/1 or given ones', async () => {
    const root = rootOf('tv_r18_2.pth');
    const unnamed = loadClassifier(root).classifier;
    expect(unnamed.tasks).toEqual(['output_0', 'output_1']);
    expect(unnamed.taskSource).toBe('default');
    unnamed.dispose();
    expect(() => loadClassifier(root, { outputNames: ['Tuberculosis'] })).toThrow(/the head has 2 outputs but 1 names were given \(Tuberculosis\)/);
    const { classifier } = loadClassifier(root, { outputNames: ['No Finding', 'Tuberculosis'] });
    try {
      expect(classifier.taskSource).toBe('caller');
      const d = await checkAgainstTorch(classifier, manifest.models.tv_r18_2!, (i) => manifest.images[i]!.labels.slice(0, 2), 8);
      console.log(`torchvision resnet18 (2 outputs): max |logit - torch| ${d.logit.toExponential(2)}, max |p - torch| ${d.prob.toExponential(2)}`);
    } finally {
      classifier.dispose();
    }
  }, 60_000);

  test("the app's export of the pipeline model, and a torchvision backbone given that head, give torch's numbers", async () => {
    const { model } = extractModel(rootOf('pipeline_r18.pth.tar'));
    const run = manifest.models.pipeline_r18!;
    const two: ModelRun = { ...run, images: [7, 10, 11], logits: [run.logits[7]!, run.logits[10]!, run.logits[11]!] };
    const app = loadClassifier(readTorchFile(toApp(model)).root);
    expect(app.detected.layout).toBe('app');
    expect(app.classifier.tasks).toEqual([...CHEXPERT_TASKS]);
    const backbone = extractModel(readTorchFile(toTorchvision(model)).root).model;
    const joined = classifierFromModel({ ...backbone, head: model.head!, tasks: [...CHEXPERT_TASKS] });
    try {
      for (const c of [app.classifier, joined]) {
        const e = await evaluateClassifier(c, samples(two, (i) => manifest.images[i]!.labels), { bootstrap: 0 });
        two.images.forEach((_, k) => expect(maxAbsDiff(e.imageLogits[k]!, two.logits[k]!)).toBeLessThan(1e-3));
      }
    } finally {
      app.classifier.dispose();
      joined.dispose();
    }
  }, 60_000);
});

describe('refusals name what does not fit', () => {
  const pipelineState = (root: PickleValue) => (root as Map<PickleValue, PickleValue>).get('model_state') as Map<PickleValue, PickleValue>;

  test('a missing or an extra key, the wrong architecture', () => {
    const missing = rootOf('pipeline_r18.pth.tar');
    pipelineState(missing).delete('module.model.layer3.1.bn2.running_var');
    expect(() => loadClassifier(missing)).toThrow(/1 missing: layer3\.1\.bn2\.running_var/);
    const extra = rootOf('pipeline_r18.pth.tar');
    const sd = pipelineState(extra);
    sd.set('module.extra.weight', sd.get('module.fc.bias')!);
    expect(() => loadClassifier(extra)).toThrow(/unexpected: module\.extra\.weight/);
    let err: unknown;
    try {
      loadClassifier(rootOf('pipeline_r18.pth.tar'), { arch: 'densenet121' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConvertError);
    expect((err as ConvertError).message).toMatch(/this is a resnet18 checkpoint but densenet121 was expected/);
  });

  test('a head whose outputs do not match the tasks, and names that contradict the file', () => {
    const root = rootOf('pipeline_r18.pth.tar') as Map<PickleValue, PickleValue>;
    root.set('tasks', CHEXPERT_TASKS.slice(0, 5));
    expect(() => loadClassifier(root)).toThrow(ClassifierError);
    expect(() => loadClassifier(root)).toThrow(/the head has 14 outputs but the checkpoint lists 5 tasks \(No Finding, /);
    const d121 = rootOf('pipeline_d121.pth.tar');
    expect(() => loadClassifier(d121, { outputNames: ['a', 'b', 'c', 'd', 'e'] })).toThrow(/names its outputs No Finding, .*; the names given \(a, b, c, d, e\) differ/);
  });

  test('a MoCo pretraining checkpoint and a bare backbone are not classifiers', () => {
    const { model } = extractModel(rootOf('pipeline_r18.pth.tar'));
    const moco = readTorchFile(toMoco({ ...model, head: newHead('resnet18', { kind: 'mlp', dim: 128 }, 1), tasks: undefined })).root;
    expect(() => loadClassifier(moco)).toThrow(/is a MoCo pretraining checkpoint: its encoder ends in the projection head, not a classifier/);
    const bare = readTorchFile(toTorchvision(model)).root;
    expect(() => loadClassifier(bare)).toThrow(/has no classifier head \(a backbone alone\)/);
  });
});
