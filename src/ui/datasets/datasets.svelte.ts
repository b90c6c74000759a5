// Dataset list and the import job. Components render this state and call its methods.
import { Store } from '../../core/store/store.ts';
import type { DatasetRecord } from '../../core/store/schema.ts';
import { isAbortError } from '../../bridge/protocol.ts';
import type { ImportSummary, IngestProgress } from '../../../workers/ingest.worker.ts';
import { ingestWorker } from '../lib/workers.ts';
import { errorText } from '../lib/format.ts';
import type { PickedFolder } from '../lib/folder.ts';

let storePromise: Promise<Store> | null = null;
export const openStore = () => (storePromise ??= Store.open());

interface Job {
  label: string;
  progress: IngestProgress | null;
  controller: AbortController;
}

class DatasetsState {
  list = $state<DatasetRecord[]>([]);
  job = $state<Job | null>(null);
  lastResult = $state<ImportSummary | null>(null);
  error = $state<string | null>(null);
  persisted = $state<boolean | null>(null);
  side = $state(320);

  async refresh(): Promise<void> {
    try {
      this.list = await (await openStore()).listDatasets();
    } catch (e) {
      this.error = `could not open the browser database: ${errorText(e)}`;
    }
  }

  private async run(label: string, start: (signal: AbortSignal, onProgress: (p: IngestProgress) => void) => Promise<ImportSummary>): Promise<void> {
    if (this.job) return;
    this.error = null;
    this.lastResult = null;
    // Ask once for persistent storage so the browser does not evict a large dataset under pressure.
    if (this.persisted === null && navigator.storage?.persist) this.persisted = await navigator.storage.persist().catch(() => false);
    const controller = new AbortController();
    this.job = { label, progress: null, controller };
    try {
      this.lastResult = await start(controller.signal, (p) => {
        if (this.job) this.job.progress = p;
      });
      if (this.lastResult.error) this.error = this.lastResult.error;
    } catch (e) {
      this.error = isAbortError(e) ? 'import cancelled' : errorText(e);
    } finally {
      this.job = null;
      await this.refresh();
    }
  }

  importFolder(folder: PickedFolder): Promise<void> {
    return this.run(`Importing ${folder.name}`, (signal, onProgress) =>
      ingestWorker.call('importFolder', { files: folder.files, side: this.side }, { signal, onProgress }),
    );
  }

  importDemo(seed: number, count: number): Promise<void> {
    return this.run(`Generating demo dataset (seed ${seed})`, (signal, onProgress) =>
      ingestWorker.call('importDemo', { seed, count }, { signal, onProgress }),
    );
  }

  cancel(): void {
    this.job?.controller.abort();
  }

  async remove(id: string): Promise<void> {
    try {
      await (await openStore()).deleteDataset(id);
    } catch (e) {
      this.error = `could not delete the dataset: ${errorText(e)}`;
    }
    await this.refresh();
  }
}

export const datasets = new DatasetsState();
ingestWorker.onCrash = (message) => {
  datasets.error = message;
};
