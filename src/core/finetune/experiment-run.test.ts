// An experiment end to end in Node (tfjs wasm, fake-indexeddb): two initialisations x two draws of
// ResNet-18 at 16 px on demo phantoms. Every job ends with a stored test result scored by score.ts on the
// manifest's test images, the best checkpoint kept (it reloads and gives the result's predictions back),
// the other kept ones deleted; a paused experiment cleans the interrupted job up and runs it again.
import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, test } from 'vitest';
import { useBackend } from '../backend/kernels/backends.testutil.ts';
import { extractModel } from '../convert/index.ts';
import { exportStateDict } from '../models/index.ts';
import { storeWithDemo as storeWithDemoStore } from '../store/demo.testutil.ts';
import { readTorchFile } from '../torchfile/index.ts';
import { loadClassifier } from './classifier.ts';
import { createExperiment, experimentConfigJson, experimentFromConfig, runExperiment, type ExperimentEvent } from './experiment-run.ts';
import { predictStudies } from './predict.ts';
import { FINETUNE_DEFAULTS, type ExperimentSettings } from './settings.ts';
import { TASK_PRESETS } from './tasks.ts';

const storeWithDemo = (count: number, side: number) => storeWithDemoStore({ count, side, seed: 4, prefix: 'experiment-test' });

const settings = (datasetId: string): ExperimentSettings => ({
  name: 'sweep',
  datasetId,
  inits: [
    { label: 'random A', init: { kind: 'random' } },
    { label: 'random B', init: { kind: 'random' } },
  ],
  fractions: [{ ratio: 0.7, draws: 2 }],
  splitUnit: 'image',
  splitSeed: 0,
  scheduleByFraction: false,
  settings: { ...FINETUNE_DEFAULTS, arch: 'resnet18', tasks: TASK_PRESETS['competition-5'], scale: 16, crop: 16, batch: 4, epochs: 2, examplesPerEval: 4, keepTopK: 2, lr: 1e-3 },
  bootstrap: 50,
});

beforeAll(async () => {
  await useBackend('wasm');
});

describe('experiment run', () => {
  test('runs every job, stores scored test results and keeps only each job\'s best checkpoint', async () => {
    const { store, dataset } = await storeWithDemo(40, 16);
    const e = await createExperiment(store, settings(dataset.id));
    expect(e.jobs.map((j) => j.id)).toEqual(['0/train_semi_0.7-it0', '1/train_semi_0.7-it0', '0/train_semi_0.7-it1', '1/train_semi_0.7-it1']);
    const events: ExperimentEvent[] = [];
    const end = await runExperiment(store, e.id, { control: () => 'run', onEvent: (ev) => events.push(ev) });
    expect(end.status).toBe('complete');
    expect(end.jobs.every((j) => j.status === 'complete' && j.resultId && j.bestCheckpointId)).toBe(true);
    expect(events.some((ev) => ev.type === 'validation')).toBe(true);
    const results = (await store.listResults()).filter((r) => r.experimentId === e.id);
    expect(results).toHaveLength(4);
    for (const r of results) {
      expect(r.predictions.tasks).toEqual(TASK_PRESETS['competition-5'].outputs);
      // study-level: each test study once
      const testStudies = new Set((await store.listImages(dataset.id)).filter((m) => end.manifest.test.includes(m.key)).map((m) => m.study));
      expect(new Set(r.predictions.studies)).toEqual(testStudies);
    }
    // only the best checkpoint of each job is left
    const stored = (await store.listCheckpoints()).map((c) => c.id).filter((id) => id.startsWith(e.id));
    expect(stored.sort()).toEqual(end.jobs.map((j) => j.bestCheckpointId!).sort());

    // With predictWith 'ensemble' and the kept checkpoints... the best alone reloads as a classifier:
    const job = end.jobs[0]!;
    const model = loadClassifier(extractModel(readTorchFile((await store.getCheckpointBytes(job.bestCheckpointId!))!, { mode: 'strict' }).root).model);
    expect((await exportStateDict(model)).size).toBeGreaterThan(100);
    model.dispose();
  }, 120_000);

  test('a paused experiment runs the interrupted job again from its beginning and finishes', async () => {
    const { store, dataset } = await storeWithDemo(40, 16);
    const s = settings(dataset.id);
    const e = await createExperiment(store, { ...s, inits: [s.inits[0]!], fractions: [{ ratio: 0.7, draws: 1 }], settings: { ...s.settings, keepTopK: 1, predictWith: 'best' } });
    let steps = 0;
    const paused = await runExperiment(store, e.id, { control: () => (steps >= 5 ? 'pause' : 'run'), onEvent: (ev) => ev.type === 'step' && steps++ });
    expect(paused.status).toBe('paused');
    expect(paused.jobs[0]!.status).toBe('queued');
    const end = await runExperiment(store, e.id, { control: () => 'run', onEvent: () => {} });
    expect(end.status).toBe('complete');
    const r = (await store.getResult(end.jobs[0]!.resultId!))!;
    // 'best': the test predictions are the best checkpoint's own, recomputed here from the stored file
    const images = await store.listImages(dataset.id);
    const testImages = end.manifest.test.map((k) => images.find((m) => m.key === k)!);
    const model = loadClassifier(extractModel(readTorchFile((await store.getCheckpointBytes(end.jobs[0]!.bestCheckpointId!))!, { mode: 'strict' }).root).model);
    const table = await predictStudies(
      model,
      {
        images: testImages,
        labelColumns: dataset.labelColumns,
        load: async (keys) => (await store.getPixelsMany(dataset.id, keys)).map((p) => ({ width: p!.width, height: p!.height, data: p!.data })),
      },
      r.predictions.tasks,
      { scale: 16, crop: 16, normalization: 'imagenet' },
    );
    model.dispose();
    expect(table.studies).toEqual(r.predictions.studies);
    for (let t = 0; t < table.tasks.length; t++) for (let i = 0; i < table.studies.length; i++) expect(table.probs[t]![i]).toBeCloseTo(r.predictions.probs[t]![i]!, 6);
    const left = (await store.listCheckpoints()).filter((c) => c.id.startsWith(e.id));
    expect(left.map((c) => c.id)).toEqual([end.jobs[0]!.bestCheckpointId]);
  }, 120_000);
});

