// MoCo-CXR's first transform, Resize(S), for images the app already stores at shorter side `imageSide`
// (320 by default, Pillow-exact from the original). A training size below the stored side is one more
// Pillow-exact Resize(S) of the stored image, on the CPU; equal sizes need nothing. Note that
// Resize(S) of the stored Resize(320) is not Resize(S) of the original file (two resamplings, not one);
// augment tests measure both against torchvision.
import { resizeShorterSide } from '../image/resize.ts';
import type { GreyImage } from '../image/types.ts';

/** The image at training size `size` (shorter side), resized only when the stored side is larger. */
export function toTrainingSize(img: GreyImage, size: number): GreyImage {
  const side = Math.min(img.width, img.height);
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`training size must be a positive integer, got ${size}`);
  if (size > side) {
    throw new RangeError(`training size ${size} is larger than the stored images (shorter side ${side}); import the dataset again at a larger image side`);
  }
  return size === side ? img : resizeShorterSide(img, size);
}

/**
 * Resized images kept per key, so that each stored image is resized once per training size, not once per
 * epoch. Bounded by bytes: the least recently used entries go first (a 224-side copy of a 10 000-image
 * dataset would be about 600 MB).
 */
export class TrainingSizeCache {
  private readonly entries = new Map<string, GreyImage>();
  private bytes = 0;

  constructor(
    readonly size: number,
    readonly maxBytes = 256 << 20,
  ) {}

  get(key: string, stored: GreyImage): GreyImage {
    const hit = this.entries.get(key);
    if (hit) {
      // Map keeps insertion order: re-inserting marks the entry as the most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const img = toTrainingSize(stored, this.size);
    if (img === stored) return img; // already at training size: nothing to keep
    this.entries.set(key, img);
    this.bytes += img.data.byteLength;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes || k === key) break;
      this.entries.delete(k);
      this.bytes -= v.data.byteLength;
    }
    return img;
  }

  get cachedBytes(): number {
    return this.bytes;
  }

  get count(): number {
    return this.entries.size;
  }
}
