// The format torch.save wrote before 1.6 (and MoCo-CXR's own checkpoints most likely use):
// five protocol-2 pickles (magic number, protocol version, sys_info, the object, the sorted
// storage keys), then each storage as an int64 element count and its raw bytes, unaligned.
import { TorchFileError } from './errors.ts';
import { parseStorageId } from './storage-ids.ts';
import { unpickle, type ReadMode } from './unpickler.ts';
import { DTYPES, Storage, Tuple, type PickleValue } from './values.ts';

/** The first pickle of every legacy file: LONG1 0x1950a86a20f9469cfc6c. */
export const LEGACY_MAGIC = Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e);
const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;
const EMPTY = new Uint8Array(0);

export interface LegacyContents {
  root: PickleValue;
  storages: Storage[];
  sysInfo: PickleValue;
  littleEndian: boolean;
}

interface LegacyHeader {
  root: PickleValue;
  sysInfo: PickleValue;
  littleEndian: boolean;
  /** root storages by key, and storage views, as the object pickle announced them */
  roots: Map<string, Storage>;
  views: Map<string, { storage: Storage; root: Storage; offset: number }>;
  order: Storage[];
  /** the storage keys, in the order their data follows */
  keys: PickleValue[];
  /** where the first storage's int64 count starts */
  dataStart: number;
}

/** Runs the five pickles; needs only the bytes before the storage data. */
function readHeader(data: Uint8Array, mode: ReadMode): LegacyHeader {
  const noPersistentIds = (): never => {
    throw new TorchFileError('persistent_id', 'a persistent id outside the main pickle');
  };
  const header = (n: number, start: number) =>
    unpickle(data, start, { mode: 'strict', persistentLoad: noPersistentIds, where: `pickle ${n} of 5` });

  const magic = header(1, 0);
  if (magic.value !== MAGIC_NUMBER) {
    throw new TorchFileError('not_a_checkpoint', "the first pickle is not torch.save's magic number");
  }
  const protocol = header(2, magic.end);
  if (protocol.value !== PROTOCOL_VERSION) {
    throw new TorchFileError('not_a_checkpoint', `legacy protocol version ${String(protocol.value)} is not ${PROTOCOL_VERSION}`);
  }
  const sysInfo = header(3, protocol.end);
  const littleEndian = !(sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false);

  // Storages are announced by the object pickle and filled from the data section afterwards.
  const roots = new Map<string, Storage>();
  const views = new Map<string, { storage: Storage; root: Storage; offset: number }>();
  const order: Storage[] = [];
  const object = unpickle(data, sysInfo.end, {
    mode,
    where: 'pickle 4 of 5',
    persistentLoad: (pid) => {
      const ref = parseStorageId(pid, mode === 'strict');
      if (!('key' in ref)) return ref;
      let root = roots.get(ref.key);
      if (!root) {
        root = new Storage(ref.dtype, ref.numel, ref.key, ref.location, EMPTY);
        roots.set(ref.key, root);
        order.push(root);
      }
      if (!ref.view) return root;
      let view = views.get(ref.view.key);
      if (!view) {
        if (ref.view.offset + ref.view.numel > root.numel) {
          throw new TorchFileError('tensor_bounds', `storage view ${ref.view.key} lies outside storage ${ref.key}`);
        }
        const storage = new Storage(root.dtype, ref.view.numel, ref.view.key, ref.location, EMPTY);
        view = { storage, root, offset: ref.view.offset };
        views.set(ref.view.key, view);
        order.push(storage);
      }
      return view.storage;
    },
  });

  const keys = header(5, object.end);
  const keyList = Array.isArray(keys.value) ? keys.value : keys.value instanceof Tuple ? keys.value.items : null;
  if (!keyList) throw new TorchFileError('storage_mismatch', 'the fifth pickle should list the storage keys', keys.end, 'the file');
  return { root: object.value, sysInfo: sysInfo.value, littleEndian, roots, views, order, keys: keyList, dataStart: keys.end };
}

