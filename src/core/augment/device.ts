// MoCo-CXR's training views as one tfjs tensor on the active backend: Resize(S) is done before (stored
// images, training-size.ts); here hflip -> rotate -> crop -> ToTensor -> Normalize -> grey to 3 channels.
//
// Per batch: the CPU builds the int32 index maps (index-map.ts, exact PIL geometry) and the pixels of the
// distinct images; both are uploaded once and one gather makes every view. The pixels go up already
// normalised, through a 256-entry float32 table computed as torch does (ToTensor's float32 division by
// 255, then Normalize's float32 subtraction and division): the values are then exactly torch's on every
// backend, where dividing on the GPU would not be (WGSL division may be off by 2.5 ulp). Uploading int32
// grey levels would cost the same 4 bytes per pixel. The rotation's fill (0 before normalisation) is one
// extra element after the pixels, holding the table's value for 0: (0 - 0.502) / 0.085585.
import * as tf from '@tensorflow/tfjs';
import type { GreyImage } from '../image/types.ts';
import { viewIndexMap } from './index-map.ts';
import { CXR_MEAN, CXR_STD, type ViewParams, type ViewSampler } from './params.ts';

export interface AugmentOptions {
  /** Crop side C: views are C x C. */
  crop: number;
  /** Normalize's mean and std (MoCo-CXR's CXR_MEAN / CXR_STD by default). */
  mean?: number;
  std?: number;
}

/** One view: which image (an index into the batch's images) and its geometry. */
export interface ViewSpec {
  image: number;
  params: ViewParams;
}

/** value[v] = float32((float32(v / 255) - mean) / std), as F.to_tensor then F.normalize give it in float32. */
export function normalisationTable(mean: number, std: number): Float32Array {
  const m = Math.fround(mean);
  const s = Math.fround(std);
  if (!(s > 0)) throw new RangeError(`std must be positive, got ${std}`);
  // Each step rounds a double result of float32 operands to float32: the correctly rounded float32 result.
  return Float32Array.from({ length: 256 }, (_, v) => Math.fround(Math.fround(Math.fround(v / 255) - m) / s));
}

/**
 * Views of `images` as a [V, C, C, 3] float32 NHWC tensor (V = views.length); images may be shared by
 * several views and are uploaded once. The caller owns (and disposes) the result.
 */
export function augmentViews(images: readonly GreyImage[], views: readonly ViewSpec[], opts: AugmentOptions): tf.Tensor4D {
  return tf.tidy(() => toThreeChannels(gatherViews(images, views, opts)));
}

/** ImageFolder's loader opens the grey file as RGB: three equal channels. */
function toThreeChannels(grey: tf.Tensor4D): tf.Tensor4D {
  return grey.tile([1, 1, 1, 3]);
}

/** The one upload of pixels and maps and the one gather: [V, C, C, 1]. */
function gatherViews(images: readonly GreyImage[], views: readonly ViewSpec[], opts: AugmentOptions): tf.Tensor4D {
  const { crop } = opts;
  const table = normalisationTable(opts.mean ?? CXR_MEAN, opts.std ?? CXR_STD);
  const starts: number[] = [];
  let total = 0;
  for (const img of images) {
    if (img.data.length !== img.width * img.height) throw new RangeError(`image data holds ${img.data.length} bytes for ${img.width} x ${img.height}`);
    starts.push(total);
    total += img.width * img.height;
  }
  const pixels = new Float32Array(total + 1);
  images.forEach((img, i) => {
    const base = starts[i]!;
    for (let k = 0; k < img.data.length; k++) pixels[base + k] = table[img.data[k]!]!;
  });
  const fill = total;
  pixels[fill] = table[0]!;

  const per = crop * crop;
  const indices = new Int32Array(views.length * per);
  views.forEach((v, n) => {
    const img = images[v.image];
    if (!img) throw new RangeError(`view ${n} refers to image ${v.image} of ${images.length}`);
    const map = viewIndexMap(img.width, img.height, v.params, crop);
    const base = starts[v.image]!;
    const o = n * per;
    for (let k = 0; k < per; k++) {
      const s = map[k]!;
      indices[o + k] = s >= 0 ? base + s : fill;
    }
  });

  return tf.tidy(() => {
    const grey = tf.gather(tf.tensor1d(pixels, 'float32'), tf.tensor1d(indices, 'int32'));
    return grey.reshape([views.length, crop, crop, 1]);
  });
}

