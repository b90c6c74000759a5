// The filter gradient on webgpu as one tiled matrix product in WGSL, gathering the input windows on the
// fly (no im2col matrix in memory): dW viewed as [R, Co] with R = kh*kw*Ci rows (HWIO order, so row r,
// column co is exactly dW's flat index r*Co + co) is A[R, M] x dy[M, Co], A[r, m] the input value under
// tap r for output position m. Each workgroup of 16x16 threads owns a 64x64 tile of dW, each thread a 4x4
// block of it, and walks M in steps of 16 through workgroup memory.
//
// The early layers have few outputs (ResNet's stem: 147 x 64, three tiles) and a long M (N*Ho*Wo), so M
// is also split across workgroups (split-K): each split writes its partial tile and a second program sums
// them. tfjs's program API gives a program one output, hence two programs rather than atomics.
import type * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { FilterGradGeometry } from './conv2d-backprop-filter.ts';

const TILE = 64;
const STEP = 16;
/** Enough workgroups to fill a discrete GPU; each split keeps at least MIN_CHUNK rows of M. */
const TARGET_WORKGROUPS = 256;
const MIN_CHUNK = 256;
const MAX_SPLITS = 64;

type Uniform = { type: 'int32'; data: number[] };
const int = (v: number): Uniform => ({ type: 'int32', data: [v] });

class FilterGradProgram implements WebGPUProgram {
  variableNames = ['x', 'dy'];
  uniforms =
    'rows : i32, inC : i32, kw : i32, padTop : i32, padLeft : i32, strideH : i32, strideW : i32, inH : i32, inW : i32, ' +
    'outW : i32, outHW : i32, outC : i32, mTotal : i32, chunk : i32,';
  workgroupSize: [number, number, number] = [256, 1, 1];
  outputShape: number[];
  // Flat layout: tfjs then calls main(index); the shader ignores index and works from workgroupId.
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey = 'mocoCxrConv2dDerFilterTiled';

  constructor(outputShape: number[], dispatch: [number, number, number]) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = dispatch;
  }

  getUserCode(): string {
    // The loop runs chunk/STEP times in every workgroup (a uniform count, as workgroupBarrier requires);
    // loads past the split's end or the tensors' edges read zero.
    return `
      var<workgroup> tileA : array<f32, ${STEP * TILE}>;
      var<workgroup> tileB : array<f32, ${STEP * TILE}>;

      fn main(index : i32) {
        let tid = i32(localIndex);
        let colBase = i32(workgroupId.x) * ${TILE};
        let rowBase = i32(workgroupId.y) * ${TILE};
        let split = i32(workgroupId.z);
        let mBegin = split * uniforms.chunk;
        let mEnd = min(mBegin + uniforms.chunk, uniforms.mTotal);

        // What this thread loads: row (rowBase + lane) of A and column (colBase + lane) of dy, at
        // reduction offsets kk0, kk0 + 4, kk0 + 8, kk0 + 12 of each step.
        let lane = tid % ${TILE};
        let kk0 = tid / ${TILE};
        let r = rowBase + lane;
        let rowOk = r < uniforms.rows;
        let ci = r % uniforms.inC;
        let tapIdx = r / uniforms.inC;
        let offH = tapIdx / uniforms.kw - uniforms.padTop;
        let offW = tapIdx % uniforms.kw - uniforms.padLeft;
        let co = colBase + lane;
        let colOk = co < uniforms.outC;

        // What this thread computes: rows ty*4.., columns tx*4.. of the tile.
        let tx = tid % 16;
        let ty = tid / 16;
        var acc0 = vec4<f32>(0.0);
        var acc1 = vec4<f32>(0.0);
        var acc2 = vec4<f32>(0.0);
        var acc3 = vec4<f32>(0.0);

        let steps = uniforms.chunk / ${STEP};
        for (var s = 0; s < steps; s = s + 1) {
          for (var q = 0; q < 4; q = q + 1) {
            let kk = kk0 + 4 * q;
            let m = mBegin + s * ${STEP} + kk;
            var a = 0.0;
            var b = 0.0;
            if (m < mEnd) {
              let nIdx = m / uniforms.outHW;
              let rem = m - nIdx * uniforms.outHW;
              let oh = rem / uniforms.outW;
              let ow = rem - oh * uniforms.outW;
              let ih = oh * uniforms.strideH + offH;
              let iw = ow * uniforms.strideW + offW;
              if (rowOk && ih >= 0 && ih < uniforms.inH && iw >= 0 && iw < uniforms.inW) {
                a = x[((nIdx * uniforms.inH + ih) * uniforms.inW + iw) * uniforms.inC + ci];
              }
              if (colOk) {
                b = dy[m * uniforms.outC + co];
              }
            }
            tileA[kk * ${TILE} + lane] = a;
            tileB[kk * ${TILE} + lane] = b;
          }
          workgroupBarrier();
          for (var kk = 0; kk < ${STEP}; kk = kk + 1) {
            let ab = kk * ${TILE} + ty * 4;
            let bb = kk * ${TILE} + tx * 4;
            let bv = vec4<f32>(tileB[bb], tileB[bb + 1], tileB[bb + 2], tileB[bb + 3]);
            acc0 = acc0 + tileA[ab] * bv;
            acc1 = acc1 + tileA[ab + 1] * bv;
            acc2 = acc2 + tileA[ab + 2] * bv;
            acc3 = acc3 + tileA[ab + 3] * bv;
          }
          workgroupBarrier();
        }

        let base = split * uniforms.rows * uniforms.outC;
        var accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3); // var: indexed by a loop counter below
        for (var i = 0; i < 4; i = i + 1) {
          let row = rowBase + ty * 4 + i;
          if (row < uniforms.rows) {
            for (var j = 0; j < 4; j = j + 1) {
              let col = colBase + tx * 4 + j;
              if (col < uniforms.outC) {
                result[base + row * uniforms.outC + col] = accs[i][j];
              }
            }
          }
        }
      }
    `;
  }
}

