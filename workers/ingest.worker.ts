// The ingest worker: plans a picked folder, checks the space, then decodes and stores its images.
// Also reads and keeps checkpoints. Thin: the work is in src/core (data formats, image decoding, store,
// import loop, checkpoint library).
import { expose } from '../src/bridge/expose.ts';
import type { CallContext } from '../src/bridge/protocol.ts';
import { planImport } from '../src/core/data/plan.ts';
import type { FolderFiles, ImageMeta, ImportPlan } from '../src/core/data/types.ts';
import { demoDataset, DEMO_DATASET_NAME } from '../src/core/data/demo/index.ts';
import { thumbnail } from '../src/core/image/decode.ts';
import {
  DEFAULT_SIDE,
  DEFAULT_THUMB_SIDE,
  runImport,
  type ImportProgress,
  type ImportResult,
  type PreparedImage,
} from '../src/core/ingest/run-import.ts';
import { checkSpace } from '../src/core/ingest/storage.ts';
import { Store } from '../src/core/store/store.ts';
import { readCheckpointBlob, readTorchFile, summarize, TorchFileError, type BlobReadProgress, type CheckpointSummary } from '../src/core/torchfile/index.ts';
import { exportStoredCheckpoint, importCheckpointBytes, type CheckpointImport, type ExportFormat } from '../src/core/checkpoints/library.ts';
import * as Comlink from 'comlink';
import { DecodePool } from './decode-pool.ts';

export type { CheckpointImport, ExportFormat } from '../src/core/checkpoints/library.ts';

let storePromise: Promise<Store> | null = null;
const store = () => (storePromise ??= Store.open());

export interface ImportRequest {
  files: Map<string, File>;
  side?: number;
  thumbSide?: number;
  kind?: ImportPlan['kind'];
}

export type IngestProgress = ImportProgress | { phase: 'planning' | 'checking-space'; message: string };

export interface ImportSummary extends Omit<ImportResult, 'problems' | 'space'> {
  kind: ImportPlan['kind'];
  planned: number;
  problemCount: number;
  space: string;
}

async function importPlan(
  plan: ImportPlan,
  load: Parameters<typeof runImport>[0]['load'],
  side: number,
  thumbSide: number,
  ctx: CallContext<IngestProgress>,
  concurrency = 4,
): Promise<ImportSummary> {
  const s = await store();
  const r = await runImport({
    store: s,
    plan,
    load,
    options: { side, thumbSide, concurrency },
    signal: ctx.signal,
    onProgress: ctx.progress,
    checkSpace: async (needBytes) => {
      ctx.progress({ phase: 'checking-space', message: 'checking free browser storage' });
      const space = await checkSpace(navigator.storage, needBytes);
      if (!space.fits) throw new Error(space.message);
      return space.message;
    },
  });
  const { problems, ...rest } = r;
  return { ...rest, kind: plan.kind, planned: plan.images.length, problemCount: problems.length, space: r.space ?? '' };
}

const api = {
  async importFolder(req: ImportRequest, ctx: CallContext<IngestProgress>): Promise<ImportSummary> {
    const side = req.side ?? DEFAULT_SIDE;
    const thumbSide = req.thumbSide ?? DEFAULT_THUMB_SIDE;
    ctx.progress({ phase: 'planning', message: `reading the folder's ${req.files.size} files` });
    const files: FolderFiles = req.files;
    const plan = await planImport(files, req.kind ? { kind: req.kind } : {});
    if (plan.images.length === 0) {
      const why = plan.problems.slice(0, 3).map((p) => `${p.where}: ${p.reason}`).join('; ');
      throw new Error(`no images to import were found in this folder${why ? ` (${why})` : ''}. Expected a CheXpert folder (train.csv, valid.csv and the image tree), a Shenzhen folder (CXR_png/CHNCXR_####_L.png) or a folder with a CSV that has a Path column.`);
    }
    const pool = new DecodePool(DecodePool.defaultSize());
    try {
      const load = async (meta: ImageMeta) => {
        const file = req.files.get(meta.file);
        if (!file) throw new Error('image file missing from the folder');
        return pool.prepareFile(file, meta.file, { side, thumbSide });
      };
      return await importPlan(plan, load, side, thumbSide, ctx, pool.size * 2);
    } finally {
      pool.close();
    }
  },

  async importDemo(req: { seed: number; count: number; side?: number }, ctx: CallContext<IngestProgress>): Promise<ImportSummary> {
    const side = req.side ?? 256;
    const thumbSide = DEFAULT_THUMB_SIDE;
    ctx.progress({ phase: 'planning', message: `planning ${req.count} synthetic phantoms (seed ${req.seed})` });
    // Cases are planned up front (cheap); pixels are rendered lazily as the import loop asks for them.
    const demo = demoDataset({ seed: req.seed, count: req.count, size: side });
    const byKey = new Map(demo.cases.map((c) => [c.meta.key, c]));
    const plan: ImportPlan = { kind: 'demo', name: `${DEMO_DATASET_NAME} · seed ${req.seed}`, labelColumns: demo.labelColumns, images: demo.cases.map((c) => c.meta), problems: [] };
    const load = async (meta: { key: string }): Promise<PreparedImage> => {
      const c = byKey.get(meta.key);
      if (!c) throw new Error(`no demo case for ${meta.key}`);
      const { width, height, pixels } = demo.render(c);
      const image = { width, height, data: pixels };
      return { image, thumbnail: thumbnail(image, thumbSide), original: { width, height } };
    };
    return importPlan(plan, load, side, thumbSide, ctx);
  },

  /** What a .pth / .pth.tar holds, read with the allow-listed unpickler; nothing in the file runs. */
  async inspectCheckpoint(
    req: { file: File; placeholders?: boolean },
    ctx: CallContext<BlobReadProgress>,
  ): Promise<CheckpointSummary & { name: string; size: number; version: string | null; seconds: number }> {
    const t0 = performance.now();
    const bytes = await readCheckpointBlob(req.file, ctx.progress);
    try {
      const file = readTorchFile(bytes, { mode: req.placeholders ? 'inspect' : 'strict' });
      return { name: req.file.name, size: req.file.size, version: file.version, seconds: (performance.now() - t0) / 1000, ...summarize(file) };
    } catch (e) {
      if (e instanceof TorchFileError) throw new Error(`${req.file.name} was refused (${e.code}): ${e.message}`);
      throw e;
    }
  },

  /** Reads a checkpoint (progress: bytes read of total) and keeps it in the library (src/core/checkpoints). */
  async importCheckpoint(req: { file: File; name?: string }, ctx: CallContext<BlobReadProgress>): Promise<CheckpointImport> {
    const bytes = await readCheckpointBlob(req.file, ctx.progress);
    return importCheckpointBytes(await store(), bytes, { fileName: req.file.name, size: req.file.size, ...(req.name ? { name: req.name } : {}) });
  },

  /** A stored checkpoint in an export format; the bytes are transferred to the page, not copied. */
  async exportCheckpoint(req: { id: string; to: ExportFormat; tasks?: string[] }, _ctx: CallContext<never>): Promise<{ name: string; bytes: Uint8Array }> {
    const out = await exportStoredCheckpoint(await store(), req.id, req.to, req.tasks);
    return Comlink.transfer(out, [out.bytes.buffer as ArrayBuffer]);
  },
};

export type IngestWorkerApi = typeof api;
expose(api);
