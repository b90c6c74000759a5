// The hand-off advice against an independent count (scripts/fixtures/handoff_flops.py: torch forward hooks
// on torchvision's ResNet-18, and train.py's loop replayed in Python): FLOPs of a MoCo step and of the full
// MoCo-CXR recipe, a fine-tuning run's FLOPs with its evaluations, and the time and advice for known rates.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';
import { useBackend } from '../backend/kernels/backends.testutil.ts';
import { advise, finetuneWork, formatDuration, formatFlops, HANDOFF_THRESHOLD_SECONDS, MOCO_CXR_RECIPE, pretrainWork, recipeFlops, trainingCadence } from './advice.ts';
import { classifierForwardFlops, pretrainStepFlops } from './measure.ts';

interface Fixture {
  forward: { resnet18_mlp128_320: number; resnet18_fc14_320: number };
  moco_step: number;
  recipe: { images: number; epochs: number; batch: number; steps: number; flops: number };
  cadence: { images: number; batch: number; epochs: number; every: number; evaluations: number; saves: number }[];
  finetune: { images: number; batch: number; epochs: number; every: number; valid: number; test: number; keep: number; evaluations: number; saves: number; 'end-to-end': number; linear: number };
}

let fx: Fixture;

beforeAll(async () => {
  await useBackend('wasm');
  fx = JSON.parse(readFileSync(join(ensureFixtures('handoff_flops'), 'flops.json'), 'utf8')) as Fixture;
}, 120_000);

describe('FLOPs', () => {
  it("a MoCo-CXR step (ResNet-18, 320 px, batch 16, K 24576) counted from our kernels equals torch's count", async () => {
    const step = await pretrainStepFlops({ arch: 'resnet18', batch: 16, crop: 320, dim: 128, K: 24576 });
    expect(step).toBe(fx.moco_step);
  }, 60_000);

  it('the full MoCo-CXR recipe (224,000 images x 20 epochs at 320 px) is on the order of 1e17 FLOP', () => {
    const w = recipeFlops(fx.forward.resnet18_mlp128_320);
    console.log(`MoCo-CXR recipe: ${w.steps} steps x ${formatFlops(w.stepFlops)} = ${formatFlops(w.flops)}`);
    expect(w.steps).toBe(fx.recipe.steps);
    expect(w.flops).toBe(fx.recipe.flops);
    expect(w.flops).toBeGreaterThanOrEqual(1e17);
    expect(w.flops).toBeLessThan(1e18);
    expect(MOCO_CXR_RECIPE.images).toBe(fx.recipe.images);
  });

  it('a run part done counts only the steps left', () => {
    const w = pretrainWork({ stepFlops: 10, images: 100, batch: 16, epochs: 20, done: { epoch: 3, step: 2 } });
    expect([w.stepsPerEpoch, w.steps, w.flops]).toEqual([6, 6 * 20 - (3 * 6 + 2), 10 * (120 - 20)]);
    expect(pretrainWork({ stepFlops: 10, images: 100, batch: 16, epochs: 2, done: { epoch: 2, step: 0 } }).steps).toBe(0);
  });

  it("train.py's evaluation and save counts, replayed", () => {
    for (const c of fx.cadence) {
      const got = trainingCadence({ trainImages: c.images, batch: c.batch, epochs: c.epochs, examplesPerEval: c.every });
      expect([got.evaluations, got.saves], JSON.stringify(c)).toEqual([c.evaluations, c.saves]);
    }
  });

  it("a fine-tuning run (CheXpert 10 %, 23 epochs) end to end and linear, with its evaluations, ensemble and test; the classifier's forward equals torch's", async () => {
    expect(await classifierForwardFlops('resnet18', 320, 14)).toBe(fx.forward.resnet18_fc14_320);
    const f = fx.finetune;
    for (const mode of ['end-to-end', 'linear'] as const) {
      const w = finetuneWork({
        forwardPerImage: fx.forward.resnet18_fc14_320,
        mode,
        batch: f.batch,
        keepTopK: f.keep,
        predictWith: 'ensemble',
        validImages: f.valid,
        testImages: f.test,
        runs: [{ trainImages: f.images, epochs: f.epochs, examplesPerEval: f.every }],
      });
      expect(w.runs[0]!.evaluations).toBe(f.evaluations);
      expect(w.flops).toBe(f[mode]);
    }
  }, 60_000);
});

describe('advice', () => {
  const flops = 1.33e17;
  it('hands off when the estimate is over 2 h, with the numbers in the text', () => {
    const a = advise(flops, 1e12, { what: 'This pretraining run' });
    expect(a.seconds).toBeCloseTo(1.33e5, 6);
    expect(a.handOff).toBe(true);
    expect(a.thresholdSeconds).toBe(HANDOFF_THRESHOLD_SECONDS);
    expect(a.flopsText).toBe('1.33e17 FLOP');
    expect(a.timeText).toBe('about 36 h 57 min');
    expect(a.text).toBe(
      'This pretraining run needs about 1.33e17 FLOP: about 36 h 57 min on this device at the 1.00e12 FLOP/s it sustained. That is longer than 2 h: export it for a cluster and run it with PyTorch (the bundle holds the checkpoint, the splits and the launch scripts).',
    );
  });

  it('stays in the browser under the threshold; says so when the speed is unknown', () => {
    const a = advise(flops, 1e14);
    expect(a.handOff).toBe(false);
    expect(a.timeText).toBe('about 22 min');
    expect(a.text).toContain('That fits in the browser.');
    expect(advise(flops, 1e14, { thresholdSeconds: 600 }).handOff).toBe(true);
    const u = advise(flops, null);
    expect([u.seconds, u.handOff, u.timeText]).toEqual([null, false, null]);
    expect(u.text).toContain('not measured yet');
  });

  it('formats durations', () => {
    expect([formatDuration(0.2), formatDuration(59), formatDuration(61), formatDuration(7200), formatDuration(7260), formatDuration(3 * 86400 + 3600)]).toEqual(['1 s', '59 s', '1 min', '2 h', '2 h 1 min', '3 d 1 h']);
  });
});
