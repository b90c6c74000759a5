// Access to the app's IndexedDB: datasets, images (metadata, pixels, thumbnails) and import problems.
// Works wherever `indexedDB` exists: the page, workers, and Node tests (fake-indexeddb).
import { openDB, type IDBPDatabase, type IDBPTransaction } from 'idb';
import { summarizeLabels } from '../data/browse.ts';
import type { ImageMeta, Split } from '../data/types.ts';
import type { EvaluationResult } from '../finetune/results.ts';
import {
  type CheckpointRecord,
  CHECKPOINT_PART_BYTES,
  DB_NAME,
  DB_VERSION,
  type DatasetRecord,
  type ExperimentRecord,
  type LabelCounts,
  type MocoCxrDB,
  type RunRecord,
  type StoredImage,
  type StoredPixels,
  type StoredProblem,
} from './schema.ts';

/** Raised when the browser refuses to store more (quota); what was stored before stays. */
export class StorageFullError extends Error {
  override name = 'StorageFullError';
}

export interface ImageToStore {
  meta: StoredImage;
  pixels: StoredPixels;
  thumb: StoredPixels;
}

/** Keys [dataset, *] of a compound-key store. */
const datasetRange = (dataset: string) => IDBKeyRange.bound([dataset, ''], [dataset, '\uffff\uffff'], false, false);

export function isQuotaError(e: unknown): boolean {
  return e instanceof Error && (e.name === 'QuotaExceededError' || /quota/i.test(e.message));
}

export class Store {
  private constructor(readonly db: IDBPDatabase<MocoCxrDB>) {}

  static async open(name = DB_NAME): Promise<Store> {
    const db = await openDB<MocoCxrDB>(name, DB_VERSION, {
      // Creates only what the database lacks, so an upgrade keeps what is stored.
      upgrade(db, oldVersion) {
        if (oldVersion < 1) {
          db.createObjectStore('datasets', { keyPath: 'id' });
          db.createObjectStore('images', { keyPath: ['dataset', 'key'] }).createIndex('byDataset', 'dataset');
          db.createObjectStore('pixels', { keyPath: ['dataset', 'key'] });
          db.createObjectStore('thumbs', { keyPath: ['dataset', 'key'] });
          db.createObjectStore('problems', { keyPath: 'id', autoIncrement: true }).createIndex('byDataset', 'dataset');
        }
        if (oldVersion < 2) {
          if (!db.objectStoreNames.contains('checkpoints')) db.createObjectStore('checkpoints', { keyPath: 'id' });
          if (!db.objectStoreNames.contains('checkpointBytes')) db.createObjectStore('checkpointBytes', { keyPath: 'id' });
        }
        if (oldVersion < 3) {
          if (!db.objectStoreNames.contains('runs')) db.createObjectStore('runs', { keyPath: 'id' });
        }
        if (oldVersion < 4) {
          if (!db.objectStoreNames.contains('experiments')) db.createObjectStore('experiments', { keyPath: 'id' });
          if (!db.objectStoreNames.contains('results')) db.createObjectStore('results', { keyPath: 'id' });
        }
      },
      // Another tab upgrading the schema: close so it can proceed; this tab reloads its data lazily.
      blocking() {
        db.close();
      },
    });
    return new Store(db);
  }

  close(): void {
    this.db.close();
  }

  listDatasets(): Promise<DatasetRecord[]> {
    return this.db.getAll('datasets').then((all) => all.sort((a, b) => a.createdAt - b.createdAt));
  }

  getDataset(id: string): Promise<DatasetRecord | undefined> {
    return this.db.get('datasets', id);
  }

  async putDataset(d: DatasetRecord): Promise<void> {
    try {
      await this.db.put('datasets', d);
    } catch (e) {
      if (isQuotaError(e)) throw new StorageFullError('browser storage is full: the dataset record could not be saved');
      throw e;
    }
  }

  /** Keys of the images already stored for a dataset (an import skips these). */
  async storedKeys(dataset: string): Promise<Set<string>> {
    const keys = await this.db.getAllKeys('images', datasetRange(dataset));
    return new Set(keys.map((k) => k[1]));
  }

