// Training-worker methods for device-side augmentation (src/core/augment): parity checks and previews.
// Spread into the worker's API by train.worker.ts.
import type { CallContext } from '../../src/bridge/protocol.ts';

export const augmentDiagnostics = {} satisfies Record<string, (input: never, ctx: CallContext<never>) => Promise<unknown>>;
