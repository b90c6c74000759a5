// Evaluation inputs exactly as chexpert-model builds them (data/base_dataset.py, eval branch):
//   Image.open(path).convert('RGB')  ->  Resize(scale) (shorter side, Pillow bilinear)  ->
//   CenterCrop(crop) (top = int(round((h - crop) / 2.0)), Python's round-half-even)  ->  ToTensor
//   ->  Normalize(IMAGENET_MEAN, IMAGENET_STD)
// Two ways of opening a file, both from the original:
// - 'rgb' (default): `Image.open(path).convert('RGB')`, what the '*_special' datasets do
//   (data/custom_dataset.py; Shenzhen and CheXpert fine-tuning validation). Grey files become three
//   equal channels; colour files keep their channels, each resized with the same Pillow arithmetic.
// - 'grey': `util.rotate_img(path)` -> `convert('L').convert('RGB')`, what test.py's `--dataset
//   custom` does for the reported test numbers: colour is first reduced to Pillow's luma. (rotate_img
//   also applies a JPEG's EXIF orientation, which is not done here: our JPEG decoder ignores EXIF.)
// For grey files and for RGB files with R = G = B the two are the same.
// Exactness: PNG decoding, Pillow's convert, the bilinear resize and the crop are bit-exact (see
// src/core/image/pillow-parity.test.ts); ToTensor + Normalize go through per-channel float32 tables
// computed as torch computes them (float32(v / 255), then float32 subtraction and division), so the
// tensor equals torch's bit for bit (evaluate-parity.test.ts). JPEG decodes within one grey level.
//
// Stored datasets (the app): images were kept as grey at the dataset's imageSide (shorter side), already
// resized once. `evalImageFromGrey` resizes them again to `scale` when their shorter side differs; the
// input then equals torch's only when imageSide equals scale (resizing twice is not resizing once).
import * as tf from '@tensorflow/tfjs';
import { normalisationTable } from '../augment/device.ts';
import { centerCrop, resizeShorterSide } from '../image/resize.ts';
import { toGrey, type GreyOptions } from '../image/grey.ts';
import type { DecodedImage, GreyImage } from '../image/types.ts';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** chexpert-model's defaults (args/train_arg_parser.py): --scale 320 --crop 320 --normalization imagenet. */
export const EVAL_DEFAULTS = { scale: 320, crop: 320 } as const;

export type OpenMode = 'rgb' | 'grey';

export interface PreprocessOptions {
  /** Resize's shorter side (default 320) */
  scale?: number;
  /** CenterCrop's side (default 320); at most `scale` */
  crop?: number;
}

/** One image after Resize + CenterCrop: 1 plane (grey, used for all three channels) or 3 planes
 *  (R, G, B), each crop x crop bytes. */
export interface EvalImage {
  size: number;
  planes: Uint8Array[];
}

function sizes(opts: PreprocessOptions): { scale: number; crop: number } {
  const scale = opts.scale ?? EVAL_DEFAULTS.scale;
  const crop = opts.crop ?? EVAL_DEFAULTS.crop;
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`scale must be a positive whole number, got ${scale}`);
  if (!Number.isInteger(crop) || crop < 1) throw new RangeError(`crop must be a positive whole number, got ${crop}`);
  if (crop > scale) throw new RangeError(`crop ${crop} is larger than scale ${scale}: torchvision would pad, which the pipeline never does`);
  return { scale, crop };
}

/** Resize(scale) + CenterCrop(crop) of one plane (torchvision returns the image as is when its
 *  shorter side already equals scale; resizeShorterSide then copies it unchanged). */
function resizeCrop(plane: GreyImage, scale: number, crop: number): Uint8Array {
  const resized = Math.min(plane.width, plane.height) === scale ? plane : resizeShorterSide(plane, scale);
  return centerCrop(resized, crop, crop).data;
}

function samePlanes(planes: Uint8Array[]): boolean {
  const [r, g, b] = planes as [Uint8Array, Uint8Array, Uint8Array];
  for (let i = 0; i < r.length; i++) if (r[i] !== g[i] || r[i] !== b[i]) return false;
  return true;
}

/** The R, G, B planes of `convert('RGB')` for a colour PNG/JPEG (16-bit samples: the high byte, as
 *  Pillow reads them; palette entries beyond the PLTE: grey = index, Pillow's default ramp); null for
 *  grey images (their convert('RGB') is the grey copied, as convert('L') gives it). */
