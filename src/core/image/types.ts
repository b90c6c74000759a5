// Shared image types and the one error class every decoder in src/core/image throws.

/** Why an image could not be read; stable strings for the ingest worker's per-file problem list. */
export type ImageErrorCode =
  | 'truncated' // the file ends before the image data does
  | 'corrupt' // bad signature, bad CRC, bad zlib stream, invalid header field or filter type
  | 'unsupported' // a valid file in a variant we do not read
  | 'unknown-format' // not a PNG or JPEG
  | 'too-large'; // more pixels than the caller allows

export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
  readonly code: ImageErrorCode;
  constructor(code: ImageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A single-channel 8-bit image, row-major, `data.length === width * height`. */
export interface GreyImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** PNG colour types (JPEG uses 0 for one component and 2 for colour). */
export type ColorType = 0 | 2 | 3 | 4 | 6;

/**
 * A decoded image before conversion to grey. `data` holds one element per sample, interleaved per pixel,
 * row-major, with the raw sample values of the file: for bit depths below 8 one byte per sample (0..2^d-1,
 * not rescaled), for 8 a byte, for 16 a Uint16Array. Palette images hold indices into `palette` (RGB triples).
 */
export interface DecodedImage {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
  colorType: ColorType;
  bitDepth: number;
  channels: 1 | 2 | 3 | 4;
  interlaced: boolean;
  data: Uint8Array | Uint16Array;
  palette?: Uint8Array;
}

/** Samples per pixel for each PNG colour type. */
export const CHANNELS: Readonly<Record<ColorType, 1 | 2 | 3 | 4>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
