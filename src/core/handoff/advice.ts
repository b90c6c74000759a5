// When to hand a run to PyTorch: the FLOPs a pretraining run or a fine-tuning experiment needs, the time that
// takes at this device's measured FLOP/s, and the advice to export a cluster bundle when that time is long.
//
// How the FLOPs are counted (model FLOPs, as flops.ts counts them: convs and matmuls, 2 per multiply-add):
// - pretraining: MoCo steps x mocoStepFlops (per step: the query encoder's forward and backward, 3 forwards'
//   worth, the key encoder's forward, and the logits against the queue), steps = floor(images / batch) per
//   epoch (drop_last) for the epochs not yet done;
// - fine-tuning, per run (initialisation x fraction x draw), with F = one image's forward at the crop size:
//   training, per example: 3 F end-to-end (forward, the gradients of activations and of weights), F in
//   linear mode (the frozen backbone takes no gradient; the head's is negligible);
//   evaluation: F per validation image at every evaluation train.py makes (counted by replaying its
//   cadence, see trainingCadence), and for the ensemble F per validation image per kept checkpoint
//   (select_ensemble.py) and per test image per checkpoint predicted with (test.py).
// Time = FLOPs / FLOP/s, where FLOP/s is what this device sustained on the model (images/s x FLOPs per
// image of a timed step), not its matmul peak, which would promise several times too much.

export const HANDOFF_THRESHOLD_SECONDS = 2 * 3600;

/** MoCo-CXR's full recipe (r8w-00001): about 224,000 CheXpert training images (the flowchart's "224k";
 *  train.csv has 223,414), 20 epochs of ResNet-18 at 320 px, batch 16, K 24576, dim 128. */
export const MOCO_CXR_RECIPE = { arch: 'resnet18', images: 224_000, epochs: 20, size: 320, batch: 16, dim: 128, K: 24576 } as const;

/** FLOPs of one MoCo step from one image's forward (flops.ts's mocoStepFlopsFrom, in numbers only). */
export function mocoStepFlopsOf(forwardPerImage: number, batch: number, dim: number, K: number): number {
  return 4 * forwardPerImage * batch + 4 * batch * dim * (K + 1);
}

export interface PretrainWork {
  stepsPerEpoch: number;
  /** steps still to run */
  steps: number;
  stepFlops: number;
  flops: number;
}

export function pretrainWork(p: { stepFlops: number; images: number; batch: number; epochs: number; done?: { epoch: number; step: number } }): PretrainWork {
  const per = Math.floor(p.images / p.batch);
  const doneSteps = p.done ? p.done.epoch * per + p.done.step : 0;
  const steps = Math.max(0, per * p.epochs - doneSteps);
  return { stepsPerEpoch: per, steps, stepFlops: p.stepFlops, flops: steps * p.stepFlops };
}

/** The full MoCo-CXR recipe's FLOPs, from ResNet-18's forward FLOPs per 320 px image. */
export function recipeFlops(forwardPerImage: number): PretrainWork {
  const r = MOCO_CXR_RECIPE;
  return pretrainWork({ stepFlops: mocoStepFlopsOf(forwardPerImage, r.batch, r.dim, r.K), images: r.images, batch: r.batch, epochs: r.epochs });
}

/**
 * How often train.py evaluates and saves over a run, replaying its loop (train.py, optim/optimizer.py):
 * each epoch walks the training set in batches (the last one partial, no drop_last); at the start of a
 * batch it evaluates when global_step is a non-zero multiple of examplesPerEval or fewer than a batch of
 * examples remain in the epoch, and saves a checkpoint at an evaluation when global_step is a multiple of
 * examplesPerEval (iters_per_save = iters_per_eval); global_step grows by the batch size after each batch,
 * the partial one too.
 */
export function trainingCadence(p: { trainImages: number; batch: number; epochs: number; examplesPerEval: number }): { evaluations: number; saves: number; batches: number } {
  let global = 0;
  let evaluations = 0;
  let saves = 0;
  let batches = 0;
  for (let epoch = 0; epoch < p.epochs; epoch++) {
    for (let iter = 0; iter < p.trainImages; iter += p.batch) {
      if ((global > 0 && global % p.examplesPerEval === 0) || p.trainImages - iter < p.batch) {
        evaluations++;
        if (global % p.examplesPerEval === 0) saves++;
      }
      global += p.batch;
      batches++;
    }
  }
  return { evaluations, saves, batches };
}

