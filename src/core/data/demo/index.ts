// The built-in demo dataset: synthetic chest radiograph phantoms (not real patients) with
// CheXpert-style labels, deterministic from a seed. Plain TypeScript: runs in workers and Node.
export {
  DEMO_DATASET_NAME,
  POSITIVE_GRADE,
  READER_GRADE,
  SUBTLE_GRADE,
  demoDataset,
  generateDemoImages,
  planDemoCases,
  type DemoCase,
  type DemoDataset,
  type DemoImage,
  type DemoOptions,
  type GenerateOptions,
} from './generate.ts';
export {
  noFindings,
  normalPhantom,
  renderPhantom,
  trueCtr,
  type CentralLine,
  type PhantomFindings,
  type PhantomParams,
  type Side,
  type View,
  type Zone,
} from './phantom.ts';
export { createRng, mixSeed, splitmix32, type Rng } from './prng.ts';
export { encodeGreyPng } from './png-encode.ts';
