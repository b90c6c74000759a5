// The one contract between the page and its workers: every worker method takes an input and a call
// context (an AbortSignal and a progress callback) and returns a promise. The bridge carries the
// signal over a MessagePort and the progress callback as a comlink proxy.

export interface CallContext<P> {
  signal: AbortSignal;
  progress: (p: P) => void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WorkerMethod<I = any, O = any, P = any> = (input: I, ctx: CallContext<P>) => Promise<O>;
export type WorkerApi = Record<string, WorkerMethod>;

export type InputOf<M> = M extends WorkerMethod<infer I, unknown, unknown> ? I : never;
// `ctx: never` accepts any context type: a method whose progress type is not `never` is still matched
// when it is a function-typed property (strict variance), not only when it is a method (bivariant).
export type OutputOf<M> = M extends (input: never, ctx: never) => Promise<infer O> ? O : never;
export type ProgressOf<M> = M extends WorkerMethod<never, unknown, infer P> ? P : never;

/** What the page-side comlink proxy sees of an exposed worker. */
export interface ExposedWorker {
  call(method: string, input: unknown, abortPort: MessagePort, progress: (p: unknown) => void): Promise<unknown>;
}

/** Rebuilds an error that crossed the worker boundary with its name kept (comlink keeps name and message). */
export function isAbortError(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

export function abortError(reason = 'cancelled'): Error {
  const e = new Error(reason);
  e.name = 'AbortError';
  return e;
}
