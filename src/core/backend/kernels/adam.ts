// One Adam step for one parameter as a single custom kernel ('MocoCxrAdamUpdate'): PyTorch 1.13's
// torch.optim.Adam (amsgrad and maximize off, L2 weight decay added to the gradient), float32, in its
// order of operations (the multiply-adds fused where torch's CPU kernels fuse them, see adamLoop):
//   g = grad + wd*param (wd != 0);  m = b1*m + (1-b1)*g;  v = b2*v + ((1-b2)*g)*g;
//   denom = sqrt(v)/sqrt(bc2) + eps;  param = param - (stepSize*m)/denom
// with bc1 = 1 - b1^step, bc2 = 1 - b2^step, stepSize = lr/bc1 and sqrt(bc2) computed in float64 on the
// host, then rounded to float32 as torch's CPU kernels see them. From tf ops the same update is about a
// dozen kernels and temporaries per parameter per step; here it is one pass over the data.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { asTensor, handOff, isRegistered, replaceKernel } from './registry.ts';
import { adamWebGpu } from './adam-webgpu.ts';

export const ADAM_UPDATE = 'MocoCxrAdamUpdate';
export const ADAM_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1 on the first update (PyTorch's state['step'] after its increment). */
  step: number;
}

/** The kernel's attributes: every constant of the update, float32-rounded. */
export interface AdamScalars {
  weightDecay: number;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  stepSize: number;
  bc2Sqrt: number;
  eps: number;
}

const f32 = Math.fround;

export function adamScalars(h: AdamHyper): AdamScalars {
  if (!(h.step >= 1) || !Number.isInteger(h.step)) throw new Error(`adamUpdate: step must be an integer >= 1, got ${h.step}`);
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  return {
    weightDecay: f32(h.weightDecay),
    beta1: f32(h.beta1),
    oneMinusBeta1: f32(1 - h.beta1),
    beta2: f32(h.beta2),
    oneMinusBeta2: f32(1 - h.beta2),
    stepSize: f32(h.lr / bc1),
    bc2Sqrt: f32(Math.sqrt(bc2)),
    eps: f32(h.eps),
  };
}

/**
 * The update over plain arrays, in float32 exactly as torch 1.13's CPU kernels compute it on an AVX2
 * machine (Debian's build): `add_(x, alpha=a)` and `addcmul_` end in a fused multiply-add there, so the
 * weight decay, the first-moment update and the last step of the second-moment update are rounded once,
 * everything else after each operation. A product of two float32 values is exact in float64, so
 * f32(c + a*b) in float64 is that fused multiply-add (up to a double rounding too rare to matter); with
 * these rules the fixtures of scripts/fixtures/torch_kernels.py are reproduced bit for bit.
 * `fused: false` rounds those products too: what a backend without fused multiply-adds computes (separate
 * tf ops, or a GPU that evaluates WGSL's fma() as a multiply and an add, as SwiftShader does).
 */
export function adamLoop(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  s: AdamScalars,
  out: { param: Float32Array; expAvg: Float32Array; expAvgSq: Float32Array },
  fused = true,
): void {
  const { weightDecay: wd, beta1, oneMinusBeta1, beta2, oneMinusBeta2, stepSize, bc2Sqrt, eps } = s;
  const r = fused ? (x: number) => x : f32; // rounding of the products that torch fuses into an add
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    const gi = wd !== 0 ? f32(g[i]! + r(wd * pi)) : g[i]!;
    const mi = f32(f32(beta1 * m[i]!) + r(oneMinusBeta1 * gi));
    const vi = f32(f32(beta2 * v[i]!) + r(f32(oneMinusBeta2 * gi) * gi));
    const denom = f32(f32(f32(Math.sqrt(vi)) / bc2Sqrt) + eps);
    out.param[i] = f32(pi - f32(f32(stepSize * mi) / denom));
    out.expAvg[i] = mi;
    out.expAvgSq[i] = vi;
  }
}

type Inputs = { param: tf.TensorInfo; grad: tf.TensorInfo; expAvg: tf.TensorInfo; expAvgSq: tf.TensorInfo };

