// A fine-tuning classifier: a backbone with one Linear task head (numClasses = the task list's length), as
// chexpert-model's models.py builds it (CadeneModel for ResNets: features -> ReLU -> avg pool -> fc;
// TorchVisionModel for DenseNet/MNASNet: the same with model.classifier), and its start weights:
// - 'moco': the query encoder of a MoCo checkpoint without its projection head: what ModelSaver.load_model
//   does with --moco True (module.encoder_q.X -> module.model.X, fc.* / encoder_k / queue dropped), loaded
//   here strictly: exactly the backbone's keys must arrive (the original's strict=False would also take a
//   checkpoint of another shape or with missing layers in silence);
// - 'imagenet': a torchvision checkpoint's backbone (its 1000-way head dropped);
// - 'random': torchvision's initialisation from the seed.
// The head is always new, as nn.Linear initialises one (U(+-1/sqrt(in)) for weight and bias, seeded; not
// torch's random stream).
//
// Our models take the ReLU before the pool as torchvision's own forward does (ResNet's last block ends in a
// ReLU already; DenseNet's forward applies it after norm5), so a classifier's logits are the pipeline's.
import { ARCH_INFO, newHead, type CanonicalModel, type Head } from '../convert/index.ts';
import { createModel, exportStateDict, loadStateDict, type Arch, type StateEntry, type StateEntryInput, type TorchModel } from '../models/index.ts';
import { makeTensor, tensorToFloat32, type Tensor } from '../torchfile/index.ts';

export class ClassifierError extends Error {
  override name = 'ClassifierError';
}

/** Where the weights come from; `model` is a checkpoint read with convert's extractModel. */
export type ClassifierStart = { kind: 'random' } | { kind: 'moco'; model: CanonicalModel } | { kind: 'imagenet'; model: CanonicalModel };

export interface ClassifierOptions {
  arch: Arch;
  /** head outputs: the task list's length */
  outputs: number;
  /** seeds the head (and, for 'random', the backbone) */
  seed: number;
  start: ClassifierStart;
}

export interface BuiltClassifier {
  model: TorchModel;
  /** state-dict keys taken from the checkpoint (empty for 'random'): every backbone key, nothing else */
  loaded: string[];
  /** the new head's keys */
  fresh: string[];
}

const toInput = (t: Tensor): StateEntryInput => ({ shape: t.shape, data: tensorToFloat32(t) });

function headEntries(model: TorchModel, head: Head): Map<string, StateEntryInput> {
  const [w, b] = model.headKeys();
  const weight = head.tensors.get('weight');
  const bias = head.tensors.get('bias');
  if (head.kind !== 'linear' || !weight || !bias) throw new ClassifierError('a classifier head must be one Linear layer (weight and bias)');
  return new Map([
    [w!, toInput(weight)],
    [b!, toInput(bias)],
  ]);
}

/**
 * Loads `entries` into `model` and checks that they were exactly the backbone: no key of the checkpoint
 * left unused, no backbone key left out, no shape off. Only the head's keys stay as they were.
 */
function loadBackboneExactly(model: TorchModel, entries: Map<string, StateEntryInput>, what: string): string[] {
  const head = new Set(model.headKeys());
  const res = loadStateDict(model, entries, { strict: false });
  const missing = res.missing.filter((k) => !head.has(k));
  const headGiven = [...entries.keys()].filter((k) => head.has(k));
  const problems: string[] = [];
  if (missing.length) problems.push(`${missing.length} backbone keys missing (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''})`);
  if (res.unexpected.length) problems.push(`${res.unexpected.length} keys that are not ${model.arch}'s (${res.unexpected.slice(0, 5).join(', ')}${res.unexpected.length > 5 ? ', ...' : ''})`);
  if (res.wrongShape.length) problems.push(`wrong shapes: ${res.wrongShape.slice(0, 3).map((w) => `${w.key} is [${w.got.join(', ')}], needs [${w.expected.join(', ')}]`).join('; ')}`);
  if (headGiven.length) problems.push(`head keys in the backbone (${headGiven.join(', ')})`);
  if (problems.length) throw new ClassifierError(`${what} does not fit a ${model.arch} backbone: ${problems.join('; ')}`);
  const loaded = [...entries.keys()];
  const expected = model.stateDictKeys().length - head.size;
  if (loaded.length !== expected) throw new ClassifierError(`${what}: ${loaded.length} backbone keys loaded, ${model.arch} has ${expected}`);
  return loaded;
}

