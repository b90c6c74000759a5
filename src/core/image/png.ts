// PNG decoder: chunks with CRC check, IHDR/PLTE/IDAT, zlib inflate (native DecompressionStream or fflate),
// the five filter types, bit depths 1-16 for every colour type, and Adam7 interlacing. Corrupt or truncated
// input throws ImageDecodeError naming the problem; nothing here can loop without bound.
import { unzlibSync } from 'fflate';
import { CHANNELS, ImageDecodeError, type ColorType, type DecodedImage } from './types.ts';

export const PNG_SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: ColorType;
  interlaced: boolean;
}

export interface PngDecodeOptions {
  /**
   * How to inflate the IDAT stream. 'auto' (default): in Node, node:zlib (native, reached through
   * process.getBuiltinModule so that bundles for the browser carry no Node import); in browsers and workers
   * the native DecompressionStream for async decoding, fflate for sync decoding. 'native' forces
   * DecompressionStream, 'fflate' the pure-JS inflater, 'node' node:zlib; or pass an Inflater.
   */
  inflate?: 'auto' | 'native' | 'fflate' | 'node' | Inflater;
  /** Verify every chunk's CRC-32 (default true); a mismatch throws 'corrupt'. */
  checkCrc?: boolean;
  /** Refuse images with more pixels than this (default 100 megapixels), as 'too-large'. */
  maxPixels?: number;
}

/**
 * A caller-supplied zlib inflater (e.g. node:zlib's inflateSync in a Node CLI): gets the zlib stream and the
 * number of bytes the image needs, returns at least that many (extra bytes are ignored) or throws.
 */
export type Inflater = (zdata: Uint8Array, size: number) => Uint8Array | Promise<Uint8Array>;

interface ParsedPng {
  header: PngHeader;
  palette: Uint8Array | undefined;
  /** the zlib stream: IDAT payloads, concatenated when there are several */
  zdata: Uint8Array;
  /** exact number of inflated bytes the image needs (filter bytes included) */
  rawSize: number;
}

const VALID_DEPTHS: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

const ADAM7: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

let CRC_TABLES: Int32Array | undefined;
/** Four 256-entry tables for slicing-by-4 CRC-32 (table 0 is the classic byte table). */
function crcTables(): Int32Array {
  if (CRC_TABLES) return CRC_TABLES;
  const t = new Int32Array(1024);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let s = 1; s < 4; s++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[s * 256 + n] = c;
    }
  }
  CRC_TABLES = t;
  return t;
}

/** CRC-32 (ISO 3309, as PNG uses) of bytes[start, end). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = crcTables();
  let c = -1;
  let i = start;
  for (; i + 3 < end; i += 4) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

function chunkName(b: Uint8Array, p: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = b[p + i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}

export function isPng(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  for (let i = 0; i < 8; i++) if (bytes[i] !== PNG_SIGNATURE[i]) return false;
  return true;
}

/** Bytes per scanline (without the filter byte) of a `width`-pixel row. */
function rowBytes(width: number, channels: number, bitDepth: number): number {
  return Math.ceil((width * channels * bitDepth) / 8);
}

/** Inflated size of the whole image: every scanline of every (non-empty) pass plus its filter byte. */
function inflatedSize(h: PngHeader): number {
  const ch = CHANNELS[h.colorType];
  if (!h.interlaced) return h.height * (rowBytes(h.width, ch, h.bitDepth) + 1);
  let n = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const pw = Math.ceil((h.width - x0) / dx);
    const ph = Math.ceil((h.height - y0) / dy);
    if (pw > 0 && ph > 0) n += ph * (rowBytes(pw, ch, h.bitDepth) + 1);
  }
  return n;
}

/** Reads the header only (cheap): size, bit depth, colour type, interlace. */
export function readPngHeader(bytes: Uint8Array): PngHeader {
  if (!isPng(bytes)) throw new ImageDecodeError('corrupt', 'not a PNG file: the 8-byte PNG signature is missing');
  if (bytes.length < 33) throw new ImageDecodeError('truncated', `PNG truncated: ${bytes.length} bytes, no complete IHDR`);
  return parseIhdr(bytes, 8);
}

