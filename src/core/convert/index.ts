// Checkpoint layouts and conversion (issue 4): MoCo, torchvision, CheXpert-pipeline and the app's own
// format, detected from keys and shapes, loaded strictly, and written back for the original code.
//
//   const file = readTorchFile(bytes);
//   const d = detectLayout(file.root);                  // d.summary: "moco (resnet18, dim 128, K 24576, ...)"
//   const { model } = extractModel(file.root, { arch: 'resnet18' });   // refuses mismatches by name
//   const out = toTorchvision(model);                   // bare backbone, as main_lincls.py loads it
export { ARCHS, ARCH_INFO, backboneKeys, expectedKeys, headKeys, isArch, isParameterKey, type Arch, type ArchInfo, type HeadSpec, type KeyList, type KeySpec } from './arch.ts';
export { assertKeys, checkKeys, inferArch, readHead, type CheckOptions, type KeyCheck, type ShapeLike, type WrongShape } from './check.ts';
export { ConvertError, type ConvertErrorCode } from './errors.ts';
export {
  APP_FORMAT,
  APP_VERSION,
  decodeFloats,
  detectLayout,
  encodeFloats,
  extractModel,
  headSpec,
  optimizerInfo,
  scalar,
  type CanonicalModel,
  type Detected,
  type ExtractOptions,
  type Head,
  type LayoutKind,
  type MocoState,
  type OptimizerInfo,
} from './layout.ts';
export {
  adamStateDict,
  appRoot,
  mocoRoot,
  newHead,
  pipelineRoot,
  torchvisionRoot,
  toApp,
  toMoco,
  toPipeline,
  toTorchvision,
  MOCO_CXR_ADAM,
  PIPELINE_ADAM,
  type AdamState,
  type AppOptions,
  type MocoOptions,
  type PipelineOptions,
  type TorchvisionOptions,
} from './export.ts';
