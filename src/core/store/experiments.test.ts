// Experiments and results in the store (schema v4), and the v3 -> v4 upgrade keeping runs.
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import type { EvaluationResult } from '../finetune/results.ts';
import { FINETUNE_DEFAULTS } from '../finetune/settings.ts';
import { TASK_PRESETS } from '../finetune/tasks.ts';
import type { ExperimentRecord } from './schema.ts';
import { Store } from './store.ts';

let n = 0;
const freshName = () => `exp-test-${Date.now()}-${n++}`;

const result = (id: string): EvaluationResult => ({
  id,
  label: 'MoCo, linear',
  source: 'browser',
  split: 'test',
  predictions: { tasks: ['A'], studies: ['s1', 's2'], probs: [[0.2, 0.9]], labels: [[0, 1]] },
  scores: [{ task: 'A', auroc: 1, auprc: 1, studies: 2, positives: 1 }],
  createdAt: 1,
});

const experiment = (id: string): ExperimentRecord => ({
  id,
  name: 'sweep',
  datasetId: 'd',
  settings: {
    name: 'sweep',
    datasetId: 'd',
    inits: [{ label: 'random', init: { kind: 'random' } }],
    fractions: [{ ratio: 1, draws: 1 }],
    splitUnit: 'image',
    splitSeed: 0,
    scheduleByFraction: true,
    settings: { ...FINETUNE_DEFAULTS, arch: 'resnet18', tasks: TASK_PRESETS['pleural-effusion'] },
    bootstrap: 1000,
  },
  manifest: { datasetId: 'd', unit: 'image', seed: 0, valid: ['v'], test: ['t'], train: [{ ratio: 1, draw: 0, name: 'train', keys: ['a'] }] },
  jobs: [{ id: '0/train', initIndex: 0, init: 'random', ratio: 1, draw: 0, trainName: 'train', trainCount: 1, status: 'complete', examples: 5, examplesTotal: 5, validation: [], resultId: 'r1' }],
  status: 'complete',
  createdAt: 1,
  updatedAt: 1,
});

describe('experiments and results', () => {
  it('stores, lists and deletes an experiment with its results', async () => {
    const s = await Store.open(freshName());
    await s.putResult(result('r1'));
    await s.putResult(result('r2'));
    await s.putExperiment(experiment('e1'));
    expect((await s.listExperiments()).map((e) => e.id)).toEqual(['e1']);
    expect((await s.getResult('r1'))?.predictions.probs).toEqual([[0.2, 0.9]]);
    await s.deleteExperiment('e1', true);
    expect(await s.getExperiment('e1')).toBeUndefined();
    expect((await s.listResults()).map((r) => r.id)).toEqual(['r2']);
    s.close();
  });

  it('upgrades a version 3 database and keeps its runs', async () => {
    const name = freshName();
    const old = await openDB(name, 3, {
      upgrade(db) {
        for (const st of ['datasets', 'checkpoints', 'checkpointBytes', 'runs']) db.createObjectStore(st, { keyPath: 'id' });
        for (const st of ['images', 'pixels', 'thumbs']) db.createObjectStore(st, { keyPath: ['dataset', 'key'] }).createIndex('byDataset', 'dataset');
        db.createObjectStore('problems', { keyPath: 'id', autoIncrement: true }).createIndex('byDataset', 'dataset');
      },
    });
    await old.put('runs', { id: 'run1', name: 'kept' });
    old.close();
    const s = await Store.open(name);
    expect((await s.getRun('run1'))?.name).toBe('kept');
    await s.putExperiment(experiment('e2'));
    expect((await s.getExperiment('e2'))?.jobs[0]?.resultId).toBe('r1');
    s.close();
  });
});
