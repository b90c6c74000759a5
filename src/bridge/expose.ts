// Worker side of the bridge: `expose(api)` in a worker module makes each method callable from the page.
import * as Comlink from 'comlink';
import type { ExposedWorker, WorkerApi } from './protocol.ts';

export function expose(api: WorkerApi): void {
  const exposed: ExposedWorker = {
    async call(method, input, abortPort, progress) {
      const fn = Object.hasOwn(api, method) ? api[method] : undefined;
      if (!fn) throw new Error(`worker has no method "${method}"`);
      const controller = new AbortController();
      abortPort.onmessage = () => controller.abort();
      try {
        return await fn(input, {
          signal: controller.signal,
          // Progress is fire-and-forget: a slow page must not slow the worker down.
          progress: (p) => void Promise.resolve(progress(p)).catch(() => undefined),
        });
      } finally {
        abortPort.close();
        (progress as unknown as { [Comlink.releaseProxy]?: () => void })[Comlink.releaseProxy]?.();
      }
    },
  };
  Comlink.expose(exposed);
}
