// Offline evaluation of classifier checkpoints (issue 6) and the original pipeline's result files
// (issues 6 and 7), for the app's worker and the `moco-cxr eval` command.
//
//   const { classifier } = loadClassifier(readTorchFile(bytes).root);           // any layout, strict
//   const samples = samplesFromImages(images, tasks, labelColumns,               // stored dataset images
//     async (img) => evalImageFromGrey(await pixelsOf(img), { scale: 320, crop: 320 }));
//   const e = await evaluateClassifier(classifier, samples, { tasks, bootstrap: 1000 });
//   const files = pipelineFiles(e.table, e.scores);  // predictions.csv, groundtruth.csv, scores.csv, ...
//   const result = offlineResult(e, { label, split: 'test' });
//   classifier.dispose();
//
// Exactness: from the original image files (evalImageFromDecoded) the inputs equal torch's bit for bit
// and the probabilities equal PyTorch's within 1e-4 (evaluate-parity.test.ts). Stored dataset images
// were already resized once to the dataset's imageSide: evalImageFromGrey resizes them again to
// `scale`, which equals the pipeline only when imageSide equals scale (320 by default).
export { ClassifierError, classifierFromModel, loadClassifier, type Classifier, type ClassifierErrorCode, type ClassifierOptions } from './classifier.ts';
export {
  EVAL_DEFAULTS,
  IMAGENET_MEAN,
  IMAGENET_NORMALISATION,
  IMAGENET_STD,
  evalBatchTensor,
  evalImageFromDecoded,
  evalImageFromGrey,
  normalisedPixels,
  type EvalImage,
  type Normalisation,
  type OpenMode,
  type PreprocessOptions,
} from './preprocess.ts';
export {
  EvaluationError,
  compareStudyPaths,
  evaluateClassifier,
  offlineResult,
  samplesFromImages,
  taskIndices,
  type EvalSample,
  type EvaluateOptions,
  type Evaluation,
  type OfflineResultMeta,
} from './evaluate.ts';
export {
  CONFIDENCE_HEADER,
  PATH_COLUMN,
  PipelineCsvError,
  SCORES_HEADER,
  clusterResult,
  confidenceCsv,
  groundtruthCsv,
  parseConfidenceCsv,
  parsePathTable,
  parseScoresCsv,
  pipelineFiles,
  pipelineScoreRows,
  predictionsCsv,
  scoresCsv,
  scoresTxt,
  studyTableFromCsv,
  type ClusterFiles,
  type ClusterResultMeta,
  type ConfidenceRecord,
  type PathTable,
  type ScoreRow,
} from './pipeline-csv.ts';
export { PIPELINE_METRICS, PIPELINE_THRESHOLD, logLoss32, pipelineTaskMetrics, type PipelineMetric, type PipelineTaskMetrics } from './pipeline-metrics.ts';
export { pandasFloat, pyCsv, pyCsvField, pyFloatRepr } from './python-format.ts';
export { labelColumnOf } from '../finetune/tasks.ts';
