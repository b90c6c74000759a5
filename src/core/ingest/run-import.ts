// Imports a planned folder into the store: decode, resize to the stored side, thumbnail, write in
// batches. Re-running it skips what is stored; a cancel or an error keeps every finished batch.
import type { FolderFiles, ImageMeta, ImportPlan, ImportProblem } from '../data/types.ts';
import type { DatasetRecord } from '../store/schema.ts';
import { isQuotaError, StorageFullError, Store } from '../store/store.ts';

export interface GreyImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface PreparedImage {
  image: GreyImage;
  thumbnail: GreyImage;
  original: { width: number; height: number };
}

/** Decodes one file into the stored image and thumbnail; throws with a reason on unreadable input. */
export type PrepareFn = (bytes: Uint8Array, name: string, sizes: { side: number; thumbSide: number }) => Promise<PreparedImage>;

/** Produces the pixels of one planned image (from a file, or generated); throws with a reason. */
export type LoadFn = (meta: ImageMeta) => Promise<PreparedImage>;

/** The loader for images that come from a picked folder. */
export function folderLoader(files: FolderFiles, prepare: PrepareFn, sizes: { side: number; thumbSide: number }): LoadFn {
  return async (meta) => {
    const file = files.get(meta.file);
    if (!file) throw new Error('file listed in the CSV is missing from the folder');
    return prepare(new Uint8Array(await file.arrayBuffer()), meta.file, sizes);
  };
}

export interface ImportOptions {
  /** Shorter side of the stored image (MoCo-CXR: 320). */
  side: number;
  thumbSide: number;
  /** Images written per transaction. */
  batchSize?: number;
  /** Files decoded at the same time (decoders that are async off-thread overlap). */
  concurrency?: number;
  synthetic?: boolean;
}

export interface ImportProgress {
  phase: 'importing' | 'finishing' | 'done' | 'cancelled' | 'failed';
  datasetId: string;
  total: number;
  /** Already stored before this run (skipped). */
  skipped: number;
  stored: number;
  failed: number;
  imagesPerSecond: number;
  /** Seconds left at the current speed, or null before the speed is known. */
  etaSeconds: number | null;
  current: string;
}

export interface ImportResult {
  dataset: DatasetRecord;
  stored: number;
  skipped: number;
  failed: number;
  problems: ImportProblem[];
  cancelled: boolean;
  error?: string;
  seconds: number;
  /**
   * Where the time went: summed over images (loads overlap, so loadSeconds can exceed `seconds`) and
   * over batches (writes are serial).
   */
  timing: { loadSeconds: number; writeSeconds: number };
  /** What the space check said, when one was asked. */
  space?: string;
}

export const DEFAULT_SIDE = 320;
export const DEFAULT_THUMB_SIDE = 96;

/** Bytes one stored image needs, for the storage estimate (shorter side `side`, aspect up to 1.25). */
export function estimateBytesPerImage(side: number, thumbSide: number): number {
  return Math.ceil(side * side * 1.25) + thumbSide * thumbSide + 1024;
}

/** A stable id for a dataset: the same folder imported at the same size maps to the same dataset. */
export function datasetIdFor(plan: Pick<ImportPlan, 'kind' | 'name'>, side: number): string {
  return `${plan.kind}:${plan.name}:${side}`;
}

async function findOrCreateDataset(store: Store, plan: ImportPlan, opts: ImportOptions): Promise<DatasetRecord> {
  const id = datasetIdFor(plan, opts.side);
  const existing = await store.getDataset(id);
  const now = Date.now();
  const d: DatasetRecord = existing
    ? { ...existing, status: 'importing', planned: plan.images.length, labelColumns: mergeColumns(existing.labelColumns, plan.labelColumns), updatedAt: now }
    : {
        id,
        name: plan.name,
        kind: plan.kind,
        source: plan.name,
        synthetic: opts.synthetic ?? plan.kind === 'demo',
        labelColumns: plan.labelColumns,
        imageSide: opts.side,
        thumbSide: opts.thumbSide,
        status: 'importing',
        planned: plan.images.length,
        counts: { train: 0, valid: 0, test: 0 },
        labelStats: {},
        bytes: 0,
        createdAt: now,
        updatedAt: now,
        problemCount: 0,
      };
  delete d.lastError;
  await store.putDataset(d);
  return d;
}

function mergeColumns(a: string[], b: string[]): string[] {
  return [...a, ...b.filter((c) => !a.includes(c))];
}

/** Progress speed over the images stored in this run. */
class Speedometer {
  private readonly start = performance.now();
  constructor(private readonly todo: number) {}
  report(done: number): { imagesPerSecond: number; etaSeconds: number | null } {
    const secs = (performance.now() - this.start) / 1000;
    const ips = secs > 0 ? done / secs : 0;
    return { imagesPerSecond: ips, etaSeconds: done > 0 && ips > 0 ? (this.todo - done) / ips : null };
  }
}

