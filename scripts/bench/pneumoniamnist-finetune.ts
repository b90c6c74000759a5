// Fine-tuning runs on PneumoniaMNIST through the app's engine (src/core/finetune: classifier builder,
// finetuneLoop with train.py's validation cadence and top-k keeping, test predictions from the kept
// checkpoints), with the kept checkpoints held in memory instead of IndexedDB.
import { ensemblePredictions, finetuneLoop, startTrainer, testMembers, type ClassifierStart, type EvaluationRecord, type FinetuneStepReport, type LabelledSplit, type TestResult } from '../../src/core/finetune/index.ts';
import { FINETUNE_DEFAULTS, type FinetuneSettings } from '../../src/core/finetune/settings.ts';
import { columnTask } from '../../src/core/finetune/tasks.ts';
import type { StateEntry } from '../../src/core/models/index.ts';
import { LABEL, SIDE, type PneumoniaRow } from './pneumoniamnist-data.ts';

/** A split of rows as the engine takes it: every image its own study, the one label column 'Pneumonia'. */
export function labelledSplit(rows: readonly PneumoniaRow[]): LabelledSplit {
  const byKey = new Map(rows.map((r) => [r.meta.key, r.image]));
  return {
    images: rows.map((r) => r.meta),
    labelColumns: [LABEL],
    load: async (keys) =>
      keys.map((k) => {
        const img = byKey.get(k);
        if (!img) throw new Error(`no PneumoniaMNIST image ${k} in this split`);
        return img;
      }),
  };
}

/**
 * Settings shared by every run here: ResNet-18, the one task, 28 px as MedMNIST's 28 px benchmark
 * (scale = crop = 28: Resize is the identity, RandomCrop(28) of a 28 px image is too, and CenterCrop(28)
 * at evaluation; so no augmentation, as MedMNIST trains), and the normalisation the MoCo pretraining used
 * ('chexpert': CXR_MEAN / CXR_STD on every channel) so that probe and pretraining see the same inputs.
 */
export function pneumoniaSettings(over: Partial<FinetuneSettings>): FinetuneSettings {
  return {
    ...FINETUNE_DEFAULTS,
    arch: 'resnet18',
    init: { kind: 'random' },
    tasks: columnTask(LABEL),
    scale: SIDE,
    crop: SIDE,
    normalization: 'chexpert',
    ...over,
  };
}

export interface RunOutput {
  settings: FinetuneSettings;
  evaluations: Pick<EvaluationRecord, 'epoch' | 'step' | 'globalStep' | 'metric' | 'saved' | 'kept'>[];
  /** test predictions from the kept checkpoints' mean (settings.predictWith) */
  test: TestResult;
  /** and from the best checkpoint by validation AUROC alone */
  testBest: TestResult;
  /** mean training loss per epoch */
  epochLoss: number[];
  seconds: number;
  trainExamplesPerSecond: number;
}

/** One run from `start` on `train`, picked on `valid`, scored on `test` (bootstrap intervals with `bootstrap` replicates). */
export async function finetuneRun(o: {
  settings: FinetuneSettings;
  start: ClassifierStart;
  train: readonly PneumoniaRow[];
  valid: readonly PneumoniaRow[];
  test: readonly PneumoniaRow[];
  bootstrap: number;
  log?: (line: string) => void;
  label?: string;
}): Promise<RunOutput> {
  const s = o.settings;
  const log = o.log ?? (() => {});
  const kept = new Map<string, Map<string, StateEntry>>();
  const { trainer } = startTrainer(s, o.start);
  const losses: number[][] = [];
  let trainMillis = 0;
  let trainExamples = 0;
  const t0 = performance.now();
  try {
    const out = await finetuneLoop({
      settings: s,
      trainer,
      train: labelledSplit(o.train),
      valid: labelledSplit(o.valid),
      test: labelledSplit(o.test),
      keep: async (c) => void kept.set(c.id, c.weights),
      drop: async (id) => void kept.delete(id),
      loadKept: async (id) => {
        const w = kept.get(id);
        if (!w) throw new Error(`checkpoint ${id} is not held`);
        return w;
      },
      bootstrap: o.bootstrap,
      predictBatch: 256,
      onStep: (r: FinetuneStepReport) => {
        (losses[r.epoch] ??= []).push(r.loss ?? NaN);
        trainMillis += r.stepMillis;
        trainExamples += r.examples;
      },
      onEvaluation: (e) => {
        if (e.saved) log(`${o.label ?? 'run'}: epoch ${e.epoch + 1}, step ${e.step}, ${e.globalStep} examples: validation AUROC ${e.metric?.toFixed(4) ?? 'n/a'}${e.kept ? ' (kept)' : ''}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      },
    });
    if (!out.test) throw new Error('the run ended without test predictions');
    const testBest = await ensemblePredictions({
      settings: s,
      split: labelledSplit(o.test),
      members: testMembers(out.state, 'best'),
      loadKept: async (id) => kept.get(id)!,
      bootstrap: o.bootstrap,
      predictBatch: 256,
    });
    return {
      settings: s,
      evaluations: out.state.evaluations.map(({ epoch, step, globalStep, metric, saved, kept: k }) => ({ epoch, step, globalStep, metric, saved, kept: k })),
      test: out.test,
      testBest,
      epochLoss: losses.map((l) => l.filter(Number.isFinite).reduce((a, b) => a + b, 0) / l.length),
      seconds: (performance.now() - t0) / 1000,
      trainExamplesPerSecond: (trainExamples * 1000) / trainMillis,
    };
  } finally {
    trainer.dispose();
  }
}
