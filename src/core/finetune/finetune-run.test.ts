// The fine-tuning loop end to end on synthetic phantoms (wasm, ResNet-18 at 32 px): train.py's evaluation
// cadence, ModelSaver's top-k through the keep/drop callbacks, the test ensemble (the mean of the kept
// checkpoints' study probabilities, each predicted on its own here), a run paused and resumed from its
// snapshot equal to the uninterrupted run bit for bit, no tensors left behind, and the run's validation.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { toTrainingSize } from '../augment/training-size.ts';
import { useBackend } from '../backend/kernels/backends.testutil.ts';
import { demoDataset } from '../data/demo/generate.ts';
import type { ImageMeta } from '../data/types.ts';
import type { GreyImage } from '../image/types.ts';
import { createModel, loadStateDict, type StateEntry, type StateEntryInput } from '../models/index.ts';
import { sameBits } from '../moco/same.testutil.ts';
import { checkpointName, evaluationSchedule, TopK } from './cadence.ts';
import {
  ensemblePredictions,
  finetuneLoop,
  resumeTrainer,
  startTrainer,
  testMembers,
  validateFinetuneRun,
  type EvaluationRecord,
  type FinetuneOutcome,
  type FinetuneSnapshot,
  type FinetuneState,
  type FinetuneStepReport,
} from './finetune-run.ts';
import { ensembleStudies, predictStudies, type LabelledSplit } from './predict.ts';
import type { StudyTable } from './results.ts';
import { scoreStudies } from './score.ts';
import { FINETUNE_DEFAULTS, type FinetuneSettings } from './settings.ts';

const TASKS = ['Cardiomegaly', 'Edema', 'Pleural Effusion'];

const settings: FinetuneSettings = {
  ...FINETUNE_DEFAULTS,
  arch: 'resnet18',
  init: { kind: 'random' },
  mode: 'end-to-end',
  tasks: { outputs: TASKS, pick: TASKS },
  lr: 1e-3,
  batch: 4,
  scale: 36,
  crop: 32,
  epochs: 3,
  examplesPerEval: 8,
  keepTopK: 2,
  seed: 5,
};

let splits: { train: LabelledSplit; valid: LabelledSplit; test: LabelledSplit };

beforeAll(async () => {
  await useBackend('wasm');
  const demo = demoDataset({ seed: 3, count: 48, size: 40, validFraction: 0.2, testFraction: 0.2 });
  const pixels = new Map<string, GreyImage>();
  const metas: ImageMeta[] = [];
  for (const c of demo.cases) {
    const img = demo.render(c);
    pixels.set(c.meta.key, { width: img.width, height: img.height, data: img.pixels });
    metas.push(c.meta);
  }
  const split = (which: ImageMeta[]): LabelledSplit => ({
    images: which,
    labelColumns: demo.labelColumns,
    load: async (keys) => keys.map((k) => toTrainingSize(pixels.get(k)!, settings.scale)),
  });
  // 10 training images: batches of 4, 4, 2 (a partial last batch, so an evaluation before it each epoch)
  splits = {
    train: split(metas.filter((m) => m.split === 'train').slice(0, 10)),
    valid: split(metas.filter((m) => m.split === 'valid')),
    test: split(metas.filter((m) => m.split === 'test')),
  };
});

interface Recorded {
  steps: FinetuneStepReport[];
  evaluations: EvaluationRecord[];
  store: Map<string, Map<string, StateEntry>>;
  keepCalls: string[];
  dropCalls: string[];
}

function recorder(): Recorded & { hooks: Pick<Parameters<typeof finetuneLoop>[0], 'onStep' | 'onEvaluation' | 'keep' | 'drop' | 'loadKept'> } {
  const r: Recorded = { steps: [], evaluations: [], store: new Map(), keepCalls: [], dropCalls: [] };
  return {
    ...r,
    hooks: {
      onStep: (s) => r.steps.push(s),
      onEvaluation: (e) => r.evaluations.push(e),
      keep: async (c) => {
        r.keepCalls.push(c.id);
        r.store.set(c.id, c.weights);
      },
      drop: async (id) => {
        r.dropCalls.push(id);
        r.store.delete(id);
      },
      loadKept: async (id) => r.store.get(id) as Map<string, StateEntryInput>,
    },
  };
}