function parseIhdr(b: Uint8Array, p: number): PngHeader {
  const len = u32(b, p);
  if (chunkName(b, p + 4) !== 'IHDR') {
    throw new ImageDecodeError('corrupt', `PNG corrupt: the first chunk is ${chunkName(b, p + 4)}, not IHDR`);
  }
  if (len !== 13) throw new ImageDecodeError('corrupt', `PNG corrupt: IHDR is ${len} bytes long, not 13`);
  const d = p + 8;
  const width = u32(b, d);
  const height = u32(b, d + 4);
  const bitDepth = b[d + 8]!;
  const colorType = b[d + 9]!;
  const compression = b[d + 10]!;
  const filter = b[d + 11]!;
  const interlace = b[d + 12]!;
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new ImageDecodeError('corrupt', `PNG corrupt: invalid size ${width} x ${height}`);
  }
  const depths = VALID_DEPTHS[colorType];
  if (!depths) throw new ImageDecodeError('corrupt', `PNG corrupt: invalid colour type ${colorType}`);
  if (!depths.includes(bitDepth)) {
    throw new ImageDecodeError('corrupt', `PNG corrupt: bit depth ${bitDepth} is not allowed for colour type ${colorType}`);
  }
  if (compression !== 0) throw new ImageDecodeError('unsupported', `PNG compression method ${compression} is not supported`);
  if (filter !== 0) throw new ImageDecodeError('unsupported', `PNG filter method ${filter} is not supported`);
  if (interlace > 1) throw new ImageDecodeError('corrupt', `PNG corrupt: invalid interlace method ${interlace}`);
  return { width, height, bitDepth, colorType: colorType as ColorType, interlaced: interlace === 1 };
}

function parsePng(bytes: Uint8Array, opts: PngDecodeOptions): ParsedPng {
  const header = readPngHeader(bytes);
  const checkCrc = opts.checkCrc ?? true;
  const maxPixels = opts.maxPixels ?? 100e6;
  if (header.width * header.height > maxPixels) {
    throw new ImageDecodeError(
      'too-large',
      `PNG is ${header.width} x ${header.height} pixels, more than the limit of ${maxPixels}`,
    );
  }
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let idatBytes = 0;
  let sawEnd = false;
  let p = 8;
  while (p < bytes.length) {
    if (p + 12 > bytes.length) {
      // a damaged tail after the image data (e.g. half an IEND): inflating tells whether the data is complete
      if (idat.length > 0) break;
      throw new ImageDecodeError('truncated', `PNG truncated: ${bytes.length - p} stray bytes where a chunk header should be at offset ${p}`);
    }
    const len = u32(bytes, p);
    const name = chunkName(bytes, p + 4);
    if (len > 0x7fffffff) throw new ImageDecodeError('corrupt', `PNG corrupt: chunk ${name} at offset ${p} has length ${len}`);
    const dataStart = p + 8;
    const dataEnd = dataStart + len;
    if (dataEnd + 4 > bytes.length) {
      throw new ImageDecodeError(
        'truncated',
        `PNG truncated: chunk ${name} at offset ${p} declares ${len} bytes but the file ends ${dataEnd + 4 - bytes.length} bytes early`,
      );
    }
    if (checkCrc) {
      const want = u32(bytes, dataEnd);
      const got = crc32(bytes, p + 4, dataEnd);
      if (want !== got) throw new ImageDecodeError('corrupt', `PNG corrupt: CRC mismatch in chunk ${name} at offset ${p}`);
    }
    if (name === 'IDAT') {
      idat.push(bytes.subarray(dataStart, dataEnd));
      idatBytes += len;
    } else if (name === 'PLTE') {
      if (len % 3 !== 0 || len === 0 || len > 768) {
        throw new ImageDecodeError('corrupt', `PNG corrupt: PLTE has ${len} bytes, not a multiple of 3 up to 768`);
      }
      palette = bytes.subarray(dataStart, dataEnd);
    } else if (name === 'IEND') {
      sawEnd = true;
      break;
    } else if (name === 'IHDR' && p !== 8) {
      throw new ImageDecodeError('corrupt', 'PNG corrupt: a second IHDR chunk');
    } else if ((bytes[p + 4]! & 0x20) === 0 && name !== 'IHDR') {
      // tRNS, gAMA and the like are ancillary (lower-case first letter) and are skipped;
      // an unknown critical chunk means we cannot render the image correctly.
      throw new ImageDecodeError('unsupported', `PNG has an unknown critical chunk ${name}`);
    }
    p = dataEnd + 4;
  }
  if (idat.length === 0) {
    throw new ImageDecodeError(sawEnd ? 'corrupt' : 'truncated', `PNG ${sawEnd ? 'corrupt' : 'truncated'}: no image data (IDAT)`);
  }
  if (header.colorType === 3 && !palette) throw new ImageDecodeError('corrupt', 'PNG corrupt: palette image without PLTE');
  let zdata: Uint8Array;
  if (idat.length === 1) zdata = idat[0]!;
  else {
    zdata = new Uint8Array(idatBytes);
    let o = 0;
    for (const c of idat) {
      zdata.set(c, o);
      o += c.length;
    }
  }
  return { header, palette: header.colorType === 3 ? palette : undefined, zdata, rawSize: inflatedSize(header) };
}