export function readLegacy(data: Uint8Array, mode: ReadMode): LegacyContents {
  const { root: value, sysInfo, littleEndian, roots, views, order, keys, dataStart } = readHeader(data, mode);
  let pos = dataStart;
  const filled = new Set<string>();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const key of keys) {
    if (typeof key !== 'string') throw new TorchFileError('storage_mismatch', 'a storage key is not a str', dataStart, 'the file');
    const root = roots.get(key);
    if (!root) throw new TorchFileError('storage_mismatch', `storage ${key} has data but no tensor uses it`, pos, 'the file');
    if (filled.has(key)) throw new TorchFileError('storage_mismatch', `storage ${key} is listed twice`, pos, 'the file');
    if (pos + 8 > data.length) throw new TorchFileError('truncated', `the file ends before storage ${key}`, pos, 'the file');
    const count = view.getBigInt64(pos, true);
    if (count !== BigInt(root.numel)) {
      throw new TorchFileError(
        'storage_mismatch',
        `storage ${key} holds ${count} elements but the pickle declares ${root.numel}`,
        pos,
        'the file',
      );
    }
    pos += 8;
    const nbytes = root.nbytes;
    if (nbytes > data.length - pos) {
      throw new TorchFileError('truncated', `the file ends inside storage ${key} (${nbytes} bytes)`, pos, 'the file');
    }
    // a view into the file: copied only when a caller asks for a typed array at an odd offset
    root.bytes = littleEndian ? data.subarray(pos, pos + nbytes) : byteSwapped(data.subarray(pos, pos + nbytes), DTYPES[root.dtype].size);
    filled.add(key);
    pos += nbytes;
  }
  for (const root of roots.values()) {
    if (!filled.has(root.key)) throw new TorchFileError('missing_record', `storage ${root.key} has no data in the file`);
  }
  for (const { storage, root, offset } of views.values()) {
    const size = DTYPES[root.dtype].size;
    storage.bytes = root.bytes.subarray(offset * size, (offset + storage.numel) * size);
  }
  return { root: value, storages: order, sysInfo, littleEndian };
}

/**
 * Legacy storages lie at whatever offsets the pickles leave them, so typed arrays over them
 * usually need a copy. A reader that controls where the file lands in memory (Node's readSync
 * into a buffer, a browser stream into an ArrayBuffer) can instead start the file `pad` bytes
 * into its buffer, so that most storage bytes are aligned and viewed in place.
 *
 * Returns that pad (0-7) for a legacy file, given a prefix of it that holds the five pickles;
 * null when the prefix is too short to tell (read more and ask again); 0 for other formats.
 */
export function legacyAlignmentPad(prefix: Uint8Array): number | null {
  if (prefix.length < LEGACY_MAGIC.length) return null;
  if (!LEGACY_MAGIC.every((b, i) => prefix[i] === b)) return 0;
  let header: LegacyHeader;
  try {
    header = readHeader(prefix, 'inspect');
  } catch (e) {
    if (e instanceof TorchFileError && e.code === 'truncated') return null;
    return 0; // a broken file: the real read will say why
  }
  const aligned = new Array<number>(8).fill(0);
  let pos = header.dataStart;
  for (const key of header.keys) {
    const root = typeof key === 'string' ? header.roots.get(key) : undefined;
    if (!root) break;
    pos += 8;
    const size = DTYPES[root.dtype].size;
    for (let pad = 0; pad < 8; pad++) if ((pos + pad) % size === 0) aligned[pad] = aligned[pad]! + root.nbytes;
    pos += root.nbytes;
  }
  return aligned.indexOf(Math.max(...aligned));
}

/** A copy with every element's bytes reversed (for storages saved on big-endian machines). */
export function byteSwapped(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) {
    for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j]!;
  }
  return out;
}
