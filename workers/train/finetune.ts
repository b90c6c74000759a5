// Training-worker methods for fine-tuning experiments, offline evaluation, cluster results, exports and
// the hand-off advice: a thin adapter from the bridge to src/core. An experiment's call lasts until it
// completes, pauses or stops; pause and stop arrive as separate calls (or as the call's abort).
import type { CallContext } from '../../src/bridge/protocol.ts';
import { extractModel, toMoco, toPipeline } from '../../src/core/convert/index.ts';
import { clusterResult, evalImageFromGrey, evaluateClassifier, loadClassifier as loadEvalClassifier, offlineResult, pipelineFiles, samplesFromImages } from '../../src/core/evaluate/index.ts';
import { createExperiment, experimentConfigJson, experimentFromConfig, runExperiment, type ExperimentEvent } from '../../src/core/finetune/experiment-run.ts';
import type { EvaluationResult } from '../../src/core/finetune/results.ts';
import { scheduleForFraction, type ExperimentSettings } from '../../src/core/finetune/settings.ts';
import { advise, classifierForwardFlops, finetuneBundle, finetuneWork, pretrainBundle, pretrainStepFlops, pretrainWork, type Advice } from '../../src/core/handoff/index.ts';
import { measureTrainingSpeed } from '../../src/core/backend/speed.ts';
import type { PretrainSettings } from '../../src/core/moco/settings.ts';
import { Store } from '../../src/core/store/store.ts';
import { readTorchFile } from '../../src/core/torchfile/index.ts';
import { writeZip } from '../../src/core/torchfile/zip-writer.ts';
import * as tf from '@tensorflow/tfjs';

export type { ExperimentEvent } from '../../src/core/finetune/experiment-run.ts';

let storePromise: Promise<Store> | null = null;
const store = () => (storePromise ??= Store.open());

const requests = new Map<string, 'pause' | 'stop'>();
const active = new Set<string>();
const utf8 = (s: string) => new TextEncoder().encode(s);
const fileSafe = (s: string) => s.replace(/[^\w.-]+/g, '_');

/** Achieved training FLOP/s on this backend, measured once per backend and kept. */
const speeds = new Map<string, Promise<number>>();
const trainingSpeed = () => {
  const b = tf.getBackend();
  let p = speeds.get(b);
  if (!p) {
    p = measureTrainingSpeed().then((r) => r.flopsPerSecond);
    speeds.set(b, p);
  }
  return p;
};

export interface FinetuneHost {
  hasBackend: () => boolean;
  deviceLost: () => string | null;
}

function resultFiles(r: EvaluationResult): { name: string; data: Uint8Array }[] {
  const base = fileSafe(r.label);
  return Object.entries(pipelineFiles(r.predictions, r.scores)).map(([name, text]) => ({ name: `${base}/${name}`, data: utf8(text) }));
}

