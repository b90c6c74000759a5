// Experiments in the store: create one (its split manifest and job list drawn once and kept), then run its
// jobs in queue order. Each job is one fine-tuning run; its test result is stored as an EvaluationResult
// and its best checkpoint (pipeline format) is kept for download.
//
// Kept checkpoints (the top k by validation AUROC) live in the store under ids derived from the experiment,
// the job and train.py's file name, so a job interrupted by a closed tab is cleaned up and started again
// from its beginning (a job is one fine-tuning run; the experiment resumes job by job). When a job ends,
// its best checkpoint stays (downloadable in the pipeline format) and the other kept ones go.
import { TrainingSizeCache } from '../augment/training-size.ts';
import { extractModel, toApp } from '../convert/index.ts';
import type { ImageMeta } from '../data/types.ts';
import type { GreyImage } from '../image/types.ts';
import type { CheckpointRecord, DatasetRecord, ExperimentJob, ExperimentRecord } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { readTorchFile } from '../torchfile/index.ts';
import { canonicalToWeights, weightsToCanonical, type ClassifierStart } from './classifier.ts';
import { buildManifest, planJobs, type ExperimentJobPlan } from './experiment.ts';
import { finetuneLoop, startTrainer, type FinetuneStepReport } from './finetune-run.ts';
import type { LabelledSplit } from './predict.ts';
import type { EvaluationResult } from './results.ts';
import type { ExperimentSettings, SplitManifest } from './settings.ts';
import { checkTasks } from './tasks.ts';

const newId = () => `exp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * A new experiment. Without `given`, its split manifest is drawn from the dataset and the settings' seed;
 * with one (a re-run from an exported config or a bundle's run.json), that manifest is used as it is,
 * after checking that the dataset holds every image it names.
 */
export async function createExperiment(store: Store, settings: ExperimentSettings, given?: SplitManifest): Promise<ExperimentRecord> {
  const dataset = await store.getDataset(settings.datasetId);
  if (!dataset) throw new Error(`no dataset with id ${settings.datasetId}`);
  checkTasks(settings.settings.tasks, dataset.labelColumns);
  for (const i of settings.inits) {
    if (i.init.kind !== 'random' && !(await store.getCheckpoint(i.init.checkpointId))) {
      throw new Error(`the checkpoint of '${i.label}' is not stored in this browser: import it on the Checkpoints page first`);
    }
  }
  const images = await store.listImages(dataset.id);
  let manifest: SplitManifest;
  if (given) {
    const have = new Set(images.map((m) => m.key));
    const named = [...given.valid, ...given.test, ...given.train.flatMap((d) => d.keys)];
    const missing = [...new Set(named.filter((k) => !have.has(k)))];
    if (missing.length > 0) {
      throw new Error(`the dataset '${dataset.name}' lacks ${missing.length} image(s) the split manifest names, e.g. ${missing.slice(0, 3).join(', ')}`);
    }
    manifest = { ...given, datasetId: dataset.id };
  } else manifest = buildManifest(dataset.kind, images, settings);
  const plans = planJobs(settings, manifest);
  const trainCount = new Map(manifest.train.map((d) => [d.name, d.keys.length]));
  const jobs: ExperimentJob[] = plans.map((p) => {
    const n = trainCount.get(p.trainName)!;
    return {
      id: p.id,
      initIndex: p.initIndex,
      init: p.init,
      ratio: p.ratio,
      draw: p.draw,
      trainName: p.trainName,
      trainCount: n,
      status: 'queued',
      examples: 0,
      examplesTotal: n * p.settings.epochs,
      validation: [],
    };
  });
  const now = Date.now();
  const record: ExperimentRecord = {
    id: newId(),
    name: settings.name.trim() || `${settings.settings.arch} ${settings.settings.mode} on ${dataset.name}`,
    datasetId: dataset.id,
    settings,
    manifest,
    jobs,
    status: 'queued',
    createdAt: now,
    updatedAt: now,
  };
  await store.putExperiment(record);
  return record;
}

export type ExperimentEvent =
  | { type: 'job'; jobId: string; status: ExperimentJob['status'] }
  | { type: 'phase'; jobId: string; phase: string }
  | ({ type: 'step'; jobId: string; examplesTotal: number } & Pick<FinetuneStepReport, 'epoch' | 'examplesPerSecond'> & { examples: number; loss: number })
  | { type: 'validation'; jobId: string; examples: number; meanAuroc: number | null }
  | { type: 'notice'; message: string };

export interface ExperimentHooks {
  /** asked between steps: 'pause' and 'stop' end the run (the current job starts again on resume) */
  control: () => 'run' | 'pause' | 'stop';
  onEvent: (e: ExperimentEvent) => void;
}

/** Store id of a job's kept checkpoint. */
export const keptCheckpointId = (experimentId: string, jobId: string, name: string) => `${experimentId}/${jobId}/${name}`;

/** Images of a split by key, at training size, from the store. */
function storeSplit(store: Store, dataset: DatasetRecord, byKey: Map<string, ImageMeta>, keys: readonly string[], cache: TrainingSizeCache): LabelledSplit {
  const images = keys.map((k) => {
    const m = byKey.get(k);
    if (!m) throw new Error(`image ${k} of the experiment's split manifest is no longer in the dataset`);
    return m;
  });
  return {
    images,
    labelColumns: dataset.labelColumns,
    async load(batch: readonly string[]): Promise<GreyImage[]> {
      const pixels = await store.getPixelsMany(dataset.id, batch);
      return pixels.map((p, i) => {
        if (!p) throw new Error(`image ${batch[i]} of the dataset is no longer stored`);
        return cache.get(batch[i]!, { width: p.width, height: p.height, data: p.data });
      });
    },
  };
}

