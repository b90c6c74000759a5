// Decoding spread over a few workers: PNG inflate, unfilter and resize are CPU-bound JavaScript, so one
// worker per core multiplies import speed. Each call goes to the worker with the fewest in flight.
import * as Comlink from 'comlink';
import type { PreparedImage } from '../src/core/ingest/run-import.ts';
import type { DecodeWorkerApi } from './decode.worker.ts';

interface Slot {
  worker: Worker;
  api: Comlink.Remote<DecodeWorkerApi>;
  inFlight: number;
}

export class DecodePool {
  private readonly slots: Slot[];

  constructor(readonly size: number) {
    this.slots = Array.from({ length: size }, () => {
      const worker = new Worker(new URL('./decode.worker.ts', import.meta.url), { type: 'module', name: 'decode' });
      return { worker, api: Comlink.wrap<DecodeWorkerApi>(worker), inFlight: 0 };
    });
  }

  static defaultSize(): number {
    const cores = (globalThis.navigator as Navigator | undefined)?.hardwareConcurrency ?? 2;
    return Math.max(1, Math.min(6, cores));
  }

  /** A File (or Blob) is passed by handle; the decode worker reads it. */
  async prepareFile(file: Blob, name: string, sizes: { side: number; thumbSide: number }): Promise<PreparedImage> {
    const slot = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    slot.inFlight++;
    try {
      return await slot.api.prepareFile(file, name, sizes);
    } finally {
      slot.inFlight--;
    }
  }

  close(): void {
    for (const s of this.slots) {
      s.api[Comlink.releaseProxy]();
      s.worker.terminate();
    }
  }
}
