// Experiments in the store: create one (its split manifest and job list drawn once and kept), then run its
// jobs in queue order. Each job is one fine-tuning run; its test result is stored as an EvaluationResult
// and its best checkpoint (pipeline format) is kept for download.
import type { ExperimentJob, ExperimentRecord } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { buildManifest, planJobs } from './experiment.ts';
import type { ExperimentSettings } from './settings.ts';
import { checkTasks } from './tasks.ts';

const newId = () => `exp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export async function createExperiment(store: Store, settings: ExperimentSettings): Promise<ExperimentRecord> {
  const dataset = await store.getDataset(settings.datasetId);
  if (!dataset) throw new Error(`no dataset with id ${settings.datasetId}`);
  checkTasks(settings.settings.tasks, dataset.labelColumns);
  const images = await store.listImages(dataset.id);
  const manifest = buildManifest(dataset.kind, images, settings);
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
