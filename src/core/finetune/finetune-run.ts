// The fine-tuning loop (chexpert-model's train.py, then select_ensemble.py + test.py):
// epochs of seeded shuffled batches (the last one partial, no drop_last), RandomCrop views, one step each;
// the validation split evaluated at train.py's cadence (cadence.ts), a checkpoint saved at multiples of
// examplesPerEval and kept when it is among the top k by mean validation AUROC over tasks.pick; at the end,
// test predictions from the mean of the kept checkpoints' probabilities (or from the best one alone).
//
// Where a run stands is (epoch, step, globalStep): an epoch's order and each step's crops derive from the
// seed and the step, so a run resumed from a snapshot (weights, Adam state) and its state (progress, kept
// checkpoints, evaluations) draws what the uninterrupted run would have drawn, and gives the same numbers.
// The caller stores things: `keep` / `drop` hold the kept checkpoints (IndexedDB in the app, a Map in
// tests), `save` the resume point. keep must overwrite an id it already holds and drop must accept an id it
// no longer holds: a run resumed from a state saved before a keep or drop replays that keep or drop.
import { createModel, exportStateDict, loadStateDict, type StateEntry, type StateEntryInput, type TorchModel } from '../models/index.ts';
import { epochOrder, stepSeed } from '../moco/run.ts';
import { buildClassifier, ClassifierError, type BuiltClassifier, type ClassifierStart } from './classifier.ts';
import { checkpointName, evaluatesAt, savesAnyCheckpoint, savesAt, stepsPerEpoch, TopK, type Ranked } from './cadence.ts';
import { maskedCellCount } from './loss.ts';
import { ensembleStudies, predictStudies, type LabelledSplit, type PredictOptions } from './predict.ts';
import { checkTrainingSize, croppedBatch, normalisationOf, randomCropSampler } from './preprocess.ts';
import type { StudyTable, TaskScore } from './results.ts';
import { meanAuroc, scoreStudies } from './score.ts';
import { validateFinetuneSettings, type FinetuneSettings } from './settings.ts';
import { checkTasks, TaskError, trainingTargets } from './tasks.ts';
import { FinetuneTrainer, type AdamSlotData } from './trainer.ts';

export interface FinetuneProgress {
  /** epochs completed */
  epoch: number;
  /** iterations done in the current epoch */
  step: number;
  /** train.py's global_step: the batch size times the iterations done (counted in examples) */
  globalStep: number;
}

export interface KeptCheckpoint {
  /** ModelSaver's file name: iter_<globalStep>.pth.tar */
  id: string;
  globalStep: number;
  /** the 1-based epoch it was saved in (ckpt_info['epoch']) */
  epoch: number;
  /** mean validation AUROC over tasks.pick; null where undefined (NaN in the original) */
  metric: number | null;
}

export interface EvaluationRecord {
  epoch: number;
  step: number;
  globalStep: number;
  metric: number | null;
  scores: TaskScore[];
  /** saved as a checkpoint (global step a multiple of examplesPerEval), and then kept among the top k */
  saved: boolean;
  kept: boolean;
  /** the checkpoint that made room for it */
  dropped: string | null;
  millis: number;
}

/** What resumes a run, with a snapshot of the weights and Adam. Plain data (structured-clonable). */
export interface FinetuneState {
  progress: FinetuneProgress;
  /** held checkpoints, best first */
  kept: KeptCheckpoint[];
  /** best.pth.tar: the first checkpoint whose metric beat all earlier ones */
  best: KeptCheckpoint | null;
  evaluations: EvaluationRecord[];
}

export interface FinetuneSnapshot {
  /** the classifier's state dict (torchvision names, PyTorch layout) */
  weights: Map<string, StateEntry>;
  adam: AdamSlotData[];
}

export interface FinetuneStepReport extends FinetuneProgress {
  stepsPerEpoch: number;
  /** null when the batch had no labelled cell and was not trained on (loss.ts) */
  loss: number | null;
  /** images in this batch (the last of an epoch may be partial) */
  examples: number;
  examplesPerSecond: number;
  stepMillis: number;
}

export type SaveReason = 'pause' | 'stop' | 'interval' | 'evaluation';

