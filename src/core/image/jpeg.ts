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
}

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Walks the markers up to the first SOFn frame header. */
export function readJpegInfo(bytes: Uint8Array): JpegInfo {
  if (!isJpeg(bytes)) throw new ImageDecodeError('corrupt', 'not a JPEG file: no SOI marker');
  let p = 2;
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
      return {
        bitDepth: bytes[p + 4]!,
        height: (bytes[p + 5]! << 8) | bytes[p + 6]!,
        width: (bytes[p + 7]! << 8) | bytes[p + 8]!,
        components: bytes[p + 9]!,
        progressive: m === 0xc2,
      };
    }
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
      tolerantDecoding: false,
      maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: 1024,
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const truncated = e instanceof RangeError || /end of|eof|truncat|out of (range|bounds)|undefined/i.test(msg);
    throw new ImageDecodeError(truncated ? 'truncated' : 'corrupt', `JPEG ${truncated ? 'truncated or corrupt' : 'corrupt'}: ${msg}`, {
      cause: e,
    });
  }
  const { width, height } = raw;
  const n = width * height;
  if (raw.data.length < n * 3) throw new ImageDecodeError('corrupt', 'JPEG corrupt: decoder returned too few pixels');
  if (info.components === 1) {
    const grey = new Uint8Array(n);
    for (let i = 0, j = 0; i < n; i++, j += 3) grey[i] = raw.data[j]!;
    return { format: 'jpeg', width, height, colorType: 0, bitDepth: 8, channels: 1, interlaced: info.progressive, data: grey };
  }
  return { format: 'jpeg', width, height, colorType: 2, bitDepth: 8, channels: 3, interlaced: info.progressive, data: raw.data };
}

/** JPEG straight to Pillow-style grey (luma of jpeg-js's RGB, or the single component). */
export function decodeJpegGrey(bytes: Uint8Array, opts: JpegDecodeOptions = {}): { width: number; height: number; data: Uint8Array } {
  const img = decodeJpeg(bytes, opts);
  if (img.channels === 1) return { width: img.width, height: img.height, data: img.data as Uint8Array };
  return { width: img.width, height: img.height, data: lumaFromInterleaved(img.data, img.width, img.height, 3) };
}
