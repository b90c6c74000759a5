// MoCo steps on tfjs-webgpu (SwiftShader in headless Chromium) against PyTorch: the 'webgpu' config of
// scripts/fixtures/moco_steps.py (ResNet-18, 64 px, batch 4, two steps of the amplified recipe), run and
// compared in the training worker by the same code as the Node test (src/core/moco/parity.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { ensureFixtures } from '../scripts/fixtures/ensure.ts';

const CHUNK = 8 << 20;

test('MoCo steps on webgpu match PyTorch: losses, accuracies, queue, pointer, encoders, Adam', async ({ page }) => {
  test.setTimeout(600_000);
  const dir = ensureFixtures('moco_steps');
  const index = JSON.parse(readFileSync(join(dir, 'webgpu.json'), 'utf8')) as Record<string, unknown>;
  const body = readFileSync(join(dir, 'webgpu.bin'));
  const url = '/__e2e-fixtures/moco_steps/webgpu.bin';
  await page.route(`**${url}?part=*`, (route) => {
    const part = Number(new URL(route.request().url()).searchParams.get('part'));
    return route.fulfill({ body: body.subarray(part * CHUNK, (part + 1) * CHUNK), contentType: 'application/octet-stream' });
  });
  await page.goto('./#/system');
  await page.getByLabel('Backend', { exact: true }).selectOption('webgpu');
  await page.getByRole('button', { name: 'Apply backend' }).click();
  await expect(page.getByTestId('active-backend')).toHaveText('webgpu', { timeout: 60_000 });

  const report = await page.evaluate(
    async ({ index, url, parts, bytes }) => {
      const buf = new Uint8Array(bytes);
      for (let p = 0; p < parts; p++) buf.set(new Uint8Array(await (await fetch(`${url}?part=${p}`)).arrayBuffer()), p * (8 << 20));
      const diag = (globalThis as unknown as { mocoCxrDiagnostics: { trainWorker: { call: (m: string, i: unknown) => Promise<unknown> } } }).mocoCxrDiagnostics;
      return diag.trainWorker.call('mocoParity', { ...index, data: new Float32Array(buf.buffer) });
    },
    { index, url, parts: Math.ceil(body.length / CHUNK), bytes: body.length },
  ) as { backend: string; failures: string[]; millis: number };
  console.log('moco webgpu parity:', JSON.stringify(report));
  expect(report.backend).toBe('webgpu');
  expect(report.failures).toEqual([]);
});
