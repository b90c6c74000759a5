// Training-worker methods that check the app's own tfjs kernels (src/core/backend/kernels) against the
// stock kernels on the active backend. Spread into the worker's API by train.worker.ts.
import type { CallContext } from '../../src/bridge/protocol.ts';

export const kernelDiagnostics = {} satisfies Record<string, (input: never, ctx: CallContext<never>) => Promise<unknown>>;