async function tableOf(weights: Map<string, StateEntry>, split: LabelledSplit): Promise<StudyTable> {
  const model = createModel('resnet18', { head: 'linear', numClasses: TASKS.length });
  try {
    loadStateDict(model, weights, { strict: true });
    return await predictStudies(model, split, TASKS, { scale: settings.scale, crop: settings.crop, normalization: 'imagenet', batch: 3 });
  } finally {
    model.dispose();
  }
}

describe('fine-tuning loop', () => {
  let whole: FinetuneOutcome;
  let rec: ReturnType<typeof recorder>;

  test('cadence, top-k through keep/drop, and the test ensemble', async () => {
    expect(splits.valid.images.length).toBeGreaterThanOrEqual(4);
    expect(validateFinetuneRun(settings, splits.train, splits.valid)).toEqual([]);
    const before = tf.memory().numTensors;
    rec = recorder();
    const { trainer } = startTrainer(settings, { kind: 'random' });
    try {
      whole = await finetuneLoop({ settings, trainer, ...splits, ...rec.hooks });
    } finally {
      trainer.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(whole.status).toBe('complete');

    // 3 epochs of 4 + 4 + 2 images; global_step grows by the batch even for the partial batch
    expect(rec.steps.map((s) => s.examples)).toEqual([4, 4, 2, 4, 4, 2, 4, 4, 2]);
    expect(rec.steps.map((s) => s.globalStep)).toEqual([4, 8, 12, 16, 20, 24, 28, 32, 36]);
    expect(rec.steps.every((s) => s.loss !== null && Number.isFinite(s.loss))).toBe(true);
    expect(whole.state.progress).toEqual({ epoch: 3, step: 0, globalStep: 36 });

    // evaluations where train.py evaluates (checked against the original's counters in cadence.test.ts)
    const schedule = evaluationSchedule(10, 4, 3, 8);
    expect(rec.evaluations.map((e) => ({ epoch: e.epoch, step: e.step, globalStep: e.globalStep, save: e.saved }))).toEqual(schedule);
    expect(schedule.filter((p) => !p.save).length).toBeGreaterThan(0);
    expect(whole.state.evaluations).toEqual(rec.evaluations);

    // the kept checkpoints are ModelSaver's top 2 of the saved evaluations, and exactly what the store holds
    const keeper = new TopK(2);
    for (const e of rec.evaluations.filter((x) => x.saved)) keeper.offer({ id: checkpointName(e.globalStep), globalStep: e.globalStep, metric: e.metric ?? NaN });
    expect(whole.state.kept.map((k) => k.id)).toEqual(keeper.list().map((k) => k.id));
    expect(new Set(rec.store.keys())).toEqual(new Set(whole.state.kept.map((k) => k.id)));
    expect(rec.dropCalls.length).toBeGreaterThan(0);
    expect(whole.state.best?.id).toBe(keeper.best?.id);

    // the test prediction: the mean of each kept checkpoint's own study probabilities
    const t = whole.test!;
    expect(t.members.map((m) => m.id)).toEqual(whole.state.kept.map((k) => k.id));
    const tables = await Promise.all(t.members.map((m) => tableOf(rec.store.get(m.id)!, splits.test)));
    expect(t.table).toEqual(ensembleStudies(tables));
    expect(t.table.probs[0]![0]).toBeCloseTo((tables[0]!.probs[0]![0]! + tables[1]!.probs[0]![0]!) / 2, 12);
    expect(t.scores).toEqual(scoreStudies(t.table, { bootstrap: 0 }));
    console.log(`timing: steps ${rec.steps.map((s) => s.stepMillis.toFixed(0)).join(" ")} ms; evaluations ${rec.evaluations.map((e) => e.millis.toFixed(0)).join(" ")} ms; valid ${splits.valid.images.length}, test ${splits.test.images.length} images`);
    console.log(`loop: losses ${rec.steps.map((s) => s.loss!.toFixed(4)).join(' ')}; validation metric ${rec.evaluations.map((e) => e.metric?.toFixed(3)).join(' ')}; kept ${whole.state.kept.map((k) => k.id).join(', ')}; test AUROC ${t.scores.map((s) => s.auroc?.toFixed(3)).join(' ')}`);

    // predictWith 'best': the best checkpoint alone
    const best = testMembers(whole.state, 'best');
    expect(best.map((b) => b.id)).toEqual([whole.state.best!.id]);
    const alone = await ensemblePredictions({ settings, split: splits.test, members: best, loadKept: rec.hooks.loadKept });
    expect(alone.table).toEqual(await tableOf(rec.store.get(best[0]!.id)!, splits.test));
  }, 60_000);

  test('paused at an evaluation point and resumed from its snapshot, it equals the uninterrupted run', async () => {
    const r = recorder();
    let saved: { state: FinetuneState; snapshot: FinetuneSnapshot } | null = null;
    const { trainer } = startTrainer(settings, { kind: 'random' });
    let first: FinetuneOutcome;
    try {
      first = await finetuneLoop({
        settings,
        trainer,
        ...splits,
        ...r.hooks,
        // pause before the iteration that starts at global step 16 (an evaluation and save point)
        control: () => (r.steps.length === 4 ? 'pause' : 'run'),
        save: async (state, snapshot, reason) => {
          expect(reason).toBe('pause');
          saved = { state, snapshot };
        },
      });
    } finally {
      trainer.dispose();
    }
    expect(first.status).toBe('paused');
    expect(first.state.progress).toEqual({ epoch: 1, step: 1, globalStep: 16 });
    expect(saved).not.toBeNull();
    // the snapshot is plain data: it survives structured cloning (IndexedDB, postMessage)
    const { state, snapshot } = structuredClone(saved!) as { state: FinetuneState; snapshot: FinetuneSnapshot };

    const resumed = resumeTrainer(settings, snapshot);
    let second: FinetuneOutcome;
    try {
      second = await finetuneLoop({ settings, trainer: resumed, ...splits, ...r.hooks, resume: state });
    } finally {
      resumed.dispose();
    }
    expect(second.status).toBe('complete');
    // the same losses bit for bit, the same evaluations (none twice), kept checkpoints and test table
    expect(sameBits(Float32Array.from(r.steps, (s) => s.loss!), Float32Array.from(rec.steps, (s) => s.loss!))).toBe(true);
    const strip = (e: EvaluationRecord) => ({ ...e, millis: 0 });
    expect(second.state.evaluations.map(strip)).toEqual(whole.state.evaluations.map(strip));
    expect(second.state.kept).toEqual(whole.state.kept);
    expect(second.test!.table).toEqual(whole.test!.table);
    for (const k of whole.state.kept) {
      const a = rec.store.get(k.id)!;
      const b = r.store.get(k.id)!;
      for (const [name, e] of a) expect(sameBits(b.get(name)!.data, e.data), `${k.id} ${name}`).toBe(true);
    }
  }, 60_000);

  test('refuses a run that cannot work, saying why', () => {
    const msg = (over: Partial<FinetuneSettings>) => validateFinetuneRun({ ...settings, ...over }, splits.train, splits.valid).join('; ');
    expect(msg({ examplesPerEval: 40 })).toMatch(/no checkpoint would be saved: the run's last iteration starts at example 32, before the first save at 40 examples/);
    expect(msg({ examplesPerEval: 6 })).toMatch(/examples per evaluation \(6\) must be a multiple of the batch \(4\)/);
    expect(msg({ tasks: { outputs: ['Tuberculosis'], pick: ['Tuberculosis'] } })).toMatch(/no label column for Tuberculosis/);
    expect(validateFinetuneRun(settings, splits.train, { images: [] }).join('; ')).toMatch(/validation split has no images/);
    const nine = { ...splits.train, images: splits.train.images.slice(0, 9) };
    expect(validateFinetuneRun(settings, nine, splits.valid).join('; ')).toMatch(/the last batch of every epoch holds 1 image \(9 images in batches of 4\)/);
    expect(validateFinetuneRun({ ...settings, mode: 'linear', linearBatchNorm: 'frozen' }, nine, splits.valid)).toEqual([]);
  });
});
