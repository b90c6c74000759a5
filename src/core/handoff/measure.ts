// The FLOP counts advice.ts needs, counted on the active tfjs backend (flops.ts: the model runs once at
// batch 1 under tf.profile and each conv and matmul kernel is priced from its shapes).
import type { Arch } from '../models/index.ts';
import { createModel } from '../models/index.ts';
import { forwardFlops, mocoStepFlops } from '../moco/flops.ts';
import type { PretrainSettings } from '../moco/settings.ts';

/** FLOPs of one MoCo step of these settings (the crop is what the encoders see). */
export async function pretrainStepFlops(s: Pick<PretrainSettings, 'arch' | 'batch' | 'crop' | 'dim' | 'K'>): Promise<number> {
  return (await mocoStepFlops({ arch: s.arch, batch: s.batch, size: s.crop, dim: s.dim, K: s.K })).total;
}

/** One image's forward FLOPs through a classifier with `outputs` task logits at `crop` px. */
export async function classifierForwardFlops(arch: Arch, crop: number, outputs: number): Promise<number> {
  const model = createModel(arch, { head: 'torchvision', numClasses: outputs });
  try {
    return (await forwardFlops(model, crop)).total;
  } finally {
    model.dispose();
  }
}
