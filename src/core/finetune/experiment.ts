// An experiment's plan: which images go where (the split manifest) and the list of fine-tuning jobs,
// one per initialisation x fraction x draw. Pure functions of the dataset's metadata and the settings, so
// the same settings and seed always give the same manifest (and a bundle's run.json re-creates it).
//
// Where validation and test come from:
// - CheXpert / generic: the dataset's own splits when it has both `valid` and `test` (valid picks models,
//   test is reported: MoCo-CXR's valid.csv and CodaLab test). CheXpert-small has no test split: then the
//   imported `valid` images are the test set and validation is a patient-level hold-out of 10 % of the
//   training patients (reorganize_files.py's chexpert_single mode did the same), drawn with the split seed.
// - Shenzhen: MoCo-CXR's 15 % validation / 20 % test with the class-balance rule, then the fractions of
//   the remaining training images (shenzhenSplits).
import type { ImageMeta } from '../data/types.ts';
import { chexpertLabelFractions } from '../splits/chexpert.ts';
import { shenzhenSplits } from '../splits/shenzhen.ts';
import { SplitError, type SplitRow } from '../splits/types.ts';
import { scheduleForFraction, validateFinetuneSettings, type ExperimentSettings, type FinetuneSettings, type SplitManifest } from './settings.ts';

export const HOLDOUT_VALIDATION = 0.1;

export interface ExperimentJobPlan {
  /** stable id within the experiment: `${initIndex}/${name}` */
  id: string;
  initIndex: number;
  init: string;
  ratio: number;
  draw: number;
  /** the original's name of the training subset (`train_semi_0.01-it3`, `chexpert_like_0.25_1`, `train`) */
  trainName: string;
  settings: FinetuneSettings;
}

const rowsOf = (images: readonly ImageMeta[]): SplitRow[] => images.map((m) => ({ key: m.key, patient: m.patient, study: m.study, labels: m.labels }));

export function buildManifest(kind: 'chexpert' | 'shenzhen' | 'generic' | 'demo', images: readonly ImageMeta[], s: ExperimentSettings): SplitManifest {
  const fractions = s.fractions;
  if (kind === 'shenzhen') {
    const rows = rowsOf(images);
    const sp = shenzhenSplits(rows, { seed: s.splitSeed, fractions });
    return {
      datasetId: s.datasetId,
      unit: 'image',
      seed: s.splitSeed,
      valid: sp.validation.map((i) => rows[i]!.key),
      test: sp.test.map((i) => rows[i]!.key),
      train: sp.draws.map((d) => ({ ratio: d.ratio, draw: d.draw, name: d.name, keys: d.rows.map((i) => rows[i]!.key) })),
    };
  }
  const train = images.filter((m) => m.split === 'train');
  const valid = images.filter((m) => m.split === 'valid');
  const test = images.filter((m) => m.split === 'test');
  if (train.length === 0) throw new SplitError('the dataset has no training images');
  let validKeys: string[];
  let testKeys: string[];
  let pool = train;
  let holdout: number[] = [];
  if (test.length > 0 && valid.length > 0) {
    validKeys = valid.map((m) => m.key);
    testKeys = test.map((m) => m.key);
  } else if (valid.length > 0 || test.length > 0) {
    testKeys = (test.length > 0 ? test : valid).map((m) => m.key);
    const h = chexpertLabelFractions(rowsOf(train), { seed: s.splitSeed, fractions: [{ ratio: 1, draws: 1 }], unit: 'patient', validationFraction: HOLDOUT_VALIDATION });
    holdout = h.validation;
    validKeys = holdout.map((i) => train[i]!.key);
    const held = new Set(holdout);
    pool = train.filter((_, i) => !held.has(i));
  } else {
    throw new SplitError('the dataset has only training images: an experiment needs a validation or test split to score on');
  }
  if (validKeys.length === 0) throw new SplitError('the validation split is empty');
  const sp = chexpertLabelFractions(rowsOf(pool), { seed: s.splitSeed, fractions, unit: s.splitUnit });
  return {
    datasetId: s.datasetId,
    unit: s.splitUnit,
    seed: s.splitSeed,
    valid: validKeys,
    test: testKeys,
    train: sp.draws.map((d) => ({ ratio: d.ratio, draw: d.draw, name: d.name, keys: d.rows.map((i) => pool[i]!.key) })),
  };
}

/** The jobs in queue order: fraction by fraction (small first, so the figure fills in early), each
 *  draw, each initialisation side by side. */
export function planJobs(s: ExperimentSettings, manifest: SplitManifest): ExperimentJobPlan[] {
  if (s.inits.length === 0) throw new SplitError('no initialisation chosen');
  const jobs: ExperimentJobPlan[] = [];
  const draws = [...manifest.train].sort((a, b) => a.ratio - b.ratio || a.draw - b.draw);
  for (const d of draws) {
    if (d.keys.length === 0) throw new SplitError(`the ${d.name} draw holds no images: choose a larger fraction`);
    s.inits.forEach((init, initIndex) => {
      const sched = s.scheduleByFraction ? scheduleForFraction(d.ratio, s.settings.batch) : { epochs: s.settings.epochs, examplesPerEval: s.settings.examplesPerEval };
      const settings: FinetuneSettings = { ...s.settings, ...sched, init: init.init, seed: s.settings.seed + d.draw };
      const errs = validateFinetuneSettings(settings);
      if (errs.length > 0) throw new SplitError(`${init.label}, ${d.name}: ${errs.join('; ')}`);
      jobs.push({ id: `${initIndex}/${d.name}`, initIndex, init: init.label, ratio: d.ratio, draw: d.draw, trainName: d.name, settings });
    });
  }
  return jobs;
}
