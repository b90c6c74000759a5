// A stored pretraining run driven end to end: the run record and its checkpoints in IndexedDB, MoCo built
// from the run's start (random, a stored backbone, a stored MoCo checkpoint) or from its last checkpoint,
// the loop, checkpoints that replace each other in one transaction, and recovery from running out of
// memory (halve the batch) or losing the device (the caller re-creates the backend), each time from the
// last checkpoint. Plain TypeScript over the Store, so the worker stays thin and Node tests drive it.
import * as tf from '@tensorflow/tfjs';
import { TrainingSizeCache } from '../augment/training-size.ts';
import { extractModel, isParameterKey, toApp, type CanonicalModel } from '../convert/index.ts';
import type { GreyImage } from '../image/types.ts';
import type { StateEntryInput } from '../models/index.ts';
import { HISTORY_MAX, type CheckpointRecord, type RunRecord, type RunStatus } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { readTorchFile, tensorToFloat32 } from '../torchfile/index.ts';
import { MoCo, MOCO_CXR_ADAM_HYPER, type MocoOptions } from './builder.ts';
import { mocoStepFlops } from './flops.ts';
import { pretrainLoop, type CheckpointReason, type RunProgress, type StepReport } from './run.ts';
import { stepsPerEpoch, validateSettings, type PretrainSettings } from './settings.ts';
import { mocoFromCanonical, mocoToCanonical } from './state.ts';

/** Epoch-end checkpoints a run keeps besides its latest (each is the whole MoCo state: for ResNet-18
 *  about 190 MB with the key encoder, queue and Adam moments). */
export const KEEP_EPOCH_CHECKPOINTS = 2;

export type PretrainEvent =
  | { type: 'step'; report: StepReport; numTensors: number; numBytes: number }
  | { type: 'checkpoint'; progress: RunProgress; reason: CheckpointReason; checkpointId: string }
  | { type: 'recovered'; message: string; batch: number }
  /** for MFU: the FLOPs of one step (counted from the model's kernels) and the device's measured peak */
  | { type: 'efficiency'; flopsPerStep: number; peakFlops: number | null };

export interface RunHooks {
  control: () => 'run' | 'pause' | 'stop';
  onEvent: (e: PretrainEvent) => void;
  /** called after a lost device, before the run continues from its last checkpoint: re-create the backend */
  restoreBackend?: () => Promise<void>;
  mocoOptions?: MocoOptions;
  /** recoveries allowed before the run fails (default 3) */
  maxRecoveries?: number;
  /** the device's peak FLOP/s (a matmul probe, measured once per backend by the caller), for MFU */
  peakFlops?: () => Promise<number>;
}

export async function createRun(store: Store, input: { name: string; datasetId: string; settings: PretrainSettings }): Promise<RunRecord> {
  const dataset = await store.getDataset(input.datasetId);
  if (!dataset) throw new Error(`no dataset with id ${input.datasetId}`);
  const imageCount = Object.values(dataset.counts).reduce((a, b) => a + b, 0);
  const problems = validateSettings(input.settings, imageCount, dataset.imageSide);
  if (problems.length) throw new Error(`the run cannot start: ${problems.join('; ')}`);
  const now = Date.now();
  const run: RunRecord = {
    id: crypto.randomUUID(),
    kind: 'moco',
    name: input.name.trim() || `MoCo ${input.settings.arch} on ${dataset.name}`,
    datasetId: input.datasetId,
    settings: structuredClone(input.settings),
    status: 'paused',
    progress: { epoch: 0, step: 0, globalStep: 0 },
    stepsPerEpoch: stepsPerEpoch(imageCount, input.settings.batch),
    imageCount,
    checkpointId: null,
    epochCheckpoints: [],
    history: [],
    createdAt: now,
    updatedAt: now,
  };
  await store.putRun(run);
  return run;
}

async function readStored(store: Store, id: string): Promise<CanonicalModel> {
  const bytes = await store.getCheckpointBytes(id);
  if (!bytes) throw new Error(`the stored checkpoint ${id} is gone (deleted?)`);
  return extractModel(readTorchFile(bytes, { mode: 'strict' }).root).model;
}

