// MoCo pretraining speed (issue 5's benchmark): ResNet-18 MoCo steps, batch 16, K 24576, in headless Debian
// Chromium on every tfjs backend (scripts/bench/moco-browser.ts), next to the same steps in PyTorch on
// this machine's CPU (scripts/bench/torch_moco_bench.py: with every core, and with one, the faster taken as
// the reference; see torchBest). Rows: images/s per backend and size against PyTorch's (goal 0.7 for the best
// backend at each size), and MFU, model FLOPs per second over the backend's own matmul peak (goal 0.3 on a
// hardware GPU only: SwiftShader's "GPU" is this CPU).
//
// The app is built into a temporary folder and served on a free port, so that other checkouts' builds and
// servers are untouched and nothing is left in the repository.
//
// Environment, to narrow a run while working on one backend: MOCO_BENCH_BACKENDS (default
// wasm,webgpu,webgl,cpu), MOCO_BENCH_SIZES (default 64,128), MOCO_BENCH_PROFILE_UNDER (profile the 64 px
// step per kernel when it takes at most this many seconds; default 10, so the slow software backends are
// not profiled in a full run).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON, REPO_ROOT } from '../fixtures/ensure.ts';
import type { BenchResult } from './main.ts';
import { browserRuns, type Backend, type BackendRun } from './moco-browser.ts';

const ARCH = 'resnet18';
const BATCH = 16;
const K = 24576;
const BACKENDS = (process.env.MOCO_BENCH_BACKENDS ?? 'wasm,webgpu,webgl,cpu').split(',') as Backend[];
const SIZES = (process.env.MOCO_BENCH_SIZES ?? '64,128').split(',').map(Number);
/** MoCo-CXR's own sizes, where a hardware GPU makes them affordable */
const GPU_SIZES = [224, 320];
/** Warm-up steps, and timed steps, stop once those already run took this long (at least one of each). */
const MAX_SECONDS = 15;
/** A size whose predicted step is longer than this is skipped, and said so. */
const MAX_PREDICTED_STEP_S = 45;
const PROFILE_UNDER_S = Number(process.env.MOCO_BENCH_PROFILE_UNDER ?? 10);

interface TorchRun {
  size: number;
  threads: number;
  stepMs: number[];
  medianMs: number;
  imagesPerSecond: number;
}

interface TorchOut {
  torch: string;
  cpus: number;
  peakFlopsPerSecond: number;
  results: TorchRun[];
}

function torchRuns(sizes: number[]): TorchOut {
  const script = join(REPO_ROOT, 'scripts/bench/torch_moco_bench.py');
  const args = [script, '--arch', ARCH, '--batch', String(BATCH), '--K', String(K), '--sizes', sizes.join(','), '--steps', '5', '--warmup', '2', '--max-seconds', String(MAX_SECONDS), '--threads', 'all,1'];
  return JSON.parse(execFileSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 1 << 24 })) as TorchOut;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForServer(url: string): Promise<void> {
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`vite preview did not answer at ${url}`);
}

