// numpy's .npy and .npz files, read without numpy (MedMNIST ships its datasets as .npz).
// - .npy (numpy/lib/format.py): "\x93NUMPY", major and minor version, a little-endian header length (2 bytes
//   in version 1, 4 in versions 2 and 3), then a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with spaces to a multiple of 64
//   (16 before numpy 1.14), then the data in C order.
// - .npz: a zip of `<key>.npy` entries; np.savez stores them (method 0), np.savez_compressed deflates them
//   (method 8). numpy opens each entry with force_zip64=True, so local headers carry a zip64 extra field
//   whose length may differ from the central directory's: payloads start where the local header says.
// The core stays free of Node imports: deflated entries go through the caller's `inflateRaw`, or the
// platform's DecompressionStream('deflate-raw') (browsers, workers and Node 18+ all have it).
import { crc32 } from '../torchfile/crc32.ts';

export class NpzError extends Error {
  override name = 'NpzError';
}

/** The element types we read: numpy's dtype names. */
export type NpyDtype = 'bool' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64';

export type NpyData = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

export interface NpyArray {
  dtype: NpyDtype;
  /** the header's descr as written ('|u1', '<f4', ...) */
  descr: string;
  shape: number[];
  /** C order, shape.reduce(*) elements; bool as 0/1 bytes; copied out of the file (aligned, little-endian) */
  data: NpyData;
}

/** The kind letter and byte size of a descr (without its byte-order character) -> dtype. */
const DTYPES: Readonly<Record<string, { dtype: NpyDtype; bytes: number; make: (b: ArrayBuffer) => NpyData }>> = {
  b1: { dtype: 'bool', bytes: 1, make: (b) => new Uint8Array(b) },
  i1: { dtype: 'int8', bytes: 1, make: (b) => new Int8Array(b) },
  u1: { dtype: 'uint8', bytes: 1, make: (b) => new Uint8Array(b) },
  i2: { dtype: 'int16', bytes: 2, make: (b) => new Int16Array(b) },
  u2: { dtype: 'uint16', bytes: 2, make: (b) => new Uint16Array(b) },
  i4: { dtype: 'int32', bytes: 4, make: (b) => new Int32Array(b) },
  u4: { dtype: 'uint32', bytes: 4, make: (b) => new Uint32Array(b) },
  i8: { dtype: 'int64', bytes: 8, make: (b) => new BigInt64Array(b) },
  u8: { dtype: 'uint64', bytes: 8, make: (b) => new BigUint64Array(b) },
  f4: { dtype: 'float32', bytes: 4, make: (b) => new Float32Array(b) },
  f8: { dtype: 'float64', bytes: 8, make: (b) => new Float64Array(b) },
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** One .npy file's bytes -> its array. `name` says which file or entry in error messages. */
export function parseNpy(bytes: Uint8Array, name = 'the .npy file'): NpyArray {
  const fail = (msg: string): never => {
    throw new NpzError(`${name}: ${msg}`);
  };
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) fail('not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail('truncated header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    return fail(`format version ${major}.${bytes[7]} is not one numpy writes (1.0, 2.0, 3.0)`);
  }
  if (start + headerLen > bytes.length) fail(`the header says ${headerLen} bytes but the file ends first`);
  // version 3 allows utf-8 in the header (structured dtype field names); 1 and 2 are latin-1, which for the
  // keys and values read here is plain ASCII either way
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const dict = parseHeader(header, fail);
  const descr = dict.descr;
  if (typeof descr !== 'string') return fail(`descr is ${JSON.stringify(descr)}: structured dtypes are not supported`);
  const order = descr[0]!;
  const kind = DTYPES[descr.slice(1)];
  if (!'<>|='.includes(order) || !kind) fail(`dtype '${descr}' is not supported (bool, int8..int64, uint8..uint64, float32, float64)`);
  const k = kind!;
  if (dict.fortran_order !== false) fail(`fortran_order is ${String(dict.fortran_order)}: only C-order arrays are supported`);
  const shape = dict.shape;
  if (!Array.isArray(shape)) return fail('the header has no shape tuple');
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const need = count * k.bytes;
  if (bytes.length - dataStart < need) fail(`shape (${shape.join(', ')}) of ${descr} needs ${need} data bytes, the file has ${bytes.length - dataStart}`);
  if (bytes.length - dataStart > need) fail(`${bytes.length - dataStart - need} bytes follow the data of shape (${shape.join(', ')}) ${descr}`);
  // a copy: aligned for the typed array, and independent of the (possibly large) file buffer
  const copy = bytes.slice(dataStart, dataStart + need);
  if (order === '>' && k.bytes > 1) {
    for (let i = 0; i < need; i += k.bytes) copy.subarray(i, i + k.bytes).reverse();
  }
  return { dtype: k.dtype, descr, shape, data: k.make(copy.buffer) };
}

