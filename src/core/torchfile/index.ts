// Reading and writing PyTorch checkpoints (.pth, .pth.tar) in TypeScript, safely: the zip format
// of torch >= 1.6 and the legacy format before it, through a pickle VM that only builds data.
//
//   const file = readTorchFile(bytes);                 // strict: torch's weights_only rules
//   const sd = file.root.get('state_dict');            // Map<PickleValue, PickleValue>
//   const w = tensorData(sd.get('module.queue'));      // Float32Array, a view where possible
//   const out = writeTorchFile(stateDict([['fc.weight', makeTensor('f32', [2, 3], values)]]));
export { TorchFileError, type TorchFileErrorCode } from './errors.ts';
export { readTorchFile, detectFormat, MAX_DEPTH, type ReadOptions, type TorchFile, type TorchFileFormat } from './read.ts';
export type { ReadMode } from './unpickler.ts';
export { DEFAULT_MAX_INFLATED_BYTES } from './zip-reader.ts';
export { legacyAlignmentPad } from './legacy.ts';
export { readCheckpointBlob, type BlobReadProgress } from './read-blob.ts';
export { writeTorchFile, makeTensor, stateDict, pyDict, tuple, pyFloat, type WriteOptions, type TensorInput } from './write.ts';
export {
  tensorData,
  tensorBytes,
  tensorToFloat32,
  storageElements,
  isContiguous,
  decodeHalf,
  decodeBFloat16,
  floatToHalfBits,
  floatToBFloat16Bits,
  MAX_TENSOR_BYTES,
  type TensorArray,
} from './tensor-data.ts';
export { summarize, keyName, type CheckpointSummary, type TensorSummary } from './summary.ts';
export {
  ALL_DTYPES,
  DTYPES,
  Opaque,
  OrderedDict,
  PyFloat,
  PyGlobal,
  Storage,
  Tensor,
  TorchDevice,
  TorchSize,
  Tuple,
  contiguousStrides,
  type DType,
  type DTypeInfo,
  type PickleValue,
} from './values.ts';
