// JPEG decoding with jpeg-js (pure JS; used in Node and as the fallback where createImageBitmap is not
// available). Its IDCT and chroma upsampling differ from libjpeg-turbo's, so grey levels can differ from
// Pillow's by a few units (measured in jpeg.test.ts).
import { decode as jpegJsDecode } from 'jpeg-js';
import { lumaFromInterleaved } from './grey.ts';
import { ImageDecodeError, type DecodedImage } from './types.ts';

export interface JpegInfo {
  width: number;
  height: number;
  /** sample precision in bits (8 for baseline, 12 possible for extended) */
  bitDepth: number;
  components: number;
  progressive: boolean;
  /** the colour space libjpeg infers for 3 components (JFIF / Adobe transform / component ids) */
  colorSpace: 'grey' | 'ycbcr' | 'rgb' | 'other';
  /** an Adobe APP14 marker with a non-zero transform (jpeg-js then converts YCbCr itself) */
  adobeTransform: number | null;
}

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

function asciiAt(b: Uint8Array, p: number, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (b[p + i] !== s.charCodeAt(i)) return false;
  return true;
}

let YCC: { crR: Int32Array; cbB: Int32Array; crG: Int32Array; cbG: Int32Array } | undefined;

/** libjpeg(-turbo)'s jdcolor.c tables (SCALEBITS 16, rounded) for YCbCr -> RGB. */
function yccTables(): NonNullable<typeof YCC> {
  if (YCC) return YCC;
  const ONE_HALF = 1 << 15;
  const fix = (x: number) => Math.trunc(x * 65536 + 0.5);
  const crR = new Int32Array(256);
  const cbB = new Int32Array(256);
  const crG = new Int32Array(256);
  const cbG = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    crR[i] = (fix(1.402) * x + ONE_HALF) >> 16;
    cbB[i] = (fix(1.772) * x + ONE_HALF) >> 16;
    crG[i] = -fix(0.71414) * x;
    cbG[i] = -fix(0.34414) * x + ONE_HALF;
  }
  YCC = { crR, cbB, crG, cbG };
  return YCC;
}

/** Walks the markers up to the first SOFn frame header. */
export function readJpegInfo(bytes: Uint8Array): JpegInfo {
  if (!isJpeg(bytes)) throw new ImageDecodeError('corrupt', 'not a JPEG file: no SOI marker');
  let p = 2;
  let jfif = false;
  let adobe: number | null = null;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) throw new ImageDecodeError('corrupt', `JPEG corrupt: expected a marker at offset ${p}`);
    const m = bytes[p + 1]!;
    if (m === 0xff) {
      p++; // fill byte
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      p += 2;
      continue;
    }
    const len = (bytes[p + 2]! << 8) | bytes[p + 3]!;
    if (len < 2) throw new ImageDecodeError('corrupt', `JPEG corrupt: marker 0x${m.toString(16)} with length ${len}`);
    const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isSof) {
      if (p + 10 > bytes.length) break;
      if (m !== 0xc0 && m !== 0xc1 && m !== 0xc2) {
        throw new ImageDecodeError('unsupported', `JPEG process SOF${m - 0xc0} (lossless or arithmetic coding) is not supported`);
      }
      const components = bytes[p + 9]!;
      let colorSpace: JpegInfo['colorSpace'] = components === 1 ? 'grey' : components === 3 ? 'ycbcr' : 'other';
      if (components === 3 && !jfif) {
        // libjpeg's default_decompress_parms: Adobe transform 0 means RGB; without JFIF or Adobe, ids 'R','G','B'
        const ids = p + 10 + 2 < bytes.length ? [bytes[p + 10], bytes[p + 13], bytes[p + 16]] : [];
        if (adobe === 0 || (adobe === null && ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42)) colorSpace = 'rgb';
      }
      return {
        bitDepth: bytes[p + 4]!,
        height: (bytes[p + 5]! << 8) | bytes[p + 6]!,
        width: (bytes[p + 7]! << 8) | bytes[p + 8]!,
        components,
        progressive: m === 0xc2,
        colorSpace,
        adobeTransform: adobe,
      };
    }
    if (m === 0xe0 && len >= 7 && p + 9 <= bytes.length && asciiAt(bytes, p + 4, 'JFIF\0')) jfif = true;
    if (m === 0xee && len >= 14 && p + 16 <= bytes.length && asciiAt(bytes, p + 4, 'Adobe')) adobe = bytes[p + 15]!;
    if (m === 0xda || m === 0xd9) break;
    p += 2 + len;
  }
  throw new ImageDecodeError('truncated', 'JPEG truncated: no frame header (SOF) found');
}

