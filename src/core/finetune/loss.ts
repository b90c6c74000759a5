// The fine-tuning loss: chexpert-model's BCEWithLogitsLoss(reduction='none') inside MaskedLossWrapper
// (eval/loss.py):
//   loss = bce(logits, targets) * mask;  loss = loss.sum() * (1 / mask.sum())
// the mean over every (sample, task) cell of the batch whose label takes part (U-Ignore masks -1 cells;
// U-Zeros / U-Ones map them and mask nothing). Targets and mask come from tasks.ts' trainingTargets.
//
// A batch with no unmasked cell: torch computes 0 * (1 / 0) = NaN, its backward gives NaN gradients and
// Adam writes NaN into every trained weight. Here such a batch is not trained on at all: no forward pass
// (so BN running statistics do not move either), no gradient, no Adam step (Adam's step count does not
// advance); the run still counts its examples, as the original's global_step would. `maskedCellCount`
// tells the caller beforehand, from the CPU-side mask.
import * as tf from '@tensorflow/tfjs';

/** Cells of a [N, T] mask that take part in the loss. */
export function maskedCellCount(mask: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) n++;
  return n;
}

/**
 * Element-wise binary cross-entropy with logits, in the overflow-free form
 * max(x, 0) - x * y + log1p(exp(-|x|)) (torch's binary_cross_entropy_with_logits is the same function).
 */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))));
}

/**
 * MaskedLossWrapper's mean over unmasked cells. `cells` is the number of unmasked cells (> 0; see
 * maskedCellCount): the sum is multiplied by float32(1 / cells), as the original multiplies by
 * `1 / mask.sum()`.
 */
export function maskedBceLoss(logits: tf.Tensor2D, targets: tf.Tensor2D, mask: tf.Tensor2D, cells: number): tf.Scalar {
  if (!(cells > 0)) throw new RangeError(`the masked loss needs at least one unmasked cell, got ${cells}`);
  return tf.tidy(() => tf.mul(tf.sum(tf.mul(bceWithLogits(logits, targets), mask)), tf.scalar(Math.fround(1 / cells))) as tf.Scalar);
}