  /**
   * Stores a batch in one transaction: either all of it lands or none of it. The dataset's split counts
   * and byte total move in the same transaction, so a reload mid-import shows what is really stored.
   */
  async putImages(batch: ImageToStore[]): Promise<void> {
    if (batch.length === 0) return;
    const tx = this.db.transaction(['datasets', 'images', 'pixels', 'thumbs'], 'readwrite');
    try {
      const images = tx.objectStore('images');
      const pixels = tx.objectStore('pixels');
      const thumbs = tx.objectStore('thumbs');
      for (const item of batch) {
        void pixels.put(item.pixels);
        void thumbs.put(item.thumb);
        void images.put(item.meta);
      }
      const datasets = tx.objectStore('datasets');
      const d = await datasets.get(batch[0]!.meta.dataset);
      if (d) {
        const counts = { ...d.counts };
        let bytes = d.bytes;
        for (const item of batch) {
          counts[item.meta.split]++;
          bytes += item.pixels.data.byteLength + item.thumb.data.byteLength;
        }
        void datasets.put({ ...d, counts, bytes, updatedAt: Date.now() });
      }
      await tx.done;
    } catch (e) {
      try {
        tx.abort();
      } catch {
        /* already finished */
      }
      if (isQuotaError(e) || isQuotaError(tx.error)) {
        throw new StorageFullError(`browser storage is full: a batch of ${batch.length} images could not be stored`);
      }
      throw e;
    }
  }

  async listImages(dataset: string): Promise<StoredImage[]> {
    return this.db.getAll('images', datasetRange(dataset));
  }

  getThumb(dataset: string, key: string): Promise<StoredPixels | undefined> {
    return this.db.get('thumbs', [dataset, key]);
  }

  getPixels(dataset: string, key: string): Promise<StoredPixels | undefined> {
    return this.db.get('pixels', [dataset, key]);
  }

  /** Several images' pixels in one read transaction (a training batch), in the order asked. */
  async getPixelsMany(dataset: string, keys: readonly string[]): Promise<(StoredPixels | undefined)[]> {
    const tx = this.db.transaction('pixels');
    const out = await Promise.all(keys.map((k) => tx.store.get([dataset, k])));
    await tx.done;
    return out;
  }

  async replaceProblems(dataset: string, problems: { where: string; reason: string }[]): Promise<void> {
    const tx = this.db.transaction('problems', 'readwrite');
    const index = tx.store.index('byDataset');
    for await (const cursor of index.iterate(dataset)) void cursor.delete();
    for (const p of problems) void tx.store.add({ dataset, where: p.where, reason: p.reason });
    await tx.done;
  }

  async addProblems(dataset: string, problems: { where: string; reason: string }[]): Promise<void> {
    if (problems.length === 0) return;
    const tx = this.db.transaction('problems', 'readwrite');
    for (const p of problems) void tx.store.add({ dataset, where: p.where, reason: p.reason });
    await tx.done;
  }

  async listProblems(dataset: string): Promise<StoredProblem[]> {
    return this.db.getAllFromIndex('problems', 'byDataset', dataset);
  }

  /** Deletes a dataset with all its images, pixels, thumbnails and problems, in one transaction. */
  async deleteDataset(dataset: string): Promise<void> {
    const tx = this.db.transaction(['datasets', 'images', 'pixels', 'thumbs', 'problems'], 'readwrite');
    const range = datasetRange(dataset);
    void tx.objectStore('images').delete(range);
    void tx.objectStore('pixels').delete(range);
    void tx.objectStore('thumbs').delete(range);
    const problems = tx.objectStore('problems').index('byDataset');
    for await (const cursor of problems.iterate(dataset)) void cursor.delete();
    void tx.objectStore('datasets').delete(dataset);
    await tx.done;
  }

  // --- checkpoints --------------------------------------------------------------------------

  /**
   * Stores a checkpoint's bytes, then its record: the record is the commit point, so a checkpoint is
   * listed only once all its bytes are stored. Parts go in transactions of their own (Chrome aborts a
   * transaction that carries more than about 128 MB); a refused part removes the parts already written.
   */
  async putCheckpoint(record: CheckpointRecord, bytes: Uint8Array): Promise<void> {
    const full = () => new StorageFullError(`browser storage is full: the checkpoint '${record.name}' (${(bytes.byteLength / 1e6).toFixed(1)} MB) could not be stored; delete stored checkpoints or datasets to make room`);
    await this.putBytes(record.id, bytes, full);
    await this.commitRecords(record.id, full, (tx) => tx.objectStore('checkpoints').put(record));
  }

  private async putBytes(id: string, bytes: Uint8Array, full: () => Error): Promise<void> {
    const n = Math.max(1, Math.ceil(bytes.byteLength / CHECKPOINT_PART_BYTES));
    try {
      for (let i = 0; i < n; i++) {
        // a copy: structured clone of a view serialises its whole underlying buffer, not the view
        const part = bytes.slice(i * CHECKPOINT_PART_BYTES, (i + 1) * CHECKPOINT_PART_BYTES);
        await this.db.put('checkpointBytes', i === 0 ? { id, bytes: part, parts: n } : { id: `${id}#${i}`, bytes: part });
      }
    } catch (e) {
      await this.deleteBytes(id, n).catch(() => undefined);
      if (isQuotaError(e)) throw full();
      throw e;
    }
  }