export interface FinetuneLoopOptions {
  settings: FinetuneSettings;
  trainer: FinetuneTrainer;
  train: LabelledSplit;
  valid: LabelledSplit;
  /** when given, a completed run ends with test predictions and scores */
  test?: LabelledSplit;
  /** where to start: a saved state (its snapshot already in the trainer), or the beginning */
  resume?: FinetuneState;
  /** asked before every iteration: 'pause' and 'stop' end the loop after `save` */
  control?: () => 'run' | 'pause' | 'stop';
  onStep?: (r: FinetuneStepReport) => void;
  onEvaluation?: (e: EvaluationRecord) => void;
  /** images of the validation split predicted so far in the running evaluation */
  onEvaluationProgress?: (done: number, total: number) => void;
  /** hold a kept checkpoint (overwrite when the id is already held) */
  keep: (c: KeptCheckpoint & { weights: Map<string, StateEntry>; scores: TaskScore[] }) => Promise<void>;
  /** let a checkpoint go (an id no longer held is no error) */
  drop: (id: string) => Promise<void>;
  /** a kept checkpoint's weights, for the test predictions */
  loadKept: (id: string) => Promise<Map<string, StateEntryInput>>;
  /** the resume point: on pause and stop, every `saveEvery` iterations, and after evaluations when `saveAtEvaluation` */
  save?: (state: FinetuneState, snapshot: FinetuneSnapshot, reason: SaveReason) => Promise<void>;
  saveEvery?: number;
  saveAtEvaluation?: boolean;
  /** bootstrap replicates for the test scores' intervals (default 0: none) */
  bootstrap?: number;
  /** images per forward pass in evaluations (default settings.batch) */
  predictBatch?: number;
}

export interface TestResult {
  members: KeptCheckpoint[];
  table: StudyTable;
  scores: TaskScore[];
}

export interface FinetuneOutcome {
  status: 'complete' | 'paused' | 'stopped';
  state: FinetuneState;
  test?: TestResult;
}

export class FinetuneRunError extends Error {
  override name = 'FinetuneRunError';
}

/** Everything wrong with a run's settings and splits, as messages (empty when it can start). */
export function validateFinetuneRun(s: FinetuneSettings, train: Pick<LabelledSplit, 'images' | 'labelColumns'>, valid: Pick<LabelledSplit, 'images'>): string[] {
  const errs = validateFinetuneSettings(s);
  try {
    checkTasks(s.tasks, train.labelColumns);
  } catch (e) {
    if (!(e instanceof TaskError)) throw e;
    errs.push(e.message);
  }
  const N = train.images.length;
  if (N === 0) errs.push('the training split has no images');
  if (valid.images.length === 0) errs.push('the validation split has no images (checkpoints are picked on it)');
  const bnTrains = s.mode === 'end-to-end' || s.linearBatchNorm === 'train';
  if (bnTrains && N > 1 && N % s.batch === 1 && s.crop < 64) {
    errs.push(
      `the last batch of every epoch holds 1 image (${N} images in batches of ${s.batch}) and batch norm trains: at crop ${s.crop} the deepest layers then see one value per channel, which batch norm cannot normalise (PyTorch refuses it too); pick another batch size`,
    );
  }
  if (errs.length === 0 && !savesAnyCheckpoint(N, s.batch, s.epochs, s.examplesPerEval)) {
    const last = (s.epochs * stepsPerEpoch(N, s.batch) - 1) * s.batch;
    errs.push(
      `no checkpoint would be saved: the run's last iteration starts at example ${last}, before the first save at ${s.examplesPerEval} examples; lower the examples per evaluation or add epochs`,
    );
  }
  return errs;
}

/** A trainer for a new run: the classifier built from `start` (see classifier.ts). */
export function startTrainer(s: FinetuneSettings, start: ClassifierStart): { trainer: FinetuneTrainer; built: BuiltClassifier } {
  const built = buildClassifier({ arch: s.arch, outputs: s.tasks.outputs.length, seed: s.seed, start });
  return { trainer: new FinetuneTrainer(built.model, { mode: s.mode, linearBatchNorm: s.linearBatchNorm, lr: s.lr }), built };
}