/** A classifier with a new head, its backbone from `start`. */
export function buildClassifier(opts: ClassifierOptions): BuiltClassifier {
  const { arch, outputs, seed, start } = opts;
  if (!Number.isInteger(outputs) || outputs < 1) throw new ClassifierError(`a classifier needs at least one output, got ${outputs}`);
  const model = createModel(arch, { head: 'linear', numClasses: outputs, seed });
  try {
    let loaded: string[] = [];
    if (start.kind !== 'random') {
      const src = start.model;
      const what = start.kind === 'moco' ? 'the MoCo checkpoint\'s query encoder' : 'the ImageNet checkpoint';
      if (src.arch !== arch) throw new ClassifierError(`${what} is a ${src.arch}; the classifier is set to ${arch}`);
      if (start.kind === 'moco' && !src.moco && src.head?.kind !== 'mlp') {
        throw new ClassifierError(`the checkpoint chosen as MoCo start has no MoCo state and no MLP projection head (${src.head ? 'a linear head' : 'no head'}): pick it as an ImageNet (backbone) start instead`);
      }
      loaded = loadBackboneExactly(model, new Map([...src.backbone].map(([k, t]) => [k, toInput(t)])), what);
    }
    const fresh = model.headKeys();
    loadStateDict(model, headEntries(model, newHead(arch, { kind: 'linear', outputs }, seed)), { strict: false });
    return { model, loaded, fresh };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * A trained classifier from a checkpoint with its linear head (a pipeline checkpoint, an app export of a
 * fine-tuning run): every key must fit, nothing is left fresh. Throws ClassifierError naming what does not.
 */
export function loadClassifier(src: CanonicalModel): TorchModel {
  if (src.head?.kind !== 'linear') throw new ClassifierError(`a classifier checkpoint needs a linear task head; this ${src.arch} checkpoint has ${src.head ? 'an MLP head' : 'none'}`);
  const w = src.head.tensors.get('weight');
  if (!w || w.shape.length !== 2) throw new ClassifierError('the task head has no 2-d weight');
  const model = createModel(src.arch, { head: 'linear', numClasses: w.shape[0]! });
  try {
    loadBackboneExactly(model, new Map([...src.backbone].map(([k, t]) => [k, toInput(t)])), 'the classifier checkpoint');
    loadStateDict(model, headEntries(model, src.head), { strict: false });
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Loads a full state dict (backbone and head, as exportStateDict gives it) strictly into a classifier. */
export function loadClassifierWeights(model: TorchModel, weights: Map<string, StateEntryInput>): void {
  loadStateDict(model, weights, { strict: true });
}

const toTensor = (e: StateEntry): Tensor => (e.dtype === 'int64' ? makeTensor('i64', e.shape, Array.from(e.data, (v) => Math.round(v))) : makeTensor('f32', e.shape, e.data));

/** State-dict entries (exportStateDict's) as a canonical model: backbone, linear head, tasks. */
export function weightsToCanonical(arch: Arch, weights: Map<string, StateEntry>, tasks: readonly string[], epoch?: number): CanonicalModel {
  const h = ARCH_INFO[arch].headName;
  const backbone = new Map<string, Tensor>();
  const head = new Map<string, Tensor>();
  for (const [k, e] of weights) {
    if (k === `${h}.weight` || k === `${h}.bias`) head.set(k.slice(h.length + 1), toTensor(e));
    else backbone.set(k, toTensor(e));
  }
  if (head.size !== 2) throw new ClassifierError(`the weights have no linear head at ${h}`);
  const outputs = head.get('weight')!.shape[0]!;
  if (outputs !== tasks.length) throw new ClassifierError(`the head has ${outputs} outputs for ${tasks.length} tasks`);
  const model: CanonicalModel = { arch, backbone, head: { kind: 'linear', tensors: head }, tasks: [...tasks] };
  if (epoch !== undefined) model.epoch = epoch;
  return model;
}

/** The inverse of weightsToCanonical: a classifier checkpoint's entries by state-dict name, read from the
 *  file's tensors without building a model (loadClassifierWeights checks them strictly). */
export function canonicalToWeights(src: CanonicalModel): Map<string, StateEntryInput> {
  const h = ARCH_INFO[src.arch].headName;
  const weight = src.head?.tensors.get('weight');
  const bias = src.head?.tensors.get('bias');
  if (src.head?.kind !== 'linear' || !weight || !bias) throw new ClassifierError('a classifier head must be one Linear layer (weight and bias)');
  const out = new Map<string, StateEntryInput>([...src.backbone].map(([k, t]) => [k, toInput(t)]));
  out.set(`${h}.weight`, toInput(weight));
  out.set(`${h}.bias`, toInput(bias));
  return out;
}

/**
 * A trained classifier as a canonical model, for convert's writers: toPipeline(model, {iteration}) gives
 * the CheXpert pipeline's checkpoint (model_name ResNet18 / DenseNet121, tasks, ckpt_info, model_state in
 * the DataParallel layout) that test.py and ModelSaver.load_model (moco False) read.
 */
export async function classifierToCanonical(model: TorchModel, tasks: readonly string[], epoch?: number): Promise<CanonicalModel> {
  return weightsToCanonical(model.arch, await exportStateDict(model), tasks, epoch);
}
