// `moco-cxr eval` as a user runs it: a Shenzhen folder built from ../shared/data images and a
// torch-built pipeline checkpoint (scripts/fixtures/torch_classifier_eval.py). The written CSV
// probabilities equal torch's within 1e-4 and the AUROC equals scikit-learn's on torch's probabilities.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureFixtures, REPO_ROOT, SHARED_DATA } from '../../scripts/fixtures/ensure.ts';
import { parseConfidenceCsv, parsePathTable, parseScoresCsv } from '../core/evaluate/index.ts';

const fx = ensureFixtures('torch_classifier_eval', [SHARED_DATA]);
const manifest = JSON.parse(readFileSync(join(fx, 'manifest.json'), 'utf8')) as {
  images: { file: string; study: string; labels: (number | null)[] }[];
  models: {
    shenzhen_tb: { studies: string[]; probs: number[][]; files: string[]; tb: number[]; sklearn_auroc: number; sklearn_auprc: number };
    pipeline_r18: { images: number[]; studies: string[]; probs: number[][]; study_labels: number[][] };
  };
};
const tmp = mkdtempSync(join(tmpdir(), 'moco-cxr-eval-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// CXR_png/CHNCXR_####_L.png as the Shenzhen download lays it out
const shenzhen = join(tmp, 'ChinaSet_AllFiles');
mkdirSync(join(shenzhen, 'CXR_png'), { recursive: true });
for (const f of manifest.models.shenzhen_tb.files) copyFileSync(join(SHARED_DATA, 'shenzhen/pegasus-256-512px/test_images', f), join(shenzhen, 'CXR_png', f));

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/moco-cxr.js'), 'eval', ...args], { cwd: tmp, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('moco-cxr eval', () => {
  it("a Shenzhen folder: torch's probabilities within 1e-4, sklearn's AUROC, every pipeline file", () => {
    const out = join(tmp, 'out');
    const r = cli('--checkpoint', join(fx, 'shenzhen_tb.pth.tar'), '--data', shenzhen, '--out', out, '--bootstrap', '100', '--batch', '3');
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^checkpoint .*pipeline \(resnet18 as ResNet18, 1 outputs, 1 tasks/m);
    expect(r.out).toMatch(/^data +.*: shenzhen, all, 7 images, 7 studies$/m);
    expect(r.out).toMatch(/^Tuberculosis +7 +3 +0\.417 /m);
    for (const f of ['predictions.csv', 'groundtruth.csv', 'scores.csv', 'scores.txt', 'confidence.csv', 'scores.json']) expect(existsSync(join(out, f)), f).toBe(true);

    const m = manifest.models.shenzhen_tb;
    const preds = parsePathTable(readFileSync(join(out, 'predictions.csv'), 'utf8'), 'predictions.csv');
    expect(preds.tasks).toEqual(['Tuberculosis']);
    expect(preds.paths).toEqual(m.files.map((f) => f.replace(/\.png$/, '')));
    let worst = 0;
    preds.paths.forEach((p, j) => {
      const torch = m.probs[m.studies.indexOf(`pegasus/${p}`)]![0]!;
      worst = Math.max(worst, Math.abs(preds.values[0]![j]! - torch));
    });
    expect(worst).toBeLessThan(1e-4);
    console.log(`moco-cxr eval on 7 Shenzhen images: max |p - torch| ${worst.toExponential(2)}`);
    const gt = parsePathTable(readFileSync(join(out, 'groundtruth.csv'), 'utf8'), 'groundtruth.csv');
    expect(gt.values[0]).toEqual(m.tb);

    const summary = JSON.parse(readFileSync(join(out, 'scores.json'), 'utf8'));
    expect(summary.tasks[0].auroc).toBeCloseTo(m.sklearn_auroc, 12);
    expect(summary.tasks[0].auprc).toBeCloseTo(m.sklearn_auprc, 12);
    expect(summary.tasks[0].ci.replicates).toBeGreaterThan(0);
    expect(summary.checkpoint).toMatchObject({ layout: 'pipeline', arch: 'resnet18', outputs: ['Tuberculosis'], taskNames: 'checkpoint' });
    expect(summary.settings).toMatchObject({ scale: 320, crop: 320, open: 'rgb', bootstrap: 100, backend: 'wasm', batch: 3 });
    const auroc = parseScoresCsv(readFileSync(join(out, 'scores.csv'), 'utf8')).find((x) => x.metric === 'AUROC')!;
    expect(auroc.value).toBeCloseTo(m.sklearn_auroc, 12);
    expect(parseConfidenceCsv(readFileSync(join(out, 'confidence.csv'), 'utf8'))[0]!.name).toBe('Tuberculosis');
  }, 90_000);

  it("a CheXpert folder (valid.csv, studies of two views, Lung Opacity as Airspace Opacity): the 14 tasks' study probabilities and labels", () => {
    // CHEXPERT_TASKS order (the model's) differs from the CSV's: Airspace Opacity is CSV's Lung Opacity
    const modelTasks = ['No Finding', 'Enlarged Cardiomediastinum', 'Cardiomegaly', 'Lung Lesion', 'Airspace Opacity', 'Edema', 'Consolidation', 'Pneumonia', 'Atelectasis', 'Pneumothorax', 'Pleural Effusion', 'Pleural Other', 'Fracture', 'Support Devices'];
    const header = readFileSync(join(SHARED_DATA, 'chexpert-format/train_csv_header.csv'), 'utf8').trim().split(',');
    const root = join(tmp, 'CheXpert-v1.0-small');
    const studyDir = new Map<string, string>();
    const lines = [header.join(',')];
    const m = manifest.models.pipeline_r18;
    m.images.forEach((i) => {
      const img = manifest.images[i]!;
      if (!studyDir.has(img.study)) studyDir.set(img.study, `valid/patient${String(64541 + studyDir.size).padStart(5, '0')}/study1`);
      const rel = `${studyDir.get(img.study)}/view${i}_frontal.png`;
      mkdirSync(join(root, studyDir.get(img.study)!), { recursive: true });
      copyFileSync(join(SHARED_DATA, img.file), join(root, rel));
      const cell = (v: number | null) => (v === null ? '' : `${v}.0`);
      const byColumn = (col: string) => cell(img.labels[modelTasks.indexOf(col === 'Lung Opacity' ? 'Airspace Opacity' : col)]!);
      lines.push([`CheXpert-v1.0-small/${rel}`, 'Female', '70', 'Frontal', 'AP', ...header.slice(5).map(byColumn)].join(','));
    });
    writeFileSync(join(root, 'valid.csv'), lines.join('\n') + '\n');
    const out = join(tmp, 'out-chexpert');
    const r = cli('--checkpoint', join(fx, 'pipeline_r18.pth.tar'), '--data', root, '--out', out, '--bootstrap', '0', '--quiet');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^data +.*: chexpert, valid, 13 images, 11 studies$/m);
    const preds = parsePathTable(readFileSync(join(out, 'predictions.csv'), 'utf8'), 'predictions.csv');
    const gt = parsePathTable(readFileSync(join(out, 'groundtruth.csv'), 'utf8'), 'groundtruth.csv');
    expect(preds.tasks).toEqual(modelTasks);
    // rows in the loader's order: studies sorted by path
    expect(preds.paths).toEqual([...studyDir.values()].map((d) => `CheXpert-v1.0-small/${d}`).sort());
    let worst = 0;
    m.studies.forEach((s, j) => {
      const row = preds.paths.indexOf(`CheXpert-v1.0-small/${studyDir.get(s)}`);
      modelTasks.forEach((_, t) => {
        worst = Math.max(worst, Math.abs(preds.values[t]![row]! - m.probs[j]![t]!));
        expect(gt.values[t]![row]).toBe(m.study_labels[j]![t]);
      });
    });
    expect(worst).toBeLessThan(1e-4);
  }, 90_000);

  it('refusals: a file that is no checkpoint, a folder with no images, tasks the dataset lacks, a missing split', () => {
    const notCkpt = join(tmp, 'notes.txt');
    writeFileSync(notCkpt, 'not a checkpoint');
    const bad = cli('--checkpoint', notCkpt, '--data', shenzhen);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/notes\.txt: refused \(not_a_checkpoint\)/);

    const empty = join(tmp, 'empty');
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'README.txt'), 'nothing here');
    const none = cli('--checkpoint', join(fx, 'shenzhen_tb.pth.tar'), '--data', empty);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no images to evaluate in .*empty/);

    const tasks = cli('--checkpoint', join(fx, 'pipeline_r18.pth.tar'), '--data', shenzhen);
    expect(tasks.code).toBe(1);
    expect(tasks.err).toMatch(/the dataset has no label column for 'Enlarged Cardiomediastinum', .* \(its columns: No Finding, Tuberculosis\); of the checkpoint's outputs the dataset has No Finding/);

    const split = cli('--checkpoint', join(fx, 'shenzhen_tb.pth.tar'), '--data', shenzhen, '--split', 'test');
    expect(split.code).toBe(1);
    expect(split.err).toMatch(/the shenzhen folder has no test images \(it has 7 train\)/);

    const usage = cli('--data', shenzhen);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/--checkpoint is required/);
  }, 90_000);
});
