// Stored checkpoints: the list, import (in the ingest worker), rename, delete, export and the
// chosen starting point. Components render this state and call its methods.
import type { CheckpointRecord } from '../../core/store/schema.ts';
import type { CheckpointImport, ExportFormat } from '../../../workers/ingest.worker.ts';
import { openStore } from '../datasets/datasets.svelte.ts';
import { ingestWorker } from '../lib/workers.ts';
import { errorText } from '../lib/format.ts';
import { saveBytes } from '../lib/download.ts';

/** localStorage key of the checkpoint later steps start from. */
export const START_KEY = 'moco-cxr:start-checkpoint';

export const EXPORT_FORMATS: { value: ExportFormat; label: string }[] = [
  { value: 'moco', label: 'MoCo (main_moco.py --resume)' },
  { value: 'torchvision', label: 'torchvision backbone (main_lincls.py, model saver)' },
  { value: 'pipeline', label: 'CheXpert pipeline (test.py)' },
  { value: 'app', label: "this app's format" },
];

function readStart(): string | null {
  try {
    return localStorage.getItem(START_KEY);
  } catch {
    return null;
  }
}

class CheckpointsState {
  list = $state<CheckpointRecord[]>([]);
  error = $state<string | null>(null);
  /** what the last import found */
  imported = $state<CheckpointImport | null>(null);
  importing = $state<{ name: string; loaded: number; total: number } | null>(null);
  exporting = $state<string | null>(null);
  startId = $state<string | null>(readStart());

  async refresh(): Promise<void> {
    try {
      this.list = await (await openStore()).listCheckpoints();
    } catch (e) {
      this.error = `could not open the browser database: ${errorText(e)}`;
    }
  }

  async keep(file: File): Promise<void> {
    if (this.importing) return;
    this.error = null;
    this.imported = null;
    this.importing = { name: file.name, loaded: 0, total: file.size };
    // progress messages may arrive after the call has settled: only a running import takes them
    let running = true;
    try {
      this.imported = await ingestWorker.call('importCheckpoint', { file }, {
        onProgress: (p) => {
          if (running) this.importing = { name: file.name, loaded: p.loaded, total: p.total };
        },
      });
    } catch (e) {
      this.error = errorText(e);
    } finally {
      running = false;
      this.importing = null;
      await this.refresh();
    }
  }

  async rename(id: string, name: string): Promise<boolean> {
    this.error = null;
    try {
      await (await openStore()).renameCheckpoint(id, name);
      await this.refresh();
      return true;
    } catch (e) {
      this.error = errorText(e);
      return false;
    }
  }

  async remove(id: string): Promise<void> {
    this.error = null;
    try {
      await (await openStore()).deleteCheckpoint(id);
      if (this.startId === id) this.setStart(null);
    } catch (e) {
      this.error = errorText(e);
    }
    await this.refresh();
  }

  setStart(id: string | null): void {
    this.startId = id;
    try {
      if (id) localStorage.setItem(START_KEY, id);
      else localStorage.removeItem(START_KEY);
    } catch (e) {
      this.error = `could not remember the choice: ${errorText(e)}`;
    }
  }

  /** Writes a stored model in an export format (in the worker) and hands it to the browser as a download. */
  async download(id: string, to: ExportFormat): Promise<void> {
    if (this.exporting) return;
    this.error = null;
    this.exporting = id;
    try {
      const r = await ingestWorker.call('exportCheckpoint', { id, to });
      saveBytes(r.name, r.bytes);
    } catch (e) {
      this.error = errorText(e);
    } finally {
      this.exporting = null;
    }
  }
}

export const checkpoints = new CheckpointsState();