async function classifierStart(store: Store, plan: ExperimentJobPlan): Promise<ClassifierStart> {
  const init = plan.settings.init;
  if (init.kind === 'random') return { kind: 'random' };
  const bytes = await store.getCheckpointBytes(init.checkpointId);
  if (!bytes) throw new Error(`the ${init.kind === 'moco' ? 'MoCo' : 'ImageNet'} checkpoint of '${plan.init}' is no longer stored`);
  const { model } = extractModel(readTorchFile(bytes, { mode: 'strict' }).root, { arch: plan.settings.arch });
  return { kind: init.kind, model };
}

function checkpointRecord(id: string, name: string, bytes: Uint8Array, plan: ExperimentJobPlan, summary: string, params: number, tasks: string[]): CheckpointRecord {
  return {
    id,
    name,
    createdAt: Date.now(),
    sourceFile: name,
    size: bytes.byteLength,
    storedSize: bytes.byteLength,
    layout: 'app',
    arch: plan.settings.arch,
    epoch: null,
    head: `linear (${tasks.length} outputs)`,
    tasks,
    summary,
    tensorCount: 0,
    parameterCount: params,
  };
}

/** Runs an experiment's unfinished jobs in order until all are done, or it is paused or stopped. */
export async function runExperiment(store: Store, experimentId: string, hooks: ExperimentHooks): Promise<ExperimentRecord> {
  let e = await store.getExperiment(experimentId);
  if (!e) throw new Error(`no experiment with id ${experimentId}`);
  const dataset = await store.getDataset(e.datasetId);
  if (!dataset) throw new Error(`the dataset of experiment '${e.name}' is no longer stored`);
  const byKey = new Map((await store.listImages(dataset.id)).map((m) => [m.key, m]));
  const plans = new Map(planJobs(e.settings, e.manifest).map((p) => [p.id, p]));
  const put = async (patch: Partial<ExperimentRecord>) => {
    e = { ...e!, ...patch, updatedAt: Date.now() };
    await store.putExperiment(e);
  };
  const putJob = async (job: ExperimentJob) => {
    await put({ jobs: e!.jobs.map((j) => (j.id === job.id ? job : j)) });
    hooks.onEvent({ type: 'job', jobId: job.id, status: job.status });
  };
  await put({ status: 'running', message: undefined });

  const caches = new Map<number, TrainingSizeCache>();
  const cacheFor = (scale: number) => caches.get(scale) ?? caches.set(scale, new TrainingSizeCache(scale)).get(scale)!;
  for (const queued of e.jobs) {
    // a failed job (a lost device, a full storage, bad settings) is tried again when the experiment resumes
    if (queued.status === 'complete') continue;
    const plan = plans.get(queued.id);
    if (!plan) throw new Error(`job ${queued.id} is not in the experiment's plan`);
    const s = plan.settings;
    const draw = e.manifest.train.find((d) => d.name === plan.trainName)!;
    const cache = cacheFor(s.scale);
    const train = storeSplit(store, dataset, byKey, draw.keys, cache);
    const valid = storeSplit(store, dataset, byKey, e.manifest.valid, cache);
    const test = storeSplit(store, dataset, byKey, e.manifest.test, cache);
    // An interrupted attempt's kept checkpoints go: the job starts again from its beginning.
    for (const id of queued.kept ?? []) await store.deleteCheckpoint(id);
    let job: ExperimentJob = { ...queued, status: 'running', examples: 0, validation: [], kept: [], startedAt: Date.now() };
    delete job.message;
    await putJob(job);
    hooks.onEvent({ type: 'phase', jobId: job.id, phase: 'loading the initial weights' });
    const { trainer } = startTrainer(s, await classifierStart(store, plan));
    const tasks = s.tasks.outputs;
    // learnable parameters, from the shapes (no read-back of the weights)
    let params = 0;
    for (const p of trainer.model.store.params.values()) params += p.variable.size;
    try {
      let examples = 0;
      const outcome = await finetuneLoop({
        settings: s,
        trainer,
        train,
        valid,
        test,
        bootstrap: e.settings.bootstrap,
        control: hooks.control,
        onStep: (r) => {
          examples += r.examples;
          hooks.onEvent({ type: 'step', jobId: job.id, epoch: r.epoch, examples, examplesTotal: job.examplesTotal, loss: r.loss ?? NaN, examplesPerSecond: r.examplesPerSecond });
          job.examples = examples;
        },
        onEvaluation: (ev) => {
          job = { ...job, examples, validation: [...job.validation, { examples: ev.globalStep, meanAuroc: ev.metric ?? NaN }] };
          hooks.onEvent({ type: 'validation', jobId: job.id, examples: ev.globalStep, meanAuroc: ev.metric });
          void putJob(job);
        },
        keep: async (c) => {
          const id = keptCheckpointId(e!.id, job.id, c.id);
          const bytes = toApp(weightsToCanonical(s.arch, c.weights, tasks, c.epoch));
          const metric = c.metric === null ? 'undefined' : c.metric.toFixed(4);
          await store.putCheckpoint(checkpointRecord(id, `${e!.name} · ${plan.init} · ${plan.trainName} · ${c.id.replace(/\.pth\.tar$/, '')}`, bytes, plan, `fine-tuned ${s.arch} (${s.mode}), validation mean AUROC ${metric} over ${s.tasks.pick.join(', ')}`, params, tasks), bytes);
          if (!job.kept!.includes(id)) job = { ...job, kept: [...job.kept!, id] };
          await putJob(job);
        },
        drop: async (name) => {
          const id = keptCheckpointId(e!.id, job.id, name);
          await store.deleteCheckpoint(id);
          job = { ...job, kept: job.kept!.filter((k) => k !== id) };
          await putJob(job);
        },
        loadKept: async (name) => {
          const bytes = await store.getCheckpointBytes(keptCheckpointId(e!.id, job.id, name));
          if (!bytes) throw new Error(`the kept checkpoint ${name} of ${job.id} is no longer stored`);
          // the entries straight from the file (the loop loads them strictly into its own model)
          return canonicalToWeights(extractModel(readTorchFile(bytes, { mode: 'strict' }).root, { arch: s.arch }).model);
        },
      });
      if (outcome.status !== 'complete') {
        job = { ...job, status: outcome.status === 'stopped' ? 'stopped' : 'queued', message: outcome.status === 'paused' ? 'paused: starts again from its beginning on resume' : 'stopped' };
        await putJob(job);
        await put({ status: outcome.status === 'paused' ? 'paused' : 'stopped' });
        return e!;
      }
      hooks.onEvent({ type: 'phase', jobId: job.id, phase: 'test predictions and bootstrap' });
      const t = outcome.test!;
      const result: EvaluationResult = {
        id: `${e.id}/${job.id}/test`,
        label: `${plan.init} · ${plan.trainName}`,
        source: 'browser',
        init: plan.init,
        ratio: plan.ratio,
        draw: plan.draw,
        experimentId: e.id,
        datasetId: dataset.id,
        split: 'test',
        predictions: t.table,
        scores: t.scores,
        createdAt: Date.now(),
      };
      await store.putResult(result);
      // The best checkpoint stays; the rest of the kept ones go.
      const best = outcome.state.best ?? outcome.state.kept[0] ?? null;
      const bestId = best ? keptCheckpointId(e.id, job.id, best.id) : undefined;
      for (const id of job.kept ?? []) if (id !== bestId) await store.deleteCheckpoint(id);
      job = { ...job, status: 'complete', examples: job.examplesTotal, kept: bestId ? [bestId] : [], resultId: result.id, endedAt: Date.now() };
      if (bestId) job.bestCheckpointId = bestId;
      await putJob(job);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      job = { ...job, status: 'failed', message, endedAt: Date.now() };
      await putJob(job);
      await put({ status: 'failed', message: `${plan.init}, ${plan.trainName}: ${message}` });
      return e!;
    } finally {
      trainer.dispose(); // the model and Adam's slots
    }
  }
  await put({ status: 'complete' });
  return e!;
}

