// Handing a run to PyTorch (issue 7): the cluster bundle (checkpoint, run.json, split CSVs, launch scripts for
// MoCo-CXR's own code, README) and the advice on when to hand off.
//
//   const bytes = pretrainBundle({ run, dataset, images, checkpoint, imagenetStart });   // a zip
//   const bytes = finetuneBundle({ experiment, dataset, images, manifest, checkpoints });
//   const a = advise(pretrainWork({ stepFlops, images, batch, epochs, done }).flops, measuredFlopsPerSecond);
//   if (a.handOff) show(a.text);
export {
  finetuneBundle,
  finetuneBundleContents,
  pretrainBundle,
  pretrainBundleContents,
  zipBundle,
  type BundleContents,
  type BundleDataset,
  type BundleFile,
  type BundleImage,
  type FinetuneBundleInput,
  type PretrainBundleInput,
} from './bundle.ts';
export {
  advise,
  finetuneWork,
  formatDuration,
  formatFlops,
  HANDOFF_THRESHOLD_SECONDS,
  MOCO_CXR_RECIPE,
  mocoStepFlopsOf,
  pretrainWork,
  recipeFlops,
  trainingCadence,
  type Advice,
  type FinetuneRunWork,
  type FinetuneWork,
  type PretrainWork,
} from './advice.ts';
export { classifierForwardFlops, pretrainStepFlops } from './measure.ts';
export {
  finetuneAugmentations,
  missingImages,
  parseRunJson,
  pretrainAugmentations,
  RUN_JSON_FORMAT,
  RUN_JSON_VERSION,
  RunJsonError,
  writeRunJson,
  type FinetuneRunJson,
  type PretrainRunJson,
  type RunJson,
} from './run-json.ts';
export { clusterOptions, DEFAULT_CLUSTER, type ClusterOptions } from './cluster.ts';
export { finetuneLaunch, finetuneRuns, taskMapping, type FinetuneLaunchInput, type FinetuneRun, type InitCheckpoint, type TaskMapping } from './launch-finetune.ts';
export { mainMocoArgs, mocoJobName, pretrainLaunch, pretrainNotes, type LaunchFile, type PretrainLaunchInput } from './launch-pretrain.ts';
export { HandoffError } from './shell.ts';
export { MOCO_CXR_COMMIT, MOCO_CXR_REPOSITORY, PACKAGES, type HandoffNote } from './target.ts';
