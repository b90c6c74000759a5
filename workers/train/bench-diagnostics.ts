// Training-worker methods for benchmarks (scripts/bench): timed MoCo steps and the device's peak FLOP/s.
// Spread into the worker's API by train.worker.ts.
import type { CallContext } from '../../src/bridge/protocol.ts';

export const benchDiagnostics = {} satisfies Record<string, (input: never, ctx: CallContext<never>) => Promise<unknown>>;
