// Conversion to grey uint8 exactly as Pillow 9.4's Image.convert('L') after Image.open() does it.
//
// What Pillow does per PNG type (checked value by value against Pillow in grey.test.ts):
//   grey 1 bit  -> mode '1', convert('L'): 0 -> 0, 1 -> 255
//   grey 2/4 bit -> mode 'L' with the samples scaled by 85 / 17
//   grey 8 bit  -> unchanged
//   grey 16 bit -> mode 'I' (the full value), and I -> L CLIPS to 0..255: every value >= 255 becomes 255.
//                  That is what MoCo-CXR's loader would see for a 16-bit PNG; `sixteenBitGrey: 'high-byte'`
//                  is offered for callers who want the image instead of Pillow's behaviour.
//   RGB / RGBA 8 bit -> L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16 (ITU-R 601-2 luma, rounded); alpha ignored
//   RGB / RGBA / grey+alpha 16 bit -> the high byte of each sample, then as for 8 bit
//   grey+alpha  -> the grey sample
//   palette     -> luma of the palette entry; indices beyond the PLTE entries map to grey = index
//   JPEG        -> libjpeg's RGB (or grey) then the same luma.
import type { DecodedImage, GreyImage } from './types.ts';

export interface GreyOptions {
  /**
   * 16-bit grey PNGs: 'pillow' (default) clips to 0..255 as Pillow 9.4 does; 'high-byte' keeps value >> 8;
   * 'range' maps the image's own [min, max] linearly onto 0..255, which also suits 10- to 12-bit data
   * stored in 16-bit samples (high-byte would leave those nearly black).
   */
  sixteenBitGrey?: 'pillow' | 'high-byte' | 'range';
}

/** Pillow's RGB -> L (Convert.c, L24). */
export function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

/** Interleaved RGB(A) uint8 samples (`channels` 3 or 4) to Pillow luma. */
export function lumaFromInterleaved(src: ArrayLike<number>, width: number, height: number, channels: 3 | 4): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += channels) {
    out[i] = (src[j]! * 19595 + src[j + 1]! * 38470 + src[j + 2]! * 7471 + 0x8000) >> 16;
  }
  return out;
}

/** RGBA pixels (e.g. ImageData from createImageBitmap + OffscreenCanvas) to grey as Pillow's convert('L'). */
export function greyFromRgba(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): GreyImage {
  if (rgba.length < width * height * 4) throw new RangeError(`greyFromRgba: ${rgba.length} bytes for ${width} x ${height} RGBA`);
  return { width, height, data: lumaFromInterleaved(rgba, width, height, 4) };
}

function lumaFromInterleaved16(src: Uint16Array, n: number, channels: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += channels) {
    out[i] = ((src[j]! >> 8) * 19595 + (src[j + 1]! >> 8) * 38470 + (src[j + 2]! >> 8) * 7471 + 0x8000) >> 16;
  }
  return out;
}

function channelOf(src: Uint8Array | Uint16Array, n: number, channels: number, shift: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += channels) out[i] = src[j]! >> shift;
  return out;
}

/**
 * Grey uint8 as Pillow's convert('L'). For 8-bit grey the decoded sample array is returned as is (no copy).
 */
export function toGrey(img: DecodedImage, opts: GreyOptions = {}): GreyImage {
  const { width, height, data, bitDepth, channels } = img;
  const n = width * height;
  if (data.length < n * channels) throw new RangeError(`toGrey: ${data.length} samples for ${width} x ${height} x ${channels}`);
  let out: Uint8Array;
  switch (img.colorType) {
    case 0: {
      if (bitDepth === 8) {
        out = data.length === n ? (data as Uint8Array) : (data as Uint8Array).subarray(0, n);
      } else if (bitDepth === 16) {
        out = new Uint8Array(n);
        const d = data as Uint16Array;
        if (opts.sixteenBitGrey === 'high-byte') for (let i = 0; i < n; i++) out[i] = d[i]! >> 8;
        else if (opts.sixteenBitGrey === 'range') {
          let lo = 65535;
          let hi = 0;
          for (let i = 0; i < n; i++) {
            const v = d[i]!;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          }
          const scale = hi > lo ? 255 / (hi - lo) : 0;
          for (let i = 0; i < n; i++) out[i] = Math.round((d[i]! - lo) * scale);
        } else for (let i = 0; i < n; i++) out[i] = d[i]! > 255 ? 255 : d[i]!;
      } else {
        const scale = bitDepth === 1 ? 255 : bitDepth === 2 ? 85 : 17;
        out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = data[i]! * scale;
      }
      break;
    }
    case 2:
    case 6:
      out = bitDepth === 16 ? lumaFromInterleaved16(data as Uint16Array, n, channels) : lumaFromInterleaved(data, width, height, channels as 3 | 4);
      break;
    case 4:
      out = channelOf(data, n, 2, bitDepth === 16 ? 8 : 0);
      break;
    case 3: {
      const pal = img.palette;
      if (!pal) throw new RangeError('toGrey: palette image without a palette');
      const lut = new Uint8Array(256);
      for (let i = 0; i < 256; i++) lut[i] = i; // Pillow's default palette ramp beyond PLTE
      for (let i = 0, j = 0; j + 2 < pal.length; i++, j += 3) lut[i] = luma(pal[j]!, pal[j + 1]!, pal[j + 2]!);
      out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = lut[data[i]!]!;
      break;
    }
  }
  return { width, height, data: out };
}