/** MoCo from the run's last checkpoint, or from its start; and where that leaves the run. */
async function buildMoco(store: Store, run: RunRecord, opts: MocoOptions): Promise<{ moco: MoCo; start: RunProgress }> {
  const s = run.settings;
  const cfg = { m: s.m, T: s.T };
  const adam = { ...MOCO_CXR_ADAM_HYPER, weightDecay: s.weightDecay };
  if (run.checkpointId) {
    const moco = mocoFromCanonical(await readStored(store, run.checkpointId), cfg, { ...opts, seed: s.seed, adam });
    return { moco, start: { ...run.progress } };
  }
  if (s.init.kind === 'moco') {
    const model = await readStored(store, s.init.checkpointId);
    if (model.arch !== s.arch) throw new Error(`the MoCo checkpoint is ${model.arch}; the run is set to ${s.arch}`);
    const moco = mocoFromCanonical(model, { ...cfg, K: s.K }, { ...opts, seed: s.seed, adam });
    const epoch = model.moco?.epoch ?? model.epoch ?? 0;
    return { moco, start: { epoch, step: 0, globalStep: 0 } };
  }
  const moco = new MoCo({ arch: s.arch, dim: s.dim, K: s.K, m: s.m, T: s.T }, { ...opts, seed: s.seed, adam });
  if (s.init.kind === 'backbone') {
    try {
      const model = await readStored(store, s.init.checkpointId);
      if (model.arch !== s.arch) throw new Error(`the start weights are ${model.arch}; the run is set to ${s.arch}`);
      moco.loadBackbone(new Map<string, StateEntryInput>([...model.backbone].map(([k, t]) => [k, { shape: t.shape, data: tensorToFloat32(t) }])));
    } catch (e) {
      moco.dispose();
      throw e;
    }
  }
  return { moco, start: { epoch: 0, step: 0, globalStep: 0 } };
}

function imageSource(store: Store, datasetId: string, keys: string[], size: number) {
  const cache = new TrainingSizeCache(size);
  return {
    keys,
    async load(batch: readonly string[]): Promise<GreyImage[]> {
      const pixels = await store.getPixelsMany(datasetId, batch);
      return pixels.map((p, i) => {
        const key = batch[i]!;
        if (!p) throw new Error(`image ${key} of the dataset is no longer stored`);
        return cache.get(key, { width: p.width, height: p.height, data: p.data });
      });
    },
  };
}

const isOutOfMemory = (e: unknown) => /out of memory|\bOOM\b|failed to allocate|allocation failed|exceeds the max(imum)? (buffer|binding)|maxBufferSize|maxStorageBufferBindingSize/i.test(String((e as Error)?.message ?? e));
const isDeviceLost = (e: unknown) => /device (was |is )?lost|GPUDevice.*lost|context lost/i.test(String((e as Error)?.message ?? e));

/** The largest batch below `batch` that divides K (MoCo needs K % batch == 0), at least 2, or 0. */
export function smallerBatch(batch: number, K: number): number {
  for (let b = Math.floor(batch / 2); b >= 2; b--) if (K % b === 0) return b;
  return 0;
}

/**
 * Runs (or resumes) a stored run until it completes, pauses or stops, or fails. Returns the final record.
 */