function rgbPlanes(img: DecodedImage): Uint8Array[] | null {
  const { width, height, data, channels, bitDepth } = img;
  const n = width * height;
  if (img.colorType === 2 || img.colorType === 6) {
    const shift = bitDepth === 16 ? 8 : 0;
    const planes = [0, 1, 2].map(() => new Uint8Array(n));
    for (let i = 0, j = 0; i < n; i++, j += channels) {
      planes[0]![i] = data[j]! >> shift;
      planes[1]![i] = data[j + 1]! >> shift;
      planes[2]![i] = data[j + 2]! >> shift;
    }
    return planes;
  }
  if (img.colorType === 3) {
    const pal = img.palette;
    if (!pal) throw new RangeError('palette image without a palette');
    const lut = [0, 1, 2].map(() => Uint8Array.from({ length: 256 }, (_, i) => i));
    for (let i = 0, j = 0; j + 2 < pal.length && i < 256; i++, j += 3) for (let c = 0; c < 3; c++) lut[c]![i] = pal[j + c]!;
    const planes = [0, 1, 2].map(() => new Uint8Array(n));
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) planes[c]![i] = lut[c]![data[i]!]!;
    return planes;
  }
  return null;
}

/**
 * A decoded file as the pipeline opens it (`mode`, see the header), resized and centre-cropped.
 * Colour images whose three channels are equal are kept as one plane (the same numbers, a third of
 * the work). `grey` passes options to the grey conversion (16-bit handling; default Pillow's).
 */
export function evalImageFromDecoded(img: DecodedImage, opts: PreprocessOptions & { mode?: OpenMode; grey?: GreyOptions } = {}): EvalImage {
  const { scale, crop } = sizes(opts);
  const planes = (opts.mode ?? 'rgb') === 'rgb' ? rgbPlanes(img) : null;
  if (planes && !samePlanes(planes)) {
    return { size: crop, planes: planes.map((data) => resizeCrop({ width: img.width, height: img.height, data }, scale, crop)) };
  }
  const grey = planes ? { width: img.width, height: img.height, data: planes[0]! } : toGrey(img, opts.grey);
  return { size: crop, planes: [resizeCrop(grey, scale, crop)] };
}

/** A grey image of any size (a stored dataset image, or one decoded elsewhere): Resize(scale) when its
 *  shorter side is not already `scale`, then CenterCrop(crop). */
export function evalImageFromGrey(img: GreyImage, opts: PreprocessOptions = {}): EvalImage {
  const { scale, crop } = sizes(opts);
  if (img.data.length !== img.width * img.height) throw new RangeError(`grey image holds ${img.data.length} bytes for ${img.width} x ${img.height}`);
  return { size: crop, planes: [resizeCrop(img, scale, crop)] };
}

export interface Normalisation {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

export const IMAGENET_NORMALISATION: Normalisation = { mean: IMAGENET_MEAN, std: IMAGENET_STD };

const tableCache = new Map<string, Float32Array[]>();

function channelTables(norm: Normalisation): Float32Array[] {
  const key = `${norm.mean.join(',')}/${norm.std.join(',')}`;
  let t = tableCache.get(key);
  if (!t) {
    t = [0, 1, 2].map((c) => normalisationTable(norm.mean[c]!, norm.std[c]!));
    tableCache.set(key, t);
  }
  return t;
}

/** ToTensor + Normalize of a batch, channels last: float32 [N, crop, crop, 3] values in C order. */
export function normalisedPixels(images: readonly EvalImage[], norm: Normalisation = IMAGENET_NORMALISATION): Float32Array {
  if (images.length === 0) throw new RangeError('no images in the batch');
  const size = images[0]!.size;
  const per = size * size;
  const tables = channelTables(norm);
  const out = new Float32Array(images.length * per * 3);
  images.forEach((im, n) => {
    if (im.size !== size) throw new RangeError(`image ${n} is ${im.size} px, the batch's first ${size} px`);
    const o = n * per * 3;
    for (let c = 0; c < 3; c++) {
      const plane = im.planes.length === 3 ? im.planes[c]! : im.planes[0]!;
      const table = tables[c]!;
      for (let k = 0; k < per; k++) out[o + k * 3 + c] = table[plane[k]!]!;
    }
  });
  return out;
}

/** The batch as the models' NHWC input tensor (the caller disposes it). */
export function evalBatchTensor(images: readonly EvalImage[], norm: Normalisation = IMAGENET_NORMALISATION): tf.Tensor4D {
  const size = images[0]?.size ?? 0;
  return tf.tensor4d(normalisedPixels(images, norm), [images.length, size, size, 3], 'float32');
}
