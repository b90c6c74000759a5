import { describe, expect, it } from 'vitest';
import type { ImageMeta } from '../data/types.ts';
import { chexpertLabelFractions } from '../splits/chexpert.ts';
import { buildManifest, planJobs } from './experiment.ts';
import { FINETUNE_DEFAULTS, type ExperimentSettings } from './settings.ts';
import { TASK_PRESETS } from './tasks.ts';

const img = (i: number, split: ImageMeta['split'], patient = `p${i >> 1}`): ImageMeta => ({
  key: `${split}/${patient}/study1/view${i}.jpg`,
  split,
  file: `x/${i}.jpg`,
  patient,
  study: `${split}/${patient}/study1`,
  frontalLateral: 'Frontal',
  apPa: 'PA',
  sex: null,
  age: null,
  labels: { 'Pleural Effusion': (i % 3 === 0 ? 1 : 0) as 0 | 1, Tuberculosis: (i % 2) as 0 | 1 },
});

const settings = (over: Partial<ExperimentSettings> = {}): ExperimentSettings => ({
  name: 'e',
  datasetId: 'd',
  inits: [
    { label: 'MoCo', init: { kind: 'moco', checkpointId: 'c1' } },
    { label: 'random', init: { kind: 'random' } },
  ],
  fractions: [
    { ratio: 0.5, draws: 2 },
    { ratio: 1, draws: 1 },
  ],
  splitUnit: 'image',
  splitSeed: 0,
  scheduleByFraction: true,
  settings: { ...FINETUNE_DEFAULTS, arch: 'resnet18', tasks: TASK_PRESETS['pleural-effusion'] },
  bootstrap: 100,
  ...over,
});

describe('experiment plan', () => {
  it('uses the dataset valid and test splits when both exist, and draws fractions as chexpertLabelFractions', () => {
    const images = [...Array.from({ length: 40 }, (_, i) => img(i, 'train')), img(100, 'valid'), img(101, 'test')];
    const m = buildManifest('chexpert', images, settings());
    expect(m.valid).toEqual([images[40]!.key]);
    expect(m.test).toEqual([images[41]!.key]);
    const ref = chexpertLabelFractions(images.slice(0, 40), { seed: 0, fractions: settings().fractions });
    expect(m.train.map((d) => d.keys)).toEqual(ref.draws.map((d) => d.rows.map((i) => images[i]!.key)));
    expect(m.train.map((d) => d.name)).toEqual(['train_semi_0.5-it0', 'train_semi_0.5-it1', 'train']);
  });

  it('without a test split, tests on valid and holds out whole training patients for validation', () => {
    const images = [...Array.from({ length: 200 }, (_, i) => img(i, 'train')), img(300, 'valid'), img(301, 'valid')];
    const m = buildManifest('chexpert', images, settings());
    expect(m.test).toEqual([images[200]!.key, images[201]!.key]);
    expect(m.valid.length).toBeGreaterThan(0);
    const patient = (k: string) => k.split('/')[1];
    const validPatients = new Set(m.valid.map(patient));
    for (const d of m.train) for (const k of d.keys) expect(validPatients.has(patient(k))).toBe(false);
    expect(m.train.find((d) => d.ratio === 1)!.keys.length + m.valid.length).toBe(200);
  });

  it('Shenzhen: balanced validation and test, fractions of the rest', () => {
    const images = Array.from({ length: 120 }, (_, i) => img(i, 'train', `${i}`));
    const m = buildManifest('shenzhen', images, settings({ fractions: [{ ratio: 0.25, draws: 2 }] }));
    const all = new Set([...m.valid, ...m.test]);
    expect(all.size).toBe(m.valid.length + m.test.length);
    for (const d of m.train) for (const k of d.keys) expect(all.has(k)).toBe(false);
    expect(m.train.map((d) => d.name)).toEqual(['chexpert_like_0.25_0', 'chexpert_like_0.25_1']);
  });

  it('plans a job per initialisation, fraction and draw with the original schedule', () => {
    const images = [...Array.from({ length: 40 }, (_, i) => img(i, 'train')), img(100, 'valid'), img(101, 'test')];
    const s = settings();
    const jobs = planJobs(s, buildManifest('chexpert', images, s));
    expect(jobs.map((j) => j.id)).toEqual(['0/train_semi_0.5-it0', '1/train_semi_0.5-it0', '0/train_semi_0.5-it1', '1/train_semi_0.5-it1', '0/train', '1/train']);
    expect(jobs[0]!.settings.epochs).toBe(7);
    expect(jobs[4]!.settings.epochs).toBe(5);
    expect(jobs[0]!.settings.examplesPerEval).toBe(8192);
    expect(jobs[1]!.settings.init).toEqual({ kind: 'random' });
    expect(() => planJobs({ ...s, inits: [] }, buildManifest('chexpert', images, s))).toThrow(/no initialisation/);
  });

  it('says what is missing', () => {
    expect(() => buildManifest('chexpert', [img(1, 'train')], settings())).toThrow(/validation or test/);
    expect(() => buildManifest('chexpert', [img(1, 'valid')], settings())).toThrow(/no training images/);
  });
});
