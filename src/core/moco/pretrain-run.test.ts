// A stored run end to end in Node (tfjs wasm, as fast as Node gets here; fake-indexeddb behind Store): ResNet-18 at 16 px on demo
// phantoms. A run paused mid-epoch and resumed from its checkpoint reproduces the uninterrupted run's
// losses and final weights exactly; tensors stay flat over 100 steps; checkpoints replace each other.
import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, test } from 'vitest';
import { useBackend } from '../backend/kernels/backends.testutil.ts';
import { adamUpdate } from '../backend/kernels/adam.ts';
import { extractModel } from '../convert/index.ts';
import { storeWithDemo as storeWithDemoStore } from '../store/demo.testutil.ts';
import { Store } from '../store/store.ts';
import { readTorchFile, tensorToFloat32 } from '../torchfile/index.ts';
import { createRun, KEEP_EPOCH_CHECKPOINTS, runPretraining, smallerBatch, type PretrainEvent } from './pretrain-run.ts';
import { MOCO_CXR_DEFAULTS, type PretrainSettings } from './settings.ts';

async function storeWithDemo(count: number, side: number): Promise<{ store: Store; datasetId: string }> {
  const { store, dataset } = await storeWithDemoStore({ count, side, seed: 3, prefix: 'pretrain-test' });
  return { store, datasetId: dataset.id };
}

const settings = (over: Partial<PretrainSettings>): PretrainSettings => ({
  ...MOCO_CXR_DEFAULTS,
  arch: 'resnet18',
  init: { kind: 'random' },
  dim: 8,
  K: 8,
  batch: 4,
  size: 16,
  crop: 16,
  lr: 1e-3,
  seed: 5,
  ...over,
});

beforeAll(async () => {
  await useBackend('wasm');
});

async function finalWeights(store: Store, checkpointId: string): Promise<Float32Array[]> {
  const model = extractModel(readTorchFile((await store.getCheckpointBytes(checkpointId))!, { mode: 'strict' }).root).model;
  return [...model.backbone.values(), ...model.moco!.encoderK.values(), model.moco!.queue].map((t) => tensorToFloat32(t));
}

