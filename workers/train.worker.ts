// The training worker: owns the tfjs backend. Thin: each method calls into src/core.
import * as tf from '@tensorflow/tfjs';
import { expose } from '../src/bridge/expose.ts';
import type { CallContext } from '../src/bridge/protocol.ts';
import { initBackend, type BackendInfo, type BackendPreference } from '../src/core/backend/backend.ts';
import { parityRun, type ParityRunInput, type ParityRunOutput } from '../src/core/models/parity.ts';
import { WASM_PATHS } from './wasm-paths.ts';
import { augmentDiagnostics } from './train/augment-diagnostics.ts';
import { benchDiagnostics } from './train/bench-diagnostics.ts';
import { kernelDiagnostics } from './train/kernel-diagnostics.ts';
import { finetuneApi } from './train/finetune.ts';
import { pretrainApi } from './train/pretrain.ts';

let backend: BackendInfo | null = null;
let deviceLost: string | null = null;
let lastPreference: BackendPreference = 'auto';

export interface OpCheck {
  backend: string;
  /** A 64x64 matmul computed on the backend, compared with the same product in plain JS. */
  maxAbsError: number;
  millis: number;
}

async function startBackend(preference: BackendPreference): Promise<BackendInfo> {
  deviceLost = null;
  lastPreference = preference;
  backend = await initBackend(preference, {
    wasmPaths: WASM_PATHS,
    onDeviceLost: (reason) => {
      deviceLost = reason;
    },
  });
  return backend;
}

const api = {
  async initBackend(preference: BackendPreference, _ctx: CallContext<never>): Promise<BackendInfo> {
    return startBackend(preference);
  },

  async backendStatus(_: null, _ctx: CallContext<never>): Promise<{ backend: BackendInfo | null; deviceLost: string | null; memory: tf.MemoryInfo }> {
    return { backend, deviceLost, memory: tf.memory() };
  },

  /** Runs one real op on the active backend and checks it against plain arithmetic. */
  async checkOp(_: null, _ctx: CallContext<never>): Promise<OpCheck> {
    if (!backend) throw new Error('backend not initialised: call initBackend first');
    const n = 64;
    const a = Float32Array.from({ length: n * n }, (_, i) => Math.sin(i) * 0.5);
    const b = Float32Array.from({ length: n * n }, (_, i) => Math.cos(i * 0.7) * 0.5);
    const t0 = performance.now();
    const c = tf.tidy(() => tf.matMul(tf.tensor2d(a, [n, n]), tf.tensor2d(b, [n, n])));
    const got = await c.data();
    c.dispose();
    const millis = performance.now() - t0;
    let maxAbsError = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k]! * b[k * n + j]!;
        maxAbsError = Math.max(maxAbsError, Math.abs(s - got[i * n + j]!));
      }
    return { backend: tf.getBackend(), maxAbsError, millis };
  },

  /** Diagnostics: one forward (eval, or train with optional gradients) of a model from a state dict on the
   *  active backend, for parity checks against torchvision (e2e/models-webgpu.spec.ts). */
  async modelParity(input: ParityRunInput, _ctx: CallContext<never>): Promise<ParityRunOutput> {
    if (!backend) throw new Error('backend not initialised: call initBackend first');
    return parityRun(input);
  },

  /** Diagnostics: an error thrown inside a call reaches the page with its message. */
  async fail(message: string, _ctx: CallContext<never>): Promise<never> {
    throw new Error(message);
  },

  /** Diagnostics: an error thrown outside any call crashes the worker; the bridge restarts it. */
  async crash(message: string, _ctx: CallContext<never>): Promise<void> {
    setTimeout(() => {
      throw new Error(message);
    }, 0);
    await new Promise(() => undefined);
  },

  /** Diagnostics: waits until aborted, reporting progress, to prove cancellation crosses the bridge. */
  async waitForAbort(_: null, ctx: CallContext<number>): Promise<string> {
    let ticks = 0;
    while (!ctx.signal.aborted) {
      ctx.progress(++ticks);
      await new Promise((r) => setTimeout(r, 20));
    }
    return `aborted after ${ticks} ticks`;
  },

  ...finetuneApi({
    deviceLost: () => deviceLost,
    hasBackend: () => backend !== null,
  }),
  ...pretrainApi({
    restoreBackend: async () => {
      await startBackend(lastPreference);
    },
    deviceLost: () => deviceLost,
    hasBackend: () => backend !== null,
  }),
  ...kernelDiagnostics,
  ...augmentDiagnostics,
  ...benchDiagnostics,
};

export type TrainWorkerApi = typeof api;
expose(api);
