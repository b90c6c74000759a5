// The fused Adam update on webgpu. tfjs's program API gives a program exactly one output buffer (inputs
// are bound read-only), so the three results come from three small elementwise programs: the moments
// first, then the parameter from the new moments. Each still reads every operand once and writes one
// result, against about a dozen elementwise programs and temporaries for the same update from tf ops.
import type * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { AdamScalars } from './adam.ts';

type Output = 'expAvg' | 'expAvgSq' | 'param';

// float32 throughout, in PyTorch 1.13's order (torch.optim.Adam, _single_tensor_adam), with fma() where
// torch's CPU kernels fuse (adam.ts, adamLoop). WGSL lets an implementation evaluate fma unfused, which
// moves a result by an ulp at most.
const GRAD = (wd: boolean) => (wd ? 'fma(uniforms.wd, P[index], G[index])' : 'G[index]');
const BODY: Record<Output, (wd: boolean) => string> = {
  expAvg: (wd) => `let g = ${GRAD(wd)};
          result[index] = fma(uniforms.omb1, g, uniforms.b1 * M[index]);`,
  expAvgSq: (wd) => `let g = ${GRAD(wd)};
          result[index] = fma(uniforms.omb2 * g, g, uniforms.b2 * V[index]);`,
  param: () => `let denom = sqrt(V[index]) / uniforms.bc2Sqrt + uniforms.eps;
          result[index] = P[index] - (uniforms.stepSize * M[index]) / denom;`,
};

class AdamProgram implements WebGPUProgram {
  variableNames: string[];
  uniforms = 'wd : f32, b1 : f32, omb1 : f32, b2 : f32, omb2 : f32, stepSize : f32, bc2Sqrt : f32, eps : f32,';
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey: string;

  constructor(
    private readonly output: Output,
    private readonly wd: boolean,
    shape: number[],
  ) {
    const uses: Record<Output, string[]> = { expAvg: ['G', 'M'], expAvgSq: ['G', 'V'], param: ['P', 'M', 'V'] };
    this.variableNames = output !== 'param' && wd ? ['P', ...uses[output]] : uses[output];
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(shape.reduce((a, b) => a * b, 1) / this.workgroupSize[0]), 1, 1];
    this.shaderKey = `mocoCxrAdam_${output}_${wd}`;
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${BODY[this.output](this.wd)}
        }
      }
    `;
  }
}

export function adamWebGpu(
  backend: WebGPUBackend,
  inp: { param: tf.TensorInfo; grad: tf.TensorInfo; expAvg: tf.TensorInfo; expAvgSq: tf.TensorInfo },
  s: AdamScalars,
): tf.TensorInfo[] {
  const shape = inp.param.shape;
  const wd = s.weightDecay !== 0;
  const uniforms = [s.weightDecay, s.beta1, s.oneMinusBeta1, s.beta2, s.oneMinusBeta2, s.stepSize, s.bc2Sqrt, s.eps].map((v) => ({
    type: 'float32' as const,
    data: [v],
  }));
  const pre = wd ? [inp.param] : [];
  const m = backend.runWebGPUProgram(new AdamProgram('expAvg', wd, shape), [...pre, inp.grad, inp.expAvg], 'float32', uniforms);
  const v = backend.runWebGPUProgram(new AdamProgram('expAvgSq', wd, shape), [...pre, inp.grad, inp.expAvgSq], 'float32', uniforms);
  const p = backend.runWebGPUProgram(new AdamProgram('param', wd, shape), [inp.param, m, v], 'float32', uniforms);
  return [p, m, v];
}
