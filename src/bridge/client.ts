// Page side of the bridge: one typed `call` per worker, with an AbortSignal and a progress callback.
// A worker that crashes (an uncaught error, a failed module load) rejects every pending call with its
// message and is started afresh on the next call.
import * as Comlink from 'comlink';
import { abortError, type ExposedWorker, type InputOf, type OutputOf, type ProgressOf, type WorkerApi } from './protocol.ts';

export interface CallOptions<P> {
  signal?: AbortSignal;
  onProgress?: (p: P) => void;
}

interface Pending {
  reject: (e: Error) => void;
}

export class WorkerBridge<Api extends WorkerApi> {
  private worker: Worker | null = null;
  private remote: Comlink.Remote<ExposedWorker> | null = null;
  private readonly pending = new Set<Pending>();
  /** Number of times the worker was (re)started; the UI shows restarts. */
  starts = 0;
  onCrash: ((message: string) => void) | null = null;

  constructor(
    readonly name: string,
    private readonly create: () => Worker,
  ) {}

  private ensure(): Comlink.Remote<ExposedWorker> {
    if (this.remote) return this.remote;
    const worker = this.create();
    this.starts++;
    worker.addEventListener('error', (ev: ErrorEvent) => {
      ev.preventDefault();
      this.crashed(ev.message || 'the worker script failed to load or threw outside a call');
    });
    worker.addEventListener('messageerror', () => this.crashed('a message from the worker could not be read'));
    this.worker = worker;
    this.remote = Comlink.wrap<ExposedWorker>(worker);
    return this.remote;
  }

  private crashed(message: string): void {
    const text = `${this.name} worker crashed: ${message}`;
    this.reset();
    for (const p of [...this.pending]) p.reject(new Error(text));
    this.pending.clear();
    this.onCrash?.(text);
  }

  private reset(): void {
    this.remote?.[Comlink.releaseProxy]();
    this.worker?.terminate();
    this.worker = null;
    this.remote = null;
  }

  async call<M extends keyof Api & string>(
    method: M,
    input: InputOf<Api[M]>,
    opts: CallOptions<ProgressOf<Api[M]>> = {},
  ): Promise<OutputOf<Api[M]>> {
    const { signal, onProgress } = opts;
    if (signal?.aborted) throw abortError();
    const remote = this.ensure();
    const { port1, port2 } = new MessageChannel();
    const onAbort = () => port1.postMessage('abort');
    signal?.addEventListener('abort', onAbort, { once: true });
    const progress = Comlink.proxy((p: unknown) => onProgress?.(p as ProgressOf<Api[M]>));
    let pending: Pending | undefined;
    const crash = new Promise<never>((_, reject) => {
      pending = { reject };
      this.pending.add(pending);
    });
    try {
      const result = remote.call(method, input, Comlink.transfer(port2, [port2]), progress);
      return (await Promise.race([result, crash])) as OutputOf<Api[M]>;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      port1.close();
      if (pending) this.pending.delete(pending);
    }
  }

  /** Stops the worker now; pending calls fail, the next call starts a new one. */
  terminate(reason = 'stopped'): void {
    const err = new Error(`${this.name} worker ${reason}`);
    this.reset();
    for (const p of [...this.pending]) p.reject(err);
    this.pending.clear();
  }
}