// ------------------------------------------------------------------------------------------- inflate

function inflateFflate(z: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let got: Uint8Array;
  try {
    got = unzlibSync(z, { out });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const truncated = /unexpected EOF/i.test(msg);
    throw new ImageDecodeError(truncated ? 'truncated' : 'corrupt', `PNG ${truncated ? 'truncated' : 'corrupt'}: zlib data: ${msg}`, {
      cause: e,
    });
  }
  if (got.length < size) {
    throw new ImageDecodeError('truncated', `PNG truncated: image data inflates to ${got.length} bytes, ${size} needed`);
  }
  return out;
}

// Inflate buffers of the async path are reused: a decode worker inflates image after image, and a fresh
// megabyte-sized buffer costs page faults and garbage collection every time. Async decodes can overlap,
// so buffers come from a small free list instead of one shared scratch. Nothing inflated escapes
// decodePng: reconstruct() copies the unfiltered rows into a buffer of their own.
const freeInflateBuffers: ArrayBuffer[] = [];

function takeInflateBuffer(size: number): Uint8Array {
  const i = freeInflateBuffers.findIndex((b) => b.byteLength >= size);
  return i >= 0 ? new Uint8Array(freeInflateBuffers.splice(i, 1)[0]!, 0, size) : new Uint8Array(size);
}

function returnInflateBuffer(a: Uint8Array): void {
  if (freeInflateBuffers.length < 4 && a.byteLength <= 64 << 20) freeInflateBuffers.push(a.buffer as ArrayBuffer);
}

async function inflateNative(z: Uint8Array, size: number): Promise<Uint8Array> {
  const ds = new DecompressionStream('deflate');
  const writer = ds.writable.getWriter();
  // Errors surface on the readable side; keep these promises from being reported as unhandled.
  writer.write(z as Uint8Array<ArrayBuffer>).catch(() => undefined);
  writer.close().catch(() => undefined);
  const reader = ds.readable.getReader();
  const out = takeInflateBuffer(size);
  let off = 0;
  try {
    while (off < size) {
      const { value, done } = await reader.read();
      if (done) break;
      const n = Math.min(value.length, size - off);
      out.set(n === value.length ? value : value.subarray(0, n), off);
      off += n;
    }
  } catch (e) {
    returnInflateBuffer(out);
    const msg = e instanceof Error ? e.message : String(e);
    const truncated = /unexpected end|incomplete|truncat/i.test(msg);
    throw new ImageDecodeError(truncated ? 'truncated' : 'corrupt', `PNG ${truncated ? 'truncated' : 'corrupt'}: zlib data: ${msg}`, {
      cause: e,
    });
  }
  // Everything needed is here: stop without waiting for the checksum or complaining about trailing bytes.
  reader.cancel().catch(() => undefined);
  if (off < size) {
    returnInflateBuffer(out);
    throw new ImageDecodeError('truncated', `PNG truncated: image data inflates to ${off} bytes, ${size} needed`);
  }
  return out;
}

async function inflateCustom(fn: Inflater, z: Uint8Array, size: number): Promise<Uint8Array> {
  let got: Uint8Array;
  try {
    got = await fn(z, size);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const truncated = /unexpected end|incomplete|truncat|eof/i.test(msg);
    throw new ImageDecodeError(truncated ? 'truncated' : 'corrupt', `PNG ${truncated ? 'truncated' : 'corrupt'}: zlib data: ${msg}`, {
      cause: e,
    });
  }
  if (got.length < size) throw new ImageDecodeError('truncated', `PNG truncated: image data inflates to ${got.length} bytes, ${size} needed`);
  return got;
}

interface NodeZlib {
  inflateSync(data: Uint8Array, opts?: { finishFlush?: number; maxOutputLength?: number }): Uint8Array;
  constants: { Z_SYNC_FLUSH: number };
}
let nodeZlibModule: NodeZlib | null | undefined;

