// readTorchFile: detects the container, runs the restricted unpickler over it and checks the
// result is a finite tree of bounded depth, so later walkers (summaries, the writer, the UI)
// can recurse without guards.
import { guard, MAX_DEPTH, TorchFileError } from './errors.ts';
import { byteSwapped, LEGACY_MAGIC, readLegacy } from './legacy.ts';
import { parseStorageId } from './storage-ids.ts';
import { unpickle, type ReadMode } from './unpickler.ts';
import { DTYPES, Opaque, OrderedDict, Storage, Tensor, Tuple, type PickleValue } from './values.ts';
import { ZipArchive, type ZipLimits } from './zip-reader.ts';

export type TorchFileFormat = 'zip' | 'legacy';

export interface ReadOptions extends ZipLimits {
  /** 'strict' (default) refuses globals outside torch's weights_only allow-list; 'inspect'
   *  keeps them as inert Opaque values so a refused file can still be looked at */
  mode?: ReadMode;
}

export interface TorchFile {
  format: TorchFileFormat;
  root: PickleValue;
  /** every storage, in the order the pickle first refers to it */
  storages: Storage[];
  /** zip: the top folder ('archive', or the saved file's name) */
  folder: string | null;
  /** zip: the version record ('3' from torch 1.6 to 2.x) */
  version: string | null;
  /** the byte order the storages were saved in; they are always little-endian once read */
  byteorder: 'little' | 'big';
}

/** Containers nested deeper than this are refused (Python's own recursion limit is 1000). */
export { MAX_DEPTH } from './errors.ts';

export function detectFormat(b: Uint8Array): TorchFileFormat | 'tar' | 'unknown' {
  if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6)) return 'zip';
  if (b.length >= LEGACY_MAGIC.length && LEGACY_MAGIC.every((x, i) => b[i] === x)) return 'legacy';
  if (b.length >= 262 && String.fromCharCode(...b.subarray(257, 262)) === 'ustar') return 'tar';
  return 'unknown';
}

export function readTorchFile(input: ArrayBuffer | Uint8Array, options: ReadOptions = {}): TorchFile {
  return guard(() => {
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    const mode = options.mode ?? 'strict';
    const format = detectFormat(bytes);
    let file: TorchFile;
    if (format === 'zip') file = readZip(bytes, mode, options);
    else if (format === 'legacy') {
      const legacy = readLegacy(bytes, mode);
      file = {
        format,
        root: legacy.root,
        storages: legacy.storages,
        folder: null,
        version: null,
        byteorder: legacy.littleEndian ? 'little' : 'big',
      };
    } else if (format === 'tar') {
      throw new TorchFileError(
        'tar_format',
        'this is the tar container of torch 0.3 and older; load it with that torch and save it again with a newer one',
      );
    } else if (bytes.length > 0 && bytes[0] === 0x80) {
      throw new TorchFileError('not_a_checkpoint', "a pickle, but not torch.save's: it lacks the legacy magic number");
    } else {
      throw new TorchFileError('not_a_checkpoint', 'not a PyTorch checkpoint: neither a zip nor a legacy torch.save file');
    }
    checkTree(file.root);
    return file;
  });
}

function readZip(bytes: Uint8Array, mode: ReadMode, limits: ZipLimits): TorchFile {
  const zip = new ZipArchive(bytes, limits);
  const ascii = (record: string) => (zip.has(record) ? new TextDecoder().decode(zip.read(record)).trim() : null);
  const version = ascii('version');
  const order = ascii('byteorder') ?? 'little';
  if (order !== 'little' && order !== 'big') {
    throw new TorchFileError('zip_corrupt', `the byteorder record says '${order.slice(0, 20)}', not little or big`);
  }
  const storages = new Map<string, Storage>();
  const where = `${zip.folder}/data.pkl`;
  const pickle = zip.read('data.pkl');
  const { value } = unpickle(pickle, 0, {
    mode,
    where,
    persistentLoad: (pid) => {
      const ref = parseStorageId(pid, mode === 'strict');
      if (!('key' in ref)) return ref;
      // like torch, the first reference to a key decides its dtype; later ones reuse it
      const known = storages.get(ref.key);
      if (known) return known;
      const record = zip.read(`data/${ref.key}`);
      const nbytes = ref.numel * DTYPES[ref.dtype].size;
      if (record.length < nbytes) {
        throw new TorchFileError(
          'storage_mismatch',
          `record data/${ref.key} has ${record.length} bytes, fewer than ${ref.numel} ${ref.dtype} elements need`,
        );
      }
      const data = record.subarray(0, nbytes);
      const storage = new Storage(ref.dtype, ref.numel, ref.key, ref.location, order === 'big' ? byteSwapped(data, DTYPES[ref.dtype].size) : data);
      storages.set(ref.key, storage);
      return storage;
    },
  });
  return { format: 'zip', root: value, storages: [...storages.values()], folder: zip.folder, version, byteorder: order };
}

function children(v: object): PickleValue[] {
  if (Array.isArray(v)) return v;
  if (v instanceof Tuple) return v.items;
  if (v instanceof Map) {
    const out: PickleValue[] = [];
    for (const [k, x] of v) out.push(k, x);
    if (v instanceof OrderedDict && v.attrs) for (const x of v.attrs.values()) out.push(x);
    return out;
  }
  if (v instanceof Set) return [...v];
  if (v instanceof Opaque) {
    const out: PickleValue[] = v.callable ? [v.callable, v.args] : [v.args];
    if (v.state !== undefined) out.push(v.state);
    if (v.extra) out.push(...v.extra);
    return out;
  }
  if (v instanceof Tensor && v.attrs !== undefined) return [v.attrs];
  return [];
}

/** Refuses containers that contain themselves and nesting deeper than MAX_DEPTH, without recursion.
 *  Heights are memoized, so shared sub-trees (a DAG) are visited once. */
export function checkTree(root: PickleValue): void {
  if (root === null || typeof root !== 'object') return;
  const height = new Map<object, number>();
  const onPath = new Set<object>();
  const stack: { node: object; kids: PickleValue[]; i: number; h: number }[] = [{ node: root, kids: children(root), i: 0, h: 0 }];
  onPath.add(root);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.i < frame.kids.length) {
      const kid = frame.kids[frame.i++]!;
      if (kid === null || typeof kid !== 'object') continue;
      if (onPath.has(kid)) throw new TorchFileError('too_deep', 'a container contains itself (a reference cycle)');
      const known = height.get(kid);
      if (known !== undefined) {
        if (stack.length + known >= MAX_DEPTH) throw new TorchFileError('too_deep', `containers nest deeper than ${MAX_DEPTH} levels`);
        frame.h = Math.max(frame.h, known + 1);
        continue;
      }
      if (stack.length >= MAX_DEPTH) throw new TorchFileError('too_deep', `containers nest deeper than ${MAX_DEPTH} levels`);
      onPath.add(kid);
      stack.push({ node: kid, kids: children(kid), i: 0, h: 0 });
    } else {
      stack.pop();
      onPath.delete(frame.node);
      height.set(frame.node, frame.h);
      const parent = stack[stack.length - 1];
      if (parent) parent.h = Math.max(parent.h, frame.h + 1);
    }
  }
}