describe('pretraining run', () => {
  test('paused mid-epoch and resumed from its checkpoint, it equals the uninterrupted run exactly', async () => {
    const { store, datasetId } = await storeWithDemo(12, 16);
    const s = settings({ epochs: 3, checkpointEvery: 4, milestones: [2] });
    const losses = (events: PretrainEvent[]) => events.flatMap((e) => (e.type === 'step' ? [e.report.loss] : []));

    const a = await createRun(store, { name: 'a', datasetId, settings: s });
    const eventsA: PretrainEvent[] = [];
    const endA = await runPretraining(store, a.id, { control: () => 'run', onEvent: (e) => eventsA.push(e) });
    expect(endA.status).toBe('complete');
    expect(endA.progress).toEqual({ epoch: 3, step: 0, globalStep: 9 });
    expect(losses(eventsA)).toHaveLength(9);
    // lr: epochs 0-1 at 1e-3, epoch 2 at 1e-4 (milestone 2)
    const lr2 = 1e-3 * 0.1;
    expect(eventsA.flatMap((e) => (e.type === 'step' ? [e.report.lr] : []))).toEqual([1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, lr2, lr2, lr2]);

    const b = await createRun(store, { name: 'b', datasetId, settings: s });
    const eventsB: PretrainEvent[] = [];
    let pauseAt = 5;
    const control = () => (eventsB.filter((e) => e.type === 'step').length >= pauseAt ? ('pause' as const) : ('run' as const));
    const paused = await runPretraining(store, b.id, { control, onEvent: (e) => eventsB.push(e) });
    expect(paused.status).toBe('paused');
    expect(paused.progress).toEqual({ epoch: 1, step: 2, globalStep: 5 });
    pauseAt = Infinity;
    const endB = await runPretraining(store, b.id, { control, onEvent: (e) => eventsB.push(e) });
    expect(endB.status).toBe('complete');
    expect(losses(eventsB)).toEqual(losses(eventsA));
    expect(await finalWeights(store, endB.checkpointId!)).toEqual(await finalWeights(store, endA.checkpointId!));

    // what is kept: the latest checkpoint and at most KEEP_EPOCH_CHECKPOINTS epoch ends per run
    expect(endB.epochCheckpoints.length).toBeLessThanOrEqual(KEEP_EPOCH_CHECKPOINTS);
    const stored = await store.listCheckpoints();
    for (const run of [endA, endB]) {
      const mine = stored.filter((c) => c.summary.includes(`'${run.name}'`));
      expect(new Set(mine.map((c) => c.id))).toEqual(new Set([run.checkpointId!, ...run.epochCheckpoints]));
    }
    expect(endB.history.map((p) => p.loss)).toEqual(losses(eventsA));
    store.close();
  }, 600_000);

  test('tf.memory().numTensors stays flat over 100 steps', async () => {
    const { store, datasetId } = await storeWithDemo(208, 16);
    const run = await createRun(store, { name: 'long', datasetId, settings: settings({ epochs: 2, checkpointEvery: 1000 }) });
    const tensors: number[] = [];
    const end = await runPretraining(store, run.id, { control: () => 'run', onEvent: (e) => e.type === 'step' && tensors.push(e.numTensors) });
    expect(end.progress.globalStep).toBe(104);
    expect(new Set(tensors.slice(9)).size).toBe(1);
    store.close();
  }, 600_000);

  test('out of memory: the run resumes from its last checkpoint at a smaller batch; a lost device: after the backend is restored', async () => {
    const { store, datasetId } = await storeWithDemo(16, 16);
    const run = await createRun(store, { name: 'oom', datasetId, settings: settings({ epochs: 2, checkpointEvery: 2 }) });
    let updates = 0;
    let thrown = false;
    const events: PretrainEvent[] = [];
    const end = await runPretraining(store, run.id, {
      control: () => 'run',
      onEvent: (e) => events.push(e),
      mocoOptions: {
        // the third step's optimizer update fails as a GPU allocation does
        adamUpdate: (...args) => {
          if (++updates === 64 * 2 + 1 && !thrown) {
            thrown = true;
            throw new Error('WebGPU: out of memory: failed to allocate a buffer of 268435456 bytes');
          }
          return adamUpdate(...args);
        },
      },
    });
    expect(thrown).toBe(true);
    expect(end.status).toBe('complete');
    expect(end.settings.batch).toBe(2);
    expect(end.message).toMatch(/out of memory at batch 4 .*resumed from the last checkpoint at batch 2/);
    expect(events.filter((e) => e.type === 'recovered')).toHaveLength(1);
    // 2 steps at batch 4 (8 images), then the epoch's other 8 images at batch 2, then a whole epoch at 2
    expect(end.progress).toEqual({ epoch: 2, step: 0, globalStep: 2 + 4 + 8 });

    const run2 = await createRun(store, { name: 'lost', datasetId, settings: settings({ epochs: 1, checkpointEvery: 1 }) });
    let steps = 0;
    let restored = 0;
    const end2 = await runPretraining(store, run2.id, {
      control: () => {
        if (steps === 2 && restored === 0) throw new Error('the GPU device was lost: destroyed');
        return 'run';
      },
      onEvent: (e) => e.type === 'step' && steps++,
      restoreBackend: async () => {
        restored++;
      },
    });
    expect(restored).toBe(1);
    expect(end2.status).toBe('complete');
    expect(end2.message).toMatch(/device was lost.*resumed from the last checkpoint/);
    expect(end2.progress.globalStep).toBe(4);
    store.close();
  }, 600_000);

  test('a run that cannot start says why', async () => {
    const { store, datasetId } = await storeWithDemo(6, 16);
    await expect(createRun(store, { name: 'x', datasetId, settings: settings({ K: 10 }) })).rejects.toThrow(/multiple of the batch size 4/);
    await expect(createRun(store, { name: 'x', datasetId, settings: settings({ size: 32, crop: 32 }) })).rejects.toThrow(/larger than the dataset's stored images/);
    await expect(createRun(store, { name: 'x', datasetId, settings: settings({ batch: 8 }) })).rejects.toThrow(/fewer than one batch of 8/);
    store.close();
  });

  test('the batch after running out of memory divides K', () => {
    expect(smallerBatch(16, 24576)).toBe(8);
    expect(smallerBatch(24, 24576)).toBe(12);
    expect(smallerBatch(12, 36)).toBe(6);
    expect(smallerBatch(2, 8)).toBe(0);
  });
});