/** Sums the split-K partials [splits, size] into the filter gradient. */
class SplitSumProgram implements WebGPUProgram {
  variableNames = ['partial'];
  uniforms = 'splits : i32,';
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey = 'mocoCxrSplitKSum';

  constructor(outputShape: number[]) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    const size = outputShape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(size / this.workgroupSize[0]), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          var sum = 0.0;
          for (var s = 0; s < uniforms.splits; s = s + 1) {
            sum = sum + partial[s * uniforms.size + index];
          }
          result[index] = sum;
        }
      }
    `;
  }
}

/** How many parts M is cut into, and how long each is (a multiple of the step). */
export function splitK(rows: number, outC: number, m: number): { splits: number; chunk: number } {
  const tiles = Math.ceil(rows / TILE) * Math.ceil(outC / TILE);
  const want = Math.max(1, Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.floor(m / MIN_CHUNK), MAX_SPLITS));
  const chunk = Math.max(STEP, Math.ceil(Math.ceil(m / want) / STEP) * STEP);
  return { splits: Math.max(1, Math.ceil(m / chunk)), chunk };
}

export function filterGradWebGpu(backend: WebGPUBackend, x: tf.TensorInfo, dy: tf.TensorInfo, g: FilterGradGeometry): tf.TensorInfo {
  const rows = g.kh * g.kw * g.inC;
  const m = g.n * g.outH * g.outW;
  const filterShape = [g.kh, g.kw, g.inC, g.outC];
  const { splits, chunk } = splitK(rows, g.outC, m);
  const dispatch: [number, number, number] = [Math.ceil(g.outC / TILE), Math.ceil(rows / TILE), splits];
  const program = new FilterGradProgram(splits === 1 ? filterShape : [splits, rows * g.outC], dispatch);
  const uniforms = [rows, g.inC, g.kw, g.top, g.left, g.sh, g.sw, g.inH, g.inW, g.outW, g.outH * g.outW, g.outC, m, chunk].map(int);
  const out = backend.runWebGPUProgram(program, [x, dy], 'float32', uniforms);
  if (splits === 1) return out;
  const sum = backend.runWebGPUProgram(new SplitSumProgram(filterShape), [out], 'float32', [int(splits)]);
  // Safe right after queuing: the backend defers freeing a buffer that a pending command uses.
  backend.disposeData(out.dataId);
  return sum;
}
