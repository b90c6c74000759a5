// writeTorchFile: a value tree to the bytes of a zip-format checkpoint that torch.load reads with
// and without weights_only (torch 1.13 refuses Python floats under weights_only; a state dict
// alone has none). Plus small builders for the values a writer typically needs.
import { guard, TorchFileError } from './errors.ts';
import { pickleValue } from './pickler.ts';
import { floatToBFloat16Bits, floatToHalfBits } from './tensor-data.ts';
import { contiguousStrides, OrderedDict, PyFloat, Storage, Tensor, Tuple, type DType, type PickleValue } from './values.ts';
import { writeZip, type ZipRecord } from './zip-writer.ts';

export interface WriteOptions {
  /** the zip's top folder; torch uses the file name without its extension, or 'archive' */
  folder?: string;
}

export function writeTorchFile(value: PickleValue, options: WriteOptions = {}): Uint8Array {
  return guard(() => {
    const folder = options.folder ?? 'archive';
    if (!/^[\w.\- ]+$/.test(folder) || folder === '.' || folder === '..') {
      throw new TorchFileError('unsupported_value', `'${folder}' is not a usable folder name`);
    }
    const { pickle, storages } = pickleValue(value);
    const ascii = (s: string) => new TextEncoder().encode(s);
    const records: ZipRecord[] = [
      { name: `${folder}/data.pkl`, data: pickle },
      { name: `${folder}/byteorder`, data: ascii('little') },
      ...storages.map((s, i) => ({ name: `${folder}/data/${i}`, data: s.bytes.subarray(0, s.nbytes) })),
      { name: `${folder}/version`, data: ascii('3\n') },
    ];
    for (const s of storages) {
      if (s.bytes.length < s.nbytes) throw new TorchFileError('storage_mismatch', `storage ${s.key} has fewer bytes than its ${s.numel} elements`);
    }
    return writeZip(records);
  });
}

/** Element arrays accepted by makeTensor for each dtype. f16 and bf16 take either their raw
 *  16-bit patterns (Uint16Array) or floats (Float32Array/number[]) rounded as torch rounds. */
export type TensorInput = ArrayLike<number> | BigInt64Array | Uint8Array;

/** A contiguous tensor over a fresh storage (or a view of `data`'s buffer when it already holds
 *  the right little-endian bytes). */
export function makeTensor(dtype: DType, shape: readonly number[], data: TensorInput): Tensor {
  const numel = shape.reduce((a, b) => a * b, 1);
  if (data.length !== numel) {
    throw new TorchFileError('unsupported_value', `makeTensor: ${data.length} values for size [${shape.join(', ')}] (${numel})`);
  }
  const bytes = encodeElements(dtype, data);
  const storage = new Storage(dtype, numel, '', 'cpu', bytes);
  return new Tensor(storage, 0, [...shape], contiguousStrides(shape));
}

function encodeElements(dtype: DType, data: TensorInput): Uint8Array {
  const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (dtype) {
    case 'f32':
      return asBytes(data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>));
    case 'f64':
      return asBytes(data instanceof Float64Array ? data : Float64Array.from(data as ArrayLike<number>));
    case 'f16':
    case 'bf16': {
      if (data instanceof Uint16Array) return asBytes(data);
      const bits = dtype === 'f16' ? floatToHalfBits : floatToBFloat16Bits;
      return asBytes(Uint16Array.from(data as ArrayLike<number>, bits));
    }
    case 'i64':
      return asBytes(data instanceof BigInt64Array ? data : BigInt64Array.from(data as ArrayLike<number>, (x) => BigInt(x)));
    case 'i32':
      return asBytes(data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>));
    case 'i16':
      return asBytes(data instanceof Int16Array ? data : Int16Array.from(data as ArrayLike<number>));
    case 'i8':
      return asBytes(data instanceof Int8Array ? data : Int8Array.from(data as ArrayLike<number>));
    case 'u8':
      return asBytes(data instanceof Uint8Array ? data : Uint8Array.from(data as ArrayLike<number>));
    case 'bool':
      return Uint8Array.from(data as ArrayLike<number>, (x) => (x ? 1 : 0));
  }
}

/** An OrderedDict of tensors, as model.state_dict() returns. */
export function stateDict(entries: Iterable<readonly [string, Tensor]>): OrderedDict {
  const d = new OrderedDict();
  for (const [k, t] of entries) d.set(k, t);
  return d;
}

/** A Python dict with str keys, from a plain object or entries (kept in Map order). */
export function pyDict(entries: Record<string, PickleValue> | Iterable<readonly [PickleValue, PickleValue]>): Map<PickleValue, PickleValue> {
  const it = Symbol.iterator in entries ? (entries as Iterable<readonly [PickleValue, PickleValue]>) : Object.entries(entries);
  return new Map([...it].map(([k, v]) => [k, v] as [PickleValue, PickleValue]));
}

export const tuple = (...items: PickleValue[]) => new Tuple(items);
export const pyFloat = (x: number) => new PyFloat(x);