export async function runImport(args: {
  store: Store;
  plan: ImportPlan;
  load: LoadFn;
  options: ImportOptions;
  signal?: AbortSignal;
  onProgress?: (p: ImportProgress) => void;
  /**
   * Asked, before anything is written, whether the images still to store (about `needBytes`) fit; it
   * throws to refuse the import and returns a line for the summary otherwise.
   */
  checkSpace?: (needBytes: number) => Promise<string>;
}): Promise<ImportResult> {
  const { store, plan, load, options, signal, onProgress } = args;
  const t0 = performance.now();
  const batchSize = options.batchSize ?? 16;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const stored = await store.storedKeys(datasetIdFor(plan, options.side));
  const todo = plan.images.filter((m) => !stored.has(m.key));
  const space = await args.checkSpace?.(todo.length * estimateBytesPerImage(options.side, options.thumbSide));
  let dataset = await findOrCreateDataset(store, plan, options);
  const skipped = plan.images.length - todo.length;
  const problems: ImportProblem[] = [...plan.problems];
  await store.replaceProblems(dataset.id, problems);

  const speed = new Speedometer(todo.length);
  let done = 0;
  let failed = 0;
  let lastReport = 0;
  const report = (phase: ImportProgress['phase'], current: string, force = false) => {
    const now = performance.now();
    if (!force && now - lastReport < 100) return;
    lastReport = now;
    onProgress?.({ phase, datasetId: dataset.id, total: plan.images.length, skipped, stored: done, failed, current, ...speed.report(done) });
  };
  report('importing', '', true);

  let error: string | undefined;
  let next = 0;
  let batch: Parameters<Store['putImages']>[0] = [];
  let writing: Promise<void> = Promise.resolve();

  const timing = { loadSeconds: 0, writeSeconds: 0 };
  // Writes are chained so batches land in order with one transaction in flight. A runner that fills a
  // batch waits only when two batches are already queued, so decoding goes on while a batch is written.
  let queued = 0;
  let fatal: unknown = null;
  const flush = async (wait: boolean) => {
    const items = batch;
    batch = [];
    queued++;
    writing = writing.then(async () => {
      const t = performance.now();
      try {
        // After a failed write (a full disk) later batches are dropped, not written out of order.
        if (fatal !== null) return;
        await store.putImages(items);
        timing.writeSeconds += (performance.now() - t) / 1000;
        done += items.length;
      } catch (e) {
        fatal ??= e;
      } finally {
        queued--;
      }
    });
    if (wait || queued > 2) await writing;
  };

  const one = async (meta: ImageMeta): Promise<void> => {
    try {
      const t = performance.now();
      const p = await load(meta);
      timing.loadSeconds += (performance.now() - t) / 1000;
      batch.push({
        meta: { ...meta, dataset: dataset.id, width: p.image.width, height: p.image.height, originalWidth: p.original.width, originalHeight: p.original.height },
        pixels: { dataset: dataset.id, key: meta.key, ...p.image },
        thumb: { dataset: dataset.id, key: meta.key, ...p.thumbnail },
      });
    } catch (e) {
      failed++;
      problems.push({ where: meta.file, reason: e instanceof Error ? e.message : String(e) });
      return;
    }
    // Checked right after the push, before any other runner resumes: every batch has batchSize images.
    if (batch.length >= batchSize) await flush(false);
  };

  // A small pool: each runner takes the next file; full batches are written as they fill. The first
  // fatal error (storage full) stops every runner; per-file errors are problems, not fatal.
  const runner = async () => {
    try {
      while (next < todo.length && !signal?.aborted && fatal === null) {
        const meta = todo[next++]!;
        await one(meta);
        report('importing', meta.file);
      }
    } catch (e) {
      fatal ??= e;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, runner));
  if (fatal === null) await flush(true);
  await writing;
  if (fatal !== null) {
    const e = fatal;
    error =
      e instanceof StorageFullError || isQuotaError(e)
        ? `browser storage is full after ${done} images. Free some space (delete a dataset) and import again; what was stored is kept.`
        : e instanceof Error
          ? e.message
          : String(e);
  }

  const cancelled = !error && Boolean(signal?.aborted);
  report('finishing', '', true);
  // Bookkeeping can itself hit a full disk; the images stored so far stay either way.
  try {
    await store.addProblems(dataset.id, problems.slice(plan.problems.length));
    dataset = await store.refreshStats(dataset.id);
  } catch (e) {
    error ??= `the import's summary could not be saved: ${e instanceof Error ? e.message : String(e)}`;
  }
  const complete = !error && !cancelled && done + skipped + failed === plan.images.length;
  dataset = {
    ...dataset,
    status: error ? 'failed' : cancelled ? 'cancelled' : complete ? 'complete' : 'cancelled',
    problemCount: problems.length,
    ...(error ? { lastError: error } : {}),
  };
  await store.putDataset(dataset).catch(() => undefined);
  report(error ? 'failed' : cancelled ? 'cancelled' : 'done', '', true);
  return { dataset, stored: done, skipped, failed, problems, cancelled, timing, ...(space !== undefined ? { space } : {}), seconds: (performance.now() - t0) / 1000, ...(error ? { error } : {}) };
}