export async function runPretraining(store: Store, runId: string, hooks: RunHooks): Promise<RunRecord> {
  let run = await store.getRun(runId);
  if (!run) throw new Error(`no run with id ${runId}`);
  const images = await store.listImages(run.datasetId);
  if (images.length === 0) throw new Error('the run\'s dataset has no stored images (deleted?)');
  const keys = images.map((i) => i.key);
  await store.sweepOrphanBytes();
  let recoveries = 0;
  const save = async (patch: Partial<RunRecord>) => {
    run = { ...(run as RunRecord), ...patch, updatedAt: Date.now() };
    await store.putRun(run);
    return run;
  };
  await save({ status: 'running', backend: tf.getBackend(), imageCount: keys.length, stepsPerEpoch: stepsPerEpoch(keys.length, run.settings.batch) });

  for (;;) {
    let moco: MoCo | null = null;
    try {
      const built = await buildMoco(store, run, hooks.mocoOptions ?? {});
      moco = built.moco;
      const m = moco;
      const s = run.settings;
      const flops = await mocoStepFlops({ arch: s.arch, batch: s.batch, size: s.crop, dim: s.dim, K: s.K }, m.encoderQ);
      hooks.onEvent({ type: 'efficiency', flopsPerStep: flops.total, peakFlops: hooks.peakFlops ? await hooks.peakFlops() : null });
      const history = [...run.history];
      const result = await pretrainLoop({
        moco: m,
        settings: run.settings,
        source: imageSource(store, run.datasetId, keys, run.settings.size),
        start: built.start,
        control: hooks.control,
        onStep: (report) => {
          history.push({ globalStep: report.globalStep, epoch: report.epoch, loss: report.loss, top1: report.top1, top5: report.top5, lr: report.lr, imagesPerSecond: report.imagesPerSecond });
          if (history.length > HISTORY_MAX) thin(history);
          const mem = tf.memory();
          hooks.onEvent({ type: 'step', report, numTensors: mem.numTensors, numBytes: mem.numBytes });
        },
        checkpoint: async (at, reason, lr) => {
          const id = await writeCheckpoint(store, run as RunRecord, m, at, reason, lr, history);
          run = (await store.getRun(runId)) as RunRecord;
          hooks.onEvent({ type: 'checkpoint', progress: at, reason, checkpointId: id });
        },
      });
      const status: RunStatus = result === 'complete' ? 'complete' : result === 'paused' ? 'paused' : 'stopped';
      return await save({ status });
    } catch (e) {
      const oom = isOutOfMemory(e);
      const lost = isDeviceLost(e);
      const message = (e as Error)?.message ?? String(e);
      if ((oom || lost) && recoveries < (hooks.maxRecoveries ?? 3)) {
        recoveries++;
        moco?.dispose();
        moco = null;
        let note: string;
        if (oom) {
          const b = smallerBatch(run.settings.batch, run.settings.K);
          if (!b) return await save({ status: 'failed', message: `out of memory at batch ${run.settings.batch}, and no smaller batch divides K = ${run.settings.K}: ${message}` });
          // the epoch's position in images stays; in steps it follows the new batch
          const done = run.progress.step * run.settings.batch;
          note = `out of memory at batch ${run.settings.batch} (${message}); resumed from the last checkpoint at batch ${b}`;
          await save({ settings: { ...run.settings, batch: b }, stepsPerEpoch: stepsPerEpoch(keys.length, b), progress: { ...run.progress, step: Math.floor(done / b) }, message: note });
          hooks.onEvent({ type: 'recovered', message: note, batch: b });
        } else {
          note = `the GPU device was lost (${message}); resumed from the last checkpoint`;
          await hooks.restoreBackend?.();
          await save({ message: note, backend: tf.getBackend() });
          hooks.onEvent({ type: 'recovered', message: note, batch: run.settings.batch });
        }
        continue;
      }
      console.error('pretraining failed:', e, (e as Error)?.stack);
      await save({ status: 'failed', message });
      throw e;
    } finally {
      moco?.dispose();
    }
  }
}

/** Halves a long history by dropping every other point (the newest is kept). */
function thin(h: unknown[]): void {
  const kept = h.filter((_, i) => i % 2 === (h.length - 1) % 2);
  h.length = 0;
  h.push(...kept);
}

async function writeCheckpoint(store: Store, run: RunRecord, moco: MoCo, at: RunProgress, reason: CheckpointReason, lr: number, history: RunRecord['history']): Promise<string> {
  const meta = new Map<string, string>([
    ['run', run.id],
    ['progress', JSON.stringify(at)],
    ['settings', JSON.stringify(run.settings)],
  ]);
  const model = await mocoToCanonical(moco, { epoch: at.epoch, lr, meta });
  const bytes = toApp(model);
  let params = 0;
  for (const [k, t] of model.backbone) if (isParameterKey(k)) params += t.numel;
  for (const t of model.head?.tensors.values() ?? []) params += t.numel;
  const id = crypto.randomUUID();
  const s = run.settings;
  const record: CheckpointRecord = {
    id,
    name: `${run.name} · epoch ${at.epoch}${at.step ? ` + ${at.step} steps` : ''}`,
    createdAt: Date.now(),
    sourceFile: `run ${run.name}`,
    size: bytes.byteLength,
    storedSize: bytes.byteLength,
    layout: 'moco',
    arch: s.arch,
    epoch: at.epoch,
    head: `mlp (${s.dim} dim)`,
    summary: `MoCo run '${run.name}' (${s.arch}, dim ${s.dim}, K ${s.K}, queue_ptr ${moco.queuePtr}), epoch ${at.epoch}, step ${at.globalStep}`,
    tensorCount: model.backbone.size + (model.head?.tensors.size ?? 0) + (model.moco?.encoderK.size ?? 0) + 2,
    parameterCount: params,
  };
  const epochCheckpoints = reason === 'epoch' ? [...run.epochCheckpoints, id] : [...run.epochCheckpoints];
  const dropEpochs = epochCheckpoints.length > KEEP_EPOCH_CHECKPOINTS ? epochCheckpoints.splice(0, epochCheckpoints.length - KEEP_EPOCH_CHECKPOINTS) : [];
  const drop = [...dropEpochs];
  if (run.checkpointId && !epochCheckpoints.includes(run.checkpointId) && !drop.includes(run.checkpointId)) drop.push(run.checkpointId);
  const updated: RunRecord = { ...run, checkpointId: id, epochCheckpoints, progress: { ...at }, history: history.slice(), updatedAt: Date.now() };
  await store.putRunCheckpoint(updated, record, bytes, drop.filter((d) => d !== id));
  return id;
}
