// The browser side of scripts/bench/moco.bench.ts: headless Debian Chromium against the built app, one
// fresh page (so a fresh training worker) per backend, chosen on the System page as a user would, then
// the worker's mocoBench through the page's diagnostics handle.
import { chromium, type Page } from '@playwright/test';
import type { MocoBenchInput, MocoBenchOutput } from '../../workers/train/bench-diagnostics.ts';
import { describeRun, printProfile } from './moco-report.ts';

export type Backend = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BackendRun {
  backend: Backend;
  /** a hardware GPU adapter or renderer (not SwiftShader) */
  hardware: boolean;
  device: string;
  out: MocoBenchOutput;
}

export interface BrowserPlan {
  backends: Backend[];
  /** sizes for every backend */
  sizes: number[];
  /** further sizes where the backend runs on a hardware GPU */
  gpuSizes: number[];
  base: Omit<MocoBenchInput, 'size'>;
  /** a size is skipped when its step, predicted from the last size's by the FLOPs' ratio, exceeds this */
  maxPredictedStepSeconds: number;
  /** the size whose step is profiled per kernel (when its step is under base.profileUnderSeconds) */
  profileSize: number;
}

async function startBackend(page: Page, backend: Backend): Promise<{ hardware: boolean; device: string }> {
  await page.goto('./#/system');
  await page.getByLabel('Backend', { exact: true }).selectOption(backend);
  await page.getByRole('button', { name: 'Apply backend' }).click();
  await page.getByTestId('active-backend').filter({ hasText: backend }).waitFor({ timeout: 120_000 });
  // The page may have started `auto` on load (which picks wasm here) and shown it before Apply restarted the
  // worker: ask the worker itself until the backend asked for is the one it runs.
  return page.evaluate(async (backend) => {
    type Gpu = { vendor: string; architecture: string; description: string; isFallbackAdapter: boolean };
    type Status = { backend: { active: string; webgpu: Gpu | null; webgl: { renderer: string; software: boolean } | null } | null };
    const w = (globalThis as unknown as { mocoCxrDiagnostics: { trainWorker: { call(m: string, i: unknown): Promise<Status> } } }).mocoCxrDiagnostics;
    for (let i = 0; ; i++) {
      const s = await w.trainWorker.call('backendStatus', null).then(
        (r) => r.backend,
        () => null,
      );
      if (s?.active === backend) {
        const g = s.webgpu;
        if (backend === 'webgpu' && g) {
          const name = g.description || [g.vendor, g.architecture].filter(Boolean).join(' ') || 'adapter';
          return { hardware: !g.isFallbackAdapter, device: g.isFallbackAdapter ? `${name}, software fallback` : name };
        }
        if (backend === 'webgl' && s.webgl) {
          // ANGLE's renderer strings run to 100 characters; SwiftShader's says little beyond its name
          const r = s.webgl.renderer;
          if (!s.webgl.software) return { hardware: true, device: r.length > 60 ? `${r.slice(0, 57)}...` : r };
          return { hardware: false, device: /swiftshader/i.test(r) ? 'SwiftShader, software' : `${r.slice(0, 40)}, software` };
        }
        return { hardware: false, device: 'CPU' };
      }
      if (i === 240) throw new Error(`the training worker runs ${s?.active ?? 'nothing'}, not ${backend}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }, backend);
}

function mocoBench(page: Page, input: MocoBenchInput): Promise<MocoBenchOutput> {
  return page.evaluate(async (input) => {
    type Call = (m: string, i: unknown, o: { onProgress: (p: unknown) => void }) => Promise<MocoBenchOutput>;
    const w = (globalThis as unknown as { mocoCxrDiagnostics: { trainWorker: { call: Call } } }).mocoCxrDiagnostics;
    return w.trainWorker.call('mocoBench', input, { onProgress: (p) => console.log(`mocoBench progress ${JSON.stringify(p)}`) });
  }, input);
}

/** Runs the plan; returns the runs and a line for each size it skipped, saying why. */
export async function browserRuns(baseURL: string, plan: BrowserPlan): Promise<{ runs: BackendRun[]; skipped: string[] }> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // allow_unsafe_apis exposes timestamp-query, which tf.profile needs to time webgpu kernels
    args: ['--enable-unsafe-webgpu', '--enable-dawn-features=allow_unsafe_apis', '--disable-background-networking', '--no-first-run'],
  });
  const runs: BackendRun[] = [];
  const skipped: string[] = [];
  try {
    for (const backend of plan.backends) {
      const page = await browser.newPage({ baseURL });
      // tsx compiles this file with esbuild's keepNames, which wraps named functions in __name(); functions
      // sent to page.evaluate carry that call into the page, so the page needs an identity __name.
      await page.addInitScript({ content: 'globalThis.__name = globalThis.__name || ((f) => f);' });
      page.on('console', (m) => {
        if (m.text().startsWith('mocoBench')) console.error(`  ${backend}: ${m.text()}`);
      });
      try {
        const { hardware, device } = await startBackend(page, backend);
        let last: MocoBenchOutput | null = null;
        for (const size of hardware ? [...plan.sizes, ...plan.gpuSizes] : plan.sizes) {
          const predicted = last ? (last.medianMs / 1000) * (size / last.input.size) ** 2 : 0;
          if (last && predicted > plan.maxPredictedStepSeconds) {
            skipped.push(
              `${backend} at ${size} px and above skipped: a ${last.input.size} px step took ${(last.medianMs / 1000).toFixed(1)} s, so one at ${size} px would take about ${predicted.toFixed(0)} s`,
            );
            console.error(`moco: ${skipped[skipped.length - 1]}`);
            break;
          }
          console.error(`moco: ${backend} (${device}) ${size} px`);
          const { profileUnderSeconds, ...rest } = plan.base;
          const input: MocoBenchInput = { ...rest, size, ...(size === plan.profileSize && profileUnderSeconds !== undefined ? { profileUnderSeconds } : {}) };
          const out = await mocoBench(page, input);
          console.error(`moco: ${describeRun(backend, out)}`);
          if (out.profile) printProfile(`${backend} ${size} px`, out.profile);
          runs.push({ backend, hardware, device, out });
          last = out;
        }
      } finally {
        await page.close();
      }
    }
  } finally {
    await browser.close();
  }
  return { runs, skipped };
}
