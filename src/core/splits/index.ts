// Label-fraction and dataset splits reproducing MoCo-CXR's scripts, on plain row lists.
export { MT19937 } from './mt19937.ts';
export { CHEXPERT_FRACTIONS, chexpertDrawName, chexpertLabelFractions, type ChexpertSplitOptions, type ChexpertSplits } from './chexpert.ts';
export {
  SHENZHEN_ORIGINAL_FRACTIONS,
  SHENZHEN_PAPER_FRACTIONS,
  SHENZHEN_TEST_RATIO,
  SHENZHEN_VAL_RATIO,
  hasSplitSize,
  isBalanced,
  shenzhenDrawName,
  shenzhenSplits,
  type ShenzhenSplitOptions,
  type ShenzhenSplits,
} from './shenzhen.ts';
export { epochsForFraction, examplesPerEvalForFraction } from './epochs.ts';
export { pythonFloatRepr, pythonRatioName, SplitError, type FractionDraw, type FractionSpec, type SplitRow } from './types.ts';
