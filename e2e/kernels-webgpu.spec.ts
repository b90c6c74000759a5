// The app's own kernels in headless Chromium: Conv2DBackpropFilter (a tiled WGSL program on webgpu, tf ops on
// webgl) against tfjs's stock kernel and torch.nn.grad.conv2d_weight, and the fused Adam update against
// torch.optim.Adam over six steps, run in the training worker through its `kernelCheck` method
// (src/core/backend/kernels/check.ts). Fixtures: scripts/fixtures/torch_kernels.py. Shapes stay small:
// the adapter is SwiftShader, a CPU emulation.
import { expect, test, type Page } from '@playwright/test';
import type { ConvCheckCase, KernelCheckInput, KernelCheckOutput } from '../src/core/backend/kernels/check.ts';
import { checkInputFromFixtures, loadKernelFixtures } from '../src/core/backend/kernels/fixtures.testutil.ts';

async function startBackend(page: Page, backend: 'webgpu' | 'webgl'): Promise<void> {
  await page.goto('./#/system');
  await page.getByLabel('Backend', { exact: true }).selectOption(backend);
  await page.getByRole('button', { name: 'Apply backend' }).click();
  await expect(page.getByTestId('active-backend')).toHaveText(backend, { timeout: 60_000 });
}

function rand(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** Cases the fixtures lack, checked against the stock kernel only: string padding, the webgpu program's
 *  split of M across workgroups (M = 675: two splits, the second partial), and several 64x64 tiles. */
function extraConvCases(): ConvCheckCase[] {
  const cases: [string, number[], number, number, 'same' | 'valid', number, number[]][] = [
    ['stem-same-split-k', [3, 30, 30, 3], 7, 2, 'same', 16, [3, 15, 15, 16]],
    ['tiles-valid', [1, 7, 7, 72], 3, 1, 'valid', 80, [1, 5, 5, 80]],
  ];
  return cases.map(([name, xs, k, s, pad, co, dys], i) => ({
    name,
    x: { shape: xs, data: rand(xs.reduce((a, b) => a * b, 1), 10 + i) },
    dy: { shape: dys, data: rand(dys.reduce((a, b) => a * b, 1), 20 + i) },
    filterShape: [k, k, xs[3]!, co],
    strides: s,
    pad,
  }));
}

/** Plain arrays: what page.evaluate and postMessage carry without question. */
function plainInput(): KernelCheckInput {
  const fx = checkInputFromFixtures(loadKernelFixtures());
  const arr = (a: ArrayLike<number>) => Array.from(a);
  return {
    conv: [...fx.conv, ...extraConvCases()].map((c) => ({
      ...c,
      x: { shape: c.x.shape, data: arr(c.x.data) },
      dy: { shape: c.dy.shape, data: arr(c.dy.data) },
      ...(c.expected ? { expected: arr(c.expected) } : {}),
    })),
    adam: fx.adam.map((c) => ({
      ...c,
      param0: arr(c.param0),
      grads: c.grads.map(arr),
      expected: { param: c.expected!.param.map(arr), expAvg: c.expected!.expAvg.map(arr), expAvgSq: c.expected!.expAvgSq.map(arr) },
    })),
  };
}

async function runCheck(page: Page, input: KernelCheckInput): Promise<KernelCheckOutput> {
  return page.evaluate(async (inp) => {
    const w = (globalThis as unknown as { mocoCxrDiagnostics: { trainWorker: { call(m: string, i: unknown): Promise<unknown> } } }).mocoCxrDiagnostics
      .trainWorker;
    return (await w.call('kernelCheck', inp)) as KernelCheckOutput;
  }, input);
}

// Conv: relative to the largest value (summation orders differ). Adam: against torch relative to each
// tensor's largest value; and elementwise against one of the two float32 evaluations in torch's order (with
// torch's fused multiply-adds, or every product rounded: tf ops, and GPUs that run WGSL's fma() unfused,
// SwiftShader among them), where a wrong operation or constant shows at once.
const TOL = { conv: 1e-5, adam: 1e-6 };

function expectCheck(r: KernelCheckOutput, backend: string, input: KernelCheckInput): void {
  console.log(`[kernels ${backend}] ${JSON.stringify(r)}`);
  expect(r.backend).toBe(backend);
  expect(r.registered).toEqual({ Conv2DBackpropFilter: true, MocoCxrAdamUpdate: true });
  expect(r.conv.map((c) => c.name)).toEqual(input.conv.map((c) => c.name));
  for (const c of r.conv) {
    expect(c.stockError, c.name).toBeNull();
    expect(c.oursVsStock!, c.name).toBeLessThan(TOL.conv);
    if (input.conv.find((i) => i.name === c.name)!.expected) expect(c.oursVsExpected!, c.name).toBeLessThan(TOL.conv);
    expect(c.gradVsOurs, c.name).toBeLessThan(1e-6); // tf.conv2d's gradient runs our kernel
  }
  expect(r.adam.map((a) => a.name)).toEqual(input.adam.map((a) => a.name));
  for (const a of r.adam) {
    expect(Math.max(...Object.values(a.vsExpected!)), a.name).toBeLessThan(TOL.adam);
    const loop = Math.min(Math.max(...Object.values(a.vsLoop.fused)), Math.max(...Object.values(a.vsLoop.unfused)));
    expect(loop, a.name).toBeLessThan(TOL.adam);
  }
  expect(r.numTensorsAfter).toBe(r.numTensorsBefore);
}

test('webgpu: our Conv2DBackpropFilter equals the stock kernel and torch, Adam equals torch over six steps; no tensor left', async ({ page }) => {
  test.setTimeout(180_000);
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[page error] ${m.text()}`);
  });
  const input = plainInput();
  await startBackend(page, 'webgpu');
  expectCheck(await runCheck(page, input), 'webgpu', input);
});

test('webgl: the tf-ops paths of both kernels, same checks', async ({ page }) => {
  test.setTimeout(180_000);
  const input = plainInput();
  await startBackend(page, 'webgl');
  expectCheck(await runCheck(page, input), 'webgl', input);
});
