// Importing real folders end to end: Shenzhen PNGs and a CheXpert-format folder built from NIH images.
import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { SHARED, datasetRow, importFolder, makeChexpertFolder, makeLargeShenzhenFolder, shenzhenTruth, waitForImportEnd } from './helpers.ts';

test('Shenzhen folder: counts, TB labels from file names, thumbnails, and it survives a reload', async ({ page }) => {
  const dir = join(SHARED, 'shenzhen');
  const truth = shenzhenTruth(dir);
  const tb = [...truth.values()].filter((v) => v === 1).length;
  await page.goto('./');
  await importFolder(page, dir);
  const result = await waitForImportEnd(page);
  expect(result).toContain(`${truth.size} stored`);
  expect(result).toContain('0 failed');

  const row = datasetRow(page, 'shenzhen');
  await expect(row.getByTestId('count-train')).toHaveText(String(truth.size));
  await expect(row.getByTestId('dataset-status')).toHaveText('complete');

  await page.reload();
  await expect(row.getByTestId('count-train')).toHaveText(String(truth.size));
  await row.getByRole('link', { name: 'shenzhen' }).click();
  const tbRow = page.locator('[data-testid="label-row"][data-observation="Tuberculosis"]');
  await expect(tbRow.locator('[data-state="positive"]')).toHaveText(String(tb));
  await expect(tbRow.locator('[data-state="negative"]')).toHaveText(String(truth.size - tb));

  // Thumbnails are drawn from stored pixels: real X-rays, not blank.
  const thumbs = page.getByTestId('thumb');
  await expect(thumbs).toHaveCount(truth.size);
  const first = thumbs.first().locator('canvas');
  await expect(first).toBeVisible();
  const stats = await first.evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let min = 255;
    let max = 0;
    for (let i = 0; i < d.length; i += 4) {
      min = Math.min(min, d[i]!);
      max = Math.max(max, d[i]!);
    }
    return { w: c.width, h: c.height, min, max };
  });
  expect(Math.max(stats.w, stats.h)).toBe(96);
  expect(stats.max - stats.min).toBeGreaterThan(100);

  // Filtering by observation and state.
  await page.getByLabel('Filter observation').selectOption('Tuberculosis');
  await expect(page.getByTestId('thumb')).toHaveCount(tb);
  for (const el of await page.getByTestId('thumb').all()) {
    await expect(el.locator('[data-label="Tuberculosis"]')).toHaveAttribute('data-state', 'positive');
  }
});

test('CheXpert-format folder: four label states, views, problems listed, rest imported', async ({ page }) => {
  const { dir, expected } = makeChexpertFolder();
  await page.goto('./');
  await importFolder(page, dir);
  const result = await waitForImportEnd(page);
  const e = expected as {
    importable: number;
    planned: { train: number; valid: number; lateral: number };
    planProblems: unknown[];
    decodeProblems: { file: string }[];
    labelCountsImportable: Record<string, Record<string, number>>;
  };
  expect(result).toContain(`${e.importable} stored`);
  expect(result).toContain(`${e.decodeProblems.length} failed`);

  const row = datasetRow(page, 'chexpert-from-nih');
  const failedTrain = e.decodeProblems.filter((d) => d.file.includes('/train/')).length;
  await expect(row.getByTestId('count-train')).toHaveText(String(e.planned.train - failedTrain));
  await expect(row.getByTestId('count-valid')).toHaveText(String(e.planned.valid));
  await row.getByRole('link').first().click();
  const problems = page.getByTestId('problems');
  await expect(problems.locator('li')).toHaveCount(e.planProblems.length + e.decodeProblems.length);
  await expect(problems).toContainText(/missing/i);
  await expect(problems).toContainText(/maybe/);
  for (const [obs, states] of Object.entries(e.labelCountsImportable)) {
    const r = page.locator(`[data-testid="label-row"][data-observation="${obs}"]`);
    for (const [state, n] of Object.entries(states)) await expect(r.locator(`[data-state="${state}"]`)).toHaveText(String(n));
  }
  await page.getByLabel('Filter view').selectOption({ label: 'Lateral' });
  await expect(page.getByTestId('thumb')).toHaveCount(e.planned.lateral);
  await page.getByLabel('Filter view').selectOption({ label: 'any' });
  await expect(page.getByTestId('thumb')).toHaveCount(e.importable);
});

