// ResNet-18 on tfjs-webgpu (SwiftShader in headless Chromium), and on wasm, against torchvision: the fixtures of
// scripts/fixtures/torch_models.py (float64 references of the float32 model, 2x3x64x64 input), run in the
// training worker through its `modelParity` method (reached via globalThis.mocoCxrDiagnostics). Tolerances
// as the cpu tests in Node (src/core/models/parity.testutil.ts): eval 1e-4, train logits and running
// stats 2e-4 relative to the largest reference value, gradients 1e-3 relative to their module's scale.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { ensureFixtures } from '../scripts/fixtures/ensure.ts';

const TOL = { eval: 1e-4, train: 2e-4, stats: 2e-4, grad: 1e-3 };

interface Entry {
  group: string;
  name: string;
  shape: number[];
  offset: number;
}

interface Report {
  backend: string;
  eval: number;
  train: number;
  stats: number;
  statsChecked: number;
  nbtOk: boolean;
  gradChecked: number;
  gradWorst: { name: string; err: number };
  tensors: { evalBefore: number; evalAfter: number; trainBefore: number; trainAfter: number };
  millis: { eval: number; train: number; evalRun: number; trainRun: number };
}

async function startBackend(page: Page, backend: 'webgpu' | 'wasm'): Promise<void> {
  await page.goto('./#/system');
  await page.getByLabel('Backend', { exact: true }).selectOption(backend);
  await page.getByRole('button', { name: 'Apply backend' }).click();
  await expect(page.getByTestId('active-backend')).toHaveText(backend, { timeout: 60_000 });
}

const CHUNK = 8 << 20;

/**
 * Serves a fixture's .bin to the page at a same-origin URL (the built app does not hold the fixtures; its
 * CSP allows only same-origin fetches) in 8 MB parts: page.route with the whole 89 MB body closes the
 * browser here. Returns the index entries, the URL prefix and the number of parts.
 */
async function serveFixtures(page: Page, arch: string): Promise<{ entries: Entry[]; url: string; parts: number }> {
  const dir = ensureFixtures('torch_models');
  const index = JSON.parse(readFileSync(join(dir, `${arch}.json`), 'utf8')) as { entries: Entry[] };
  const body = readFileSync(join(dir, `${arch}.bin`));
  const url = `/__e2e-fixtures/torch_models/${arch}.bin`;
  await page.route(`**${url}?part=*`, (route) => {
    const part = Number(new URL(route.request().url()).searchParams.get('part'));
    return route.fulfill({ body: body.subarray(part * CHUNK, (part + 1) * CHUNK), contentType: 'application/octet-stream' });
  });
  return { entries: index.entries, url, parts: Math.ceil(body.length / CHUNK) };
}