  private async deleteBytes(id: string, parts: number): Promise<void> {
    const tx = this.db.transaction('checkpointBytes', 'readwrite');
    for (let i = 1; i < parts; i++) void tx.store.delete(`${id}#${i}`).catch(() => undefined);
    void tx.store.delete(id).catch(() => undefined);
    await tx.done;
  }

  /** The small transaction that makes stored bytes a checkpoint; on failure the bytes go again. */
  private async commitRecords(
    id: string,
    full: () => Error,
    write: (tx: IDBPTransaction<MocoCxrDB, ('runs' | 'checkpoints')[], 'readwrite'>) => Promise<unknown>,
  ): Promise<void> {
    const tx = this.db.transaction(['runs', 'checkpoints'], 'readwrite');
    const done = tx.done;
    done.catch(() => undefined); // awaited below; an abort must not also surface as unhandled
    try {
      write(tx).catch(() => undefined);
      await done;
    } catch (e) {
      try {
        tx.abort();
      } catch {
        /* already finished */
      }
      const n = Math.max(1, (await this.db.get('checkpointBytes', id).catch(() => undefined))?.parts ?? 1);
      await this.deleteBytes(id, n).catch(() => undefined);
      if (isQuotaError(e) || isQuotaError(tx.error)) throw full();
      throw e;
    }
  }