/** node:zlib when running in Node (20.16+ has process.getBuiltinModule), otherwise null. */
function nodeZlib(): NodeZlib | null {
  if (nodeZlibModule !== undefined) return nodeZlibModule;
  nodeZlibModule = null;
  try {
    const proc = (globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown } }).process;
    if (typeof proc?.versions?.node === 'string' && typeof proc.getBuiltinModule === 'function') {
      nodeZlibModule = (proc.getBuiltinModule('node:zlib') as NodeZlib | undefined) ?? null;
    }
  } catch {
    nodeZlibModule = null;
  }
  return nodeZlibModule;
}

function inflateNode(zlib: NodeZlib, z: Uint8Array, size: number): Uint8Array {
  let got: Uint8Array;
  try {
    // SYNC_FLUSH: a stream cut short returns what it has (reported below as truncated) instead of throwing;
    // the output cap keeps a stream with far more data than the header needs from allocating without bound.
    got = zlib.inflateSync(z, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: size + 65536 });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return inflateFflate(z, size); // more data than needed: keep the first `size` bytes
    const msg = e instanceof Error ? e.message : String(e);
    const truncated = /unexpected end/i.test(msg);
    throw new ImageDecodeError(truncated ? 'truncated' : 'corrupt', `PNG ${truncated ? 'truncated' : 'corrupt'}: zlib data: ${msg}`, {
      cause: e,
    });
  }
  if (got.length < size) throw new ImageDecodeError('truncated', `PNG truncated: image data inflates to ${got.length} bytes, ${size} needed`);
  return got;
}

type Plan = 'fflate' | 'native' | 'node';

function plan(mode: PngDecodeOptions['inflate'], sync: boolean): Plan {
  if (mode === 'fflate' || typeof mode === 'function') return 'fflate';
  if (mode === 'node') {
    if (!nodeZlib()) throw new ImageDecodeError('unsupported', 'node:zlib is not available here');
    return 'node';
  }
  const available = typeof DecompressionStream === 'function';
  if (mode === 'native') {
    if (sync) throw new TypeError("inflate: 'native' (DecompressionStream) needs the async decodePng");
    if (!available) throw new ImageDecodeError('unsupported', 'DecompressionStream is not available here');
    return 'native';
  }
  if (nodeZlib()) return 'node';
  return available && !sync ? 'native' : 'fflate';
}

// ------------------------------------------------------------------------------------------- unfilter

const PAETH_CENTER = 255 * 511 + 255;
let PAETH: Int16Array | undefined;

/**
 * The Paeth predictor minus c, indexed by (a - c, b - c): with pa = |b - c|, pb = |a - c|, pc = |a + b - 2c|
 * the PNG rule picks a if pa <= pb and pa <= pc, else b if pb <= pc, else c, i.e. c + (a - c), c + (b - c)
 * or c + 0. 511 x 511 Int16 entries (0.5 MB), built once.
 */
function paethTable(): Int16Array {
  if (PAETH) return PAETH;
  const t = new Int16Array(511 * 511);
  for (let da = -255; da <= 255; da++) {
    for (let db = -255; db <= 255; db++) {
      const pa = db < 0 ? -db : db;
      const pb = da < 0 ? -da : da;
      const pc = da + db < 0 ? -(da + db) : da + db;
      t[(da + 255) * 511 + db + 255] = pa <= pb && pa <= pc ? da : pb <= pc ? db : 0;
    }
  }
  PAETH = t;
  return t;
}

/**
 * Undoes the PNG filters of `rows` scanlines: reads (1 + stride) bytes per row from `raw` at `rp`, writes
 * stride bytes per row to `out` at `op` (rows contiguous). Returns the read position after the last row.
 * Uint8Array stores wrap modulo 256, which is the arithmetic PNG specifies.
 */