type HeaderValue = string | boolean | number[];

/** The header dict literal: string keys, and string, True/False or tuple-of-int values (what numpy writes). */
function parseHeader(text: string, fail: (msg: string) => never): Record<string, HeaderValue> {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) fail(`header ${JSON.stringify(text.trim())}: expected '${c}' at character ${i}`);
    i++;
  };
  const str = (): string => {
    ws();
    const q = text[i];
    if (q !== "'" && q !== '"') return fail(`header ${JSON.stringify(text.trim())}: expected a quoted string at character ${i}`);
    const end = text.indexOf(q, i + 1);
    if (end < 0) fail('header: unterminated string');
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const value = (): HeaderValue => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') return str();
    if (text.startsWith('True', i)) return (i += 4), true;
    if (text.startsWith('False', i)) return (i += 5), false;
    if (c === '(') {
      i++;
      const dims: number[] = [];
      for (;;) {
        ws();
        if (text[i] === ')') break;
        const m = /^\d+L?/.exec(text.slice(i)); // Python 2 wrote longs as 3L
        if (!m) return fail(`header ${JSON.stringify(text.trim())}: a shape entry at character ${i} is not a whole number`);
        dims.push(Number.parseInt(m[0], 10));
        i += m[0].length;
        ws();
        if (text[i] === ',') i++;
      }
      i++;
      return dims;
    }
    return fail(`header ${JSON.stringify(text.trim())}: unexpected value at character ${i}`);
  };
  const out: Record<string, HeaderValue> = {};
  expect('{');
  for (;;) {
    ws();
    if (text[i] === '}') break;
    const key = str();
    expect(':');
    out[key] = value();
    ws();
    if (text[i] === ',') i++;
  }
  for (const k of ['descr', 'fortran_order', 'shape']) if (!(k in out)) fail(`header ${JSON.stringify(text.trim())} has no '${k}'`);
  return out;
}

/** Inflates a raw deflate stream (no zlib header), e.g. Node's zlib.inflateRawSync or fflate's inflateSync. */
export type InflateRaw = (deflated: Uint8Array, size: number) => Uint8Array | Promise<Uint8Array>;

/** The platform's DecompressionStream('deflate-raw'). */
export async function inflateWithStream(deflated: Uint8Array, size: number): Promise<Uint8Array> {
  if (typeof DecompressionStream === 'undefined') throw new NpzError('this platform has no DecompressionStream: pass an inflateRaw function');
  const stream = new Blob([deflated as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const out = new Uint8Array(size);
  let at = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.length > size) {
      await reader.cancel();
      throw new NpzError(`an entry inflates to more than the ${size} bytes its header declares`);
    }
    out.set(value, at);
    at += value.length;
  }
  if (at !== size) throw new NpzError(`an entry inflates to ${at} bytes, its header declares ${size}`);
  return out;
}