export function finetuneApi(host: FinetuneHost) {
  return {
    async experimentCreate(input: { settings: ExperimentSettings }, _ctx: CallContext<never>) {
      return createExperiment(await store(), input.settings);
    },

    /** A re-run from an exported config or a bundle's run.json on a stored dataset: the same settings,
     *  seed and split manifest. */
    async experimentFromConfig(input: { text: string; datasetId: string; name?: string }, _ctx: CallContext<never>) {
      const { settings, manifest } = experimentFromConfig(input.text);
      return createExperiment(await store(), { ...settings, datasetId: input.datasetId, name: input.name ?? `${settings.name} (re-run)` }, manifest);
    },

    async experimentRun(input: { experimentId: string }, ctx: CallContext<ExperimentEvent>) {
      if (!host.hasBackend()) throw new Error('backend not initialised: call initBackend first');
      if (active.has(input.experimentId)) throw new Error('this experiment is already running');
      active.add(input.experimentId);
      requests.delete(input.experimentId);
      try {
        return await runExperiment(await store(), input.experimentId, {
          control: () => {
            const lost = host.deviceLost();
            if (lost) throw new Error(`the GPU device was lost: ${lost}`);
            if (ctx.signal.aborted) return 'pause';
            return requests.get(input.experimentId) ?? 'run';
          },
          onEvent: (e) => ctx.progress(e),
        });
      } finally {
        active.delete(input.experimentId);
        requests.delete(input.experimentId);
      }
    },

    async experimentControl(input: { experimentId: string; action: 'pause' | 'stop' }, _ctx: CallContext<never>): Promise<boolean> {
      if (!active.has(input.experimentId)) return false;
      requests.set(input.experimentId, input.action);
      return true;
    },

    async experimentActive(_: null, _ctx: CallContext<never>): Promise<string[]> {
      return [...active];
    },

    /** A stored classifier on a stored dataset's split: study-level scores with bootstrap intervals. */
    async evaluateCheckpoint(input: { checkpointId: string; datasetId: string; split: 'valid' | 'test' | 'train'; tasks?: string[]; bootstrap: number }, ctx: CallContext<never>): Promise<EvaluationResult> {
      if (!host.hasBackend()) throw new Error('backend not initialised: call initBackend first');
      const s = await store();
      const [record, bytes, dataset] = await Promise.all([s.getCheckpoint(input.checkpointId), s.getCheckpointBytes(input.checkpointId), s.getDataset(input.datasetId)]);
      if (!record || !bytes) throw new Error(`no stored checkpoint with id ${input.checkpointId}`);
      if (!dataset) throw new Error(`no dataset with id ${input.datasetId}`);
      const images = (await s.listImages(dataset.id)).filter((m) => m.split === input.split);
      if (images.length === 0) throw new Error(`the dataset '${dataset.name}' has no ${input.split} images`);
      const { classifier } = loadEvalClassifier(readTorchFile(bytes, { mode: 'strict' }).root);
      try {
        const tasks = input.tasks ?? classifier.tasks.filter((t) => dataset.labelColumns.includes(t) || (t === 'Airspace Opacity' && dataset.labelColumns.includes('Lung Opacity')));
        if (tasks.length === 0) throw new Error(`none of the checkpoint's outputs (${classifier.tasks.join(', ')}) is a label column of '${dataset.name}' (${dataset.labelColumns.join(', ')})`);
        const samples = samplesFromImages(images, tasks, dataset.labelColumns, async (img) => {
          const [p] = await s.getPixelsMany(dataset.id, [img.key]);
          if (!p) throw new Error('no longer stored');
          return evalImageFromGrey({ width: p.width, height: p.height, data: p.data }, { scale: 320, crop: 320 });
        });
        const e = await evaluateClassifier(classifier, samples, { tasks, bootstrap: input.bootstrap, signal: ctx.signal });
        const result = offlineResult(e, { label: `${record.name} on ${dataset.name} ${input.split}`, split: input.split === 'train' ? 'valid' : input.split, datasetId: dataset.id, id: `offline-${crypto.randomUUID()}` });
        await s.putResult(result);
        return result;
      } finally {
        classifier.dispose();
      }
    },

    /** A cluster run's predictions.csv + groundtruth.csv (+ confidence.csv) as a stored result. */
    async importClusterResults(
      input: { label: string; files: { name: string; text: string }[]; experimentId?: string; init?: string; ratio?: number; draw?: number; bootstrap: number },
      _ctx: CallContext<never>,
    ): Promise<EvaluationResult> {
      const find = (re: RegExp) => input.files.find((f) => re.test(f.name.split('/').pop() ?? f.name));
      const predictions = find(/^predictions.*\.csv$/i);
      const groundtruth = find(/^groundtruth.*\.csv$/i);
      const confidence = find(/^confidence(_multi)?\.csv$/i);
      const scores = find(/^scores\.csv$/i);
      if (!predictions || !groundtruth) {
        throw new Error(`pick test.py's predictions.csv and groundtruth.csv (got ${input.files.map((f) => f.name).join(', ') || 'no files'})`);
      }
      const s = await store();
      const e = input.experimentId ? await s.getExperiment(input.experimentId) : undefined;
      if (input.experimentId && !e) throw new Error(`no experiment with id ${input.experimentId}`);
      const result = clusterResult(
        { predictions: predictions.text, groundtruth: groundtruth.text, ...(confidence ? { confidence: confidence.text } : {}), ...(scores ? { scores: scores.text } : {}) },
        {
          label: input.label || 'cluster run',
          id: `cluster-${crypto.randomUUID()}`,
          bootstrap: input.bootstrap,
          ...(e ? { experimentId: e.id, datasetId: e.datasetId, init: input.init || 'cluster', ratio: input.ratio ?? 1, draw: input.draw ?? 0 } : {}),
        },
      );
      await s.putResult(result);
      return result;
    },

    async resultExport(input: { resultId: string }, _ctx: CallContext<never>): Promise<{ name: string; bytes: Uint8Array }> {
      const r = await (await store()).getResult(input.resultId);
      if (!r) throw new Error(`no result with id ${input.resultId}`);
      return { name: `${fileSafe(r.label)}.zip`, bytes: writeZip(resultFiles(r)) };
    },

    async experimentExport(input: { experimentId: string; what: 'predictions' | 'config' | 'bundle' | 'checkpoint'; jobId?: string }, _ctx: CallContext<never>): Promise<{ name: string; bytes: Uint8Array }> {
      const s = await store();
      const e = await s.getExperiment(input.experimentId);
      if (!e) throw new Error(`no experiment with id ${input.experimentId}`);
      const base = fileSafe(e.name);
      if (input.what === 'config') return { name: `${base}.config.json`, bytes: utf8(experimentConfigJson(e)) };
      if (input.what === 'predictions') {
        const results = (await s.listResults()).filter((r) => r.experimentId === e.id);
        if (results.length === 0) throw new Error(`experiment '${e.name}' has no results yet`);
        return { name: `${base}.results.zip`, bytes: writeZip(results.flatMap((r) => resultFiles({ ...r, label: `${fileSafe(r.init ?? r.label)}/${r.ratio !== undefined ? `frac${r.ratio}-it${r.draw}` : r.id}` }))) };
      }
      if (input.what === 'checkpoint') {
        const job = e.jobs.find((j) => j.id === input.jobId);
        if (!job?.bestCheckpointId) throw new Error(`job ${input.jobId} has no kept checkpoint`);
        const bytes = await s.getCheckpointBytes(job.bestCheckpointId);
        if (!bytes) throw new Error(`the checkpoint of ${job.id} is no longer stored`);
        const { model } = extractModel(readTorchFile(bytes, { mode: 'strict' }).root);
        return { name: `${base}-${fileSafe(job.id)}.best.pth.tar`, bytes: toPipeline(model, { tasks: e.settings.settings.tasks.outputs }) };
      }
      const dataset = await s.getDataset(e.datasetId);
      if (!dataset) throw new Error(`the dataset of '${e.name}' is no longer stored`);
      const checkpoints: { label: string; format: 'moco' | 'pipeline'; bytes: Uint8Array }[] = [];
      for (const i of e.settings.inits) {
        if (i.init.kind === 'random') continue;
        const bytes = await s.getCheckpointBytes(i.init.checkpointId);
        if (!bytes) throw new Error(`the checkpoint of '${i.label}' is no longer stored`);
        if (i.init.kind === 'moco') {
          const { model } = extractModel(readTorchFile(bytes, { mode: 'strict' }).root);
          checkpoints.push({ label: i.label, format: 'moco', bytes: toMoco(model) });
        }
      }
      const bytes = finetuneBundle({ experiment: { ...e.settings, id: e.id }, dataset, images: await s.listImages(dataset.id), manifest: e.manifest, checkpoints });
      return { name: `${base}.cluster.zip`, bytes };
    },

    async pretrainBundleExport(input: { runId: string }, _ctx: CallContext<never>): Promise<{ name: string; bytes: Uint8Array }> {
      const s = await store();
      const run = await s.getRun(input.runId);
      if (!run) throw new Error(`no run with id ${input.runId}`);
      const dataset = await s.getDataset(run.datasetId);
      if (!dataset) throw new Error(`the dataset of run '${run.name}' is no longer stored`);
      let checkpoint: Uint8Array | null = null;
      if (run.checkpointId) {
        const bytes = await s.getCheckpointBytes(run.checkpointId);
        if (!bytes) throw new Error(`the checkpoint of run '${run.name}' is no longer stored`);
        checkpoint = toMoco(extractModel(readTorchFile(bytes, { mode: 'strict' }).root).model);
      }
      // --from-imagenet only for a run that started from a torchvision (ImageNet) checkpoint's backbone
      const init = run.settings.init;
      const imagenetStart = init.kind === 'backbone' && (await s.getCheckpoint(init.checkpointId))?.layout === 'torchvision';
      const bytes = pretrainBundle({ run, dataset, images: await s.listImages(dataset.id), checkpoint, imagenetStart });
      return { name: `${fileSafe(run.name)}.cluster.zip`, bytes };
    },

    /** FLOPs of a run about to start, this device's measured training speed, and whether to hand off. */
    async handoffAdvice(
      input: { kind: 'pretrain'; settings: PretrainSettings; images: number } | { kind: 'experiment'; settings: ExperimentSettings; trainImages: number; validImages: number; testImages: number },
      _ctx: CallContext<never>,
    ): Promise<Advice & { measured: string }> {
      if (!host.hasBackend()) throw new Error('backend not initialised: call initBackend first');
      const speed = await trainingSpeed();
      const measured = `${(speed / 1e9).toFixed(2)} GFLOP/s sustained by a ResNet-18 training step on ${tf.getBackend()}`;
      if (input.kind === 'pretrain') {
        const s = input.settings;
        const work = pretrainWork({ stepFlops: await pretrainStepFlops(s), images: input.images, batch: s.batch, epochs: s.epochs });
        return { ...advise(work.flops, speed, { what: 'This pretraining run' }), measured };
      }
      const e = input.settings;
      const f = e.settings;
      const forward = await classifierForwardFlops(f.arch, f.crop, f.tasks.outputs.length);
      // Each initialisation x draw is one run on about ratio x the training pool (the draws are Bernoulli).
      const runs = e.fractions.flatMap((fr) => {
        const sched = e.scheduleByFraction ? scheduleForFraction(fr.ratio, f.batch) : { epochs: f.epochs, examplesPerEval: f.examplesPerEval };
        const run = { trainImages: Math.max(1, Math.round(fr.ratio * input.trainImages)), ...sched };
        return Array.from({ length: fr.draws * e.inits.length }, () => run);
      });
      const work = finetuneWork({ forwardPerImage: forward, mode: f.mode, batch: f.batch, keepTopK: f.keepTopK, predictWith: f.predictWith, validImages: input.validImages, testImages: input.testImages, runs });
      return { ...advise(work.flops, speed, { what: 'This experiment' }), measured };
    },
  };
}
