// The fine-tuning pipeline's image transforms (chexpert-model data/base_dataset.py with its defaults, every
// augmentation probability 0) on the device:
//   train: Resize(scale) -> RandomCrop(crop) -> ToTensor -> Normalize(mean, std)
//   eval:  Resize(scale) -> CenterCrop(crop) -> ToTensor -> Normalize(mean, std)
// on the grey image opened as RGB (three equal channels, each normalised with its own mean and std).
// Resize(scale) of the shorter side is the image source's job (images arrive at training size, Pillow-exact:
// augment/training-size.ts); here the crop offsets, then one gather through augmentViewsRgb, whose
// per-channel tables give torch's float32 ToTensor + Normalize values exactly.
import type * as tf from '@tensorflow/tfjs';
import { augmentViewsRgb, type ChannelNormalisation } from '../augment/device.ts';
import { CXR_MEAN, CXR_STD } from '../augment/params.ts';
import { roundHalfEven } from '../image/resize.ts';
import type { GreyImage } from '../image/types.ts';
import { mulberry32 } from '../random.ts';
import { IMAGENET_MEAN, IMAGENET_STD, type FinetuneSettings } from './settings.ts';

/** Where a crop x crop square starts in an image (row, column). */
export interface CropOffset {
  top: number;
  left: number;
}

/** `--normalization imagenet` (the default) or `chexpert_norm` (MoCo-CXR's pretraining mean and std). */
export function normalisationOf(kind: FinetuneSettings['normalization']): ChannelNormalisation {
  if (kind === 'imagenet') return { mean: IMAGENET_MEAN, std: IMAGENET_STD };
  return { mean: [CXR_MEAN, CXR_MEAN, CXR_MEAN], std: [CXR_STD, CXR_STD, CXR_STD] };
}

/** Python 3's round() of a float (the image module's, which CenterCrop on stored images uses too). */
export const pyRound = roundHalfEven;

/** torchvision 0.14's F.center_crop: `int(round((height - crop) / 2.0))`, likewise for the width. */
export function centerCropOffset(width: number, height: number, crop: number): CropOffset {
  if (width < crop || height < crop) throw new RangeError(`crop ${crop} is larger than the ${width} x ${height} image`);
  return { top: pyRound((height - crop) / 2.0), left: pyRound((width - crop) / 2.0) };
}

/**
 * Seeded RandomCrop offsets, in torchvision's order and ranges (RandomCrop.get_params: top =
 * randint(0, H - crop), then left = randint(0, W - crop), both ends included). The numbers come from our
 * mulberry32, not torch's generator: the same seed gives the same crops everywhere, which is what lets a
 * resumed run draw the crops the uninterrupted one would have.
 */
export function randomCropSampler(seed: number, crop: number): (width: number, height: number) => CropOffset {
  const rand = mulberry32(seed);
  const randint = (hi: number) => Math.floor(rand() * (hi + 1));
  return (width, height) => {
    if (width < crop || height < crop) throw new RangeError(`crop ${crop} is larger than the ${width} x ${height} image (RandomCrop without padding)`);
    const top = randint(height - crop);
    const left = randint(width - crop);
    return { top, left };
  };
}

/** Refuses an image that is not at training size (shorter side = scale), naming it. */
export function checkTrainingSize(img: GreyImage, scale: number, key: string): void {
  const side = Math.min(img.width, img.height);
  if (side !== scale) {
    throw new RangeError(`image ${key} is ${img.width} x ${img.height}; the fine-tuning transforms expect it resized to shorter side ${scale} (Resize(${scale}))`);
  }
}

/** [N, crop, crop, 3] NHWC float32 views: image i cropped at offsets[i], normalised per channel. */
export function croppedBatch(images: readonly GreyImage[], offsets: readonly CropOffset[], crop: number, norm: ChannelNormalisation): tf.Tensor4D {
  if (images.length !== offsets.length) throw new RangeError(`${images.length} images but ${offsets.length} crop offsets`);
  const views = offsets.map((o, image) => ({ image, params: { flip: false, angle: 0, top: o.top, left: o.left } }));
  return augmentViewsRgb(images, views, crop, norm);
}

/** The evaluation views of a batch: CenterCrop(crop) of each image. */
export function evalBatch(images: readonly GreyImage[], crop: number, norm: ChannelNormalisation): tf.Tensor4D {
  return croppedBatch(
    images,
    images.map((img) => centerCropOffset(img.width, img.height, crop)),
    crop,
    norm,
  );
}
