// Evidence that the app's training learns (issue 6), on PneumoniaMNIST (MedMNIST v2, CC BY 4.0; Yang et
// al., Scientific Data 2023; images from Kermany et al., Cell 2018), all through the app's own engine on
// tfjs wasm in Node:
//   (a) end-to-end fine-tuning of ResNet-18 from random weights with every training label, at 28 px,
//       checkpoints picked on validation AUROC: test AUROC with its 95 % bootstrap interval next to the
//       MedMNIST v2 ResNet-18 (28) baseline, 0.944;
//   (b) MoCo pretraining on the 4708 training images (labels unused), then a linear probe with 1 % of the
//       training labels (MoCo-CXR's label-fraction draw, several draws), against the same probe on random
//       weights: test AUROC averaged over draws with the draw-averaged bootstrap interval, and the paired
//       difference on the same resamples (the app's experiment summary, finetune/summary.ts).
// Nothing is picked or tuned on the test split: runs pick checkpoints on validation AUROC only.
//
//   npm run bench -- pneumoniamnist          (about an hour on 2 cores; see the figures in the report)
//
// Environment, to narrow a run while developing (the defaults are the benchmark):
//   PNEUMONIA_PARTS=a,b         which parts run
//   PNEUMONIA_LIMIT=N           the first N rows of each split only
//   PNEUMONIA_EPOCHS=10         (a) epochs
//   PNEUMONIA_MOCO_EPOCHS=8     (b) MoCo epochs
//   PNEUMONIA_DRAWS=3           (b) 1 % draws
//   PNEUMONIA_OUT=.cache/bench/pneumoniamnist.json   the detailed results (JSON)
// The detailed results go to PNEUMONIA_OUT; the summary rows to bench-results.json (main.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { cpus, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../src/core/backend/kernels/backends.testutil.ts';
import type { EvaluationResult } from '../../src/core/finetune/results.ts';
import { scheduleForFraction } from '../../src/core/finetune/settings.ts';
import { pairedDifferences, summarize } from '../../src/core/finetune/summary.ts';
import { REPO_ROOT } from '../fixtures/ensure.ts';
import type { BenchResult } from './main.ts';
import { LABEL, labelDraws, loadPneumoniaMnist, positives, type PneumoniaMnist } from './pneumoniamnist-data.ts';
import { finetuneRun, pneumoniaSettings, type RunOutput } from './pneumoniamnist-finetune.ts';
import { pneumoniaMocoSettings, pretrainMoco, type MocoPretrainResult } from './pneumoniamnist-moco.ts';

/** MedMNIST v2's PneumoniaMNIST test AUC for ResNet-18 at 28 px (Yang et al. 2023, Table 3). */
export const MEDMNIST_RESNET18_28_AUC = 0.944;
const BOOTSTRAP = 1000;
const RATIO = 0.01;

const env = (k: string, d: string) => process.env[k] ?? d;
const PARTS = env('PNEUMONIA_PARTS', 'a,b').split(',');
const LIMIT = process.env.PNEUMONIA_LIMIT ? Number(process.env.PNEUMONIA_LIMIT) : undefined;
const EPOCHS = Number(env('PNEUMONIA_EPOCHS', '10'));
const MOCO_EPOCHS = Number(env('PNEUMONIA_MOCO_EPOCHS', '8'));
const DRAWS = Number(env('PNEUMONIA_DRAWS', '3'));
const OUT = resolve(REPO_ROOT, env('PNEUMONIA_OUT', '.cache/bench/pneumoniamnist.json'));

const log = (line: string) => console.error(`[pneumoniamnist] ${line}`);
const f3 = (x: number | null | undefined) => (x == null ? 'n/a' : x.toFixed(3));
const ci = (c: { lower: number; upper: number } | undefined) => (c ? `[${f3(c.lower)}, ${f3(c.upper)}]` : '');
const mins = (s: number) => `${(s / 60).toFixed(1)} min`;

function summaryOf(r: RunOutput) {
  const sc = (t: RunOutput['test']) => t.scores[0]!;
  return {
    settings: r.settings,
    test: { auroc: sc(r.test).auroc, ci: sc(r.test).ci, members: r.test.members },
    testBest: { auroc: sc(r.testBest).auroc, ci: sc(r.testBest).ci, members: r.testBest.members },
    evaluations: r.evaluations,
    epochLoss: r.epochLoss,
    seconds: r.seconds,
    trainExamplesPerSecond: r.trainExamplesPerSecond,
  };
}

