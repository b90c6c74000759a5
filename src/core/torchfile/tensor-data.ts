// A tensor's elements as a typed array in C order. Contiguous tensors over aligned storages are
// views of the file's buffer (no copy); unaligned legacy storages are copied once; strided ones
// are gathered. f16 and bf16 decode to Float32Array, bool reads as 0/1 bytes, int64 as BigInt64Array.
import { TorchFileError } from './errors.ts';
import { DTYPES, Storage, Tensor, type DType } from './values.ts';

export type TensorArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
/** storage element arrays: as TensorArray, but f16 and bf16 stay as their raw 16-bit patterns */
type RawArray = TensorArray | Uint16Array;

/** Tensors larger than this are refused rather than attempted (a typed array could not hold them anyway). */
export const MAX_TENSOR_BYTES = 2 ** 31;

const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

type RawCtor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): RawArray; new (length: number): RawArray };
const RAW: Record<DType, RawCtor> = {
  f32: Float32Array,
  f64: Float64Array,
  f16: Uint16Array,
  bf16: Uint16Array,
  i64: BigInt64Array,
  i32: Int32Array,
  i16: Int16Array,
  i8: Int8Array,
  u8: Uint8Array,
  bool: Uint8Array,
} as unknown as Record<DType, RawCtor>;

/** A byte range as elements of `dtype`: a view when aligned, else a single copy. */
function rawElements(bytes: Uint8Array, dtype: DType): RawArray {
  if (!LITTLE_ENDIAN_HOST) throw new TorchFileError('internal', 'typed arrays over torch storages need a little-endian host');
  const size = DTYPES[dtype].size;
  const n = Math.floor(bytes.length / size);
  // Uint8Array.prototype.slice copies; a Node Buffer's own slice() would return a (still misaligned) view.
  const aligned = bytes.byteOffset % size === 0 ? bytes : Uint8Array.prototype.slice.call(bytes);
  return new RAW[dtype](aligned.buffer, aligned.byteOffset, n);
}

/** The whole storage as elements (f16/bf16 as raw Uint16Array bit patterns). */
export function storageElements(s: Storage): TensorArray | Uint16Array {
  return rawElements(s.bytes.subarray(0, s.nbytes), s.dtype);
}

export function isContiguous(t: Tensor): boolean {
  let expected = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== expected) return false;
    expected *= t.shape[i]!;
  }
  return true;
}

function checkSize(t: Tensor): void {
  if (t.numel * DTYPES[t.dtype].size > MAX_TENSOR_BYTES) {
    throw new TorchFileError('too_large', `tensor of size [${t.shape.join(', ')}] is larger than ${MAX_TENSOR_BYTES} bytes`);
  }
}

/** Elements in C order, as stored (f16/bf16 as raw 16-bit patterns). */
function rawTensor(t: Tensor): RawArray {
  checkSize(t);
  const size = DTYPES[t.dtype].size;
  if (isContiguous(t)) {
    return rawElements(t.storage.bytes.subarray(t.offset * size, (t.offset + t.numel) * size), t.dtype);
  }
  const src = rawElements(t.storage.bytes, t.dtype);
  const out = new RAW[t.dtype](t.numel);
  const nd = t.shape.length;
  const index = new Array<number>(nd).fill(0);
  let at = t.offset;
  for (let k = 0; k < out.length; k++) {
    (out as Float64Array)[k] = (src as Float64Array)[at]!;
    // odometer over the multi-index, moving `at` by the strides
    for (let d = nd - 1; d >= 0; d--) {
      if (++index[d]! < t.shape[d]!) {
        at += t.stride[d]!;
        break;
      }
      at -= (t.shape[d]! - 1) * t.stride[d]!;
      index[d] = 0;
    }
  }
  return out;
}

let f16Table: Float32Array | null = null;

/** IEEE half to float, exactly (a 64K-entry table built on first use). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const bits = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0x1f) bits[h] = sign | 0x7f800000 | (m << 13);
    else if (e !== 0) bits[h] = sign | ((e + 112) << 23) | (m << 13);
    else if (m === 0) bits[h] = sign;
    else {
      // subnormal half: normalise the mantissa into a float exponent
      let shift = 0;
      let mm = m;
      while ((mm & 0x400) === 0) {
        mm <<= 1;
        shift++;
      }
      bits[h] = sign | ((113 - shift) << 23) | ((mm & 0x3ff) << 13);
    }
  }
  f16Table = new Float32Array(bits.buffer);
  return f16Table;
}

export function decodeHalf(raw: Uint16Array): Float32Array {
  const table = halfTable();
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = table[raw[i]!]!;
  return out;
}

export function decodeBFloat16(raw: Uint16Array): Float32Array {
  const out = new Uint32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw[i]! << 16;
  return new Float32Array(out.buffer);
}

/** The tensor's elements in C order. f16/bf16 decode to Float32Array. */
export function tensorData(t: Tensor): TensorArray {
  const raw = rawTensor(t);
  if (t.dtype === 'f16') return decodeHalf(raw as Uint16Array);
  if (t.dtype === 'bf16') return decodeBFloat16(raw as Uint16Array);
  return raw as TensorArray;
}

/** The tensor's elements in C order as little-endian bytes, exactly as torch stores them. */
export function tensorBytes(t: Tensor): Uint8Array {
  const raw = rawTensor(t);
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** Any dtype as Float32Array (int64 through Number, so exact only below 2^24). */
export function tensorToFloat32(t: Tensor): Float32Array {
  const data = tensorData(t);
  if (data instanceof Float32Array) return data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]!);
  return out;
}

// --- encoders for writing ------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float -> IEEE half, round to nearest even, as torch's .half() does (NaN becomes 0x7e00). */
export function floatToHalfBits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | (mant !== 0 ? 0x7e00 : 0x7c00);
  const e = exp - 112;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = mant & ((1 << shift) - 1);
    let r = mant >>> shift;
    if (rem > half || (rem === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r++; // a carry may round up to infinity, as it should
  return sign | r;
}

/** float -> bfloat16, round to nearest even, as torch does (NaN becomes 0x7fc0). */
export function floatToBFloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) & 0x8000) | 0x7fc0;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}