export interface NpzEntry {
  /** the zip entry name ('train_images.npy') */
  name: string;
  /** 0 stored, 8 deflated */
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  localOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;

/** The zip's central directory: every entry with its method and sizes. */
export function listNpz(bytes: Uint8Array, name = 'the .npz file'): NpzEntry[] {
  const fail = (msg: string): never => {
    throw new NpzError(`${name}: ${msg}`);
  };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // the end record sits in the last 22 + 65535 (comment) bytes
  let eocd = -1;
  for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 0xffff); p--) {
    if (v.getUint32(p, true) === SIG_EOCD) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) fail('not a zip archive (no end of central directory record)');
  let count = v.getUint16(eocd + 10, true);
  let cdOffset = v.getUint32(eocd + 16, true);
  if ((count === 0xffff || cdOffset === 0xffffffff) && eocd >= 20 && v.getUint32(eocd - 20, true) === SIG_ZIP64_LOCATOR) {
    const z = Number(v.getBigUint64(eocd - 12, true));
    if (z + 56 > bytes.length || v.getUint32(z, true) !== SIG_ZIP64_EOCD) fail('broken zip64 end record');
    count = Number(v.getBigUint64(z + 32, true));
    cdOffset = Number(v.getBigUint64(z + 48, true));
  }
  const entries: NpzEntry[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > bytes.length || v.getUint32(p, true) !== SIG_CENTRAL) fail(`central directory entry ${n} is corrupt`);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    let compressedSize = v.getUint32(p + 20, true);
    let size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    let localOffset = v.getUint32(p + 42, true);
    const entryName = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // zip64 extra (id 1): the 64-bit values of whichever fields are 0xffffffff, in this order
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = v.getUint16(e, true);
      const len = v.getUint16(e + 2, true);
      if (id === 1) {
        let q = e + 4;
        if (size === 0xffffffff) (size = Number(v.getBigUint64(q, true))), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = Number(v.getBigUint64(q, true))), (q += 8);
        if (localOffset === 0xffffffff) localOffset = Number(v.getBigUint64(q, true));
      }
      e += 4 + len;
    }
    entries.push({ name: entryName, method, compressedSize, size, crc, localOffset });
    p = extraEnd + commentLen;
  }
  return entries;
}

export interface ReadNpzOptions {
  /** only these keys (without '.npy'); default all */
  keys?: readonly string[];
  /** how deflated entries are inflated; default DecompressionStream('deflate-raw') */
  inflateRaw?: InflateRaw;
  /** names the file in error messages */
  name?: string;
}

/** The arrays of an .npz file by key (the entry name without '.npy', as np.load(...)[key]). */
export async function readNpz(bytes: Uint8Array, opts: ReadNpzOptions = {}): Promise<Map<string, NpyArray>> {
  const file = opts.name ?? 'the .npz file';
  const entries = listNpz(bytes, file);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const keyOf = (n: string) => (n.endsWith('.npy') ? n.slice(0, -4) : n);
  const wanted = opts.keys ? new Set(opts.keys) : null;
  if (wanted) {
    const have = new Set(entries.map((e) => keyOf(e.name)));
    const missing = [...wanted].filter((k) => !have.has(k));
    if (missing.length) throw new NpzError(`${file} has no array ${missing.map((k) => `'${k}'`).join(', ')} (it has ${[...have].join(', ')})`);
  }
  const inflate = opts.inflateRaw ?? inflateWithStream;
  const out = new Map<string, NpyArray>();
  for (const e of entries) {
    const key = keyOf(e.name);
    if (wanted && !wanted.has(key)) continue;
    const where = `${file}, entry '${e.name}'`;
    if (e.localOffset + 30 > bytes.length || v.getUint32(e.localOffset, true) !== SIG_LOCAL) throw new NpzError(`${where}: local header missing`);
    const start = e.localOffset + 30 + v.getUint16(e.localOffset + 26, true) + v.getUint16(e.localOffset + 28, true);
    if (start + e.compressedSize > bytes.length) throw new NpzError(`${where}: the data runs past the end of the file (truncated?)`);
    const raw = bytes.subarray(start, start + e.compressedSize);
    let payload: Uint8Array;
    if (e.method === 0) payload = raw;
    else if (e.method === 8) {
      try {
        payload = await inflate(raw, e.size);
      } catch (err) {
        throw new NpzError(`${where}: inflating failed: ${(err as Error).message}`);
      }
      if (payload.length !== e.size) throw new NpzError(`${where}: inflated to ${payload.length} bytes, the zip says ${e.size}`);
    } else throw new NpzError(`${where}: compression method ${e.method} is not supported (stored or deflate only)`);
    if (crc32(payload) !== e.crc) throw new NpzError(`${where}: CRC-32 mismatch (the file is damaged)`);
    out.set(key, parseNpy(payload, where));
  }
  return out;
}
