// Writers from the canonical form to each format the original code paths load, through the
// torchfile zip writer (only allow-listed globals: OrderedDict, _rebuild_tensor_v2, *Storage):
//
//   toTorchvision  bare torchvision names, encoder without its head: what main_lincls.py's rename
//                  and the MoCo-CXR model saver hack produce. No floats: loads with weights_only.
//   toMoco         {epoch, arch, state_dict, optimizer} with module.encoder_q/_k, queue, queue_ptr,
//                  for main_moco.py --resume. The optimizer's hyper-parameters are Python floats,
//                  which torch 1.13's weights_only=True refuses: load it with weights_only=False,
//                  as main_moco.py does (torch.load's default before 2.6).
//   toPipeline     ModelSaver's {ckpt_info, model_name, tasks, model_state, optimizer,
//                  lr_scheduler} for the CheXpert pipeline's test.py / ModelSaver.load_model
//                  (moco=False). Floats in its optimizer, so weights_only=False as well.
//   toApp          the app's own format: only ints, strings, lists, dicts and tensors (floats kept
//                  as ('__float__', repr) tuples), so it loads under weights_only=True everywhere.
import { mulberry32 } from '../random.ts';
import { makeTensor, OrderedDict, pyDict, pyFloat, Tensor, tuple, writeTorchFile, type PickleValue } from '../torchfile/index.ts';
import { ARCH_INFO, isParameterKey, type Arch } from './arch.ts';
import { ConvertError } from './errors.ts';
import { APP_FORMAT, APP_VERSION, encodeFloats, headSpec, type CanonicalModel, type Head } from './layout.ts';

/** MNASNet's load refuses a state dict whose _metadata does not give the module's version
 *  (torchvision 0.14 raises "version shluld be set to 1 or 2"); torch writes 2. */
const MNASNET_VERSION = 2;

function sd(entries: Iterable<readonly [string, Tensor]>, arch: Arch, mnasnetAt: string | string[]): OrderedDict {
  const d = new OrderedDict();
  for (const [k, t] of entries) d.set(k, t);
  if (arch === 'mnasnet1_0') {
    const meta = new OrderedDict();
    for (const p of Array.isArray(mnasnetAt) ? mnasnetAt : [mnasnetAt]) meta.set(p, pyDict({ version: MNASNET_VERSION }));
    d.attrs = new Map([['_metadata', meta]]);
  }
  return d;
}

function headEntries(prefix: string, head: Head | undefined): [string, Tensor][] {
  if (!head) return [];
  const order = head.kind === 'linear' ? ['weight', 'bias'] : ['0.weight', '0.bias', '2.weight', '2.bias'];
  return order.map((n) => {
    const t = head.tensors.get(n);
    if (!t) throw new ConvertError('head_mismatch', `the ${head.kind} head has no ${n}`);
    return [`${prefix}.${n}`, t];
  });
}

const withPrefix = (p: string, m: Iterable<readonly [string, Tensor]>): [string, Tensor][] => [...m].map(([k, t]) => [p + k, t]);

// ---------------------------------------------------------------------------------------------

export interface TorchvisionOptions {
  /** 'drop' (default): backbone only, as main_lincls.py and the model saver leave it; 'keep': a
   *  linear head as torchvision names it (fc / classifier / classifier.1), a whole model */
  head?: 'drop' | 'keep';
  /** 'module.' for a DataParallel-style save (default '') */
  prefix?: string;
}

export function torchvisionRoot(model: CanonicalModel, options: TorchvisionOptions = {}): OrderedDict {
  const prefix = options.prefix ?? '';
  const entries: [string, Tensor][] = withPrefix(prefix, model.backbone);
  if (options.head === 'keep') {
    if (model.head?.kind !== 'linear') throw new ConvertError('head_mismatch', `a torchvision model with its head needs a linear head; this model has ${model.head ? 'an MLP head' : 'none'}`);
    entries.push(...withPrefix(prefix, headEntries(ARCH_INFO[model.arch].torchvisionLinear, model.head)));
  }
  return sd(entries, model.arch, prefix.replace(/\.$/, ''));
}

export function toTorchvision(model: CanonicalModel, options: TorchvisionOptions = {}): Uint8Array {
  return writeTorchFile(torchvisionRoot(model, options));
}

// ---------------------------------------------------------------------------------------------

