// The globals a checkpoint may name, mirroring torch.load(weights_only=True)'s allow-list
// (torch/_weights_only_unpickler.py, 1.13 and 2.x). Nothing here executes Python: each allowed
// callable is re-implemented as a small pure function that builds one of our value classes.
import { TorchFileError } from './errors.ts';
import {
  DTYPE_BY_STORAGE_CLASS,
  DTYPE_BY_TORCH_NAME,
  DTYPES,
  OrderedDict,
  PyGlobal,
  Storage,
  Tensor,
  TorchDevice,
  TorchSize,
  Tuple,
  type PickleValue,
} from './values.ts';

type Handler = (args: PickleValue[]) => PickleValue;

/** Allowed names that are values only (storage classes, dtypes): BINPERSID and
 *  _rebuild_tensor_v3 read them, REDUCE on them is refused. */
const VALUE_GLOBALS = new Set<string>([
  ...DTYPE_BY_STORAGE_CLASS.keys(),
  'torch.UntypedStorage',
  ...DTYPE_BY_TORCH_NAME.keys(),
]);

/** Allowed by torch's weights_only, but holding data this reader does not represent. */
const UNSUPPORTED = new Map<string, string>([
  ['torch.ComplexFloatStorage', 'complex storages are not supported'],
  ['torch.ComplexDoubleStorage', 'complex storages are not supported'],
  ['torch.QInt8Storage', 'quantized storages are not supported'],
  ['torch.QUInt8Storage', 'quantized storages are not supported'],
  ['torch.QInt32Storage', 'quantized storages are not supported'],
  ['torch._utils._rebuild_sparse_tensor', 'sparse tensors are not supported'],
  ['torch._utils._rebuild_sparse_csr_tensor', 'sparse tensors are not supported'],
  ['torch._utils._rebuild_qtensor', 'quantized tensors are not supported'],
  ['torch._utils._rebuild_meta_tensor_no_storage', 'meta tensors are not supported'],
  ['torch._utils._rebuild_wrapper_subclass', 'tensor subclasses are not supported'],
  ['torch._tensor._rebuild_from_type_v2', 'tensor subclasses are not supported'],
]);

export type GlobalStatus = 'allowed' | 'unsupported' | 'refused';

export function globalStatus(qualname: string): GlobalStatus {
  if (CALLABLES.has(qualname) || VALUE_GLOBALS.has(qualname)) return 'allowed';
  return UNSUPPORTED.has(qualname) ? 'unsupported' : 'refused';
}

export function refusal(qualname: string, offset: number, where: string): TorchFileError {
  const why = UNSUPPORTED.get(qualname);
  if (why) return new TorchFileError('unsupported_dtype', `${qualname}: ${why}`, offset, where);
  return new TorchFileError(
    'global_refused',
    `refused global ${qualname}: it is not in torch.load(weights_only=True)'s allow-list, so loading it could run code`,
    offset,
    where,
  );
}

/** REDUCE (and NEWOBJ) on an allowed global. */
export function callGlobal(g: PyGlobal, args: PickleValue[]): PickleValue {
  const fn = CALLABLES.get(g.qualname);
  if (!fn) throw new TorchFileError('bad_pickle', `${g.qualname} is not callable`);
  return fn(args);
}

// --- argument checks: each failure names what it expected ---------------------------------------

function fail(msg: string): never {
  throw new TorchFileError('bad_pickle', msg);
}

/** A non-negative int that fits a JS number exactly. */
export function asIndex(v: PickleValue | undefined, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'bigint' || typeof v === 'number') {
    throw new TorchFileError('tensor_bounds', `${what} ${String(v)} is out of range`);
  }
  return fail(`${what} should be an int, got ${typeName(v)}`);
}

function asIntList(v: PickleValue | undefined, what: string): number[] {
  const items = v instanceof Tuple ? v.items : Array.isArray(v) ? v : fail(`${what} should be a tuple of ints, got ${typeName(v)}`);
  return items.map((x) => asIndex(x, `${what} entry`));
}

