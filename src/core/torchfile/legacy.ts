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

export function readLegacy(data: Uint8Array, mode: ReadMode): LegacyContents {
  const noPersistentIds = (): never => {
    throw new TorchFileError('persistent_id', 'a persistent id outside the main pickle');
  };
  const header = (n: number, start: number) =>
    unpickle(data, start, { mode: 'strict', persistentLoad: noPersistentIds, where: `pickle ${n} of 5` });

  const magic = header(1, 0);
  if (magic.value !== MAGIC_NUMBER) {
    throw new TorchFileError('not_a_checkpoint', 'the first pickle is not torch.save\'s magic number');
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

  let pos = keys.end;
  const filled = new Set<string>();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const key of keyList) {
    if (typeof key !== 'string') throw new TorchFileError('storage_mismatch', 'a storage key is not a str', keys.end, 'the file');
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
  return { root: object.value, storages: order, sysInfo: sysInfo.value, littleEndian };
}

/** A copy with every element's bytes reversed (for storages saved on big-endian machines). */
export function byteSwapped(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) {
    for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j]!;
  }
  return out;
}