describe('re-running from a config', () => {
  test('the exported config recreates the experiment on the same images, and a missing image is named', async () => {
    const { store, dataset } = await storeWithDemo(30, 16);
    const s = settings(dataset.id);
    const first = await createExperiment(store, { ...s, splitSeed: 3 });
    const text = experimentConfigJson(first);
    const again = experimentFromConfig(text);
    const second = await createExperiment(store, again.settings, again.manifest);
    expect(second.manifest).toEqual(first.manifest);
    expect(second.jobs.map((j) => j.id)).toEqual(first.jobs.map((j) => j.id));
    const broken = { ...first.manifest, test: [...first.manifest.test, 'no/such/image.jpg'] };
    await expect(createExperiment(store, again.settings, broken)).rejects.toThrow(/lacks 1 image.*no\/such\/image\.jpg/);
    expect(() => experimentFromConfig('{"kind":"pretrain"}')).toThrow(/not an experiment config/);
    await expect(createExperiment(store, { ...again.settings, inits: [{ label: 'MoCo x', init: { kind: 'moco', checkpointId: 'gone' } }] })).rejects.toThrow(/'MoCo x' is not stored/);
  });
});

describe('a failing job', () => {
  test('a lost device fails the job with its reason; resuming the experiment runs it again to the end', async () => {
    const { store, dataset } = await storeWithDemo(40, 16);
    const s = settings(dataset.id);
    const e = await createExperiment(store, { ...s, inits: [s.inits[0]!], fractions: [{ ratio: 0.7, draws: 1 }], settings: { ...s.settings, keepTopK: 1 } });
    let steps = 0;
    const failed = await runExperiment(store, e.id, {
      control: () => {
        if (steps >= 3) throw new Error('the GPU device was lost: test');
        return 'run';
      },
      onEvent: (ev) => ev.type === 'step' && steps++,
    });
    expect(failed.status).toBe('failed');
    expect(failed.jobs[0]).toMatchObject({ status: 'failed', message: 'the GPU device was lost: test' });
    expect(failed.message).toMatch(/random A, train_semi_0\.7-it0: the GPU device was lost/);
    const end = await runExperiment(store, e.id, { control: () => 'run', onEvent: () => {} });
    expect(end.status).toBe('complete');
    expect(end.jobs[0]!.status).toBe('complete');
    // the failed attempt's kept checkpoints are gone; only the finished job's best is left
    expect((await store.listCheckpoints()).filter((c) => c.id.startsWith(e.id)).map((c) => c.id)).toEqual([end.jobs[0]!.bestCheckpointId]);
  }, 120_000);
});
