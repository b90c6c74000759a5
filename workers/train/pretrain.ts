// Training-worker methods for MoCo pretraining: a thin adapter from the bridge to src/core/moco's stored
// runs. A run's call lasts until it completes, pauses or stops; pause and stop arrive as separate calls
// (or as the run call's abort, which pauses) and take effect between steps, after a checkpoint.
import type { CallContext } from '../../src/bridge/protocol.ts';
import { compareMocoRun, runMocoSteps, type MocoFixture, type MocoParityReport } from '../../src/core/moco/parity.ts';
import { createRun, runPretraining, type PretrainEvent } from '../../src/core/moco/pretrain-run.ts';
import type { PretrainSettings } from '../../src/core/moco/settings.ts';
import type { RunRecord } from '../../src/core/store/schema.ts';
import { Store } from '../../src/core/store/store.ts';
import { measurePeakFlops } from '../../src/core/backend/peak.ts';
import * as tf from '@tensorflow/tfjs';

/** The peak FLOP/s per backend, measured once (a few seconds of matmuls) and kept. */
const peaks = new Map<string, Promise<number>>();
const peakFlops = () => {
  const b = tf.getBackend();
  let p = peaks.get(b);
  if (!p) {
    p = measurePeakFlops().then((r) => r.flopsPerSecond);
    peaks.set(b, p);
  }
  return p;
};

let storePromise: Promise<Store> | null = null;
const store = () => (storePromise ??= Store.open());

/** Pending pause/stop requests by run id. */
const requests = new Map<string, 'pause' | 'stop'>();
const active = new Set<string>();

export interface PretrainHost {
  /** re-creates the backend after a lost device (the worker's last backend choice) */
  restoreBackend: () => Promise<void>;
  /** the reason the GPU device was lost, if it was since the backend started */
  deviceLost: () => string | null;
  hasBackend: () => boolean;
}

export function pretrainApi(host: PretrainHost) {
  return {
    async pretrainCreate(input: { name: string; datasetId: string; settings: PretrainSettings }, _ctx: CallContext<never>): Promise<RunRecord> {
      return createRun(await store(), input);
    },

    /** Runs or resumes a stored run; progress events stream through the call. */
    async pretrainRun(input: { runId: string }, ctx: CallContext<PretrainEvent>): Promise<RunRecord> {
      if (!host.hasBackend()) throw new Error('backend not initialised: call initBackend first');
      if (active.has(input.runId)) throw new Error('this run is already running');
      active.add(input.runId);
      requests.delete(input.runId);
      try {
        return await runPretraining(await store(), input.runId, {
          control: () => {
            const lost = host.deviceLost();
            if (lost) throw new Error(`the GPU device was lost: ${lost}`);
            if (ctx.signal.aborted) return 'pause';
            return requests.get(input.runId) ?? 'run';
          },
          onEvent: (e) => ctx.progress(e),
          restoreBackend: async () => {
            peaks.clear();
            await host.restoreBackend();
          },
          peakFlops,
        });
      } finally {
        active.delete(input.runId);
        requests.delete(input.runId);
      }
    },

    async pretrainControl(input: { runId: string; action: 'pause' | 'stop' }, _ctx: CallContext<never>): Promise<boolean> {
      if (!active.has(input.runId)) return false;
      requests.set(input.runId, input.action);
      return true;
    },

    /** Diagnostics: a moco_steps.py fixture's steps on the active backend, compared with PyTorch's here
     *  (the results are hundreds of MB; only the report crosses back). e2e/moco-webgpu.spec.ts. */
    async mocoParity(fx: MocoFixture, _ctx: CallContext<never>): Promise<MocoParityReport & { backend: string; millis: number }> {
      if (!host.hasBackend()) throw new Error('backend not initialised: call initBackend first');
      const t0 = performance.now();
      const got = await runMocoSteps(fx);
      return { ...compareMocoRun(fx, got), backend: got.backend ?? '', millis: performance.now() - t0 };
    },

    /** Runs this worker is driving now (a page that reloads asks, to tell interrupted runs from live ones). */
    async pretrainActive(_: null, _ctx: CallContext<never>): Promise<string[]> {
      return [...active];
    },
  };
}
