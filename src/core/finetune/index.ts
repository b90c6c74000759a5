// Fine-tuning (issue 6): MoCo-CXR's CheXpert pipeline (chexpert-model train.py, select_ensemble.py,
// test.py) on tfjs. What the app, the workers and the CLI call:
//
//   const { trainer } = startTrainer(settings, { kind: 'moco', model: extractModel(root).model });
//   const out = await finetuneLoop({ settings, trainer, train, valid, test, keep, drop, loadKept, save, control });
//   out.test?.scores                         // test AUROC per task from the kept checkpoints' mean
//   toPipeline(await classifierToCanonical(trainer.model, settings.tasks.outputs), { iteration })
export { buildClassifier, classifierToCanonical, ClassifierError, loadClassifier, loadClassifierWeights, weightsToCanonical, type BuiltClassifier, type ClassifierOptions, type ClassifierStart } from './classifier.ts';
export { checkpointName, evaluatesAt, evaluationSchedule, queueOrder, savesAnyCheckpoint, savesAt, stepsPerEpoch, TopK, type EvaluationPoint, type Ranked } from './cadence.ts';
export {
  ensemblePredictions,
  finetuneLoop,
  FinetuneRunError,
  resumeTrainer,
  startTrainer,
  takeSnapshot,
  testMembers,
  validateFinetuneRun,
  type EvaluationRecord,
  type FinetuneLoopOptions,
  type FinetuneOutcome,
  type FinetuneProgress,
  type FinetuneSnapshot,
  type FinetuneState,
  type FinetuneStepReport,
  type KeptCheckpoint,
  type SaveReason,
  type TestResult,
} from './finetune-run.ts';
export { bceWithLogits, maskedBceLoss, maskedCellCount } from './loss.ts';
export { ensembleStudies, predictLogits, predictStudies, studiesFromLogits, type LabelledImage, type LabelledSplit, type PredictOptions } from './predict.ts';
export { centerCropOffset, checkTrainingSize, croppedBatch, evalBatch, normalisationOf, pyRound, randomCropSampler, type CropOffset } from './preprocess.ts';
export { FINETUNE_ADAM_HYPER, FinetuneTrainer, type AdamSlotData, type TrainerOptions } from './trainer.ts';
