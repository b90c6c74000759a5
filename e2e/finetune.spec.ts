// Fine-tuning from the page: a demo dataset, a small experiment (ResNet-18 at 32 px, two fractions) in
// the training worker, its figure and table; the exported pipeline CSVs rescored by scikit-learn; the
// cluster bundle's contents; an offline evaluation of the kept checkpoint; and the exported CSVs imported
// back as a cluster result that shows beside the browser's with the same AUROC.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { PYTHON, REPO_ROOT } from '../scripts/fixtures/ensure.ts';

function unzip(file: string, dir: string): string[] {
  const out = execFileSync(PYTHON, ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); z.extractall(sys.argv[2]); print("\\n".join(z.namelist()))', file, dir], { encoding: 'utf8' });
  return out.trim().split('\n');
}

test('fine-tune: an experiment runs, its figure and exports check out, and results come back side by side', async ({ page }) => {
  test.setTimeout(480_000);
  await page.goto('./#/datasets');
  await page.getByLabel('Stored size').fill('64');
  await page.getByLabel('Demo image count').fill('48');
  await page.getByRole('button', { name: 'Generate demo dataset' }).click();
  await expect(page.getByTestId('import-result')).toBeVisible({ timeout: 120_000 });

  await page.goto('./#/experiments');
  await page.getByLabel('Experiment name').fill('tiny');
  await page.getByLabel('Tasks').selectOption('competition-5');
  await page.getByLabel('Label fractions and draws').fill('0.5 x1, 1 x1');
  await page.getByLabel(/epochs and evaluation cadence by fraction/).uncheck();
  await page.getByLabel('Epochs', { exact: true }).fill('2');
  await page.getByLabel('Evaluate every (examples)').fill('20');
  await page.getByLabel('Batch size', { exact: true }).fill('5');
  await page.getByLabel('Resize (shorter side)').fill('32');
  await page.getByLabel('Crop', { exact: true }).fill('32');
  await page.getByLabel('Checkpoints kept (top k)').fill('2');
  await page.getByLabel('Bootstrap replicates', { exact: true }).fill('200');
  await page.getByLabel('Learning rate (Adam)').fill('0.001');
  // the hand-off advice: FLOPs and the time at this device's measured speed
  await expect(page.getByTestId('handoff-advice')).toContainText(/This experiment needs about [\d.]+e\d+ FLOP: about .* on this device/, { timeout: 120_000 });
  const t0 = Date.now();
  await page.getByRole('button', { name: 'Start experiment' }).click();

  const exp = page.getByRole('listitem', { name: 'Experiment tiny', exact: true });
  await expect(exp.getByTestId('job')).toHaveCount(2);
  await expect(exp.getByTestId('experiment-status')).toHaveText('complete', { timeout: 360_000 });
  console.log(`experiment: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  await expect(exp.getByTestId('job-test-auroc').first()).toHaveText(/^\d\.\d{3}$/);
  await expect(exp.getByRole('img', { name: /Test AUROC for Pleural Effusion against label fraction/ })).toBeVisible();
  await expect(exp.getByTestId('summary-table').locator('tbody tr')).toHaveCount(2);
  await expect(exp.getByTestId('summary-table')).toContainText(/50 %\s*1\s*\d\.\d{3}\s*\[\d\.\d{3}, \d\.\d{3}\]/);

  const dir = mkdtempSync(join(tmpdir(), 'finetune-e2e-'));
  try {
    const save = async (name: string | RegExp) => {
      await exp.getByRole('button', { name }).first().click();
      const link = page.getByTestId('prepared').getByRole('link');
      await expect(link).toHaveText(/^Save /, { timeout: 60_000 });
      const download = page.waitForEvent('download');
      await link.click();
      const file = join(dir, (await download).suggestedFilename());
      await (await download).saveAs(file);
      return file;
    };
    // predictions / scores: scikit-learn on the exported CSVs gives the AUROCs scores.csv states
    const results = save('Predictions, scores and confidence CSVs (.zip)');
    const names = unzip(await results, join(dir, 'results'));
    const folders = [...new Set(names.filter((n) => n.endsWith('/predictions.csv')).map((n) => n.slice(0, -'/predictions.csv'.length)))];
    expect(folders).toHaveLength(2);
    for (const f of folders) {
      const check = JSON.parse(execFileSync(PYTHON, [join(REPO_ROOT, 'scripts/fixtures/check_pipeline_results.py'), join(dir, 'results', f)], { encoding: 'utf8' })) as Record<string, { sklearn: number | null; file: number | null }>;
      for (const [task, v] of Object.entries(check)) {
        if (v.sklearn === null) expect(v.file, task).toBeNull();
        else expect(Math.abs(v.sklearn - v.file!), task).toBeLessThan(1e-6);
      }
    }
    // the config re-runs the experiment: settings, seed and split manifest
    const config = JSON.parse(readFileSync(await save('Config and split manifest (.json)'), 'utf8')) as { settings: { splitSeed: number }; manifest: { train: { name: string; keys: string[] }[]; test: string[] } };
    expect(config.manifest.train.map((d) => d.name)).toEqual(['train_semi_0.5-it0', 'train']);
    expect(config.manifest.test.length).toBeGreaterThan(0);
    // ...and re-runs it: the same manifest, the same jobs
    await page.getByTestId('rerun-config').setInputFiles(join(dir, readdirSync(dir).find((f) => f.endsWith('.config.json'))!));
    const rerun = page.getByRole('listitem', { name: 'Experiment tiny (re-run)' });
    await expect(rerun.getByTestId('experiment-status')).toHaveText('complete', { timeout: 120_000 });
    await expect(rerun.getByTestId('job-test-auroc').first()).toHaveText((await exp.getByTestId('job-test-auroc').first().textContent())!);
    // the cluster bundle
    const bundle = unzip(await save('Export for a cluster (.zip)'), join(dir, 'bundle'));
    for (const f of ['run.json', 'README.md', 'launch_torchrun.sh', 'launch_sbatch.sh', 'valid.csv', 'test.csv', 'train_semi_0.5-it0.csv', 'train.csv']) expect(bundle.some((n) => n.endsWith(`/${f}`)), f).toBe(true);
    // the best checkpoint of a job, in the pipeline format
    const best = await save('best checkpoint (.pth.tar)');
    expect(best).toMatch(/\.best\.pth\.tar$/);

    // offline evaluation of the kept checkpoint on the dataset's valid split
    await page.getByLabel('Checkpoint to evaluate').selectOption({ index: 1 });
    await page.getByLabel('Split to evaluate').selectOption('valid');
    await page.getByRole('button', { name: 'Evaluate', exact: true }).click();
    await expect(page.getByTestId('selected-result')).toBeVisible({ timeout: 120_000 });
    await expect(page.getByTestId('selected-result').getByRole('img', { name: /ROC curves/ })).toBeVisible();

    // cluster results back: the exported CSVs of the first run, imported into the experiment
    const first = join(dir, 'results', folders[0]!);
    const upload = join(dir, 'upload');
    mkdirSync(upload);
    for (const f of ['predictions.csv', 'groundtruth.csv', 'scores.csv']) writeFileSync(join(upload, f), readFileSync(join(first, f)));
    await page.getByTestId('cluster-files').setInputFiles(['predictions.csv', 'groundtruth.csv', 'scores.csv'].map((f) => join(upload, f)));
    await page.getByLabel('Label of the imported result').fill('from the cluster');
    await page.getByLabel('Experiment to import into').selectOption({ label: 'tiny' });
    await page.getByLabel('Initialisation of the imported result').fill('cluster');
    await page.getByLabel('Label fraction of the imported result').fill('0.5');
    await page.getByRole('button', { name: 'Import results' }).click();
    const rows = page.locator('table.results tbody tr');
    await expect(rows.filter({ hasText: 'from the cluster' })).toHaveCount(1, { timeout: 30_000 });
    // the figure now has a second line, 'cluster', beside 'random weights'
    await expect(exp.getByTestId('summary-table')).toContainText('cluster');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