/** Runs eval, then train with gradients, in the worker; compares in the page; returns the errors. */
function runParityInPage(page: Page, arch: string, fx: { entries: Entry[]; url: string; parts: number }, gradKeys: string[] | null): Promise<Report> {
  return page.evaluate(
    async ({ arch, entries, url, parts, gradKeys }) => {
      type Arr = { shape: number[]; data: Float32Array };
      type Named = Arr & { name: string };
      interface Out {
        backend: string;
        logits: Arr;
        stats: Named[];
        grads: Named[];
        numTensorsBefore: number;
        numTensorsAfter: number;
        millis: { load: number; run: number };
      }
      const chunks: ArrayBuffer[] = [];
      for (let i = 0; i < parts; i++) chunks.push(await (await fetch(`${url}?part=${i}`)).arrayBuffer());
      const all = new Float32Array(await new Blob(chunks).arrayBuffer());
      const groups = new Map<string, Map<string, Named>>();
      for (const e of entries) {
        const n = e.shape.reduce((a, b) => a * b, 1);
        // slice, not subarray: posting a view would copy the whole fixture buffer per entry
        const v = { name: e.name, shape: e.shape, data: all.slice(e.offset, e.offset + n) };
        if (!groups.has(e.group)) groups.set(e.group, new Map());
        groups.get(e.group)!.set(e.name, v);
      }
      const g = (group: string) => groups.get(group) ?? new Map<string, Named>();
      const one = (group: string, name: string) => g(group).get(name)!;
      const maxAbs = (a: Float32Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      const rel = (a: Float32Array, b: Float32Array, scale?: number) => {
        if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
        let d = 0;
        for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
        const s = scale ?? maxAbs(b);
        return s > 0 ? d / s : d;
      };
      const w = (globalThis as unknown as { mocoCxrDiagnostics: { trainWorker: { call(m: string, i: unknown): Promise<unknown> } } })
        .mocoCxrDiagnostics.trainWorker;
      const stateDict = [...g('state').values()];
      const input = one('input', 'x');

      let t0 = performance.now();
      const ev = (await w.call('modelParity', { arch, stateDict, input, train: false })) as Out;
      const tEval = performance.now() - t0;
      t0 = performance.now();
      const tr = (await w.call('modelParity', {
        arch,
        stateDict,
        input,
        train: true,
        gradWeights: one('loss_vec', 'v').data,
        ...(gradKeys ? { gradKeys } : {}),
      })) as Out;
      const tTrain = performance.now() - t0;

      let stats = 0;
      let nbtOk = true;
      const refStats = g('stats');
      for (const s of tr.stats) {
        const ref = refStats.get(s.name);
        if (!ref) throw new Error(`no reference for ${s.name}`);
        if (s.name.endsWith('num_batches_tracked')) nbtOk &&= s.data[0] === ref.data[0];
        else stats = Math.max(stats, rel(s.data, ref.data));
      }
      const refGrads = g('grads');
      const gradScale = (name: string) => {
        const base = name.slice(0, name.lastIndexOf('.'));
        return Math.max(...[`${base}.weight`, `${base}.bias`].map((k) => (refGrads.has(k) ? maxAbs(refGrads.get(k)!.data) : 0)));
      };
      let gradWorst = { name: '', err: 0 };
      for (const gr of tr.grads) {
        const ref = refGrads.get(gr.name);
        if (!ref) throw new Error(`no reference gradient for ${gr.name}`);
        if (gr.shape.join() !== ref.shape.join()) throw new Error(`${gr.name}: shape ${gr.shape} vs ${ref.shape}`);
        const err = rel(gr.data, ref.data, gradScale(gr.name));
        if (err > gradWorst.err) gradWorst = { name: gr.name, err };
      }
      const expectedGrads = gradKeys ?? [...refGrads.keys()];
      if (tr.grads.length !== expectedGrads.length) throw new Error(`got ${tr.grads.length} gradients, expected ${expectedGrads.length}`);
      return {
        backend: ev.backend,
        eval: rel(ev.logits.data, one('eval', 'logits').data),
        train: rel(tr.logits.data, one('train', 'logits').data),
        stats,
        statsChecked: tr.stats.length,
        nbtOk,
        gradChecked: tr.grads.length,
        gradWorst,
        tensors: { evalBefore: ev.numTensorsBefore, evalAfter: ev.numTensorsAfter, trainBefore: tr.numTensorsBefore, trainAfter: tr.numTensorsAfter },
        millis: { eval: tEval, train: tTrain, evalRun: ev.millis.run, trainRun: tr.millis.run },
      } satisfies Report;
    },
    { arch, entries: fx.entries, url: fx.url, parts: fx.parts, gradKeys },
  );
}

function expectParity(r: Report, backend: string, statsEntries: number): void {
  console.log(`[models ${backend}] ${JSON.stringify(r)}`);
  expect(r.backend).toBe(backend);
  expect(r.eval).toBeLessThan(TOL.eval);
  expect(r.train).toBeLessThan(TOL.train);
  expect(r.statsChecked).toBe(statsEntries);
  expect(r.stats).toBeLessThan(TOL.stats);
  expect(r.nbtOk).toBe(true);
  expect(r.gradChecked).toBeGreaterThan(0);
  expect(r.gradWorst.err).toBeLessThan(TOL.grad);
  expect(r.tensors.evalAfter).toBe(r.tensors.evalBefore);
  expect(r.tensors.trainAfter).toBe(r.tensors.trainBefore);
}

test('resnet18 on webgpu matches torchvision: eval and train logits, running stats, every gradient; tensors freed', async ({ page }) => {
  // measured 52 s to 1.6 min on 2 shared cores (eval 17-26 s, train with all 62 gradients 26-62 s)
  test.setTimeout(240_000);
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[page error] ${m.text()}`);
  });
  page.on('crash', () => console.log('[page crashed]'));
  const fx = await serveFixtures(page, 'resnet18');
  await startBackend(page, 'webgpu');
  const r = await runParityInPage(page, 'resnet18', fx, null);
  expectParity(r, 'webgpu', fx.entries.filter((e) => e.group === 'stats').length);
  expect(r.gradChecked).toBe(fx.entries.filter((e) => e.group === 'grads').length);
});

// tfjs 4.22 has no wasm Conv2DBackpropFilter; the engine registers its own (src/core/backend/kernels).
test('resnet18 on wasm matches torchvision: eval and train logits, running stats, every gradient; tensors freed', async ({ page }) => {
  test.setTimeout(120_000);
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[page error] ${m.text()}`);
  });
  const fx = await serveFixtures(page, 'resnet18');
  await startBackend(page, 'wasm');
  const r = await runParityInPage(page, 'resnet18', fx, null);
  expectParity(r, 'wasm', fx.entries.filter((e) => e.group === 'stats').length);
  expect(r.gradChecked).toBe(fx.entries.filter((e) => e.group === 'grads').length);
});
