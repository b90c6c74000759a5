// Random parameters of MoCo-CXR's training augmentation (aihc_utils/image_transform.py, --aug-setting
// chexpert): RandomHorizontalFlip() -> RandomRotation(rotate) -> RandomCrop((crop, crop)), drawn per view in
// torchvision's order and ranges. The numbers come from our seeded mulberry32, not torch's generator: a seed
// gives the same views everywhere, and the distributions are torchvision's.
import { mulberry32 } from '../random.ts';

/** MoCo-CXR's CXR_MEAN and CXR_STD (the same value for each of the three channels). */
export const CXR_MEAN = 0.502;
export const CXR_STD = 0.085585;
/** MoCo-CXR's `--rotate` default: RandomRotation(10), an angle uniform in [-10, 10] degrees. */
export const DEFAULT_ROTATE = 10;
/** RandomHorizontalFlip's default p. */
export const FLIP_P = 0.5;

/** One view's geometry on an image of the training size. */
export interface ViewParams {
  /** Mirror left-right (applied first). */
  flip: boolean;
  /** Counter-clockwise rotation in degrees about the image centre (PIL's convention), after the flip. */
  angle: number;
  /** Crop offsets (row, column) of the crop x crop square in the rotated image, last. */
  top: number;
  left: number;
}

export interface SamplerOptions {
  /** RandomCrop size (square). */
  crop: number;
  /** RandomRotation degrees: the angle is uniform in [-rotate, rotate]; 0 turns rotation off. */
  rotate?: number;
  /** RandomHorizontalFlip probability. */
  flipP?: number;
}

/** Draws a view for an image of the given size (after Resize(S)); the image must hold the crop. */
export type ViewSampler = (width: number, height: number) => ViewParams;

/** Uniform integer in [lo, hi] inclusive, as torch.randint(lo, hi + 1). */
function randint(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/**
 * A seeded sampler of views. Per view, in torchvision's order: flip = rand < p; angle uniform in
 * [-rotate, rotate], held as a float32 as torch.empty(1).uniform_ gives it; top = randint(0, H - crop) and
 * left = randint(0, W - crop), both ends included (RandomCrop.get_params).
 */
export function viewSampler(seed: number, opts: SamplerOptions): ViewSampler {
  const { crop, rotate = DEFAULT_ROTATE, flipP = FLIP_P } = opts;
  if (!(Number.isInteger(crop) && crop >= 1)) throw new RangeError(`viewSampler: crop must be a positive integer, got ${crop}`);
  if (!(rotate >= 0 && rotate <= 180)) throw new RangeError(`viewSampler: rotate must be in [0, 180], got ${rotate}`);
  if (!(flipP >= 0 && flipP <= 1)) throw new RangeError(`viewSampler: flipP must be in [0, 1], got ${flipP}`);
  const rand = mulberry32(seed);
  return (width, height) => {
    if (width < crop || height < crop) {
      throw new RangeError(`crop ${crop} is larger than the ${width} x ${height} image (RandomCrop without padding)`);
    }
    const flip = rand() < flipP;
    const angle = Math.fround(-rotate + rand() * 2 * rotate);
    const top = randint(rand, 0, height - crop);
    const left = randint(rand, 0, width - crop);
    return { flip, angle, top, left };
  };
}