export async function run(): Promise<BenchResult[]> {
  const outDir = mkdtempSync(join(tmpdir(), 'moco-cxr-bench-'));
  let server: ChildProcess | null = null;
  const cleanUp = () => {
    if (server?.pid) process.kill(-server.pid);
    server = null;
    rmSync(outDir, { recursive: true, force: true });
  };
  // the server runs in its own process group (so that it can be stopped with its children): stop it on ^C too
  const onSignal = () => {
    cleanUp();
    process.exit(130);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    // Others' work on a shared machine slows PyTorch's threads far more than one-threaded wasm: say so.
    console.error(`moco: load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} before the run`);
    console.error('moco: PyTorch on the CPU (first, alone: the two sides never compete for the cores)');
    const torch = torchRuns(SIZES);
    for (const r of torch.results)
      console.error(`moco: PyTorch ${torch.torch}, ${r.threads} of ${torch.cpus} threads, ${r.size} px: steps ${r.stepMs.map((s) => s.toFixed(0)).join(', ')} ms, ${r.imagesPerSecond.toFixed(2)} images/s`);

    console.error('moco: building the app');
    execFileSync('npx', ['vite', 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'], { cwd: REPO_ROOT, stdio: 'inherit' });
    const port = await freePort();
    server = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort', '--outDir', outDir], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
      detached: true,
    });
    const baseURL = `http://127.0.0.1:${port}/`;
    await waitForServer(baseURL);
    const { runs, skipped } = await browserRuns(baseURL, {
      backends: BACKENDS,
      sizes: SIZES,
      gpuSizes: GPU_SIZES,
      base: { arch: ARCH, batch: BATCH, K, steps: 5, warmup: 2, maxSeconds: MAX_SECONDS, profileUnderSeconds: PROFILE_UNDER_S },
      maxPredictedStepSeconds: MAX_PREDICTED_STEP_S,
      profileSize: 64,
    });
    console.error(`moco: load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} after the run`);
    return results(torch, runs, skipped);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    cleanUp();
  }
}

/**
 * PyTorch's best at `size` over the thread counts it ran: all cores is what PyTorch does by default, but
 * when others load this shared machine its OpenMP threads stall each other and one thread is faster. Our
 * ratio is against the faster, never inflated by that stall.
 */
function torchBest(torch: TorchOut, size: number): TorchRun | undefined {
  return torch.results.filter((t) => t.size === size).reduce<TorchRun | undefined>((a, b) => (!a || b.imagesPerSecond > a.imagesPerSecond ? b : a), undefined);
}

function results(torch: TorchOut, runs: BackendRun[], skipped: string[]): BenchResult[] {
  const out: BenchResult[] = [];
  for (const size of [...new Set(runs.map((r) => r.out.input.size))]) {
    const here = runs.filter((r) => r.out.input.size === size);
    const best = here.reduce((a, b) => (b.out.imagesPerSecond > a.out.imagesPerSecond ? b : a));
    const ref = torchBest(torch, size);
    const torchName = ref ? `PyTorch ${torch.torch} CPU, ${ref.threads} of ${torch.cpus} threads (the faster setting)` : '';
    for (const r of here) {
      const gpu = r.backend === 'webgpu' || r.backend === 'webgl' ? ` (${r.device})` : '';
      const label = `MoCo step ResNet-18 b${BATCH} K ${K} ${size} px, ${r.backend}${gpu}`;
      if (ref)
        out.push({
          name: label,
          unit: 'images/s',
          value: r.out.imagesPerSecond,
          reference: { name: torchName, value: ref.imagesPerSecond },
          ratio: r.out.imagesPerSecond / ref.imagesPerSecond,
          goal: r === best ? 0.7 : null,
        });
      out.push({
        name: `${label}: MFU`,
        unit: 'of peak',
        value: r.out.mfu,
        reference: { name: `its matmul peak, ${(r.out.peakFlops.flopsPerSecond / 1e9).toFixed(1)} GFLOP/s`, value: 1 },
        ratio: r.out.mfu,
        goal: r.hardware && r.backend === 'webgpu' ? 0.3 : null,
      });
    }
  }
  // PyTorch's MFU against its own best conv/matmul rate, to put ours in context
  for (const r of torch.results) {
    const flops = runs.find((x) => x.out.input.size === r.size)?.out.flops.total;
    if (!flops) continue;
    const rate = flops / (r.medianMs / 1000);
    console.error(
      `moco: PyTorch ${r.size} px, ${r.threads} thread${r.threads === 1 ? '' : 's'}: ${(rate / 1e9).toFixed(1)} GFLOP/s, MFU ${((rate / torch.peakFlopsPerSecond) * 100).toFixed(1)} % of its own peak (${(torch.peakFlopsPerSecond / 1e9).toFixed(1)} GFLOP/s)`,
    );
  }
  for (const s of skipped) console.error(`moco: ${s}`);
  return out;
}