/** Per-channel Normalize (fine-tuning's ImageNet mean and std on the grey image opened as RGB). */
export interface ChannelNormalisation {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/**
 * Views as [V, C, C, 3] with a mean and std per channel: each channel is the same grey level through its
 * own exact table. The CPU looks the grey levels up (fill = level 0, as PIL fills before ToTensor) and the
 * device maps level * 3 + channel through one 768-entry table.
 */
export function augmentViewsRgb(images: readonly GreyImage[], views: readonly ViewSpec[], crop: number, norm: ChannelNormalisation): tf.Tensor4D {
  const tables = [0, 1, 2].map((c) => normalisationTable(norm.mean[c]!, norm.std[c]!));
  const table = new Float32Array(768);
  for (let v = 0; v < 256; v++) for (let c = 0; c < 3; c++) table[v * 3 + c] = tables[c]![v]!;
  const per = crop * crop;
  const levels = new Int32Array(views.length * per * 3);
  views.forEach((view, n) => {
    const img = images[view.image];
    if (!img) throw new RangeError(`view ${n} refers to image ${view.image} of ${images.length}`);
    if (img.data.length !== img.width * img.height) throw new RangeError(`image data holds ${img.data.length} bytes for ${img.width} x ${img.height}`);
    const map = viewIndexMap(img.width, img.height, view.params, crop);
    const o = n * per * 3;
    for (let k = 0; k < per; k++) {
      const s = map[k]!;
      const base = (s >= 0 ? img.data[s]! : 0) * 3;
      levels[o + k * 3] = base;
      levels[o + k * 3 + 1] = base + 1;
      levels[o + k * 3 + 2] = base + 2;
    }
  });
  return tf.tidy(() => tf.gather(tf.tensor1d(table, 'float32'), tf.tensor1d(levels, 'int32')).reshape([views.length, crop, crop, 3]));
}

/** One view per image: params[i] applies to images[i]. Returns [N, C, C, 3] float32 NHWC. */
export function augmentBatch(images: readonly GreyImage[], params: readonly ViewParams[], opts: AugmentOptions): tf.Tensor4D {
  if (images.length !== params.length) throw new RangeError(`${images.length} images but ${params.length} view parameters`);
  return augmentViews(
    images,
    params.map((p, image) => ({ image, params: p })),
    opts,
  );
}

export interface TwoViews {
  /** [N, C, C, 3]: the first view of each image (MoCo's query). */
  query: tf.Tensor4D;
  /** [N, C, C, 3]: the second, independent view (MoCo's key). */
  key: tf.Tensor4D;
  params: { query: ViewParams[]; key: ViewParams[] };
}

/**
 * MoCo's TwoCropsTransform: two independent views of each image, drawn image by image (query, then key)
 * from `sample`, made with one upload and one gather.
 */
export function twoViews(images: readonly GreyImage[], sample: ViewSampler, opts: AugmentOptions): TwoViews {
  const query: ViewParams[] = [];
  const key: ViewParams[] = [];
  for (const img of images) {
    query.push(sample(img.width, img.height));
    key.push(sample(img.width, img.height));
  }
  const views = [...query.map((params, image) => ({ image, params })), ...key.map((params, image) => ({ image, params }))];
  // One gather for both halves, split while still one channel (a third of the copying of splitting RGB).
  const [q, k] = tf.tidy(() => {
    const [gq, gk] = tf.split(gatherViews(images, views, opts), 2, 0) as [tf.Tensor4D, tf.Tensor4D];
    return [toThreeChannels(gq), toThreeChannels(gk)];
  });
  return { query: q, key: k, params: { query, key } };
}

export interface PreviewView {
  params: ViewParams;
  /** crop x crop grey levels: the view de-normalised, what the model sees before Normalize. */
  side: number;
  data: Uint8Array;
}

/** twoViews read back as grey uint8 pairs, for showing what the augmentation does. */
export async function previewPairs(images: readonly GreyImage[], sample: ViewSampler, opts: AugmentOptions): Promise<[PreviewView, PreviewView][]> {
  const { query, key, params } = twoViews(images, sample, opts);
  const mean = opts.mean ?? CXR_MEAN;
  const std = opts.std ?? CXR_STD;
  const c = opts.crop;
  try {
    const [qd, kd] = await Promise.all([query.data(), key.data()]);
    // Channel 0 of each NHWC view; x * std + mean is v / 255 to float32 precision, so rounding recovers v.
    const grey = (d: Float32Array | Int32Array | Uint8Array, n: number): Uint8Array => {
      const out = new Uint8Array(c * c);
      const o = n * c * c * 3;
      for (let k = 0; k < c * c; k++) out[k] = Math.min(255, Math.max(0, Math.round((d[o + k * 3]! * std + mean) * 255)));
      return out;
    };
    return images.map((_, n) => [
      { params: params.query[n]!, side: c, data: grey(qd, n) },
      { params: params.key[n]!, side: c, data: grey(kd, n) },
    ]);
  } finally {
    query.dispose();
    key.dispose();
  }
}
