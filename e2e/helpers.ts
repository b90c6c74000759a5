import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, type Page } from '@playwright/test';

export const ROOT = resolve(import.meta.dirname, '..');
export const SHARED = resolve(ROOT, '../shared/data');
export const GENERATED = join(ROOT, 'fixtures-generated', 'e2e');

export function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** A CheXpert-format folder built from the shared NIH images by scripts/make-chexpert-folder.ts. */
export function makeChexpertFolder(): { dir: string; expected: Record<string, unknown> } {
  const dir = join(GENERATED, 'chexpert-from-nih');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('node', [join(ROOT, 'bin/run-ts.js'), join(ROOT, 'scripts/make-chexpert-folder.ts'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { dir, expected: JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, unknown> };
}

/** A flat Shenzhen-style folder of `count` images made by copying the shared Shenzhen PNGs under new ids. */
export function makeLargeShenzhenFolder(count: number): string {
  const dir = join(GENERATED, `shenzhen-flat-${count}`, 'CXR_png');
  if (existsSync(dir) && readdirSync(dir).length === count) return join(dir, '..');
  rmSync(join(dir, '..'), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const sources = walk(join(SHARED, 'shenzhen')).filter((p) => /CHNCXR_\d{4}_[01]\.png$/.test(p));
  for (let i = 0; i < count; i++) {
    const src = sources[i % sources.length]!;
    const tb = /_1\.png$/.test(src) ? 1 : 0;
    copyFileSync(src, join(dir, `CHNCXR_${String(1000 + i).padStart(4, '0')}_${tb}.png`));
  }
  return join(dir, '..');
}

/** Shenzhen ids and TB labels as the file names in the shared folder give them (unique ids). */
export function shenzhenTruth(dir: string): Map<string, 0 | 1> {
  const ids = new Map<string, 0 | 1>();
  for (const p of walk(dir)) {
    const m = /CHNCXR_(\d{4})_([01])\.png$/.exec(p);
    if (m) ids.set(m[1]!, m[2] === '1' ? 1 : 0);
  }
  return ids;
}

export async function importFolder(page: Page, dir: string): Promise<void> {
  await page.getByLabel('Choose folder').setInputFiles(dir);
}

export async function waitForImportEnd(page: Page): Promise<string> {
  const result = page.getByTestId('import-result');
  await expect(result).toBeVisible({ timeout: 170_000 });
  return (await result.textContent()) ?? '';
}

export function datasetRow(page: Page, name: string) {
  return page.locator(`[data-testid="dataset-row"][data-name="${name}"]`);
}
