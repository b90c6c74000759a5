// When a fine-tuning run evaluates and which checkpoints it keeps, as chexpert-model's train.py,
// optim/optimizer.py and saver/model_saver.py decide:
// - the counters: `iter` (examples into the epoch) and `global_step` (examples overall) both grow by the
//   batch size after every iteration, the last, partial batch included (no drop_last);
// - at the start of an iteration the validation split is evaluated when
//   `global_step and global_step % iters_per_eval == 0 or len(dataset) - iter < batch_size`
//   (so before the last partial batch of each epoch too, and never after the last iteration of the run);
// - after an evaluation the checkpoint is saved when `global_step % iters_per_save == 0` (here
//   iters_per_save = iters_per_eval = examplesPerEval, as gen_sbatch.py sets both);
// - ModelSaver keeps the best max_ckpts in a PriorityQueue of (metric, Path('iter_<step>.pth.tar')): a new
//   checkpoint goes in, then while more than max_ckpts are held the smallest tuple goes (the lowest metric;
//   among equal metrics the smaller path string). best.pth.tar is the first checkpoint whose metric beat
//   every earlier one.
// NaN metrics (a picking task with one class in the validation split) order below every number here;
// Python's comparisons with NaN leave the queue's order undefined.

/** Iterations per epoch: ceil(N / batch), the last one partial when batch does not divide N. */
export const stepsPerEpoch = (examples: number, batch: number) => Math.ceil(examples / batch);

/** train.py's evaluation condition at the start of the iteration that begins `iter` examples into the epoch. */
export function evaluatesAt(globalStep: number, iter: number, examples: number, batch: number, examplesPerEval: number): boolean {
  return (globalStep !== 0 && globalStep % examplesPerEval === 0) || examples - iter < batch;
}

/** Whether an evaluation at this global step also saves a checkpoint. */
export const savesAt = (globalStep: number, examplesPerEval: number) => globalStep % examplesPerEval === 0;

export interface EvaluationPoint {
  /** epochs completed before it (0-based epoch) */
  epoch: number;
  /** the iteration of the epoch it runs before */
  step: number;
  globalStep: number;
  save: boolean;
}

/** Every evaluation of a run, in order (for planning and tests; the loop checks the condition as it goes). */
export function evaluationSchedule(examples: number, batch: number, epochs: number, examplesPerEval: number): EvaluationPoint[] {
  const out: EvaluationPoint[] = [];
  const per = stepsPerEpoch(examples, batch);
  let globalStep = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let step = 0; step < per; step++) {
      if (evaluatesAt(globalStep, step * batch, examples, batch, examplesPerEval)) out.push({ epoch, step, globalStep, save: savesAt(globalStep, examplesPerEval) });
      globalStep += batch;
    }
  }
  return out;
}

/** Whether a run saves any checkpoint at all (without one there is nothing to test with). */
export function savesAnyCheckpoint(examples: number, batch: number, epochs: number, examplesPerEval: number): boolean {
  if (examples < 1 || epochs < 1) return false;
  // iterations start at global steps 0, batch, ..., (total - 1) * batch; a partial batch evaluates (and,
  // at global step 0, saves) before the first iteration
  const total = epochs * stepsPerEpoch(examples, batch);
  return examples < batch || examplesPerEval <= (total - 1) * batch;
}

/** A saved checkpoint as the keeper sees it. */
export interface Ranked {
  id: string;
  globalStep: number;
  /** mean validation AUROC over the picking tasks; NaN where undefined */
  metric: number;
}

/** ModelSaver's file name, the tie-breaker between equal metrics. */
export const checkpointName = (globalStep: number) => `iter_${globalStep}.pth.tar`;

/** Python's (metric, path) tuple order, NaN lowest: negative when a goes out of the queue before b. */
export function queueOrder(a: Ranked, b: Ranked): number {
  const am = Number.isNaN(a.metric) ? -Infinity : a.metric;
  const bm = Number.isNaN(b.metric) ? -Infinity : b.metric;
  if (am !== bm) return am < bm ? -1 : 1;
  const an = checkpointName(a.globalStep);
  const bn = checkpointName(b.globalStep);
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/** The top-k keeper (keep_topk = True). */
export class TopK<T extends Ranked = Ranked> {
  private readonly held: T[];
  /** the best so far (best.pth.tar): set when a metric strictly beats the previous best */
  best: T | null;

  constructor(
    readonly k: number,
    held: readonly T[] = [],
    best: T | null = null,
  ) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`checkpoints kept must be a positive integer, got ${k}`);
    this.held = [...held];
    this.best = best;
  }

  /** Offers a new checkpoint: whether it is kept, and which held one (if any) goes out. */
  offer(c: T): { keep: boolean; drop: T | null } {
    if (!Number.isNaN(c.metric) && (this.best === null || Number.isNaN(this.best.metric) || this.best.metric < c.metric)) this.best = c;
    this.held.push(c);
    if (this.held.length <= this.k) return { keep: true, drop: null };
    let low = 0;
    for (let i = 1; i < this.held.length; i++) if (queueOrder(this.held[i]!, this.held[low]!) < 0) low = i;
    const [out] = this.held.splice(low, 1);
    return out === c ? { keep: false, drop: null } : { keep: true, drop: out! };
  }

  /** The held checkpoints, best first (the queue's reverse order). */
  list(): T[] {
    return [...this.held].sort((a, b) => queueOrder(b, a));
  }
}
