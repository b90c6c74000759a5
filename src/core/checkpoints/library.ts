// The app's checkpoint library: a PyTorch file in, detected, loaded strictly and kept in IndexedDB in the
// app's own format; any stored model out again in any export format. Plain TypeScript (no DOM), so the
// worker stays a thin adapter and Node tests can drive it.
import { ConvertError, detectLayout, extractModel, isParameterKey, toApp, toMoco, toPipeline, toTorchvision, type CanonicalModel, type Detected } from '../convert/index.ts';
import type { CheckpointRecord } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { readTorchFile, summarize, TorchFileError } from '../torchfile/index.ts';

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
export const baseName = (file: string) => file.replace(/(\.(pth|pt|tar|ckpt|bin))+$/i, '') || file;

/** Detects, loads strictly and stores a checkpoint's bytes; refusals name the file and the reason. */
export async function importCheckpointBytes(
  store: Store,
  bytes: Uint8Array,
  source: { fileName: string; size: number; name?: string },
): Promise<CheckpointImport> {
  const t0 = performance.now();
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
      name: source.name?.trim() || baseName(source.fileName),
      createdAt: Date.now(),
      sourceFile: source.fileName,
      size: source.size,
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
    await store.putCheckpoint(record, appBytes);
    return {
      record,
      detected: { layout: d.layout, arch: d.arch, summary: d.summary, stateDictPath: d.stateDictPath, prefix: d.prefix, archField: d.archField },
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (e) {
    if (e instanceof TorchFileError) throw new Error(`${source.fileName} was refused (${e.code}): ${e.message}`);
    if (e instanceof ConvertError) {
      const what = detected ? ` (detected: ${detected.summary})` : '';
      throw new Error(`${source.fileName} was not stored (${e.code})${what}: ${e.message}`);
    }
    throw e;
  }
}

/** A stored checkpoint written in one of the export formats. */
export async function exportStoredCheckpoint(store: Store, id: string, to: ExportFormat, tasks?: string[]): Promise<{ name: string; bytes: Uint8Array }> {
  const record = await store.getCheckpoint(id);
  const stored = await store.getCheckpointBytes(id);
  if (!record || !stored) throw new Error(`no stored checkpoint with id ${id}`);
  const { model } = extractModel(readTorchFile(stored, { mode: 'strict' }).root);
  try {
    const bytes =
      to === 'moco' ? toMoco(model) : to === 'torchvision' ? toTorchvision(model) : to === 'pipeline' ? toPipeline(model, tasks ? { tasks } : {}) : toApp(model);
    return { name: `${record.name}.${to}.pth.tar`, bytes };
  } catch (e) {
    if (e instanceof ConvertError) throw new Error(`'${record.name}' cannot be written in the ${to} format (${e.code}): ${e.message}`);
    throw e;
  }
}
