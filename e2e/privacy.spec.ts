// Privacy: the app requests nothing but its own assets, also while importing and running the workers.
import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { SHARED, importFolder, waitForImportEnd } from './helpers.ts';

test('every request goes to the app origin (or is a blob/data URL)', async ({ page, baseURL }) => {
  const origin = new URL(baseURL!).origin;
  const foreign: string[] = [];
  const seen: string[] = [];
  page.context().on('request', (r) => {
    const url = r.url();
    seen.push(url);
    if (!url.startsWith(origin) && !url.startsWith('blob:') && !url.startsWith('data:')) foreign.push(url);
  });
  await page.goto('./');
  await importFolder(page, join(SHARED, 'nih', '128px'));
  await waitForImportEnd(page);
  await page.goto('./#/system');
  await page.getByLabel('Backend', { exact: true }).selectOption('wasm');
  await page.getByRole('button', { name: 'Apply backend' }).click();
  await expect(page.getByTestId('active-backend')).toHaveText('wasm', { timeout: 60_000 });
  expect(seen.length).toBeGreaterThan(3); // the page, its scripts, the workers and the wasm binary
  expect(seen.some((u) => u.endsWith('.wasm'))).toBe(true);
  expect(foreign).toEqual([]);
});