/** The cpu backend's storage, as far as this kernel uses it (the class is not a direct dependency). */
interface CpuBackend {
  data: { get(dataId: tf.DataId): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

function adamCpu(backend: CpuBackend, inp: Inputs, s: AdamScalars): tf.TensorInfo[] {
  const read = (t: tf.TensorInfo) => backend.data.get(t.dataId).values as Float32Array;
  const n = read(inp.param).length;
  const out = { param: new Float32Array(n), expAvg: new Float32Array(n), expAvgSq: new Float32Array(n) };
  adamLoop(read(inp.param), read(inp.grad), read(inp.expAvg), read(inp.expAvgSq), s, out);
  const shape = inp.param.shape;
  return [out.param, out.expAvg, out.expAvgSq].map((values) => backend.makeTensorInfo(shape, 'float32', values));
}

function adamWasm(backend: BackendWasm, inp: Inputs, s: AdamScalars): tf.TensorInfo[] {
  const shape = inp.param.shape;
  // Allocate every output before taking views: an allocation may grow the wasm memory and detach them.
  const outs = [0, 1, 2].map(() => backend.makeOutput(shape, 'float32'));
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  const [p, m, v] = outs.map(view) as [Float32Array, Float32Array, Float32Array];
  adamLoop(view(inp.param), view(inp.grad), view(inp.expAvg), view(inp.expAvgSq), s, { param: p, expAvg: m, expAvgSq: v });
  return outs;
}

/** From tf ops (webgl): the same float32 operations, one kernel each, none fused. Exported for the Node tests. */
export function adamOps(backend: tf.KernelBackend, inp: Inputs, s: AdamScalars): tf.TensorInfo[] {
  const views = [inp.param, inp.grad, inp.expAvg, inp.expAvgSq].map((t) => asTensor(t, backend));
  const outs = tf.tidy(() => {
    const [p, g0, m0, v0] = views.map((x) => x.t) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const k = (x: number) => tf.scalar(x, 'float32');
    const g = s.weightDecay !== 0 ? tf.add(g0, tf.mul(k(s.weightDecay), p)) : g0;
    const m = tf.add(tf.mul(k(s.beta1), m0), tf.mul(k(s.oneMinusBeta1), g));
    const v = tf.add(tf.mul(k(s.beta2), v0), tf.mul(tf.mul(k(s.oneMinusBeta2), g), g));
    const denom = tf.add(tf.div(tf.sqrt(v), k(s.bc2Sqrt)), k(s.eps));
    return [tf.sub(p, tf.div(tf.mul(k(s.stepSize), m), denom)), m, v];
  });
  for (const x of views) x.release();
  return outs.map((t) => handOff(t, backend));
}

export const adamKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const inp = inputs as unknown as Inputs;
  const s = attrs as unknown as AdamScalars;
  switch (tf.getBackend()) {
    case 'webgpu':
      return adamWebGpu(backend as unknown as WebGPUBackend, inp, s);
    case 'wasm':
      return adamWasm(backend as unknown as BackendWasm, inp, s);
    case 'cpu':
      return adamCpu(backend as unknown as CpuBackend, inp, s);
    default:
      return adamOps(backend as tf.KernelBackend, inp, s);
  }
};

export function registerAdam(backendName: string): void {
  replaceKernel(ADAM_UPDATE, backendName, adamKernel);
}

export function adamRegistered(backendName: string): boolean {
  return isRegistered(ADAM_UPDATE, backendName, adamKernel);
}

/**
 * One Adam step: new tensors for the parameter and both moments (the caller assigns them to its variables
 * and disposes the old ones). All four inputs are float32 of one shape.
 */
export function adamUpdate(
  param: tf.Tensor,
  grad: tf.Tensor,
  expAvg: tf.Tensor,
  expAvgSq: tf.Tensor,
  h: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number },
): { param: tf.Tensor; expAvg: tf.Tensor; expAvgSq: tf.Tensor } {
  const named = { param, grad, expAvg, expAvgSq };
  for (const [k, t] of Object.entries(named)) {
    if (t.dtype !== 'float32') throw new Error(`adamUpdate: ${k} is ${t.dtype}, expected float32`);
    if (!tf.util.arraysEqual(t.shape, param.shape)) throw new Error(`adamUpdate: ${k} has shape [${t.shape}], param [${param.shape}]`);
  }
  const attrs = adamScalars(h);
  // Registering is a registry lookup when already done; it keeps the op usable before initBackend ran.
  registerAdam(tf.getBackend());
  const [p, m, v] = tf.engine().runKernel(ADAM_UPDATE, named, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { param: p!, expAvg: m!, expAvgSq: v! };
}
