// The training worker runs tfjs on WebGPU, on the SwiftShader adapter headless Chromium offers here.
import { expect, test } from '@playwright/test';

test('training worker runs a tfjs op on webgpu and reports the software adapter', async ({ page }) => {
  await page.goto('./#/system');
  await page.getByLabel('Backend', { exact: true }).selectOption('webgpu');
  await page.getByRole('button', { name: 'Apply backend' }).click();
  await expect(page.getByTestId('active-backend')).toHaveText('webgpu', { timeout: 60_000 });
  await expect(page.getByTestId('adapter-fallback')).toContainText('yes');
  await expect(page.getByTestId('adapter')).toContainText(/swiftshader/i);
  await page.getByRole('button', { name: 'Run test op' }).click();
  const check = page.getByTestId('op-check');
  await expect(check).toContainText('webgpu', { timeout: 60_000 });
  const err = Number(/max error ([0-9.e+-]+)/.exec((await check.textContent()) ?? '')?.[1]);
  expect(err).toBeLessThan(1e-4);
});

test('auto does not prefer a software adapter over wasm', async ({ page }) => {
  await page.goto('./#/system');
  await page.getByLabel('Backend', { exact: true }).selectOption('auto');
  await page.getByRole('button', { name: 'Apply backend' }).click();
  await expect(page.getByTestId('active-backend')).toHaveText('wasm', { timeout: 60_000 });
  await expect(page.getByText(/webgpu: skipped by auto, software adapter/)).toBeVisible();
  await page.getByRole('button', { name: 'Run test op' }).click();
  await expect(page.getByTestId('op-check')).toContainText('wasm', { timeout: 60_000 });
});

test('worker bridge: errors carry their message, a crash restarts the worker, cancel reaches the worker', async ({ page }) => {
  await page.goto('./#/system');
  await page.getByRole('button', { name: 'Raise an error in the worker' }).click();
  await expect(page.getByTestId('diagnostics')).toHaveText('error: deliberate error from the training worker');
  await page.getByRole('button', { name: 'Crash the worker' }).click();
  await expect(page.getByTestId('diagnostics')).toContainText('crash: training worker crashed');
  await expect(page.getByTestId('diagnostics')).toContainText('deliberate crash of the training worker');
  // The next call starts a fresh worker that works.
  await page.getByRole('button', { name: 'Cancel a worker call' }).click();
  await expect(page.getByTestId('diagnostics')).toContainText(/aborted after \d+ ticks; progress seen: [1-9]/);
  await page.getByLabel('Backend', { exact: true }).selectOption('cpu');
  await page.getByRole('button', { name: 'Apply backend' }).click();
  await expect(page.getByTestId('active-backend')).toHaveText('cpu', { timeout: 60_000 });
});
