// A small preview of a stored image: longer side `side` px (default 96), aspect kept, same Pillow-exact
// bilinear resampler as the stored image.
import { resizeBilinear } from './resize.ts';
import type { GreyImage } from './types.ts';

export const DEFAULT_THUMBNAIL_SIDE = 96;

/** Longer side -> `side`, the other `max(1, floor(side * short / long + 0.5))`. */
export function thumbnailSize(width: number, height: number, side = DEFAULT_THUMBNAIL_SIDE): { width: number; height: number } {
  if (width >= height) return { width: side, height: Math.max(1, Math.floor((side * height) / width + 0.5)) };
  return { width: Math.max(1, Math.floor((side * width) / height + 0.5)), height: side };
}

export function makeThumbnail(img: GreyImage, side = DEFAULT_THUMBNAIL_SIDE): GreyImage {
  const s = thumbnailSize(img.width, img.height, side);
  return resizeBilinear(img, s.width, s.height);
}