/** Adam as the app keeps it, by parameter name (MoCo state-dict names without 'module.':
 *  'encoder_q.conv1.weight', ...). Written in torch's structure, indices in model.parameters()
 *  order (encoder_q's parameters, then encoder_k's). */
export interface AdamState {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad?: boolean;
  state: Map<string, { step: number; expAvg: Tensor; expAvgSq: Tensor }>;
}

/** MoCo-CXR's pre-training optimizer (main_moco.py defaults as its scripts ran it). */
export const MOCO_CXR_ADAM = { lr: 1e-4, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 1e-4 };
/** The CheXpert pipeline's fine-tuning optimizer (train_arg_parser.py). */
export const PIPELINE_ADAM = { lr: 1e-4, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0 };

export interface MocoOptions {
  /** 'module.' (default, as DDP saves) or '' */
  prefix?: string;
  epoch?: number;
  /** the optimizer to write: in-app Adam state; left out, the optimizer read with the model is
   *  written back as it was (when its parameter count fits), else a fresh Adam with MoCo-CXR's
   *  hyper-parameters and no state */
  optimizer?: AdamState;
  /** for a model without MoCo state: the queue length (default 24576) and the seed of its
   *  random unit columns (default 0) */
  K?: number;
  seed?: number;
}

function adamGroup(h: { lr: number; betas: [number, number]; eps: number; weightDecay: number; amsgrad?: boolean }, n: number): Map<PickleValue, PickleValue> {
  // the keys torch 1.4 writes; torch >= 1.12 fills in maximize/foreach/capturable/... on load
  return pyDict([
    ['lr', pyFloat(h.lr)],
    ['betas', tuple(pyFloat(h.betas[0]), pyFloat(h.betas[1]))],
    ['eps', pyFloat(h.eps)],
    ['weight_decay', pyFloat(h.weightDecay)],
    ['amsgrad', h.amsgrad ?? false],
    ['params', Array.from({ length: n }, (_, i) => i)],
  ]);
}

/** A torch Adam state_dict over parameters named `paramNames` (in model.parameters() order). */
export function adamStateDict(paramNames: string[], adam: Omit<AdamState, 'state'> & { state?: AdamState['state'] }): Map<PickleValue, PickleValue> {
  const state = new Map<PickleValue, PickleValue>();
  const known = new Set(paramNames);
  for (const name of adam.state?.keys() ?? []) {
    if (!known.has(name)) throw new ConvertError('key_mismatch', `optimizer state for '${name}', which is not a parameter of the model`);
  }
  paramNames.forEach((name, i) => {
    const s = adam.state?.get(name);
    // step as an int: torch 1.4's Adam needs a number, torch >= 1.12 turns it into a tensor on load
    if (s) state.set(i, pyDict([['step', s.step], ['exp_avg', s.expAvg], ['exp_avg_sq', s.expAvgSq]]));
  });
  return pyDict([['state', state], ['param_groups', [adamGroup(adam, paramNames.length)]]]);
}


/** A fresh head as nn.Linear initialises one (kaiming_uniform(a=sqrt(5)) for the weight, which is
 *  U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias): the pipeline's new task
 *  head, or MoCo's new MLP projection (Linear(feat, feat), Linear(feat, dim)). Seeded, so a
 *  conversion is reproducible; not torch's random stream. */
export function newHead(arch: Arch, spec: { kind: 'linear'; outputs: number } | { kind: 'mlp'; dim: number }, seed = 0): Head {
  const u = mulberry32(seed);
  const feat = ARCH_INFO[arch].features;
  const linear = (out: number, inp: number): [Tensor, Tensor] => {
    const b = 1 / Math.sqrt(inp);
    const w = Float32Array.from({ length: out * inp }, () => (2 * u() - 1) * b);
    const bias = Float32Array.from({ length: out }, () => (2 * u() - 1) * b);
    return [makeTensor('f32', [out, inp], w), makeTensor('f32', [out], bias)];
  };
  if (spec.kind === 'linear') {
    const [w, b] = linear(spec.outputs, feat);
    return { kind: 'linear', tensors: new Map([['weight', w], ['bias', b]]) };
  }
  const [w0, b0] = linear(feat, feat);
  const [w2, b2] = linear(spec.dim, feat);
  return { kind: 'mlp', tensors: new Map([['0.weight', w0], ['0.bias', b0], ['2.weight', w2], ['2.bias', b2]]) };
}