export function unfilter(raw: Uint8Array, rp: number, out: Uint8Array, op: number, stride: number, rows: number, bpp: number): number {
  for (let y = 0; y < rows; y++) {
    const ft = raw[rp]!;
    const r = rp + 1;
    const o = op + y * stride;
    const u = o - stride; // the row above in `out`; only read when y > 0
    switch (ft) {
      case 0:
        out.set(raw.subarray(r, r + stride), o);
        break;
      case 1: {
        if (bpp === 1) {
          let a = 0;
          for (let i = 0; i < stride; i++) {
            a = (raw[r + i]! + a) & 0xff;
            out[o + i] = a;
          }
          break;
        }
        const n = Math.min(bpp, stride);
        for (let i = 0; i < n; i++) out[o + i] = raw[r + i]!;
        for (let i = bpp; i < stride; i++) out[o + i] = raw[r + i]! + out[o + i - bpp]!;
        break;
      }
      case 2:
        if (y === 0) out.set(raw.subarray(r, r + stride), o);
        else for (let i = 0; i < stride; i++) out[o + i] = raw[r + i]! + out[u + i]!;
        break;
      case 3: {
        const n = Math.min(bpp, stride);
        if (y === 0) {
          for (let i = 0; i < n; i++) out[o + i] = raw[r + i]!;
          for (let i = bpp; i < stride; i++) out[o + i] = raw[r + i]! + (out[o + i - bpp]! >> 1);
        } else if (bpp === 1) {
          let a = 0;
          for (let i = 0; i < stride; i++) {
            a = (raw[r + i]! + ((a + out[u + i]!) >> 1)) & 0xff;
            out[o + i] = a;
          }
        } else {
          for (let i = 0; i < n; i++) out[o + i] = raw[r + i]! + (out[u + i]! >> 1);
          for (let i = bpp; i < stride; i++) out[o + i] = raw[r + i]! + ((out[o + i - bpp]! + out[u + i]!) >> 1);
        }
        break;
      }
      case 4: {
        const n = Math.min(bpp, stride);
        if (y === 0) {
          // with no row above, Paeth picks the left neighbour: the Sub filter
          for (let i = 0; i < n; i++) out[o + i] = raw[r + i]!;
          for (let i = bpp; i < stride; i++) out[o + i] = raw[r + i]! + out[o + i - bpp]!;
        } else if (bpp === 1) {
          // Paeth through a table of the predictor's choice (see paethTable): branch-free, about 2x faster
          const T = paethTable();
          let a = 0;
          let c = 0;
          for (let i = 0; i < stride; i++) {
            const b = out[u + i]!;
            const v = (raw[r + i]! + c + T[(a - c) * 511 + (b - c) + PAETH_CENTER]!) & 0xff;
            out[o + i] = v;
            a = v;
            c = b;
          }
        } else {
          const T = paethTable();
          for (let i = 0; i < n; i++) out[o + i] = raw[r + i]! + out[u + i]!;
          for (let i = bpp; i < stride; i++) {
            const a = out[o + i - bpp]!;
            const b = out[u + i]!;
            const c = out[u + i - bpp]!;
            out[o + i] = raw[r + i]! + c + T[(a - c) * 511 + (b - c) + PAETH_CENTER]!;
          }
        }
        break;
      }
      default:
        throw new ImageDecodeError('corrupt', `PNG corrupt: invalid filter type ${ft} on scanline ${y}`);
    }
    rp = r + stride;
  }
  return rp;
}

/** Sub-byte samples (1, 2, 4 bits) of `count` samples from packed `src` at `sp` into one byte each at `dst[dp]`. */
function unpackBits(src: Uint8Array, sp: number, dst: Uint8Array, dp: number, count: number, bitDepth: number): void {
  const per = 8 / bitDepth;
  const mask = (1 << bitDepth) - 1;
  for (let i = 0; i < count; i++) {
    const byte = src[sp + Math.floor(i / per)]!;
    const shift = 8 - bitDepth * ((i % per) + 1);
    dst[dp + i] = (byte >> shift) & mask;
  }
}

function bigEndian16(bytes: Uint8Array, count: number): Uint16Array {
  const out = new Uint16Array(count);
  for (let i = 0, j = 0; i < count; i++, j += 2) out[i] = (bytes[j]! << 8) | bytes[j + 1]!;
  return out;
}

