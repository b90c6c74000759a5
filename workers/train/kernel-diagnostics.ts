// Training-worker methods that check the app's own tfjs kernels (src/core/backend/kernels) against the
// stock kernels on the active backend. Spread into the worker's API by train.worker.ts.
import type { CallContext } from '../../src/bridge/protocol.ts';
import { kernelCheck, type KernelCheckInput, type KernelCheckOutput } from '../../src/core/backend/kernels/check.ts';

export const kernelDiagnostics = {
  /** Our Conv2DBackpropFilter and Adam next to tfjs's own and to given answers (e2e/kernels-webgpu.spec.ts). */
  async kernelCheck(input: KernelCheckInput, _ctx: CallContext<never>): Promise<KernelCheckOutput> {
    return kernelCheck(input);
  },
} satisfies Record<string, (input: never, ctx: CallContext<never>) => Promise<unknown>>;
