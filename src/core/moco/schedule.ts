// MoCo-CXR's learning-rate schedule (main_moco.py adjust_learning_rate), applied at the start of each
// epoch: step decay x0.1 for every milestone already reached, or the cosine variant divided by cos_rate.

export interface LrSchedule {
  /** base learning rate */
  lr: number;
  kind: 'step' | 'cos';
  /** step: epochs at which lr is multiplied by 0.1 (MoCo-CXR: [12, 18, 24]) */
  milestones: number[];
  /** cos: total epochs and MoCo-CXR's cos_rate (4) */
  epochs: number;
  cosRate: number;
}

export const MOCO_CXR_SCHEDULE: Omit<LrSchedule, 'lr' | 'epochs'> = { kind: 'step', milestones: [12, 18, 24], cosRate: 4 };

/** The learning rate for a 0-based epoch. */
export function lrAt(epoch: number, s: LrSchedule): number {
  if (s.kind === 'cos') return s.lr * 0.5 * (1 + Math.cos((Math.PI * epoch) / s.epochs / s.cosRate));
  let lr = s.lr;
  for (const m of s.milestones) if (epoch >= m) lr *= 0.1;
  return lr;
}