/**
 * (a) MedMNIST trains 100 epochs (Adam lr 1e-3, batch 128, x0.1 at 50 and 75); here the app's loop with a
 * constant lr 1e-3 (the pipeline has no scheduler), batch 64, PNEUMONIA_EPOCHS epochs, a validation
 * checkpoint every half epoch, test from the app's default: the mean of the top 10 by validation AUROC.
 */
async function partA(d: PneumoniaMnist) {
  const batch = 64;
  const perEpoch = Math.ceil(d.train.length / batch);
  const s = pneumoniaSettings({ mode: 'end-to-end', lr: 1e-3, batch, epochs: EPOCHS, examplesPerEval: Math.max(1, Math.floor(perEpoch / 2)) * batch, seed: 0 });
  log(`(a) end-to-end from random weights: ${d.train.length} images, ${s.epochs} epochs of ${perEpoch} steps, batch ${batch}, lr ${s.lr}`);
  const r = await finetuneRun({ settings: s, start: { kind: 'random' }, train: d.train, valid: d.valid, test: d.test, bootstrap: BOOTSTRAP, log, label: '(a)' });
  log(`(a) test AUROC ${f3(r.test.scores[0]!.auroc)} ${ci(r.test.scores[0]!.ci)} (top-${r.test.members.length} mean), best single ${f3(r.testBest.scores[0]!.auroc)}; ${mins(r.seconds)}`);
  return r;
}

/** (b) MoCo, then the 1 % probes from MoCo weights and from random weights on the same draws. */
async function partB(d: PneumoniaMnist) {
  const mocoSettings = pneumoniaMocoSettings({ epochs: MOCO_EPOCHS });
  log(`(b) MoCo pretraining: ${d.train.length} images, ${mocoSettings.epochs} epochs, batch ${mocoSettings.batch}, K ${mocoSettings.K}, size ${mocoSettings.size} crop ${mocoSettings.crop}, m ${mocoSettings.m}, lr ${mocoSettings.lr} (cosine)`);
  const moco = await pretrainMoco(d.train, mocoSettings, log);
  log(`(b) MoCo loss per epoch ${moco.epochLoss.map((l) => l.toFixed(3)).join(', ')}; ${mins(moco.seconds)}, ${moco.imagesPerSecond.toFixed(1)} images/s`);

  const draws = labelDraws(d.train, RATIO, DRAWS, 0);
  log(`(b) 1 % draws (chexpertLabelFractions, seed 0): ${draws.map((r) => `${r.length} images (${positives(r)} pneumonia)`).join('; ')}`);
  const batch = 16;
  const results: EvaluationResult[] = [];
  const probes: { init: string; draw: number; trainCount: number; run: ReturnType<typeof summaryOf> }[] = [];
  for (const [k, rows] of draws.entries()) {
    // MoCo-CXR's length and cadence for 1 % (epochs int(5 * 4 ** log8(100)) = 107, an evaluation every 1312 examples)
    const sched = scheduleForFraction(RATIO, batch);
    for (const init of ['MoCo', 'random'] as const) {
      const s = pneumoniaSettings({ mode: 'linear', linearBatchNorm: 'train', lr: 1e-3, batch, ...sched, seed: 0 });
      const run = await finetuneRun({
        settings: s,
        start: init === 'MoCo' ? { kind: 'moco', model: moco.checkpoint } : { kind: 'random' },
        train: rows,
        valid: d.valid,
        test: d.test,
        bootstrap: 0,
        log,
        label: `(b) ${init} probe, draw ${k}`,
      });
      log(`(b) ${init} probe, draw ${k}: test AUROC ${f3(run.test.scores[0]!.auroc)}; ${mins(run.seconds)}`);
      results.push({ id: `${init}-${k}`, label: `${init} linear probe`, source: 'browser', init, ratio: RATIO, draw: k, split: 'test', predictions: run.test.table, scores: run.test.scores, createdAt: Date.now() });
      probes.push({ init, draw: k, trainCount: rows.length, run: summaryOf(run) });
    }
  }
  const cells = summarize(results, LABEL, { bootstrap: BOOTSTRAP, seed: 0 });
  const diff = pairedDifferences(results, LABEL, 'MoCo', 'random', { bootstrap: BOOTSTRAP, seed: 0 })[0]!;
  return { moco, draws, cells, diff, probes };
}

