// Device-side augmentation on tfjs-webgpu (SwiftShader in headless Chromium) against torchvision: every view
// of scripts/fixtures/torchvision_augment.py (hflip, rotate NEAREST fill 0, crop, ToTensor, Normalize on real
// Shenzhen and NIH images), run in the training worker through its `augmentParity` method (reached via
// globalThis.mocoCxrDiagnostics). The pixels go up already normalised and the GPU only gathers, so the
// values must be torch's exactly, not merely within 1e-6.
import { expect, test, type Page } from '@playwright/test';
import { loadAugmentFixtures, type ViewCase } from '../src/core/augment/fixture.testutil.ts';

interface PageResult {
  backend: string;
  shape: number[];
  channelsEqual: boolean;
  /** channel 0 of every view, row-major */
  grey: number[];
  tensors: { before: number; after: number };
}

async function startBackend(page: Page, backend: 'webgpu'): Promise<void> {
  await page.goto('./#/system');
  await page.getByLabel('Backend', { exact: true }).selectOption(backend);
  await page.getByRole('button', { name: 'Apply backend' }).click();
  await expect(page.getByTestId('active-backend')).toHaveText(backend, { timeout: 60_000 });
}

/** Runs one batch in the worker; checks in the page that the 3 channels are equal and returns channel 0. */
function runInPage(page: Page, images: { width: number; height: number; data: number[] }[], params: Omit<ViewCase, 'image' | 'size' | 'crop' | 'input' | 'floats' | 'map'>[], crop: number): Promise<PageResult> {
  return page.evaluate(
    async ({ images, params, crop }) => {
      const w = (globalThis as unknown as { mocoCxrDiagnostics: { trainWorker: { call(m: string, i: unknown): Promise<unknown> } } }).mocoCxrDiagnostics.trainWorker;
      const out = (await w.call('augmentParity', {
        images: images.map((i) => ({ width: i.width, height: i.height, data: Uint8Array.from(i.data) })),
        params,
        crop,
      })) as { backend: string; shape: number[]; data: Float32Array; numTensorsBefore: number; numTensorsAfter: number };
      const n = out.data.length / 3;
      const grey = new Array<number>(n);
      let channelsEqual = true;
      for (let k = 0; k < n; k++) {
        const r = out.data[k * 3]!;
        channelsEqual &&= r === out.data[k * 3 + 1] && r === out.data[k * 3 + 2];
        grey[k] = r;
      }
      return { backend: out.backend, shape: out.shape, channelsEqual, grey, tensors: { before: out.numTensorsBefore, after: out.numTensorsAfter } };
    },
    { images, params, crop },
  );
}

test('augmentBatch on webgpu equals torchvision for every fixture view, value for value; tensors freed', async ({ page }) => {
  test.setTimeout(180_000);
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[page error] ${m.text()}`);
  });
  const fx = loadAugmentFixtures();
  await startBackend(page, 'webgpu');
  const crops = [...new Set(fx.views.map((v) => v.crop))];
  expect(crops.sort((a, b) => a - b)).toEqual([48, 80, 224]);
  let checked = 0;
  for (const crop of crops) {
    const cases = fx.views.filter((v) => v.crop === crop);
    const images = cases.map((v) => {
      const g = fx.grey(v.input);
      return { width: g.width, height: g.height, data: Array.from(g.data) };
    });
    const params = cases.map(({ flip, angle, top, left }) => ({ flip, angle, top, left }));
    const r = await runInPage(page, images, params, crop);
    expect(r.backend).toBe('webgpu');
    expect(r.shape).toEqual([cases.length, crop, crop, 3]);
    expect(r.channelsEqual).toBe(true);
    expect(r.tensors.after).toBe(r.tensors.before);
    let worst = 0;
    let worstCase = '';
    cases.forEach((v, n) => {
      const want = fx.floats(v);
      const o = n * crop * crop;
      for (let k = 0; k < want.length; k++) {
        const d = Math.abs(r.grey[o + k]! - want[k]!);
        if (d > worst) {
          worst = d;
          worstCase = `${v.image} S=${v.size} ${JSON.stringify(params[n])} at ${k}`;
        }
      }
      checked++;
    });
    console.log(`[augment webgpu] crop ${crop}: ${cases.length} views, largest difference ${worst}${worstCase ? ` (${worstCase})` : ''}`);
    expect(worst, worstCase).toBe(0);
  }
  expect(checked).toBe(fx.views.length);
});