export interface JpegDecodeOptions {
  /** Refuse images with more pixels than this (default 100 megapixels), as 'too-large'. */
  maxPixels?: number;
}

/**
 * Decodes a JPEG to 8-bit samples: one channel (colorType 0) for a one-component file, RGB (colorType 2)
 * otherwise (YCbCr converted by jpeg-js; CMYK/YCCK converted to RGB by jpeg-js's approximation).
 */
export function decodeJpeg(bytes: Uint8Array, opts: JpegDecodeOptions = {}): DecodedImage {
  const info = readJpegInfo(bytes);
  const maxPixels = opts.maxPixels ?? 100e6;
  if (info.width === 0 || info.height === 0) {
    throw new ImageDecodeError('unsupported', 'JPEG with the height given by a DNL marker is not supported');
  }
  if (info.width * info.height > maxPixels) {
    throw new ImageDecodeError('too-large', `JPEG is ${info.width} x ${info.height} pixels, more than the limit of ${maxPixels}`);
  }
  if (info.bitDepth !== 8) throw new ImageDecodeError('unsupported', `JPEG with ${info.bitDepth}-bit samples is not supported`);
  let raw: { width: number; height: number; data: Uint8Array };
  try {
    raw = jpegJsDecode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      // keep YCbCr so that the conversion below is libjpeg's integer one (jpeg-js's float one truncates)
      colorTransform: info.components === 3 && !info.adobeTransform ? false : undefined,
      tolerantDecoding: false,
      maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: 1024,
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const len = bytes.length;
    const endsWithEoi = len >= 4 && bytes[len - 2] === 0xff && bytes[len - 1] === 0xd9;
    if (!endsWithEoi) {
      throw new ImageDecodeError('truncated', `JPEG truncated: the file ends without an end-of-image marker (${msg})`, { cause: e });
    }
    throw new ImageDecodeError('corrupt', `JPEG corrupt: ${msg}`, { cause: e });
  }
  const { width, height } = raw;
  const n = width * height;
  if (raw.data.length < n * 3) throw new ImageDecodeError('corrupt', 'JPEG corrupt: decoder returned too few pixels');
  if (info.components === 1) {
    const grey = new Uint8Array(n);
    for (let i = 0, j = 0; i < n; i++, j += 3) grey[i] = raw.data[j]!;
    return { format: 'jpeg', width, height, colorType: 0, bitDepth: 8, channels: 1, interlaced: info.progressive, data: grey };
  }
  let rgb = raw.data;
  if (info.components === 3 && !info.adobeTransform && info.colorSpace === 'ycbcr') rgb = yccToRgb(raw.data, n);
  return { format: 'jpeg', width, height, colorType: 2, bitDepth: 8, channels: 3, interlaced: info.progressive, data: rgb };
}

/** libjpeg's YCbCr -> RGB, in place. */
function yccToRgb(ycc: Uint8Array, n: number): Uint8Array {
  const { crR, cbB, crG, cbG } = yccTables();
  for (let j = 0; j < n * 3; j += 3) {
    const y = ycc[j]!;
    const cb = ycc[j + 1]!;
    const cr = ycc[j + 2]!;
    const r = y + crR[cr]!;
    const g = y + ((cbG[cb]! + crG[cr]!) >> 16);
    const b = y + cbB[cb]!;
    ycc[j] = r < 0 ? 0 : r > 255 ? 255 : r;
    ycc[j + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
    ycc[j + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
  }
  return ycc;
}

/** JPEG straight to Pillow-style grey (luma of jpeg-js's RGB, or the single component). */
export function decodeJpegGrey(bytes: Uint8Array, opts: JpegDecodeOptions = {}): { width: number; height: number; data: Uint8Array } {
  const img = decodeJpeg(bytes, opts);
  if (img.channels === 1) return { width: img.width, height: img.height, data: img.data as Uint8Array };
  return { width: img.width, height: img.height, data: lumaFromInterleaved(img.data, img.width, img.height, 3) };
}