export const EXPERIMENT_CONFIG_FORMAT = 'moco-cxr-web experiment';

/** An experiment's config as JSON: what experimentFromConfig reads back to re-run it on the same images. */
export function experimentConfigJson(e: ExperimentRecord): string {
  const jobs = e.jobs.map(({ id, init, ratio, draw, trainName, status }) => ({ id, init, ratio, draw, trainName, status }));
  return `${JSON.stringify({ format: EXPERIMENT_CONFIG_FORMAT, version: 1, name: e.name, settings: e.settings, manifest: e.manifest, jobs }, null, 2)}\n`;
}

/** The settings and manifest in an exported experiment config or a fine-tuning bundle's run.json. */
export function experimentFromConfig(text: string): { settings: ExperimentSettings; manifest: SplitManifest } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`the config is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const o = (v ?? {}) as Record<string, unknown>;
  const settings = (o.format === EXPERIMENT_CONFIG_FORMAT ? o.settings : o.kind === 'finetune' ? o.experiment : undefined) as ExperimentSettings | undefined;
  const manifest = o.manifest as SplitManifest | undefined;
  if (!settings || !manifest) throw new Error("not an experiment config: expected this app's exported config (format '${EXPERIMENT_CONFIG_FORMAT}') or a fine-tuning bundle's run.json");
  if (!Array.isArray(manifest.valid) || !Array.isArray(manifest.test) || !Array.isArray(manifest.train)) throw new Error('the config\'s split manifest has no valid, test and train lists');
  if (!settings.settings || !Array.isArray(settings.inits) || !Array.isArray(settings.fractions)) throw new Error('the config\'s settings lack inits, fractions or the run settings');
  const { id: _id, ...rest } = settings as ExperimentSettings & { id?: string };
  return { settings: rest, manifest };
}