function asBool(v: PickleValue | undefined, what: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1; // Python 2 era pickles
  return fail(`${what} should be a bool, got ${typeName(v)}`);
}

export function typeName(v: PickleValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') return v.constructor.name;
  return typeof v;
}

// --- tensors ------------------------------------------------------------------------------------

/** Builds a tensor after checking that every element it can address lies inside the storage. */
export function makeTensor(
  storage: PickleValue | undefined,
  offsetArg: PickleValue | undefined,
  shapeArg: PickleValue | undefined,
  strideArg: PickleValue | undefined,
  requiresGrad = false,
  isParameter = false,
): Tensor {
  if (!(storage instanceof Storage)) fail(`a tensor's storage should come from a persistent id, got ${typeName(storage)}`);
  const offset = asIndex(offsetArg, 'storage offset');
  const shape = asIntList(shapeArg, 'size');
  const stride = asIntList(strideArg, 'stride');
  if (shape.length !== stride.length) {
    throw new TorchFileError('tensor_bounds', `size has ${shape.length} dims but stride has ${stride.length}`);
  }
  let numel = 1;
  let last = offset;
  for (let i = 0; i < shape.length; i++) {
    numel *= shape[i]!;
    last += (shape[i]! - 1) * stride[i]!;
  }
  if (!Number.isSafeInteger(numel) || !Number.isSafeInteger(last)) {
    throw new TorchFileError('tensor_bounds', `tensor of size [${shape.join(', ')}] is too large`);
  }
  const end = numel === 0 ? offset : last + 1;
  if (end > storage.numel) {
    throw new TorchFileError(
      'tensor_bounds',
      `tensor of size [${shape.join(', ')}], stride [${stride.join(', ')}] at offset ${offset} reaches element ${end} ` +
        `of a storage of ${storage.numel}`,
    );
  }
  return new Tensor(storage, offset, shape, stride, requiresGrad, isParameter);
}

/** _rebuild_tensor_v3 passes an untyped (byte) storage and the dtype separately. */
function retype(storage: PickleValue | undefined, dtypeArg: PickleValue | undefined): Storage {
  if (!(storage instanceof Storage)) fail(`a tensor's storage should come from a persistent id, got ${typeName(storage)}`);
  const dtype = dtypeArg instanceof PyGlobal ? DTYPE_BY_TORCH_NAME.get(dtypeArg.qualname) : undefined;
  if (!dtype) {
    const name = dtypeArg instanceof PyGlobal ? dtypeArg.qualname : typeName(dtypeArg);
    throw new TorchFileError('unsupported_dtype', `dtype ${name} is not supported`);
  }
  if (storage.dtype === dtype) return storage;
  const size = DTYPES[dtype].size;
  if (storage.nbytes % size !== 0) {
    throw new TorchFileError('storage_mismatch', `a storage of ${storage.nbytes} bytes cannot hold ${dtype} elements`);
  }
  return new Storage(dtype, storage.nbytes / size, storage.key, storage.location, storage.bytes);
}

function parameter(data: PickleValue | undefined, requiresGrad: PickleValue | undefined): Tensor {
  if (!(data instanceof Tensor)) fail(`a Parameter should wrap a tensor, got ${typeName(data)}`);
  const t = new Tensor(data.storage, data.offset, data.shape, data.stride, asBool(requiresGrad ?? true, 'requires_grad'), true);
  t.attrs = data.attrs;
  return t;
}

function withAttrs(t: Tensor, attrs: PickleValue | undefined): Tensor {
  const empty = attrs === undefined || attrs === null || (attrs instanceof Map && attrs.size === 0);
  if (!empty) t.attrs = attrs;
  return t;
}

// --- the allow-list -----------------------------------------------------------------------------

