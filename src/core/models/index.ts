// Models of torchvision's ResNet-18/50, DenseNet-121 and MNASNet 1.0 on TensorFlow.js, with torchvision's
// state-dict names and PyTorch numerics. See model.ts for the shared API.
import { DenseNet121 } from './densenet.ts';
import { MNASNet } from './mnasnet.ts';
import { TorchModel, type Arch, type ModelOptions } from './model.ts';
import { ResNet } from './resnet.ts';

export {
  TorchModel,
  StateDictError,
  loadStateDict,
  exportStateDict,
  nchwToNhwc,
  type Arch,
  type HeadKind,
  type ModelOptions,
  type ForwardOptions,
  type LoadResult,
} from './model.ts';
export type { StateEntry, StateEntryInput } from './params.ts';
export { ResNet } from './resnet.ts';
export { DenseNet121 } from './densenet.ts';
export { MNASNet, MNASNET_BN_MOMENTUM } from './mnasnet.ts';

export interface ArchInfo {
  arch: Arch;
  /** Width of the pooled features the head takes. */
  featureDim: number;
  /** State-dict prefix of the head in torchvision's model. */
  headBase: 'fc' | 'classifier';
  /** torchvision's head keys (default 'torchvision' head). */
  headKeys: string[];
  /** Number of state-dict entries of torchvision's model (buffers and num_batches_tracked included). */
  stateDictEntries: number;
  /** A key and its PyTorch shape that only this architecture has (ResNet-18's keys are a subset of
   *  ResNet-50's; the shape tells them apart). */
  signature: { key: string; shape: number[] };
  /** BN momentum torchvision uses. */
  bnMomentum: number;
}

export const ARCHS: Readonly<Record<Arch, ArchInfo>> = {
  resnet18: {
    arch: 'resnet18',
    featureDim: 512,
    headBase: 'fc',
    headKeys: ['fc.weight', 'fc.bias'],
    stateDictEntries: 122,
    signature: { key: 'layer1.0.conv1.weight', shape: [64, 64, 3, 3] },
    bnMomentum: 0.1,
  },
  resnet50: {
    arch: 'resnet50',
    featureDim: 2048,
    headBase: 'fc',
    headKeys: ['fc.weight', 'fc.bias'],
    stateDictEntries: 320,
    signature: { key: 'layer1.0.conv1.weight', shape: [64, 64, 1, 1] },
    bnMomentum: 0.1,
  },
  densenet121: {
    arch: 'densenet121',
    featureDim: 1024,
    headBase: 'classifier',
    headKeys: ['classifier.weight', 'classifier.bias'],
    stateDictEntries: 727,
    signature: { key: 'features.denseblock4.denselayer16.conv2.weight', shape: [32, 128, 3, 3] },
    bnMomentum: 0.1,
  },
  mnasnet1_0: {
    arch: 'mnasnet1_0',
    featureDim: 1280,
    headBase: 'classifier',
    headKeys: ['classifier.1.weight', 'classifier.1.bias'],
    stateDictEntries: 314,
    signature: { key: 'layers.8.0.layers.3.weight', shape: [48, 1, 3, 3] },
    bnMomentum: 1 - 0.9997,
  },
};

export const ARCH_NAMES: readonly Arch[] = ['resnet18', 'resnet50', 'densenet121', 'mnasnet1_0'];

/** Builds a model with torchvision's random initialisation (deterministic for a given `seed`). */
export function createModel(arch: Arch, opts: ModelOptions = {}): TorchModel {
  switch (arch) {
    case 'resnet18':
    case 'resnet50':
      return new ResNet(arch, opts);
    case 'densenet121':
      return new DenseNet121(opts);
    case 'mnasnet1_0':
      return new MNASNet(opts);
  }
}
