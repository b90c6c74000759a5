// Writes a value tree as a protocol-2 pickle, the way torch.save does, using only opcodes and
// globals that torch.load(weights_only=True) accepts. Storages become persistent ids numbered in
// first-encounter order; the caller writes their bytes as data/<key> records.
import { MAX_DEPTH, TorchFileError } from './errors.ts';
import { globalStatus } from './globals.ts';
import {
  DTYPES,
  Opaque,
  OrderedDict,
  PyFloat,
  PyGlobal,
  Storage,
  Tensor,
  TorchDevice,
  TorchSize,
  Tuple,
  type PickleValue,
} from './values.ts';

/** CPython batches APPENDS and SETITEMS by this many */
const BATCH = 1000;

class ByteWriter {
  buf = new Uint8Array(1 << 16);
  len = 0;
  private view = new DataView(this.buf.buffer);
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }
  u8(...bytes: number[]): void {
    this.ensure(bytes.length);
    for (const b of bytes) this.buf[this.len++] = b;
  }
  u16(x: number): void {
    this.ensure(2);
    this.view.setUint16(this.len, x, true);
    this.len += 2;
  }
  u32(x: number): void {
    this.ensure(4);
    this.view.setUint32(this.len, x, true);
    this.len += 4;
  }
  i32(x: number): void {
    this.ensure(4);
    this.view.setInt32(this.len, x, true);
    this.len += 4;
  }
  f64be(x: number): void {
    this.ensure(8);
    this.view.setFloat64(this.len, x, false);
    this.len += 8;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const MARK = 0x28;
const enc = new TextEncoder();

export interface PickleResult {
  pickle: Uint8Array;
  /** storages by key, in the order their keys were assigned ('0', '1', ...) */
  storages: Storage[];
}

export function pickleValue(root: PickleValue): PickleResult {
  const w = new ByteWriter();
  const memo = new Map<unknown, number>();
  const storageKeys = new Map<Storage, string>();
  const storages: Storage[] = [];

  const put = (key: unknown) => {
    const i = memo.size;
    memo.set(key, i);
    if (i < 256) w.u8(0x71, i); // BINPUT
    else {
      w.u8(0x72); // LONG_BINPUT
      w.u32(i);
    }
  };
  const get = (key: unknown): boolean => {
    const i = memo.get(key);
    if (i === undefined) return false;
    if (i < 256) w.u8(0x68, i); // BINGET
    else {
      w.u8(0x6a); // LONG_BINGET
      w.u32(i);
    }
    return true;
  };
  const global = (qualname: string) => {
    if (globalStatus(qualname) !== 'allowed') {
      throw new TorchFileError('unsupported_value', `refusing to write global ${qualname}: torch.load(weights_only=True) would not accept it`);
    }
    const key = `global:${qualname}`;
    if (get(key)) return;
    const dot = qualname.lastIndexOf('.');
    w.u8(0x63); // GLOBAL
    w.bytes(enc.encode(`${qualname.slice(0, dot)}\n${qualname.slice(dot + 1)}\n`));
    put(key);
  };
  const str = (s: string) => {
    const key = `str:${s}`;
    if (get(key)) return;
    const b = enc.encode(s);
    w.u8(0x58); // BINUNICODE
    w.u32(b.length);
    w.bytes(b);
    put(key);
  };
  const int = (x: number | bigint) => {
    if (x >= 0 && x < 256) w.u8(0x4b, Number(x)); // BININT1
    else if (x >= 0 && x < 65536) {
      w.u8(0x4d); // BININT2
      w.u16(Number(x));
    } else if (x >= -0x80000000 && x < 0x80000000) {
      w.u8(0x4a); // BININT
      w.i32(Number(x));
    } else {
      // LONG1: minimal two's complement, little-endian, as Python's encode_long
      let v = BigInt(x);
      const out: number[] = [];
      for (;;) {
        const byte = Number(v & 0xffn);
        out.push(byte);
        v >>= 8n;
        if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
      }
      if (out.length > 255) throw new TorchFileError('unsupported_value', 'an int wider than 255 bytes');
      w.u8(0x8a, out.length, ...out);
    }
  };
  const tupleOf = (items: readonly PickleValue[], depth: number) => {
    if (items.length === 0) return w.u8(0x29); // EMPTY_TUPLE
    if (items.length > 3) w.u8(MARK);
    for (const x of items) save(x, depth + 1);
    w.u8(items.length === 1 ? 0x85 : items.length === 2 ? 0x86 : items.length === 3 ? 0x87 : 0x74);
  };
  const emptyOrderedDict = () => {
    global('collections.OrderedDict');
    w.u8(0x29, 0x52); // EMPTY_TUPLE REDUCE
  };
  const persistentId = (s: Storage) => {
    let key = storageKeys.get(s);
    if (key === undefined) {
      key = String(storageKeys.size);
      storageKeys.set(s, key);
      storages.push(s);
    }
    // ('storage', torch.FloatStorage, key, location, numel)
    w.u8(MARK);
    str('storage');
    global(`torch.${DTYPES[s.dtype].storage}`);
    str(key);
    // always 'cpu': the bytes are in memory here, and a 'cuda:0' location would make torch.load
    // fail on machines without that GPU unless the caller passes map_location
    str('cpu');
    int(s.numel);
    w.u8(0x74, 0x51); // TUPLE BINPERSID
  };
  const tensor = (t: Tensor, depth: number) => {
    if (t.isParameter) {
      // _rebuild_parameter(_rebuild_tensor_v2(...), requires_grad, OrderedDict())
      global('torch._utils._rebuild_parameter');
      tensorV2(t, false, depth);
      w.u8(t.requiresGrad ? 0x88 : 0x89);
      emptyOrderedDict();
      w.u8(0x87, 0x52); // TUPLE3 REDUCE
    } else tensorV2(t, t.requiresGrad, depth);
  };
  const tensorV2 = (t: Tensor, requiresGrad: boolean, depth: number) => {
    global('torch._utils._rebuild_tensor_v2');
    w.u8(MARK);
    persistentId(t.storage);
    int(t.offset);
    tupleOf(t.shape, depth);
    tupleOf(t.stride, depth);
    w.u8(requiresGrad ? 0x88 : 0x89);
    emptyOrderedDict();
    if (t.attrs instanceof Map && t.attrs.size > 0) save(t.attrs, depth + 1);
    w.u8(0x74, 0x52); // TUPLE REDUCE
  };
  const setItems = (m: Map<PickleValue, PickleValue>, depth: number) => {
    const entries = [...m];
    for (let i = 0; i < entries.length; i += BATCH) {
      const batch = entries.slice(i, i + BATCH);
      if (batch.length > 1) w.u8(MARK);
      for (const [k, x] of batch) {
        save(k, depth + 1);
        save(x, depth + 1);
      }
      w.u8(batch.length > 1 ? 0x75 : 0x73); // SETITEMS / SETITEM
    }
  };

  const save = (v: PickleValue, depth: number): void => {
    if (depth > MAX_DEPTH) throw new TorchFileError('too_deep', `values nest deeper than ${MAX_DEPTH} levels`);
    if (v === null) return w.u8(0x4e);
    if (v === true) return w.u8(0x88);
    if (v === false) return w.u8(0x89);
    if (typeof v === 'bigint') return int(v);
    if (typeof v === 'number') {
      // ints are numbers that are whole and exact; anything else is a Python float
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return int(v);
      w.u8(0x47); // BINFLOAT
      return w.f64be(v);
    }
    if (typeof v === 'string') return str(v);
    if (v instanceof PyFloat) {
      w.u8(0x47);
      return w.f64be(v.value);
    }
    if (get(v)) return; // the same object again: keep the sharing, as pickle does
    if (v instanceof Uint8Array) {
      // bytes at protocol 2: _codecs.encode(latin-1 text, 'latin1')
      global('_codecs.encode');
      let latin1 = '';
      for (let i = 0; i < v.length; i++) latin1 += String.fromCharCode(v[i]!);
      str(latin1);
      str('latin1');
      w.u8(0x86, 0x52); // TUPLE2 REDUCE
    } else if (v instanceof TorchSize) {
      global('torch.Size');
      tupleOf(v.items, depth);
      w.u8(0x85, 0x52); // TUPLE1 REDUCE
    } else if (v instanceof Tuple) tupleOf(v.items, depth);
    else if (Array.isArray(v)) {
      w.u8(0x5d); // EMPTY_LIST
      put(v);
      for (let i = 0; i < v.length; i += BATCH) {
        const batch = v.slice(i, i + BATCH);
        if (batch.length > 1) w.u8(MARK);
        for (const x of batch) save(x, depth + 1);
        w.u8(batch.length > 1 ? 0x65 : 0x61); // APPENDS / APPEND
      }
      return;
    } else if (v instanceof OrderedDict) {
      emptyOrderedDict();
      put(v);
      setItems(v, depth);
      if (v.attrs && v.attrs.size > 0) {
        save(new Map<PickleValue, PickleValue>(v.attrs), depth + 1);
        w.u8(0x62); // BUILD
      }
      return;
    } else if (v instanceof Map) {
      w.u8(0x7d); // EMPTY_DICT
      put(v);
      setItems(v, depth);
      return;
    } else if (v instanceof Set) {
      global('builtins.set');
      save([...v], depth + 1);
      w.u8(0x85, 0x52);
    } else if (v instanceof Tensor) tensor(v, depth);
    else if (v instanceof Storage) persistentId(v);
    else if (v instanceof TorchDevice) {
      global('torch.device');
      str(v.toString());
      w.u8(0x85, 0x52);
    } else if (v instanceof PyGlobal) global(v.qualname);
    else if (v instanceof Opaque) {
      throw new TorchFileError('unsupported_value', `refusing to write ${v.qualname}: it is not in the weights_only allow-list`);
    } else {
      throw new TorchFileError('unsupported_value', `cannot pickle a ${(v as object)?.constructor?.name ?? typeof v}`);
    }
    put(v);
  };

  w.u8(0x80, 2); // PROTO 2
  save(root, 0);
  w.u8(0x2e); // STOP
  return { pickle: w.result(), storages };
}
