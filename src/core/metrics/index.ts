// Evaluation metrics as MoCo-CXR's chexpert-model computes them (sklearn 1.2 ranking metrics, study-level
// max-logit scoring, bootstrap intervals of confidence_interval*.py).
export {
  auprc,
  auroc,
  binaryClfCurve,
  descendingOrder,
  MetricError,
  precisionRecallCurve,
  rocCurve,
  type ClfCurve,
  type PrCurve,
  type RocCurve,
} from './roc.ts';
export { aggregateStudies, sigmoid, studyAuprcs, studyAurocs, taskView, type ImagePrediction, type StudyPredictions, type TaskView } from './study.ts';
export {
  bootstrapAuroc,
  bootstrapAurocDiff,
  confidenceRow,
  percentileInterval,
  roundLikeNumpy,
  weightedAuroc,
  type BootstrapOptions,
  type BootstrapResult,
  type DrawScores,
  type Interval,
} from './bootstrap.ts';
export { numpyResampler, replayResampler, type Resampler } from './resample.ts';
