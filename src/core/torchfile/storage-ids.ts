// Persistent ids: how a pickle refers to the storages that follow it in the container.
//   zip:    ('storage', torch.FloatStorage, '<key>', '<location>', numel)
//   legacy: ('storage', torch.FloatStorage, '<key>', '<location>', numel, view_metadata)
// where view_metadata is None or (view_key, offset, size) for a slice of the root storage.
import { TorchFileError } from './errors.ts';
import { asIndex, typeName } from './globals.ts';
import { DTYPE_BY_STORAGE_CLASS, Opaque, PyGlobal, Tuple, type DType, type PickleValue } from './values.ts';

export interface StorageRef {
  dtype: DType;
  key: string;
  location: string;
  numel: number;
  view: { key: string; offset: number; numel: number } | null;
}

/** Parses a persistent id. Returns an Opaque stand-in for ids that are not storages when
 *  inspecting (a legacy pickled nn.Module's source code, for example); strict mode refuses them. */
export function parseStorageId(pid: PickleValue, strict: boolean): StorageRef | Opaque {
  const items = pid instanceof Tuple ? pid.items : null;
  if (!items || items[0] !== 'storage') {
    const what = items && typeof items[0] === 'string' ? `('${items[0]}', ...)` : typeName(pid);
    if (!strict) return new Opaque(null, pid, 'persistent_id');
    throw new TorchFileError('persistent_id', `persistent id ${what} is not a storage: torch.load(weights_only=True) refuses it`);
  }
  const [, type, key, location, numel, view] = items;
  if (!(type instanceof PyGlobal)) throw new TorchFileError('persistent_id', `storage type should be a class, got ${typeName(type)}`);
  const dtype = type.qualname === 'torch.UntypedStorage' ? 'u8' : DTYPE_BY_STORAGE_CLASS.get(type.qualname);
  if (!dtype) {
    if (!strict) return new Opaque(type, pid, 'persistent_id');
    throw new TorchFileError('unsupported_dtype', `storage type ${type.qualname} is not supported`);
  }
  if (typeof key !== 'string') throw new TorchFileError('persistent_id', `storage key should be a str, got ${typeName(key)}`);
  const loc = location instanceof Uint8Array ? new TextDecoder('latin1').decode(location) : location;
  if (typeof loc !== 'string') throw new TorchFileError('persistent_id', `storage location should be a str, got ${typeName(location)}`);
  const ref: StorageRef = { dtype, key, location: loc, numel: asIndex(numel, 'storage size'), view: null };
  if (view instanceof Tuple) {
    const [vkey, offset, size] = view.items;
    if (typeof vkey !== 'string') throw new TorchFileError('persistent_id', 'storage view key should be a str');
    ref.view = { key: vkey, offset: asIndex(offset, 'storage view offset'), numel: asIndex(size, 'storage view size') };
    if (ref.view.offset + ref.view.numel > ref.numel) {
      throw new TorchFileError('tensor_bounds', `storage view [${ref.view.offset}, +${ref.view.numel}) is outside its storage of ${ref.numel}`);
    }
  } else if (view !== undefined && view !== null) {
    throw new TorchFileError('persistent_id', `storage view metadata should be a tuple or None, got ${typeName(view)}`);
  }
  return ref;
}
