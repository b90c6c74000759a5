// The typed value tree a checkpoint unpickles to. Python's types map onto small classes where
// JavaScript has no exact match (tuple, float, OrderedDict), so a read-then-write keeps them.
//
//   int            number, or bigint beyond ±2^53
//   float          PyFloat (so 3.0 stays a float and 3 an int)
//   str / bytes    string / Uint8Array
//   bool / None    boolean / null
//   list / tuple   PickleValue[] / Tuple (TorchSize for torch.Size)
//   dict           Map (keys may be ints, tuples, ...); OrderedDict for collections.OrderedDict
//   set            Set
//   tensor         Tensor over a Storage (shared between tensors that share memory)

export type DType = 'f32' | 'f64' | 'f16' | 'bf16' | 'i64' | 'i32' | 'i16' | 'i8' | 'u8' | 'bool';

export interface DTypeInfo {
  /** bytes per element */
  size: number;
  /** torch's name: torch.float32 -> 'float32' */
  torch: string;
  /** the legacy storage class torch pickles for it: 'FloatStorage' */
  storage: string;
}

export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  f32: { size: 4, torch: 'float32', storage: 'FloatStorage' },
  f64: { size: 8, torch: 'float64', storage: 'DoubleStorage' },
  f16: { size: 2, torch: 'float16', storage: 'HalfStorage' },
  bf16: { size: 2, torch: 'bfloat16', storage: 'BFloat16Storage' },
  i64: { size: 8, torch: 'int64', storage: 'LongStorage' },
  i32: { size: 4, torch: 'int32', storage: 'IntStorage' },
  i16: { size: 2, torch: 'int16', storage: 'ShortStorage' },
  i8: { size: 1, torch: 'int8', storage: 'CharStorage' },
  u8: { size: 1, torch: 'uint8', storage: 'ByteStorage' },
  bool: { size: 1, torch: 'bool', storage: 'BoolStorage' },
};

export const ALL_DTYPES = Object.keys(DTYPES) as DType[];

/** 'torch.FloatStorage' -> 'f32' */
export const DTYPE_BY_STORAGE_CLASS: ReadonlyMap<string, DType> = new Map(
  ALL_DTYPES.map((d) => [`torch.${DTYPES[d].storage}`, d]),
);

/** 'torch.float32' (and aliases such as 'torch.float', 'torch.long') -> 'f32' */
export const DTYPE_BY_TORCH_NAME: ReadonlyMap<string, DType> = new Map([
  ...ALL_DTYPES.map((d) => [`torch.${DTYPES[d].torch}`, d] as [string, DType]),
  ['torch.float', 'f32'],
  ['torch.double', 'f64'],
  ['torch.half', 'f16'],
  ['torch.long', 'i64'],
  ['torch.int', 'i32'],
  ['torch.short', 'i16'],
]);

/** A Python float. Kept apart from ints so that writing a checkpoint back gives the same types. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A Python tuple. */
export class Tuple {
  constructor(readonly items: PickleValue[]) {}
}

/** torch.Size, a tuple subclass torch pickles by name. */
export class TorchSize extends Tuple {}

/** torch.device('cuda:0') and friends. */
export class TorchDevice {
  constructor(
    readonly type: string,
    readonly index: number | null = null,
  ) {}
  toString(): string {
    return this.index === null ? this.type : `${this.type}:${this.index}`;
  }
}

/** collections.OrderedDict; `attrs` holds BUILD state, such as a state dict's `_metadata`. */
export class OrderedDict extends Map<PickleValue, PickleValue> {
  attrs: Map<string, PickleValue> | null = null;
}

/** A reference to a Python class or function by name (torch.FloatStorage, torch.float32, ...).
 *  `allowed` is false only in inspection mode, for globals strict mode refuses. Never callable. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly allowed: boolean,
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Inspection mode's inert stand-in for an object strict mode would refuse to build
 *  (an nn.Module, a numpy scalar, ...): what would have been called, with what. */
export class Opaque {
  /** BUILD state */
  state: PickleValue | undefined = undefined;
  /** items APPENDed or SETITEM-ed onto it (list and dict subclasses) */
  extra: PickleValue[] | undefined = undefined;
  constructor(
    /** null for a persistent id that is not a storage */
    readonly callable: PyGlobal | Opaque | null,
    readonly args: PickleValue,
    readonly how: 'reduce' | 'newobj' | 'persistent_id',
  ) {}
  get qualname(): string {
    if (this.callable === null) return 'persistent_id';
    return this.callable instanceof PyGlobal ? this.callable.qualname : `(${this.callable.qualname}(...))`;
  }
}

/** A flat run of elements of one dtype, little-endian. `bytes` views the file's buffer where it can. */
export class Storage {
  constructor(
    readonly dtype: DType,
    /** number of elements (not bytes) */
    readonly numel: number,
    /** the record key in the file: '0', '1', ... in zip files, a C pointer in legacy ones */
    readonly key: string,
    readonly location: string,
    public bytes: Uint8Array,
  ) {}
  get nbytes(): number {
    return this.numel * DTYPES[this.dtype].size;
  }
}

/** A strided view of a storage, as torch._utils._rebuild_tensor_v2 builds it. */
export class Tensor {
  /** BUILD state or v2 metadata, when a file carries any */
  attrs: PickleValue | undefined = undefined;
  constructor(
    readonly storage: Storage,
    /** in elements */
    readonly offset: number,
    readonly shape: readonly number[],
    /** in elements */
    readonly stride: readonly number[],
    readonly requiresGrad = false,
    /** saved as an nn.Parameter */
    readonly isParameter = false,
  ) {}
  get dtype(): DType {
    return this.storage.dtype;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | Uint8Array
  | PickleValue[]
  | Tuple
  | Map<PickleValue, PickleValue>
  | Set<PickleValue>
  | Tensor
  | Storage
  | TorchDevice
  | PyGlobal
  | Opaque;

/** C-order strides for a shape, in elements. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i]!;
  }
  return stride;
}