/** Box-Muller over mulberry32: a fresh queue of unit columns, as MoCo's randn + normalize(dim=0). */
function randomQueue(dim: number, K: number, seed: number): Tensor {
  const u = mulberry32(seed);
  const q = new Float32Array(dim * K);
  for (let i = 0; i < q.length; i++) q[i] = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += q[d * K + k]! ** 2;
    const n = Math.max(Math.sqrt(s), 1e-12); // F.normalize's eps
    for (let d = 0; d < dim; d++) q[d * K + k] = q[d * K + k]! / n;
  }
  return makeTensor('f32', [dim, K], q);
}

export function mocoRoot(model: CanonicalModel, options: MocoOptions = {}): Map<PickleValue, PickleValue> {
  const prefix = options.prefix ?? 'module.';
  const h = ARCH_INFO[model.arch].headName;
  if (model.head?.kind !== 'mlp') {
    throw new ConvertError('head_mismatch', `the MoCo format needs the MLP projection head (${h}.0 / ${h}.2); this model has ${model.head ? 'a linear head' : 'no head'}`);
  }
  const spec = headSpec(model.arch, model.head);
  const dim = spec.kind === 'mlp' ? spec.dim : 0;
  const q: [string, Tensor][] = [...model.backbone, ...headEntries(h, model.head)];
  const k: [string, Tensor][] = model.moco ? [...model.moco.encoderK] : q;
  const queue = model.moco?.queue ?? randomQueue(dim, options.K ?? 24576, options.seed ?? 0);
  if (queue.shape[0] !== dim) throw new ConvertError('head_mismatch', `the queue holds ${queue.shape[0]}-d keys but the head projects to ${dim}`);
  const queuePtr = model.moco?.queuePtr ?? makeTensor('i64', [1], [0]);
  // MoCo's own buffers come first in its state_dict, then encoder_q's and encoder_k's entries
  const entries: [string, Tensor][] = [
    [`${prefix}queue`, queue],
    [`${prefix}queue_ptr`, queuePtr],
    ...withPrefix(`${prefix}encoder_q.`, q),
    ...withPrefix(`${prefix}encoder_k.`, k),
  ];
  const state = sd(entries, model.arch, [`${prefix}encoder_q`, `${prefix}encoder_k`]);
  const paramNames = [...withPrefix('encoder_q.', q), ...withPrefix('encoder_k.', k)].map(([n]) => n).filter(isParameterKey);
  let optimizer: Map<PickleValue, PickleValue>;
  if (options.optimizer) optimizer = adamStateDict(paramNames, options.optimizer);
  else if (model.moco?.optimizer && groupParamCount(model.moco.optimizer) === paramNames.length) optimizer = model.moco.optimizer;
  else optimizer = adamStateDict(paramNames, MOCO_CXR_ADAM);
  return pyDict([
    ['epoch', options.epoch ?? model.moco?.epoch ?? model.epoch ?? 0],
    ['arch', model.arch],
    ['state_dict', state],
    ['optimizer', optimizer],
  ]);
}

function groupParamCount(opt: Map<PickleValue, PickleValue>): number {
  const groups = opt.get('param_groups');
  if (!Array.isArray(groups)) return -1;
  let n = 0;
  for (const g of groups) {
    const p = g instanceof Map ? g.get('params') : undefined;
    if (!Array.isArray(p)) return -1;
    n += p.length;
  }
  return n;
}

export function toMoco(model: CanonicalModel, options: MocoOptions = {}): Uint8Array {
  return writeTorchFile(mocoRoot(model, options));
}

// ---------------------------------------------------------------------------------------------

export interface PipelineOptions {
  /** the task names, one per output (or one per 3 outputs with model_uncertainty); default: the
   *  tasks the model was read with */
  tasks?: string[];
  epoch?: number;
  /** ckpt_info's iteration (examples seen) */
  iteration?: number;
  /** write a fresh Adam (the pipeline's hyper-parameters, no state) so train.py can resume;
   *  default true. Without it the file has no floats and loads under weights_only=True, but
   *  train.py's resume (optimizer.load_optimizer) would fail on it */
  optimizer?: boolean;
}

/** The pipeline's model_state: DataParallel('module.') around CadeneModel (ResNet18/50: model.*
 *  incl. model.last_linear, then fc) or TorchVisionModel (DenseNet121, MNASNet: model.* with
 *  model.classifier as the task head). */