function pairs(v: PickleValue | undefined): [PickleValue, PickleValue][] {
  if (v === undefined) return [];
  if (v instanceof Map) return [...v];
  const items = Array.isArray(v) ? v : v instanceof Tuple ? v.items : fail(`OrderedDict() expects pairs, got ${typeName(v)}`);
  return items.map((p) => {
    const kv = p instanceof Tuple ? p.items : Array.isArray(p) ? p : [];
    if (kv.length !== 2) fail('OrderedDict() expects (key, value) pairs');
    return [kv[0]!, kv[1]!];
  });
}

function latin1Bytes(s: PickleValue | undefined, encoding: PickleValue | undefined): Uint8Array {
  if (typeof s !== 'string') return fail(`_codecs.encode expects a str, got ${typeName(s)}`);
  if (encoding === 'latin1' || encoding === 'latin-1' || encoding === 'iso-8859-1') {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 255) fail('_codecs.encode: a character does not fit latin-1');
      out[i] = c;
    }
    return out;
  }
  if (encoding === 'utf-8' || encoding === 'utf8') return new TextEncoder().encode(s);
  return fail(`_codecs.encode: unsupported encoding ${String(encoding)}`);
}

function device(args: PickleValue[]): TorchDevice {
  const [spec, index] = args;
  if (typeof spec !== 'string') fail(`torch.device expects a str, got ${typeName(spec)}`);
  if (index !== undefined && index !== null) return new TorchDevice(spec, asIndex(index, 'device index'));
  const m = /^(\w+)(?::(\d+))?$/.exec(spec);
  if (!m) fail(`torch.device: bad device string '${spec}'`);
  return new TorchDevice(m[1]!, m[2] === undefined ? null : Number(m[2]));
}

function iterItems(v: PickleValue | undefined, what: string): PickleValue[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return v;
  if (v instanceof Tuple) return v.items;
  if (v instanceof Set) return [...v];
  return fail(`${what} expects a list or tuple, got ${typeName(v)}`);
}

const CALLABLES = new Map<string, Handler>([
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  ['torch._utils._rebuild_tensor_v2', (a) => withAttrs(makeTensor(a[0], a[1], a[2], a[3], asBool(a[4], 'requires_grad')), a[6])],
  // (storage, storage_offset, size, stride): before torch 1.0
  ['torch._utils._rebuild_tensor', (a) => makeTensor(a[0], a[1], a[2], a[3])],
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata]): torch 2.x
  [
    'torch._utils._rebuild_tensor_v3',
    (a) => withAttrs(makeTensor(retype(a[0], a[6]), a[1], a[2], a[3], asBool(a[4], 'requires_grad')), a[7]),
  ],
  // (data, requires_grad, backward_hooks)
  ['torch._utils._rebuild_parameter', (a) => parameter(a[0], a[1])],
  // (data, requires_grad, backward_hooks, state)
  ['torch._utils._rebuild_parameter_with_state', (a) => withAttrs(parameter(a[0], a[1]), a[3])],
  ['torch.nn.parameter.Parameter', (a) => parameter(a[0], a[1])],
  [
    'collections.OrderedDict',
    (a) => {
      const d = new OrderedDict();
      for (const [k, v] of pairs(a[0])) d.set(k, v);
      return d;
    },
  ],
  ['torch.Size', (a) => new TorchSize(asIntList(a[0] ?? new Tuple([]), 'torch.Size'))],
  ['torch.device', device],
  ['_codecs.encode', (a) => latin1Bytes(a[0], a[1])],
  ['builtins.set', (a) => new Set(iterItems(a[0], 'set()'))],
  [
    'builtins.bytearray',
    (a) => (a[0] instanceof Uint8Array ? a[0].slice() : Uint8Array.from(iterItems(a[0], 'bytearray()').map((x) => asIndex(x, 'byte') & 255))),
  ],
  // Counter pickles as (Counter, (dict(self),)); kept as a plain dict
  ['collections.Counter', (a) => new Map(a[0] instanceof Map ? a[0] : [])],
]);