/** A trainer for a paused run, from its snapshot. */
export function resumeTrainer(s: FinetuneSettings, snapshot: FinetuneSnapshot): FinetuneTrainer {
  const model = createModel(s.arch, { head: 'linear', numClasses: s.tasks.outputs.length });
  try {
    loadStateDict(model, snapshot.weights, { strict: true });
    const trainer = new FinetuneTrainer(model, { mode: s.mode, linearBatchNorm: s.linearBatchNorm, lr: s.lr });
    trainer.setAdamState(snapshot.adam);
    return trainer;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

export async function takeSnapshot(trainer: FinetuneTrainer): Promise<FinetuneSnapshot> {
  return { weights: await exportStateDict(trainer.model), adam: await trainer.adamState() };
}

const toRanked = (k: KeptCheckpoint): Ranked & { kept: KeptCheckpoint } => ({ id: k.id, globalStep: k.globalStep, metric: k.metric ?? NaN, kept: k });

/** The checkpoints test predictions come from: all kept ('ensemble') or the best one ('best'). */
export function testMembers(state: FinetuneState, predictWith: FinetuneSettings['predictWith']): KeptCheckpoint[] {
  if (predictWith === 'ensemble') return state.kept.slice();
  const best = state.best && state.kept.some((k) => k.id === state.best!.id) ? state.best : state.kept[0];
  return best ? [best] : [];
}

/** The members' mean study probabilities on `split`, and their scores (score.ts). */
export async function ensemblePredictions(o: {
  settings: FinetuneSettings;
  split: LabelledSplit;
  members: readonly KeptCheckpoint[];
  loadKept: (id: string) => Promise<Map<string, StateEntryInput>>;
  bootstrap?: number;
  predictBatch?: number;
}): Promise<TestResult> {
  const s = o.settings;
  if (o.members.length === 0) throw new FinetuneRunError('no checkpoint was kept, so there is nothing to predict with');
  const model = createModel(s.arch, { head: 'linear', numClasses: s.tasks.outputs.length });
  try {
    const tables: StudyTable[] = [];
    for (const m of o.members) {
      loadStateDict(model, await o.loadKept(m.id), { strict: true });
      tables.push(await predictStudies(model, o.split, s.tasks.outputs, predictOptions(s, o.predictBatch)));
    }
    const table = ensembleStudies(tables);
    return { members: [...o.members], table, scores: scoreStudies(table, { bootstrap: o.bootstrap ?? 0, seed: s.seed }) };
  } finally {
    model.dispose();
  }
}

function predictOptions(s: FinetuneSettings, batch?: number): PredictOptions {
  return { scale: s.scale, crop: s.crop, normalization: s.normalization, batch: batch ?? s.batch };
}

/** Runs (or resumes) a fine-tuning run until it completes, pauses or stops. */
export async function finetuneLoop(o: FinetuneLoopOptions): Promise<FinetuneOutcome> {
  const s = o.settings;
  const problems = validateFinetuneRun(s, o.train, o.valid);
  if (problems.length) throw new FinetuneRunError(`the run cannot start: ${problems.join('; ')}`);
  const model: TorchModel = o.trainer.model;
  const outputs = s.tasks.outputs;
  const T = outputs.length;
  if (model.numClasses !== T) throw new ClassifierError(`the classifier has ${model.numClasses} outputs for ${T} tasks`);
  if (model.arch !== s.arch) throw new ClassifierError(`the classifier is a ${model.arch}; the run is set to ${s.arch}`);
  const N = o.train.images.length;
  const B = s.batch;
  const E = s.examplesPerEval;
  const per = stepsPerEpoch(N, B);
  const norm = normalisationOf(s.normalization);
  const { targets, mask } = trainingTargets(o.train.images, outputs, o.train.labelColumns, s.uncertainty);

  const state: FinetuneState = o.resume ? structuredClone(o.resume) : { progress: { epoch: 0, step: 0, globalStep: 0 }, kept: [], best: null, evaluations: [] };
  const keeper = new TopK(s.keepTopK, state.kept.map(toRanked), state.best ? toRanked(state.best) : null);
  let { epoch, step, globalStep } = state.progress;
  if (globalStep !== (epoch * per + step) * B) throw new FinetuneRunError(`the saved position (epoch ${epoch}, step ${step}, global step ${globalStep}) does not fit ${N} images in batches of ${B}`);

  const orders = new Map<number, Uint32Array>();
  const indices = (e: number, st: number): Uint32Array => {
    let order = orders.get(e);
    if (!order) {
      orders.clear();
      order = epochOrder(N, s.seed, e);
      orders.set(e, order);
    }
    return order.subarray(st * B, Math.min(N, (st + 1) * B));
  };
  const load = (e: number, st: number) => o.train.load(Array.from(indices(e, st), (i) => o.train.images[i]!.key));
  const advance = (e: number, st: number): [number, number] => (st + 1 === per ? [e + 1, 0] : [e, st + 1]);

  const syncState = () => {
    state.progress = { epoch, step, globalStep };
    const fromRanked = (r: Ranked & { kept?: KeptCheckpoint }) => r.kept ?? { id: r.id, globalStep: r.globalStep, epoch: 0, metric: Number.isNaN(r.metric) ? null : r.metric };
    state.kept = keeper.list().map(fromRanked);
    state.best = keeper.best ? fromRanked(keeper.best) : null;
  };
  const save = async (reason: SaveReason) => {
    if (!o.save) return;
    syncState();
    await o.save(structuredClone(state), await takeSnapshot(o.trainer), reason);
  };

  const evaluate = async () => {
    const t0 = performance.now();
    const table = await predictStudies(model, o.valid, outputs, { ...predictOptions(s, o.predictBatch), onProgress: o.onEvaluationProgress });
    const scores = scoreStudies(table, { bootstrap: 0 });
    const m = meanAuroc(scores, s.tasks.pick);
    const metric = Number.isNaN(m) ? null : m;
    const saved = savesAt(globalStep, E);
    let kept = false;
    let dropped: string | null = null;
    if (saved) {
      const ck: KeptCheckpoint = { id: checkpointName(globalStep), globalStep, epoch: epoch + 1, metric };
      const r = keeper.offer(toRanked(ck));
      kept = r.keep;
      if (r.keep) await o.keep({ ...ck, weights: await exportStateDict(model), scores });
      if (r.drop) {
        dropped = r.drop.id;
        await o.drop(r.drop.id);
      }
    }
    const rec: EvaluationRecord = { epoch, step, globalStep, metric, scores, saved, kept, dropped, millis: performance.now() - t0 };
    state.evaluations.push(rec);
    o.onEvaluation?.(rec);
    if (o.saveAtEvaluation) await save('evaluation');
  };

  let next: Promise<unknown> | null = epoch < s.epochs ? load(epoch, step) : null;
  try {
    while (epoch < s.epochs) {
      const c = o.control?.() ?? 'run';
      if (c !== 'run') {
        await save(c);
        syncState();
        return { status: c === 'pause' ? 'paused' : 'stopped', state: structuredClone(state) };
      }
      if (evaluatesAt(globalStep, step * B, N, B, E)) await evaluate();

      const t0 = performance.now();
      const ids = indices(epoch, step);
      const images = (await next) as Awaited<ReturnType<typeof load>>;
      const [ne, ns] = advance(epoch, step);
      next = ne < s.epochs ? load(ne, ns) : null;
      const n = ids.length;
      if (images.length !== n) throw new FinetuneRunError(`the training split loaded ${images.length} images for ${n} keys`);
      images.forEach((img, i) => checkTrainingSize(img, s.scale, o.train.images[ids[i]!]!.key));
      const sample = randomCropSampler(stepSeed(s.seed, globalStep / B), s.crop);
      const offsets = images.map((img) => sample(img.width, img.height));
      const bt = new Float32Array(n * T);
      const bm = new Float32Array(n * T);
      ids.forEach((img, i) => {
        bt.set(targets.subarray(img * T, (img + 1) * T), i * T);
        bm.set(mask.subarray(img * T, (img + 1) * T), i * T);
      });
      let loss: number | null = null;
      if (maskedCellCount(bm) > 0) {
        const x = croppedBatch(images, offsets, s.crop, norm);
        try {
          const l = o.trainer.step(x, bt, bm);
          if (l) {
            loss = ((await l.data()) as Float32Array)[0]!;
            l.dispose();
          }
        } finally {
          x.dispose();
        }
        if (!Number.isFinite(loss)) throw new FinetuneRunError(`the loss became ${loss} at global step ${globalStep} (epoch ${epoch + 1}): lower the learning rate`);
      }
      const stepMillis = performance.now() - t0;
      step++;
      globalStep += B;
      o.onStep?.({ epoch, step, globalStep, stepsPerEpoch: per, loss, examples: n, examplesPerSecond: (n * 1000) / stepMillis, stepMillis });
      [epoch, step] = step === per ? [epoch + 1, 0] : [epoch, step];
      if (o.saveEvery && (globalStep / B) % o.saveEvery === 0 && epoch < s.epochs) await save('interval');
    }
  } finally {
    await (next as Promise<unknown> | null)?.catch(() => undefined);
    next = null;
  }
  syncState();
  const outcome: FinetuneOutcome = { status: 'complete', state: structuredClone(state) };
  if (o.test) {
    outcome.test = await ensemblePredictions({ settings: s, split: o.test, members: testMembers(state, s.predictWith), loadKept: o.loadKept, bootstrap: o.bootstrap, predictBatch: o.predictBatch });
  }
  return outcome;
}
