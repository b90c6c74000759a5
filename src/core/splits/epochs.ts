// Fine-tuning length by label fraction, as MoCo-CXR's chexpert-model/sbatch/gen_sbatch.py sets it:
//   sb_num_epoch = int(5 * 4 ** math.log(1 / semi_ratio, 8))
//   sb_iter_save = sb_iter_eval = min(int(2 ** 17 * semi_ratio), 8192)     # counted in examples
// math.log(x, 8) is log(x) / log(8) in CPython, computed the same way here so the truncation agrees.
import { SplitError } from './types.ts';

function checkRatio(ratio: number): void {
  if (!(ratio > 0 && ratio <= 1)) throw new SplitError(`label fraction ${ratio} is not in (0, 1]`);
}

/** Epochs for a label fraction: 1 -> 5, 1/8 -> 20, 1/64 -> 80, 0.1 -> 23, 0.01 -> 107, 0.001 -> 500. */
export function epochsForFraction(ratio: number): number {
  checkRatio(ratio);
  return Math.trunc(5 * 4 ** (Math.log(1 / ratio) / Math.log(8)));
}

/**
 * Examples between validations and checkpoint saves. The original requires a multiple of the batch
 * size (16), which 0.001 (131) and 0.01 (1310) are not; callers must round, this returns the formula.
 */
export function examplesPerEvalForFraction(ratio: number): number {
  checkRatio(ratio);
  return Math.min(Math.trunc(2 ** 17 * ratio), 8192);
}
