// A classifier checkpoint of any layout the app reads, as a TorchModel in eval use plus the names of
// its outputs. Layout detection and the strict key checks are the converter's (extractModel): a
// pipeline checkpoint (ModelSaver: module.model.* + module.fc.* for the Cadene ResNets, whose unused
// module.model.last_linear.* is set aside by name; module.model.features.* + module.model.classifier.*
// for DenseNet; `tasks` in the file), a torchvision state dict (fc / classifier with any number of
// outputs, names given by the caller or output_0, output_1, ...), the app's own export, or a backbone
// with a head trained here (classifierFromModel). Refusals name what did not fit.
import { detectLayout, extractModel, headSpec, type CanonicalModel, type Detected, type LayoutKind } from '../convert/index.ts';
import { ConvertError } from '../convert/errors.ts';
import { createModel, loadStateDict, StateDictError, type Arch, type StateEntryInput, type TorchModel } from '../models/index.ts';
import { tensorToFloat32, type PickleValue, type Tensor } from '../torchfile/index.ts';

export type ClassifierErrorCode = 'not_a_classifier' | 'tasks' | 'uncertainty_head' | 'keys';

export class ClassifierError extends Error {
  override readonly name = 'ClassifierError';
  constructor(
    readonly code: ClassifierErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface Classifier {
  model: TorchModel;
  arch: Arch;
  /** one name per output, in the head's order */
  tasks: string[];
  /** where the names came from: the file ('tasks' of a pipeline or app checkpoint), the caller, or
   *  the output_0.. default */
  taskSource: 'checkpoint' | 'caller' | 'default';
  layout: LayoutKind | 'model';
  /** one line: what was loaded ("pipeline (resnet18 as ResNet18, 14 outputs, 14 tasks)") */
  summary: string;
  epoch: number | null;
  dispose(): void;
}

export interface ClassifierOptions {
  /** refuse unless the checkpoint is this architecture */
  arch?: Arch;
  /** names for the outputs of a checkpoint that has none (one per output); for one that has them,
   *  they must be the same names */
  outputNames?: readonly string[];
}

const input = (t: Tensor): StateEntryInput => ({ shape: t.shape, data: tensorToFloat32(t) });

function outputNames(outputs: number, fileTasks: readonly string[] | undefined, given: readonly string[] | undefined, what: string): { tasks: string[]; source: Classifier['taskSource'] } {
  if (fileTasks && fileTasks.length) {
    if (outputs === 3 * fileTasks.length && outputs !== fileTasks.length) {
      throw new ClassifierError(
        'uncertainty_head',
        `${what}: the head has ${outputs} outputs for ${fileTasks.length} tasks, a 3-class uncertainty model (--model_uncertainty True); only sigmoid heads (one output per task) are evaluated`,
      );
    }
    if (outputs !== fileTasks.length) {
      throw new ClassifierError('tasks', `${what}: the head has ${outputs} outputs but the checkpoint lists ${fileTasks.length} tasks (${fileTasks.join(', ')})`);
    }
    if (given && given.join('\n') !== fileTasks.join('\n')) {
      throw new ClassifierError('tasks', `${what} names its outputs ${fileTasks.join(', ')}; the names given (${given.join(', ')}) differ`);
    }
    return { tasks: [...fileTasks], source: 'checkpoint' };
  }
  if (given) {
    if (given.length !== outputs) {
      throw new ClassifierError('tasks', `${what}: the head has ${outputs} outputs but ${given.length} names were given (${given.join(', ')})`);
    }
    if (new Set(given).size !== given.length) throw new ClassifierError('tasks', `${what}: an output name is given twice (${given.join(', ')})`);
    return { tasks: [...given], source: 'caller' };
  }
  return { tasks: Array.from({ length: outputs }, (_, i) => `output_${i}`), source: 'default' };
}

/**
 * A TorchModel from a canonical model with a linear head: the backbone and the head (any layout's
 * head, under the model's own names fc / classifier), loaded strictly. Use it for a backbone with a
 * head trained here: `{ ...backbone, head, tasks }`.
 */
export function classifierFromModel(m: CanonicalModel, opts: { outputNames?: readonly string[]; what?: string; summary?: string; layout?: Classifier['layout'] } = {}): Classifier {
  const what = opts.what ?? `the ${m.arch} model`;
  const spec = headSpec(m.arch, m.head);
  if (spec.kind === 'none') throw new ClassifierError('not_a_classifier', `${what} has no classifier head (a backbone alone): fine-tune it, or give it a head, before evaluating`);
  if (spec.kind === 'mlp') {
    throw new ClassifierError('not_a_classifier', `${what} ends in MoCo's projection head (MLP -> ${spec.dim}), not a classifier: fine-tune it first`);
  }
  const { tasks, source } = outputNames(spec.outputs, m.tasks, opts.outputNames, what);
  const model = createModel(m.arch, { head: 'linear', numClasses: spec.outputs });
  try {
    const entries = new Map<string, StateEntryInput>([...m.backbone].map(([k, t]) => [k, input(t)]));
    const [wKey, bKey] = model.headKeys() as [string, string];
    const w = m.head!.tensors.get('weight');
    const b = m.head!.tensors.get('bias');
    if (!w || !b) throw new ClassifierError('keys', `${what}: the head needs weight and bias; it has ${[...m.head!.tensors.keys()].join(', ') || 'nothing'}`);
    entries.set(wKey, input(w));
    entries.set(bKey, input(b));
    loadStateDict(model, entries, { strict: true });
  } catch (e) {
    model.dispose();
    if (e instanceof StateDictError) throw new ClassifierError('keys', `${what}: ${e.message}`);
    throw e;
  }
  return {
    model,
    arch: m.arch,
    tasks,
    taskSource: source,
    layout: opts.layout ?? 'model',
    summary: opts.summary ?? `${m.arch}, linear head, ${spec.outputs} outputs`,
    epoch: m.epoch ?? null,
    dispose: () => model.dispose(),
  };
}

/**
 * A checkpoint's root value (readTorchFile(bytes).root) as a classifier. ConvertError for a file
 * that is no layout or architecture the app knows or whose keys do not fit (missing, unexpected,
 * wrongly shaped: named); ClassifierError for one that is no classifier (a MoCo pretraining
 * checkpoint, a backbone alone) or whose head does not match its tasks.
 */
export function loadClassifier(root: PickleValue, opts: ClassifierOptions = {}): { classifier: Classifier; detected: Detected } {
  const detected = detectLayout(root);
  const what = `this ${detected.layout} checkpoint (${detected.summary})`;
  if (detected.layout === 'moco') {
    throw new ClassifierError('not_a_classifier', `${what} is a MoCo pretraining checkpoint: its encoder ends in the projection head, not a classifier; fine-tune it first`);
  }
  if (opts.arch && opts.arch !== detected.arch) {
    throw new ConvertError('wrong_arch', `this is a ${detected.arch} checkpoint but ${opts.arch} was expected (${detected.summary})`);
  }
  const { model } = extractModel(root, opts.arch ? { arch: opts.arch } : {});
  const classifier = classifierFromModel(model, {
    what,
    summary: detected.summary,
    layout: detected.layout,
    ...(opts.outputNames ? { outputNames: opts.outputNames } : {}),
  });
  return { classifier, detected };
}