export async function run(): Promise<BenchResult[]> {
  await useBackend('wasm');
  const started = new Date().toISOString();
  const d = await loadPneumoniaMnist({ limit: LIMIT });
  log(`data: train ${d.train.length} (${positives(d.train)} pneumonia), valid ${d.valid.length}, test ${d.test.length}; backend ${tf.getBackend()}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}`);
  const a = PARTS.includes('a') ? await partA(d) : null;
  const b = PARTS.includes('b') ? await partB(d) : null;

  const lines: string[] = ['', 'PneumoniaMNIST (MedMNIST v2, CC BY 4.0), ResNet-18 at 28 px, tfjs wasm in Node, 95 % bootstrap intervals over test studies (1000 replicates)', ''];
  const rows: string[][] = [['', 'test AUROC', '95 % CI', 'reference', 'epochs', 'wall time']];
  if (a) {
    const e = a.test.scores[0]!;
    const best = a.testBest.scores[0]!;
    rows.push([`(a) end-to-end, all ${d.train.length} labels, top-${a.test.members.length} by val AUROC`, f3(e.auroc), ci(e.ci), `MedMNIST v2 ResNet-18 (28): ${MEDMNIST_RESNET18_28_AUC}`, String(a.settings.epochs), mins(a.seconds)]);
    rows.push(['(a) the same, best single checkpoint by val AUROC', f3(best.auroc), ci(best.ci), '', '', '']);
  }
  if (b) {
    for (const c of b.cells) {
      const secs = b.probes.filter((p) => p.init === c.init).reduce((t, p) => t + p.run.seconds, 0);
      rows.push([`(b) linear probe, 1 % labels, ${c.init} weights (mean of ${c.draws} draws)`, f3(c.auroc), ci(c.ci), '', String(b.probes[0]!.run.settings.epochs), `${mins(secs)} (all draws)`]);
    }
    rows.push([`(b) MoCo minus random, paired`, f3(b.diff.mean), ci(b.diff), '> 0 if MoCo helps', '', '']);
    const el = b.moco.epochLoss;
    rows.push([`(b) MoCo pretraining loss, epoch 1 -> ${el.length} (chance ln(K+1) = ${Math.log(b.moco.settings.K + 1).toFixed(2)})`, `${f3(el[0])} -> ${f3(el.at(-1))}`, '', '', String(b.moco.settings.epochs), mins(b.moco.seconds)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) lines.push(r.map((c, i) => c.padEnd(widths[i]!)).join(' | '));
  console.log(lines.join('\n') + '\n');

  mkdirSync(dirname(OUT), { recursive: true });
  const json = {
    bench: 'pneumoniamnist',
    started,
    finished: new Date().toISOString(),
    backend: tf.getBackend(),
    data: { train: d.train.length, valid: d.valid.length, test: d.test.length, limit: LIMIT ?? null },
    reference: { name: 'MedMNIST v2 ResNet-18 (28) test AUC', value: MEDMNIST_RESNET18_28_AUC },
    a: a ? summaryOf(a) : null,
    b: b
      ? {
          moco: { settings: b.moco.settings, epochLoss: b.moco.epochLoss, steps: b.moco.steps, seconds: b.moco.seconds, imagesPerSecond: b.moco.imagesPerSecond, checkpointBytes: b.moco.checkpointBytes },
          draws: b.draws.map((r) => ({ count: r.length, positives: positives(r), keys: r.map((x) => x.meta.key) })),
          probes: b.probes,
          summary: b.cells,
          difference: b.diff,
        }
      : null,
  };
  writeFileSync(OUT, JSON.stringify(json, null, 1) + '\n');
  console.log(`wrote ${OUT}`);

  const results: BenchResult[] = [];
  if (a) {
    const v = a.test.scores[0]!.auroc ?? NaN;
    results.push({ name: 'PneumoniaMNIST: ResNet-18 end-to-end, 28 px, test AUROC', unit: 'AUROC', value: v, reference: { name: 'MedMNIST v2 ResNet-18 (28)', value: MEDMNIST_RESNET18_28_AUC }, ratio: v / MEDMNIST_RESNET18_28_AUC, goal: 1 });
  }
  if (b) {
    const m = b.cells.find((c) => c.init === 'MoCo')?.auroc ?? NaN;
    const r = b.cells.find((c) => c.init === 'random')?.auroc ?? NaN;
    // no goal on the point ratio: MoCo beats random only when the paired interval lies above 0, said in the name
    const dd = b.diff;
    const verdict = dd.lower > 0 ? 'above 0' : 'includes 0';
    results.push({
      name: `PneumoniaMNIST: 1 % linear probe on MoCo weights, test AUROC (paired MoCo - random ${f3(dd.mean)} [${f3(dd.lower)}, ${f3(dd.upper)}], ${verdict})`,
      unit: 'AUROC',
      value: m,
      reference: { name: 'the same probe on random weights', value: r },
      ratio: m / r,
      goal: null,
    });
  }
  return results;
}