/** Turns the inflated stream into samples (see DecodedImage). */
function reconstruct(parsed: ParsedPng, raw: Uint8Array): DecodedImage {
  const { width, height, bitDepth, colorType, interlaced } = parsed.header;
  const channels = CHANNELS[colorType];
  const bpp = Math.max(1, (channels * bitDepth) >> 3);
  const samples = width * height * channels;
  // 8-bit images: samples are the unfiltered bytes; 16-bit: two bytes per sample; below 8: unpacked later
  const bytesPerSample = bitDepth === 16 ? 2 : 1;
  let expanded: Uint8Array;
  if (!interlaced) {
    const stride = rowBytes(width, channels, bitDepth);
    const packed = new Uint8Array(stride * height);
    unfilter(raw, 0, packed, 0, stride, height, bpp);
    if (bitDepth >= 8) expanded = packed;
    else {
      expanded = new Uint8Array(samples);
      const perRow = width * channels;
      for (let y = 0; y < height; y++) unpackBits(packed, y * stride, expanded, y * perRow, perRow, bitDepth);
    }
  } else {
    expanded = new Uint8Array(samples * bytesPerSample);
    const pixelBytes = channels * bytesPerSample;
    let rp = 0;
    for (const [x0, y0, dx, dy] of ADAM7) {
      const pw = Math.ceil((width - x0) / dx);
      const ph = Math.ceil((height - y0) / dy);
      if (pw <= 0 || ph <= 0) continue;
      const stride = rowBytes(pw, channels, bitDepth);
      const pass = new Uint8Array(stride * ph);
      rp = unfilter(raw, rp, pass, 0, stride, ph, bpp);
      let src = pass;
      let srcRow = stride;
      if (bitDepth < 8) {
        srcRow = pw * channels;
        src = new Uint8Array(srcRow * ph);
        for (let y = 0; y < ph; y++) unpackBits(pass, y * stride, src, y * srcRow, srcRow, bitDepth);
      }
      for (let py = 0; py < ph; py++) {
        const yOut = y0 + py * dy;
        let s = py * srcRow;
        let d = (yOut * width + x0) * pixelBytes;
        const step = dx * pixelBytes;
        for (let px = 0; px < pw; px++, d += step) {
          for (let k = 0; k < pixelBytes; k++) expanded[d + k] = src[s++]!;
        }
      }
    }
  }
  const data = bitDepth === 16 ? bigEndian16(expanded, samples) : expanded;
  const img: DecodedImage = { format: 'png', width, height, colorType, bitDepth, channels, interlaced, data };
  if (parsed.palette) img.palette = parsed.palette;
  return img;
}

// ------------------------------------------------------------------------------------------- API

/** Decodes a PNG synchronously (node:zlib in Node, fflate elsewhere, or `opts.inflate` when that is a synchronous function). */
export function decodePngSync(bytes: Uint8Array, opts: PngDecodeOptions = {}): DecodedImage {
  const parsed = parsePng(bytes, opts);
  const fn = opts.inflate;
  if (typeof fn !== 'function') {
    const how = plan(fn, true);
    const zlib = nodeZlib();
    const raw = how === 'node' && zlib ? inflateNode(zlib, parsed.zdata, parsed.rawSize) : inflateFflate(parsed.zdata, parsed.rawSize);
    return reconstruct(parsed, raw);
  }
  let got: Uint8Array | Promise<Uint8Array>;
  try {
    got = fn(parsed.zdata, parsed.rawSize);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const truncated = /unexpected end|incomplete|truncat|eof/i.test(msg);
    throw new ImageDecodeError(truncated ? 'truncated' : 'corrupt', `PNG ${truncated ? 'truncated' : 'corrupt'}: zlib data: ${msg}`, {
      cause: e,
    });
  }
  if (!(got instanceof Uint8Array)) throw new TypeError('decodePngSync: the inflater returned a Promise; use decodePng');
  if (got.length < parsed.rawSize) {
    throw new ImageDecodeError('truncated', `PNG truncated: image data inflates to ${got.length} bytes, ${parsed.rawSize} needed`);
  }
  return reconstruct(parsed, got);
}

/** Decodes a PNG; inflates natively (node:zlib in Node, DecompressionStream in browsers) unless told otherwise. */
export async function decodePng(bytes: Uint8Array, opts: PngDecodeOptions = {}): Promise<DecodedImage> {
  const parsed = parsePng(bytes, opts);
  const mode = opts.inflate;
  let raw: Uint8Array;
  if (typeof mode === 'function') raw = await inflateCustom(mode, parsed.zdata, parsed.rawSize);
  else {
    const how = plan(mode, false);
    const zlib = nodeZlib();
    if (how === 'native') {
      raw = await inflateNative(parsed.zdata, parsed.rawSize);
      try {
        return reconstruct(parsed, raw);
      } finally {
        returnInflateBuffer(raw);
      }
    } else if (how === 'node' && zlib) raw = inflateNode(zlib, parsed.zdata, parsed.rawSize);
    else raw = inflateFflate(parsed.zdata, parsed.rawSize);
  }
  return reconstruct(parsed, raw);
}
