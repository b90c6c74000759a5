// tf.profile with nesting resolved: which kernels ran, with their shapes and times, each counted once.
//
// tf.profile records every engine call flat, in the order they finish, and two kinds of call contain
// others: a tf.customGrad op (the models' conv2d) is recorded under its scope name, not a kernel name,
// after the kernels its forward ran; a kernel built from tf ops (src/core/backend/kernels) is recorded
// after the kernels it ran inside. Summing the flat list counts such work twice. We note the engine's
// kernel depth when each record is pushed (a nested call is pushed at a greater depth than its parent,
// before it), rebuild the tree, and keep the outermost registered kernels: a custom kernel counts as
// itself with its whole time, a customGrad wrapper is replaced by what it ran.
import * as tf from '@tensorflow/tfjs';

export interface KernelCall {
  name: string;
  /** Shapes of the kernel's inputs in the order the op passed them (null for an absent optional input). */
  inputShapes: (number[] | null)[];
  outputShapes: number[][];
  /** The backend's own timing: wall time on cpu and wasm, GPU timestamps on webgpu (0 without
   *  timestamp-query), GPU timer queries on webgl. */
  ms: number;
}

interface Node extends KernelCall {
  depth: number;
  children: Node[];
}

/** Runs `f` under tf.profile and returns its result with the outermost registered kernels it ran. */
export async function profileKernels<T>(f: () => T | Promise<T>): Promise<{ result: T; calls: KernelCall[]; wallMs: number }> {
  const engine = tf.engine();
  const depths: number[] = [];
  let result: T | undefined;
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    // tf.profile has just replaced activeProfile.kernels with a fresh array; record the depth of each push.
    const records = engine.state.activeProfile.kernels;
    records.push = (...items) => {
      for (let i = 0; i < items.length; i++) depths.push(engine.state.kernelDepth);
      return Array.prototype.push.apply(records, items);
    };
    result = await f();
    return []; // the result travels in `result`: tf.profile wants tensors
  });
  const wallMs = performance.now() - t0;
  const backendName = tf.getBackend();
  const nodes: Node[] = info.kernels.map((k, i) => ({
    name: k.name,
    inputShapes: k.inputShapes as (number[] | null)[],
    outputShapes: k.outputShapes,
    ms: typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0,
    depth: depths[i] ?? 0,
    children: [],
  }));
  // Children finish, and are pushed, before their parent: a record adopts the unclaimed deeper ones before it.
  const pending: Node[] = [];
  for (const n of nodes) {
    const kids: Node[] = [];
    while (pending.length && pending[pending.length - 1]!.depth > n.depth) kids.unshift(pending.pop()!);
    n.children = kids;
    pending.push(n);
  }
  const calls: KernelCall[] = [];
  const visit = (n: Node): void => {
    if (tf.getKernel(n.name, backendName)) calls.push({ name: n.name, inputShapes: n.inputShapes, outputShapes: n.outputShapes, ms: n.ms });
    else n.children.forEach(visit);
  };
  pending.forEach(visit);
  return { result: result as T, calls, wallMs };
}