export interface FinetuneRunWork {
  trainImages: number;
  epochs: number;
  examplesPerEval: number;
  evaluations: number;
  /** checkpoints select_ensemble.py evaluates and test.py averages (min(kept, saved)) */
  ensemble: number;
  trainFlops: number;
  evalFlops: number;
  selectFlops: number;
  testFlops: number;
  flops: number;
}

export interface FinetuneWork {
  forwardPerImage: number;
  runs: FinetuneRunWork[];
  flops: number;
}

export function finetuneWork(p: {
  forwardPerImage: number;
  mode: 'linear' | 'end-to-end';
  batch: number;
  keepTopK: number;
  predictWith: 'ensemble' | 'best';
  validImages: number;
  testImages: number;
  runs: { trainImages: number; epochs: number; examplesPerEval: number }[];
}): FinetuneWork {
  const F = p.forwardPerImage;
  const perExample = p.mode === 'end-to-end' ? 3 * F : F;
  const runs = p.runs.map((r) => {
    const c = trainingCadence({ trainImages: r.trainImages, batch: p.batch, epochs: r.epochs, examplesPerEval: r.examplesPerEval });
    const ensemble = p.predictWith === 'ensemble' ? Math.min(p.keepTopK, c.saves) : 1;
    const trainFlops = perExample * r.trainImages * r.epochs;
    const evalFlops = F * p.validImages * c.evaluations;
    const selectFlops = p.predictWith === 'ensemble' ? F * p.validImages * ensemble : 0;
    const testFlops = F * p.testImages * ensemble;
    return { ...r, evaluations: c.evaluations, ensemble, trainFlops, evalFlops, selectFlops, testFlops, flops: trainFlops + evalFlops + selectFlops + testFlops };
  });
  return { forwardPerImage: F, runs, flops: runs.reduce((a, r) => a + r.flops, 0) };
}

export interface Advice {
  flops: number;
  /** FLOP/s the estimate used, or null when the device was not measured */
  flopsPerSecond: number | null;
  seconds: number | null;
  thresholdSeconds: number;
  /** true when the estimate is over the threshold: suggest the cluster bundle */
  handOff: boolean;
  /** "1.33e17 FLOP", "about 3 h 20 min" */
  flopsText: string;
  timeText: string | null;
  /** one or two sentences for the page */
  text: string;
}

/** 1.33e17 -> "1.33e17 FLOP"; small counts in plain digits. */
export function formatFlops(f: number): string {
  if (f < 1e6) return `${Math.round(f)} FLOP`;
  const [m, e] = f.toExponential(2).split('e') as [string, string];
  return `${m}e${Number(e)} FLOP`;
}

/** Seconds as "45 s", "12 min", "3 h 20 min", "4 d 6 h". */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return 'forever';
  if (s < 60) return `${Math.max(1, Math.round(s))} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

const rate = (r: number) => `${formatFlops(r).replace(' FLOP', '')} FLOP/s`;

export function advise(flops: number, flopsPerSecond: number | null, opts: { thresholdSeconds?: number; what?: string } = {}): Advice {
  const threshold = opts.thresholdSeconds ?? HANDOFF_THRESHOLD_SECONDS;
  const what = opts.what ?? 'This run';
  const flopsText = formatFlops(flops);
  if (flopsPerSecond === null || !(flopsPerSecond > 0)) {
    return { flops, flopsPerSecond: null, seconds: null, thresholdSeconds: threshold, handOff: false, flopsText, timeText: null, text: `${what} needs about ${flopsText}. This device's speed is not measured yet, so there is no time estimate.` };
  }
  const seconds = flops / flopsPerSecond;
  const timeText = `about ${formatDuration(seconds)}`;
  const handOff = seconds > threshold;
  const base = `${what} needs about ${flopsText}: ${timeText} on this device at the ${rate(flopsPerSecond)} it sustained.`;
  const text = handOff
    ? `${base} That is longer than ${formatDuration(threshold)}: export it for a cluster and run it with PyTorch (the bundle holds the checkpoint, the splits and the launch scripts).`
    : `${base} That fits in the browser.`;
  return { flops, flopsPerSecond, seconds, thresholdSeconds: threshold, handOff, flopsText, timeText, text };
}
