// Entry points for the ingest worker: sniff the format from the bytes (never the file name), decode,
// convert to grey as Pillow's convert('L'), resize as torchvision's Resize(320), and make a thumbnail.
import { greyFromRgba, toGrey, type GreyOptions } from './grey.ts';
import { decodeJpeg, isJpeg, type JpegDecodeOptions } from './jpeg.ts';
import { decodePng, decodePngSync, isPng, type PngDecodeOptions } from './png.ts';
import { resizeShorterSide } from './resize.ts';
import { DEFAULT_THUMBNAIL_SIDE, makeThumbnail } from './thumbnail.ts';
import { ImageDecodeError, type ColorType, type DecodedImage, type GreyImage } from './types.ts';

export type ImageFormat = 'png' | 'jpeg';

export interface DecodeOptions extends PngDecodeOptions, JpegDecodeOptions, GreyOptions {}

const OTHER_FORMATS: readonly [string, (b: Uint8Array) => boolean][] = [
  ['GIF', (b) => ascii(b, 0, 4) === 'GIF8'],
  ['BMP', (b) => ascii(b, 0, 2) === 'BM'],
  ['TIFF', (b) => ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*'],
  ['WebP', (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP'],
  ['DICOM', (b) => ascii(b, 128, 132) === 'DICM'],
  ['JPEG 2000', (b) => (b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51) || ascii(b, 4, 12) === 'jP  \r\n\x87\n'],
  ['JPEG XL', (b) => (b[0] === 0xff && b[1] === 0x0a) || ascii(b, 4, 8) === 'JXL '],
  ['AVIF/HEIF', (b) => ascii(b, 4, 8) === 'ftyp'],
  ['ZIP', (b) => ascii(b, 0, 4) === 'PK\x03\x04'],
  ['gzip', (b) => b[0] === 0x1f && b[1] === 0x8b],
  ['PDF', (b) => ascii(b, 0, 5) === '%PDF-'],
  ['NumPy', (b) => ascii(b, 0, 6) === '\x93NUMPY'],
];

function ascii(b: Uint8Array, start: number, end: number): string {
  if (b.length < end) return '';
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function named(name: string | undefined): string {
  return name ? ` (${name})` : '';
}

/** The format of `bytes` by magic number; throws 'unknown-format' naming what was found otherwise. */
export function sniffFormat(bytes: Uint8Array, name?: string): ImageFormat {
  if (isPng(bytes)) return 'png';
  if (isJpeg(bytes)) return 'jpeg';
  if (bytes.length === 0) throw new ImageDecodeError('unknown-format', `empty file${named(name)}: not an image`);
  for (const [fmt, test] of OTHER_FORMATS) {
    if (test(bytes)) throw new ImageDecodeError('unknown-format', `unsupported image format ${fmt}${named(name)}: only PNG and JPEG are read`);
  }
  const head = Array.from(bytes.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  const text = bytes.subarray(0, 64).every((c) => c === 9 || c === 10 || c === 13 || (c >= 0x20 && c < 0x7f));
  throw new ImageDecodeError(
    'unknown-format',
    `not a PNG or JPEG file${named(name)}: ${text ? 'it looks like text' : 'unrecognised content'} (first bytes ${head})`,
  );
}

function addName(e: unknown, name: string | undefined): never {
  if (e instanceof ImageDecodeError && name && !e.message.includes(name)) {
    throw new ImageDecodeError(e.code, `${name}: ${e.message}`, { cause: e.cause });
  }
  throw e;
}

/** Decodes PNG or JPEG (sniffed) into samples; async so that PNG can use the native inflater. */
export async function decodeImage(bytes: Uint8Array, name?: string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  try {
    return sniffFormat(bytes, name) === 'png' ? await decodePng(bytes, opts) : decodeJpeg(bytes, opts);
  } catch (e) {
    return addName(e, name);
  }
}

export function decodeImageSync(bytes: Uint8Array, name?: string, opts: DecodeOptions = {}): DecodedImage {
  try {
    return sniffFormat(bytes, name) === 'png' ? decodePngSync(bytes, opts) : decodeJpeg(bytes, opts);
  } catch (e) {
    return addName(e, name);
  }
}

/** Grey uint8 exactly as Pillow's `Image.open(p).convert('L')` (JPEG: within a few levels, see jpeg.ts). */
export async function decodeToGrey(bytes: Uint8Array, name?: string, opts: DecodeOptions = {}): Promise<GreyImage> {
  return toGrey(await decodeImage(bytes, name, opts), opts);
}

export function decodeToGreySync(bytes: Uint8Array, name?: string, opts: DecodeOptions = {}): GreyImage {
  return toGrey(decodeImageSync(bytes, name, opts), opts);
}

export interface PrepareOptions extends DecodeOptions {
  /** torchvision Resize(shorterSide); default 320 as MoCo-CXR. 0 keeps the decoded size. */
  shorterSide?: number;
  /** longer side of the thumbnail, default 96 */
  thumbnailSide?: number;
  /** file name for error messages */
  name?: string;
}

export interface OriginalInfo {
  format: ImageFormat;
  width: number;
  height: number;
  bitDepth: number;
  colorType: ColorType;
}

export interface PreparedImage {
  image: GreyImage;
  thumbnail: GreyImage;
  original: OriginalInfo;
}

export { resizeShorterSide } from './resize.ts';
/** The thumbnail of a (stored) grey image: longer side `side`, default 96. */
export const thumbnail = makeThumbnail;

/** Resize(shorterSide) + thumbnail from an already grey image (e.g. from createImageBitmap + greyFromRgba). */
export function prepareFromGrey(grey: GreyImage, opts: { shorterSide?: number; thumbnailSide?: number } = {}): { image: GreyImage; thumbnail: GreyImage } {
  const shorter = opts.shorterSide ?? 320;
  const image = shorter > 0 ? resizeShorterSide(grey, shorter) : grey;
  return { image, thumbnail: makeThumbnail(image, opts.thumbnailSide ?? DEFAULT_THUMBNAIL_SIDE) };
}

function prepared(img: DecodedImage, opts: PrepareOptions): PreparedImage {
  const { image, thumbnail } = prepareFromGrey(toGrey(img, opts), opts);
  return {
    image,
    thumbnail,
    original: { format: img.format, width: img.width, height: img.height, bitDepth: img.bitDepth, colorType: img.colorType },
  };
}

/** Decode (PNG or JPEG), grey as Pillow's convert('L'), Resize(shorterSide) as torchvision, thumbnail. */
export async function prepareImage(bytes: Uint8Array, opts: PrepareOptions = {}): Promise<PreparedImage> {
  return prepared(await decodeImage(bytes, opts.name, opts), opts);
}

export function prepareImageSync(bytes: Uint8Array, opts: PrepareOptions = {}): PreparedImage {
  return prepared(decodeImageSync(bytes, opts.name, opts), opts);
}

/**
 * The same from RGBA pixels the browser decoded (createImageBitmap + OffscreenCanvas for JPEG): grey by
 * Pillow's luma, then Resize(shorterSide) and the thumbnail. bitDepth/colorType are reported as 8-bit RGB.
 */
export function prepareFromRgba(
  rgba: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  opts: { shorterSide?: number; thumbnailSide?: number; format?: ImageFormat } = {},
): PreparedImage {
  const { image, thumbnail: thumb } = prepareFromGrey(greyFromRgba(rgba, width, height), opts);
  return { image, thumbnail: thumb, original: { format: opts.format ?? 'jpeg', width, height, bitDepth: 8, colorType: 2 } };
}