export function pipelineRoot(model: CanonicalModel, options: PipelineOptions = {}): Map<PickleValue, PickleValue> {
  const info = ARCH_INFO[model.arch];
  const tasks = options.tasks ?? model.tasks;
  if (!tasks || tasks.length === 0) throw new ConvertError('head_mismatch', 'the pipeline format needs the task names (one per output of the classifier)');
  if (model.head?.kind !== 'linear') {
    throw new ConvertError('head_mismatch', `the pipeline format needs a linear task head with ${tasks.length} outputs; this model has ${model.head ? 'an MLP head' : 'no head'}`);
  }
  const outputs = model.head.tensors.get('weight')!.shape[0]!;
  if (outputs !== tasks.length && outputs !== 3 * tasks.length) {
    throw new ConvertError('head_mismatch', `the classifier has ${outputs} outputs, ${tasks.length} expected (one per task: ${tasks.slice(0, 5).join(', ')}${tasks.length > 5 ? ', ...' : ''})`);
  }
  const entries: [string, Tensor][] = withPrefix('module.model.', model.backbone);
  if (info.headName === 'fc') {
    // Cadene's pretrainedmodels ResNet keeps torchvision's ImageNet fc as last_linear, unused by the
    // pipeline's forward; a model from elsewhere has none, so zeros stand in (strict load needs it)
    const ll = model.lastLinear ?? new Map([
      ['weight', makeTensor('f32', [1000, info.features], new Float32Array(1000 * info.features))],
      ['bias', makeTensor('f32', [1000], new Float32Array(1000))],
    ]);
    entries.push(...headEntries('module.model.last_linear', { kind: 'linear', tensors: ll }));
    entries.push(...headEntries('module.fc', model.head));
  } else entries.push(...headEntries('module.model.classifier', model.head));
  const state = sd(entries, model.arch, 'module.model');
  const root = pyDict([
    ['ckpt_info', pyDict([['epoch', options.epoch ?? model.epoch ?? 0], ['iteration', options.iteration ?? 0]])],
    ['model_name', info.pipelineName],
    ['tasks', [...tasks]],
    ['model_state', state],
  ]);
  if (options.optimizer ?? true) {
    const params = entries.map(([n]) => n).filter(isParameterKey);
    root.set('optimizer', adamStateDict(params, PIPELINE_ADAM));
  }
  root.set('lr_scheduler', null);
  return root;
}

export function toPipeline(model: CanonicalModel, options: PipelineOptions = {}): Uint8Array {
  return writeTorchFile(pipelineRoot(model, options));
}

// ---------------------------------------------------------------------------------------------

export interface AppOptions {
  /** extra facts to keep (strings and ints; other numbers are kept as ('__float__', repr)) */
  meta?: Record<string, PickleValue>;
}

/** The app's own format:
 *    {format: 'moco-cxr-web', version: 1, arch, model_state: OrderedDict(torchvision names + head,
 *     MoCo naming fc.0/fc.2 for an MLP head), meta: {...}, [tasks: [...]], [epoch],
 *     [moco: {encoder_k: OrderedDict, queue, queue_ptr, optimizer}]}
 *  Only weights_only-allowed types, no Python floats. */
export function appRoot(model: CanonicalModel, options: AppOptions = {}): Map<PickleValue, PickleValue> {
  const info = ARCH_INFO[model.arch];
  const headPrefix = model.head?.kind === 'linear' ? info.torchvisionLinear : info.headName;
  const state = sd([...model.backbone, ...headEntries(headPrefix, model.head)], model.arch, '');
  const meta = new Map<PickleValue, PickleValue>(model.meta ?? []);
  for (const [k, v] of Object.entries(options.meta ?? {})) meta.set(k, v);
  const root = pyDict([
    ['format', APP_FORMAT],
    ['version', APP_VERSION],
    ['arch', model.arch],
    ['model_state', state],
    ['meta', encodeFloats(meta)],
  ]);
  if (model.tasks) root.set('tasks', [...model.tasks]);
  if (model.epoch !== undefined) root.set('epoch', model.epoch);
  if (model.moco) {
    const m = pyDict([
      ['encoder_k', sd(model.moco.encoderK, model.arch, '')],
      ['queue', model.moco.queue],
      ['queue_ptr', model.moco.queuePtr],
    ]);
    if (model.moco.optimizer) m.set('optimizer', encodeFloats(model.moco.optimizer));
    root.set('moco', m);
  }
  return root;
}

export function toApp(model: CanonicalModel, options: AppOptions = {}): Uint8Array {
  return writeTorchFile(appRoot(model, options));
}
