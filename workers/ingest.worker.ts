// The ingest worker: plans a picked folder, checks the space, then decodes and stores its images.
// Thin: the work is in src/core (data formats, image decoding, store, import loop).
import { expose } from '../src/bridge/expose.ts';
import type { CallContext } from '../src/bridge/protocol.ts';
import { planImport } from '../src/core/data/plan.ts';
import type { FolderFiles, ImageMeta, ImportPlan } from '../src/core/data/types.ts';
import { demoDataset, DEMO_DATASET_NAME } from '../src/core/data/demo/index.ts';
import { thumbnail } from '../src/core/image/decode.ts';
import {
  DEFAULT_SIDE,
  DEFAULT_THUMB_SIDE,
  estimateBytesPerImage,
  runImport,
  type ImportProgress,
  type ImportResult,
  type PreparedImage,
} from '../src/core/ingest/run-import.ts';
import { checkSpace } from '../src/core/ingest/storage.ts';
import { Store } from '../src/core/store/store.ts';
import { readCheckpointBlob, readTorchFile, summarize, TorchFileError, type BlobReadProgress, type CheckpointSummary } from '../src/core/torchfile/index.ts';
import { ConvertError, detectLayout, extractModel, isParameterKey, toApp, toMoco, toPipeline, toTorchvision, type CanonicalModel, type Detected } from '../src/core/convert/index.ts';
import type { CheckpointRecord } from '../src/core/store/schema.ts';
import * as Comlink from 'comlink';
import { DecodePool } from './decode-pool.ts';

export type ExportFormat = 'moco' | 'torchvision' | 'pipeline' | 'app';

/** What an import found, beside the stored record. Strict loading refuses missing, unexpected and
 *  wrongly shaped keys: such a file is not stored and the error names them (up to 5 per list). */
export interface CheckpointImport {
  record: CheckpointRecord;
  detected: { layout: string; arch: string; summary: string; stateDictPath: string; prefix: string; archField: string | null };
  seconds: number;
}

function headText(d: Detected): string {
  const h = d.head;
  if (h.kind === 'none') return 'none';
  if (h.kind === 'linear') return `linear (${h.outputs} outputs)`;
  return `mlp (${h.dim} dim)`;
}

function parameterCount(model: CanonicalModel): number {
  let n = 0;
  for (const [k, t] of model.backbone) if (isParameterKey(k)) n += t.numel;
  for (const [k, t] of model.head?.tensors ?? []) if (isParameterKey(k)) n += t.numel;
  return n;
}

/** "moco_r18.pth.tar" -> "moco_r18" */
const baseName = (file: string) => file.replace(/(\.(pth|pt|tar|ckpt|bin))+$/i, '') || file;

let storePromise: Promise<Store> | null = null;
const store = () => (storePromise ??= Store.open());

export interface ImportRequest {
  files: Map<string, File>;
  side?: number;
  thumbSide?: number;
  kind?: ImportPlan['kind'];
}

export type IngestProgress = ImportProgress | { phase: 'planning' | 'checking-space'; message: string };

export interface ImportSummary extends Omit<ImportResult, 'problems'> {
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
  ctx.progress({ phase: 'checking-space', message: 'checking free browser storage' });
  const existing = await s.storedKeys(`${plan.kind}:${plan.name}:${side}`);
  const toStore = plan.images.filter((m) => !existing.has(m.key)).length;
  const space = await checkSpace(navigator.storage, toStore * estimateBytesPerImage(side, thumbSide));
  if (!space.fits) throw new Error(space.message);
  const r = await runImport({ store: s, plan, load, options: { side, thumbSide, concurrency }, signal: ctx.signal, onProgress: ctx.progress });
  const { problems, ...rest } = r;
  return { ...rest, kind: plan.kind, planned: plan.images.length, problemCount: problems.length, space: space.message };
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

  /** Reads a checkpoint (progress: bytes read of total), detects its layout, loads it strictly and
   *  keeps it in IndexedDB in the app's format. Unknown layouts, unsupported architectures and key
   *  mismatches are refused with the reason named; nothing is stored then. */
  async importCheckpoint(req: { file: File; name?: string }, ctx: CallContext<BlobReadProgress>): Promise<CheckpointImport> {
    const t0 = performance.now();
    const bytes = await readCheckpointBlob(req.file, ctx.progress);
    let detected: Detected | null = null;
    try {
      const file = readTorchFile(bytes, { mode: 'strict' });
      const info = summarize(file);
      detected = detectLayout(file.root);
      const { model } = extractModel(file.root);
      const appBytes = toApp(model);
      const d = detected;
      const record: CheckpointRecord = {
        id: crypto.randomUUID(),
        name: req.name?.trim() || baseName(req.file.name),
        createdAt: Date.now(),
        sourceFile: req.file.name,
        size: req.file.size,
        storedSize: appBytes.byteLength,
        layout: d.layout,
        arch: d.arch,
        epoch: d.epoch,
        head: headText(d),
        summary: d.summary,
        tensorCount: info.tensorCount,
        parameterCount: parameterCount(model),
      };
      if (model.tasks) record.tasks = [...model.tasks];
      await (await store()).putCheckpoint(record, appBytes);
      return {
        record,
        detected: { layout: d.layout, arch: d.arch, summary: d.summary, stateDictPath: d.stateDictPath, prefix: d.prefix, archField: d.archField },
        seconds: (performance.now() - t0) / 1000,
      };
    } catch (e) {
      if (e instanceof TorchFileError) throw new Error(`${req.file.name} was refused (${e.code}): ${e.message}`);
      if (e instanceof ConvertError) {
        const what = detected ? ` (detected: ${detected.summary})` : '';
        throw new Error(`${req.file.name} was not stored (${e.code})${what}: ${e.message}`);
      }
      throw e;
    }
  },

  /** A stored checkpoint written in one of the export formats; the bytes are transferred, not copied. */
  async exportCheckpoint(req: { id: string; to: ExportFormat; tasks?: string[] }, _ctx: CallContext<never>): Promise<{ name: string; bytes: Uint8Array }> {
    const s = await store();
    const record = await s.getCheckpoint(req.id);
    const stored = await s.getCheckpointBytes(req.id);
    if (!record || !stored) throw new Error(`no stored checkpoint with id ${req.id}`);
    const { model } = extractModel(readTorchFile(stored, { mode: 'strict' }).root);
    let bytes: Uint8Array;
    try {
      if (req.to === 'moco') bytes = toMoco(model);
      else if (req.to === 'torchvision') bytes = toTorchvision(model);
      else if (req.to === 'pipeline') bytes = toPipeline(model, req.tasks ? { tasks: req.tasks } : {});
      else bytes = toApp(model);
    } catch (e) {
      if (e instanceof ConvertError) throw new Error(`'${record.name}' cannot be written in the ${req.to} format (${e.code}): ${e.message}`);
      throw e;
    }
    const out = { name: `${record.name}.${req.to}.pth.tar`, bytes };
    return Comlink.transfer(out, [bytes.buffer as ArrayBuffer]);
  },
};

export type IngestWorkerApi = typeof api;
expose(api);
