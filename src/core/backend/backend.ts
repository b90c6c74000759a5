// Backend choice for TensorFlow.js, shared by every worker (and by Node, where only cpu and wasm exist).
//
// `auto` prefers real GPUs: webgpu on a hardware adapter, then webgl on a hardware renderer, then wasm,
// then cpu. A software adapter (SwiftShader, `isFallbackAdapter`) emulates the GPU on the CPU and is
// several times slower than wasm there, so `auto` skips it; the user can still pick it explicitly,
// which is how the end-to-end tests prove the webgpu path in headless Chromium.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendName, BackendPreference } from './names.ts';
import { probeWebGpu, probeWebGl, type GpuAdapterReport, type GlRendererReport } from './probe.ts';
import { registerAppKernels } from './kernels/index.ts';

export { BACKEND_NAMES, type BackendName, type BackendPreference } from './names.ts';

export interface BackendInfo {
  /** The backend tfjs runs on now. */
  active: BackendName;
  preference: BackendPreference;
  /** Why `auto` chose what it chose, or what failed on the way (one line each). */
  notes: string[];
  webgpu: GpuAdapterReport | null;
  webgl: GlRendererReport | null;
  /** Where this runs: a dedicated worker, a page, or Node. */
  context: 'worker' | 'page' | 'node';
}

export interface BackendOptions {
  /** URL prefix or file map of the tfjs wasm binaries; workers get these from the bundler. */
  wasmPaths?: string | Record<string, string>;
  /** Called when the GPU device is lost after the backend was set up (driver reset, OOM, tab in background). */
  onDeviceLost?: (reason: string) => void;
}

let webgpuDevice: GPUDevice | null = null;

function runtimeContext(): BackendInfo['context'] {
  const g = globalThis as { WorkerGlobalScope?: unknown; importScripts?: unknown; process?: { versions?: { node?: string } } };
  if (typeof g.WorkerGlobalScope !== 'undefined' && typeof g.importScripts === 'function') return 'worker';
  if (g.process?.versions?.node) return 'node';
  return 'page';
}

/**
 * Registers our own webgpu factory so that we own the adapter and device: we know which adapter tfjs
 * runs on (tfjs's own factory asks for one silently) and can watch `device.lost`.
 */
async function registerWebGpu(report: GpuAdapterReport, adapter: GPUAdapter, opts: BackendOptions): Promise<void> {
  const limits = adapter.limits;
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  void device.lost.then((info) => {
    if (webgpuDevice !== device) return;
    webgpuDevice = null;
    opts.onDeviceLost?.(`${info.reason}: ${info.message}`);
  });
  webgpuDevice = device;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  // WebGPUBackend's second argument is the adapter info; tfjs reads vendor/architecture from it.
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, report.info as unknown as GPUAdapterInfo), 3);
}

async function trySetBackend(name: BackendName, notes: string[]): Promise<boolean> {
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    if (!ok || tf.getBackend() !== name) {
      notes.push(`${name}: tfjs could not initialise it`);
      return false;
    }
    // One tiny op proves kernels compile and run on this backend.
    const probe = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.scalar(1)).sum());
    const value = (await probe.data())[0];
    probe.dispose();
    if (value !== 5) {
      notes.push(`${name}: a test op returned ${value}, expected 5`);
      return false;
    }
    return true;
  } catch (e) {
    notes.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    return false;
  }
}

/** Chooses and activates a tfjs backend; returns what runs and why. */
export async function initBackend(preference: BackendPreference = 'auto', opts: BackendOptions = {}): Promise<BackendInfo> {
  const notes: string[] = [];
  const context = runtimeContext();
  if (opts.wasmPaths) setWasmPaths(opts.wasmPaths);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // threaded wasm hangs in a bundled worker

  const gpu = await probeWebGpu();
  const gl = context === 'node' ? null : probeWebGl();
  if (gpu.adapter && gpu.report) await registerWebGpu(gpu.report, gpu.adapter, opts).catch((e: unknown) => {
    notes.push(`webgpu: requestDevice failed: ${e instanceof Error ? e.message : String(e)}`);
  });
  else if (gpu.error) notes.push(`webgpu: ${gpu.error}`);

  let order: BackendName[];
  if (preference === 'auto') {
    order = [];
    if (gpu.report && !gpu.report.isFallbackAdapter) order.push('webgpu');
    else if (gpu.report) notes.push(`webgpu: skipped by auto, software adapter (${gpu.report.description})`);
    if (gl && !gl.software) order.push('webgl');
    else if (gl) notes.push(`webgl: skipped by auto, software renderer (${gl.renderer})`);
    order.push('wasm', 'cpu');
  } else {
    // An explicit choice is honoured if it works at all; cpu is the last resort.
    order = preference === 'cpu' ? ['cpu'] : [preference, 'cpu'];
  }

  let active: BackendName | null = null;
  for (const name of order) {
    if (await trySetBackend(name, notes)) {
      active = name;
      break;
    }
  }
  if (!active) throw new Error(`no tfjs backend could start: ${notes.join('; ')}`);
  registerAppKernels(active);
  if (preference !== 'auto' && active !== preference) notes.push(`${preference} was requested but ${active} runs`);
  return { active, preference, notes, webgpu: gpu.report, webgl: gl, context };
}

/** The GPU device tfjs runs on, when the active backend is webgpu. */
export function currentWebGpuDevice(): GPUDevice | null {
  return tf.getBackend() === 'webgpu' ? webgpuDevice : null;
}