  /** Parts whose checkpoint record never landed (a tab closed between the two writes). */
  async sweepOrphanBytes(): Promise<number> {
    const records = new Set(await this.db.getAllKeys('checkpoints'));
    const orphans = (await this.db.getAllKeys('checkpointBytes')).filter((k) => !records.has(k.replace(/#\d+$/, '')));
    const tx = this.db.transaction('checkpointBytes', 'readwrite');
    for (const k of orphans) void tx.store.delete(k);
    await tx.done;
    return orphans.length;
  }

  listCheckpoints(): Promise<CheckpointRecord[]> {
    return this.db.getAll('checkpoints').then((all) => all.sort((a, b) => a.createdAt - b.createdAt));
  }

  getCheckpoint(id: string): Promise<CheckpointRecord | undefined> {
    return this.db.get('checkpoints', id);
  }

  async getCheckpointBytes(id: string): Promise<Uint8Array | undefined> {
    const tx = this.db.transaction('checkpointBytes');
    const first = await tx.store.get(id);
    if (!first) return undefined;
    const n = first.parts ?? 1;
    if (n === 1) return first.bytes;
    const rest = await Promise.all(Array.from({ length: n - 1 }, (_, i) => tx.store.get(`${id}#${i + 1}`)));
    const parts = [first, ...rest];
    if (parts.some((p) => !p)) throw new Error(`checkpoint ${id}: a stored part is missing`);
    const out = new Uint8Array(parts.reduce((a, p) => a + p!.bytes.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p!.bytes, at);
      at += p!.bytes.byteLength;
    }
    return out;
  }

  /** Renames a stored checkpoint; returns the updated record. */
  async renameCheckpoint(id: string, name: string): Promise<CheckpointRecord> {
    const trimmed = name.trim();
    if (!trimmed) throw new Error('a checkpoint needs a name');
    const tx = this.db.transaction('checkpoints', 'readwrite');
    const r = await tx.store.get(id);
    if (!r) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw new Error(`no stored checkpoint with id ${id}`);
    }
    const updated = { ...r, name: trimmed };
    void tx.store.put(updated);
    try {
      await tx.done;
    } catch (e) {
      if (isQuotaError(e) || isQuotaError(tx.error)) throw new StorageFullError('browser storage is full: the new name could not be saved');
      throw e;
    }
    return updated;
  }

  /** Deletes a checkpoint's record and bytes in one transaction. */
  async deleteCheckpoint(id: string): Promise<void> {
    const tx = this.db.transaction(['checkpoints', 'checkpointBytes'], 'readwrite');
    void tx.objectStore('checkpoints').delete(id);
    const bytes = tx.objectStore('checkpointBytes');
    const first = await bytes.get(id);
    for (let i = 1; i < (first?.parts ?? 1); i++) void bytes.delete(`${id}#${i}`);
    void bytes.delete(id);
    await tx.done;
  }

  // --- training runs ---------------------------------------------------------------------------

  listRuns(): Promise<RunRecord[]> {
    return this.db.getAll('runs').then((all) => all.sort((a, b) => a.createdAt - b.createdAt));
  }

  getRun(id: string): Promise<RunRecord | undefined> {
    return this.db.get('runs', id);
  }

  async putRun(run: RunRecord): Promise<void> {
    try {
      await this.db.put('runs', run);
    } catch (e) {
      if (isQuotaError(e)) throw new StorageFullError(`browser storage is full: the run '${run.name}' could not be saved`);
      throw e;
    }
  }

  /**
   * Stores a run's new checkpoint (its bytes first, then its record and the run record pointing at it
   * in one transaction), then deletes the checkpoints the run no longer keeps. A refused write (full
   * storage) leaves the previous checkpoint and run record as they were.
   */
  async putRunCheckpoint(run: RunRecord, record: CheckpointRecord, bytes: Uint8Array, drop: string[]): Promise<void> {
    const full = () => new StorageFullError(`browser storage is full: the checkpoint of run '${run.name}' (${(bytes.byteLength / 1e6).toFixed(1)} MB) could not be stored; the previous checkpoint is kept`);
    await this.putBytes(record.id, bytes, full);
    await this.commitRecords(record.id, full, (tx) => Promise.all([tx.objectStore('checkpoints').put(record), tx.objectStore('runs').put(run)]));
    for (const id of drop) await this.deleteCheckpoint(id);
  }

  async deleteRun(id: string, withCheckpoints: boolean): Promise<void> {
    const run = await this.getRun(id);
    if (!run) return;
    if (withCheckpoints) for (const c of new Set([run.checkpointId, ...run.epochCheckpoints])) if (c) await this.deleteCheckpoint(c);
    await this.db.delete('runs', id);
  }

  listExperiments(): Promise<ExperimentRecord[]> {
    return this.db.getAll('experiments').then((all) => all.sort((a, b) => a.createdAt - b.createdAt));
  }

  getExperiment(id: string): Promise<ExperimentRecord | undefined> {
    return this.db.get('experiments', id);
  }

  async putExperiment(e: ExperimentRecord): Promise<void> {
    try {
      await this.db.put('experiments', e);
    } catch (err) {
      if (isQuotaError(err)) throw new StorageFullError(`browser storage is full: the experiment '${e.name}' could not be saved`);
      throw err;
    }
  }

  /** Deletes an experiment, its results and (optionally) its jobs' kept checkpoints. */
  async deleteExperiment(id: string, withCheckpoints: boolean): Promise<void> {
    const e = await this.getExperiment(id);
    if (!e) return;
    for (const j of e.jobs) {
      if (j.resultId) await this.db.delete('results', j.resultId);
      if (withCheckpoints && j.bestCheckpointId) await this.deleteCheckpoint(j.bestCheckpointId);
    }
    await this.db.delete('experiments', id);
  }

  listResults(): Promise<EvaluationResult[]> {
    return this.db.getAll('results').then((all) => all.sort((a, b) => a.createdAt - b.createdAt));
  }

  getResult(id: string): Promise<EvaluationResult | undefined> {
    return this.db.get('results', id);
  }

  async putResult(r: EvaluationResult): Promise<void> {
    try {
      await this.db.put('results', r);
    } catch (err) {
      if (isQuotaError(err)) throw new StorageFullError(`browser storage is full: the result '${r.label}' could not be saved`);
      throw err;
    }
  }

  async deleteResult(id: string): Promise<void> {
    await this.db.delete('results', id);
  }

  /** Recomputes split counts and label statistics from what is stored (bytes are kept as batches land). */
  async refreshStats(dataset: string): Promise<DatasetRecord> {
    const d = await this.getDataset(dataset);
    if (!d) throw new Error(`no dataset with id ${dataset}`);
    const images = await this.listImages(dataset);
    const s = summarize(images, d.labelColumns);
    const updated: DatasetRecord = {
      ...d,
      counts: s.counts,
      labelStats: s.labelStats,
      updatedAt: Date.now(),
    };
    await this.putDataset(updated);
    return updated;
  }
}

/** Split counts and per-column label-state counts of a set of images. */
export function summarize(images: ImageMeta[], labelColumns: string[]): { counts: Record<Split, number>; labelStats: Record<string, LabelCounts> } {
  const counts: Record<Split, number> = { train: 0, valid: 0, test: 0 };
  for (const m of images) counts[m.split]++;
  const labelStats: Record<string, LabelCounts> = Object.create(null);
  for (const { observation, ...c } of summarizeLabels(images, labelColumns)) labelStats[observation] = c;
  return { counts, labelStats };
}