test('cancel mid-import, import again: the complete set, once', async ({ page }) => {
  // Large enough that the import is still running when the first progress shows (on a quiet machine 150
  // images finished between two progress updates, and the cancel came too late).
  const count = 400;
  const dir = makeLargeShenzhenFolder(count);
  await page.goto('./');
  await importFolder(page, dir);
  const progress = page.getByTestId('import-progress');
  await expect(progress).toContainText(/^\s*[1-9]\d* \//, { timeout: 120_000 });
  await page.getByRole('button', { name: 'Cancel import' }).click();
  const cancelled = await waitForImportEnd(page);
  expect(cancelled).toContain('Import cancelled');
  const storedFirst = Number(/(\d+) stored/.exec(cancelled)?.[1]);
  expect(storedFirst).toBeGreaterThan(0);
  expect(storedFirst).toBeLessThan(count);
  const row = datasetRow(page, `shenzhen-flat-${count}`);
  await expect(row.getByTestId('dataset-status')).toContainText('incomplete');

  await importFolder(page, dir);
  const again = await waitForImportEnd(page);
  expect(again).toContain(`${count - storedFirst} stored, ${storedFirst} already there, 0 failed`);
  await expect(row.getByTestId('count-train')).toHaveText(String(count));
  await expect(row.getByTestId('dataset-status')).toHaveText('complete');
});

test('demo dataset is generated in a worker and labelled synthetic', async ({ page }) => {
  await page.goto('./');
  await page.getByLabel('Demo image count').fill('60');
  await page.getByRole('button', { name: 'Generate demo dataset' }).click();
  const result = await waitForImportEnd(page);
  expect(result).toContain('60 stored');
  const row = page.getByTestId('dataset-row').filter({ hasText: 'synthetic' }).first();
  await expect(row).toBeVisible();
  await row.getByRole('link').first().click();
  await expect(page.getByText('synthetic — not real patients')).toBeVisible();
  await expect(page.locator('[data-testid="label-row"][data-observation="Pleural Effusion"] [data-state="positive"]')).not.toHaveText('0');

  // Deleting asks once more, then removes the dataset and its images; a reload does not bring it back.
  await page.getByRole('link', { name: '← All datasets' }).click();
  const name = (await row.getAttribute('data-name'))!;
  await row.getByRole('button', { name: `Delete ${name}` }).click();
  await page.getByRole('button', { name: `Confirm delete ${name}` }).click();
  await expect(page.getByTestId('dataset-row')).toHaveCount(0);
  await page.reload();
  await expect(page.getByText('Nothing imported yet.')).toBeVisible();
});

test('a reload mid-import keeps what was stored; importing again finishes the set', async ({ page }) => {
  const count = 150;
  const dir = makeLargeShenzhenFolder(count);
  await page.goto('./');
  await importFolder(page, dir);
  await expect(page.getByTestId('import-progress')).toContainText(/^\s*([3-9]\d|1[0-4]\d) \//, { timeout: 120_000 });
  await page.reload();
  const row = datasetRow(page, `shenzhen-flat-${count}`);
  await expect(row.getByTestId('dataset-status')).toContainText('interrupted');
  const kept = Number(await row.getByTestId('count-train').textContent());
  expect(kept).toBeGreaterThanOrEqual(16);
  expect(kept).toBeLessThan(count);

  await importFolder(page, dir);
  const again = await waitForImportEnd(page);
  expect(again).toContain(`${count - kept} stored, ${kept} already there, 0 failed`);
  await expect(row.getByTestId('count-train')).toHaveText(String(count));
  await expect(row.getByTestId('dataset-status')).toHaveText('complete');
});
