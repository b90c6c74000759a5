// Which checkpoint layout a file holds (MoCo, torchvision, the CheXpert pipeline's ModelSaver, or
// the app's own), read from its keys and shapes, and its extraction into one canonical in-app form:
// a backbone in torchvision names, an optional head, MoCo's key encoder, queue and optimizer.
import { Tensor, tensorToFloat32, PyFloat, Tuple, type PickleValue } from '../torchfile/index.ts';
import { ARCH_INFO, backboneKeys, isArch, type Arch, type HeadSpec } from './arch.ts';
import { assertKeys, inferArch, readHead } from './check.ts';
import { ConvertError } from './errors.ts';

export type LayoutKind = 'moco' | 'torchvision' | 'pipeline' | 'app';

export const APP_FORMAT = 'moco-cxr-web';
export const APP_VERSION = 1;

export interface OptimizerInfo {
  kind: 'adam' | 'sgd' | 'unknown';
  /** parameters with state (exp_avg / momentum_buffer) */
  paramsWithState: number;
  /** parameters the groups list */
  params: number;
  /** Adam's step count of the first parameter with state (an int, or torch >= 1.12's 0-d tensor) */
  step: number | null;
  /** the first group's lr */
  lr: number | null;
}

export interface Detected {
  layout: LayoutKind;
  arch: Arch;
  /** 'arch' (MoCo, app) or 'model_name' (pipeline) as written in the file */
  archField: string | null;
  /** where the state dict is: 'state_dict', 'model_state', '' (the root) */
  stateDictPath: string;
  /** the prefix every state-dict key carried ('module.' for DDP/DataParallel saves, or '') */
  prefix: string;
  /** the head on the (query) encoder, torchvision-side: linear (fc / classifier) or MoCo's MLP */
  head: HeadSpec;
  epoch: number | null;
  tasks: string[] | null;
  tensors: number;
  moco?: { dim: number; K: number; queuePtr: number; optimizer: OptimizerInfo | null };
  pipeline?: { modelName: string; iteration: number | null; uncertainty: boolean };
  app?: { version: number; meta: Map<PickleValue, PickleValue> };
  /** one line: "moco (resnet18, dim 128, K 24576)" */
  summary: string;
}

/** A linear head ('weight', 'bias') or MoCo's MLP ('0.weight', '0.bias', '2.weight', '2.bias'),
 *  by names local to the head module, whatever it is called in a given format. */
export interface Head {
  kind: 'linear' | 'mlp';
  tensors: Map<string, Tensor>;
}

export interface MocoState {
  /** the key encoder, torchvision names, head included (MoCo names: fc.0 / fc.2) */
  encoderK: Map<string, Tensor>;
  /** [dim, K] float32 */
  queue: Tensor;
  /** [1] int64 */
  queuePtr: Tensor;
  epoch: number;
  /** torch's optimizer state dict as read (indices over q's then k's parameters), or null */
  optimizer: Map<PickleValue, PickleValue> | null;
}

export interface CanonicalModel {
  arch: Arch;
  /** torchvision names, no head */
  backbone: Map<string, Tensor>;
  head?: Head;
  moco?: MocoState;
  tasks?: string[];
  /** the pipeline's Cadene ResNets carry torchvision's unused 1000-way head as last_linear; kept so
   *  that re-exporting a pipeline checkpoint gives it back unchanged */
  lastLinear?: Map<string, Tensor>;
  epoch?: number;
  /** app format: its meta dict */
  meta?: Map<PickleValue, PickleValue>;
}

// ---------------------------------------------------------------------------------------------
// small readers over the value tree

type PyMap = Map<PickleValue, PickleValue>;
const isMap = (v: PickleValue | undefined): v is PyMap => v instanceof Map;
const str = (m: PyMap, k: string): string | null => {
  const v = m.get(k);
  return typeof v === 'string' ? v : null;
};
const int = (m: PyMap, k: string): number | null => {
  const v = m.get(k);
  return typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'bigint' ? Number(v) : null;
};
const strList = (v: PickleValue | undefined): string[] | null => {
  const items = Array.isArray(v) ? v : v instanceof Tuple ? v.items : null;
  return items && items.every((x) => typeof x === 'string') ? (items as string[]) : null;
};

/** A number from an int, a Python float or a one-element tensor (torch >= 1.12 saves Adam's step so). */
export function scalar(v: PickleValue | undefined): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof PyFloat) return v.value;
  if (v instanceof Tensor && v.numel === 1) return tensorToFloat32(v)[0]!;
  return null;
}

/** A state dict's entries as name -> tensor; anything else in it is refused by name. */
function tensors(sd: PyMap, where: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, v] of sd) {
    if (typeof k !== 'string') throw new ConvertError('bad_value', `${where} has a key that is not a string`);
    if (!(v instanceof Tensor)) throw new ConvertError('bad_value', `${where}['${k}'] is not a tensor`);
    out.set(k, v);
  }
  return out;
}

const allTensors = (m: PyMap) => m.size > 0 && [...m.values()].every((v) => v instanceof Tensor);

function commonPrefix(names: string[], candidates: string[]): string {
  for (const p of candidates) if (p && names.length > 0 && names.every((n) => n.startsWith(p))) return p;
  return '';
}

function strip(m: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  if (!prefix) return m;
  return new Map([...m].map(([k, v]) => [k.startsWith(prefix) ? k.slice(prefix.length) : k, v]));
}

function archOf(entries: Map<string, Tensor>, hint: string | null, what: string): Arch {
  const guess = inferArch(entries);
  if (isArch(guess)) return guess;
  if (guess === null && isArch(hint)) return hint;
  const desc = guess ?? (hint ? `'${hint}' (by its arch field)` : 'no architecture the app knows');
  throw new ConvertError('unknown_arch', `${what} holds ${/^(a|an) /.test(desc) ? desc : `a ${desc}`}, which is not supported (supported: resnet18, resnet50, densenet121, mnasnet1_0)`);
}

export function optimizerInfo(v: PickleValue | undefined): OptimizerInfo | null {
  if (!isMap(v)) return null;
  const state = v.get('state');
  const groups = v.get('param_groups');
  let kind: OptimizerInfo['kind'] = 'unknown';
  let paramsWithState = 0;
  let step: number | null = null;
  if (isMap(state)) {
    for (const s of state.values()) {
      if (!isMap(s)) continue;
      paramsWithState++;
      if (s.has('exp_avg')) kind = 'adam';
      else if (s.has('momentum_buffer')) kind = 'sgd';
      if (step === null) step = scalar(s.get('step'));
    }
  }
  let params = 0;
  let lr: number | null = null;
  if (Array.isArray(groups)) {
    for (const g of groups) {
      if (!isMap(g)) continue;
      if (kind === 'unknown') kind = g.has('betas') ? 'adam' : g.has('momentum') ? 'sgd' : 'unknown';
      const p = g.get('params');
      if (Array.isArray(p)) params += p.length;
      if (lr === null) lr = scalar(g.get('lr'));
    }
  }
  return { kind, paramsWithState, params, step, lr };
}

function optimizerText(o: OptimizerInfo): string {
  const name = o.kind === 'adam' ? 'Adam' : o.kind === 'sgd' ? 'SGD' : 'optimizer';
  return o.paramsWithState ? `${name} state for ${o.paramsWithState} of ${o.params} parameters${o.step !== null ? `, step ${o.step}` : ''}` : `${name}, no state yet`;
}

// ---------------------------------------------------------------------------------------------
// layouts

interface Parsed {
  detected: Detected;
  /** query encoder / model, torchvision names, head included (MoCo naming for the MLP) */
  encoder: Map<string, Tensor>;
  moco?: { encoderK: Map<string, Tensor>; queue: Tensor; queuePtr: Tensor; optimizer: PyMap | null };
  lastLinear?: Map<string, Tensor>;
  /** keys no part of the layout explains (refused unless the caller takes the backbone only) */
  stray: string[];
  meta?: PyMap;
}

function parse(root: PickleValue): Parsed {
  if (!isMap(root)) throw new ConvertError('unknown_layout', 'the checkpoint is not a dict, so it holds no state dict');
  if (root.get('format') === APP_FORMAT) return parseApp(root);
  const ms = root.get('model_state');
  if (isMap(ms)) return parsePipeline(root, ms);
  const sd = root.get('state_dict');
  if (isMap(sd)) {
    const names = [...tensors(sd, 'state_dict').keys()];
    return names.some((n) => /(^|\.)encoder_q\./.test(n)) ? parseMoco(root, sd, 'state_dict') : parseTorchvision(root, sd, 'state_dict');
  }
  if (allTensors(root)) {
    const names = [...root.keys()].map(String);
    return names.some((n) => /(^|\.)encoder_q\./.test(n)) ? parseMoco(null, root, '') : parseTorchvision(null, root, '');
  }
  const keys = [...root.keys()].map((k) => (typeof k === 'string' ? k : String(k)));
  throw new ConvertError(
    'unknown_layout',
    `no state dict found (top-level keys: ${keys.slice(0, 10).join(', ') || 'none'}); expected a MoCo checkpoint ('state_dict' with encoder_q/encoder_k/queue), a torchvision state dict, a pipeline checkpoint ('model_state') or an app export`,
  );
}

function parseMoco(root: PyMap | null, sdv: PyMap, path: string): Parsed {
  const sd = tensors(sdv, path || 'the state dict');
  const names = [...sd.keys()];
  const prefix = commonPrefix(names, ['module.']);
  const all = strip(sd, prefix);
  const q = new Map<string, Tensor>();
  const k = new Map<string, Tensor>();
  const stray: string[] = [];
  for (const [n, t] of all) {
    if (n.startsWith('encoder_q.')) q.set(n.slice(10), t);
    else if (n.startsWith('encoder_k.')) k.set(n.slice(10), t);
    else if (n !== 'queue' && n !== 'queue_ptr') stray.push(prefix + n);
  }
  const queue = all.get('queue');
  const queuePtr = all.get('queue_ptr');
  const archField = root ? str(root, 'arch') : null;
  const arch = archOf(q, archField, 'the query encoder (encoder_q)');
  if (!queue || queue.shape.length !== 2) throw new ConvertError('key_mismatch', `a MoCo checkpoint needs ${prefix}queue [dim, K]; ${queue ? `it is [${queue.shape.join(', ')}]` : 'it is missing'}`);
  if (!queuePtr || queuePtr.numel !== 1) throw new ConvertError('key_mismatch', `a MoCo checkpoint needs ${prefix}queue_ptr [1]; ${queuePtr ? `it is [${queuePtr.shape.join(', ')}]` : 'it is missing'}`);
  const head = readHead(q, arch);
  const [dim, K] = queue.shape as [number, number];
  const epoch = root ? int(root, 'epoch') : null;
  const opt = root?.get('optimizer');
  const optimizer = optimizerInfo(opt);
  const ptr = scalar(queuePtr) ?? 0;
  const detected: Detected = {
    layout: 'moco',
    arch,
    archField,
    stateDictPath: path,
    prefix,
    head,
    epoch,
    tasks: null,
    tensors: sd.size,
    moco: { dim, K, queuePtr: ptr, optimizer },
    summary: `moco (${arch}, dim ${dim}, K ${K}${epoch !== null ? `, epoch ${epoch}` : ''}${optimizer ? `, ${optimizerText(optimizer)}` : ''})`,
  };
  return { detected, encoder: q, moco: { encoderK: k, queue, queuePtr, optimizer: isMap(opt) ? opt : null }, stray };
}

function parseTorchvision(root: PyMap | null, sdv: PyMap, path: string): Parsed {
  const sd = tensors(sdv, path || 'the state dict');
  const prefix = commonPrefix([...sd.keys()], ['module.']);
  const encoder = strip(sd, prefix);
  const archField = root ? str(root, 'arch') : null;
  const arch = archOf(encoder, archField, 'the state dict');
  const head = readHead(encoder, arch);
  const headText = head.kind === 'none' ? 'no head' : head.kind === 'linear' ? `${head.outputs} outputs` : `MLP head -> ${head.dim}`;
  const detected: Detected = {
    layout: 'torchvision',
    arch,
    archField,
    stateDictPath: path,
    prefix,
    head,
    epoch: root ? int(root, 'epoch') : null,
    tasks: null,
    tensors: sd.size,
    summary: `torchvision (${arch}, ${headText}${prefix ? `, '${prefix}' prefix` : ''})`,
  };
  return { detected, encoder, stray: [] };
}

/** The pipeline's Cadene names to torchvision's: model.X -> X, fc -> the task head, and
 *  model.last_linear (Cadene's rename of torchvision's unused ImageNet fc) kept aside. For
 *  DenseNet and MNASNet (torchvision models) model.classifier is the task head. */
function parsePipeline(root: PyMap, msv: PyMap): Parsed {
  const ms = tensors(msv, 'model_state');
  const prefix = commonPrefix([...ms.keys()], ['module.']);
  const all = strip(ms, prefix);
  const model = new Map<string, Tensor>();
  const lastLinear = new Map<string, Tensor>();
  const headT = new Map<string, Tensor>();
  const stray: string[] = [];
  for (const [n, t] of all) {
    if (n.startsWith('model.last_linear.')) lastLinear.set(n.slice('model.last_linear.'.length), t);
    else if (n.startsWith('model.classifier.')) headT.set(n.slice('model.classifier.'.length), t);
    else if (n.startsWith('model.')) model.set(n.slice(6), t);
    else if (n.startsWith('fc.')) headT.set(n.slice(3), t);
    else stray.push(prefix + n);
  }
  const modelName = str(root, 'model_name');
  const hint = modelName ? modelName.toLowerCase().replace(/^mnasnet$/, 'mnasnet1_0') : null;
  const arch = archOf(model, hint, 'model_state');
  const encoder = new Map(model);
  for (const [n, t] of headT) encoder.set(`${ARCH_INFO[arch].headName}.${n}`, t);
  const head = readHead(encoder, arch);
  const tasks = strList(root.get('tasks'));
  const info = root.get('ckpt_info');
  const epoch = isMap(info) ? int(info, 'epoch') : null;
  const iteration = isMap(info) ? int(info, 'iteration') : null;
  const outputs = head.kind === 'linear' ? head.outputs : 0;
  const uncertainty = tasks !== null && outputs === 3 * tasks.length && tasks.length > 0;
  const detected: Detected = {
    layout: 'pipeline',
    arch,
    archField: modelName,
    stateDictPath: 'model_state',
    prefix,
    head,
    epoch,
    tasks,
    tensors: ms.size,
    pipeline: { modelName: modelName ?? ARCH_INFO[arch].pipelineName, iteration, uncertainty },
    summary: `pipeline (${arch} as ${modelName ?? '?'}, ${outputs} outputs${tasks ? `, ${tasks.length} tasks` : ''}${iteration !== null ? `, iteration ${iteration}` : ''})`,
  };
  return { detected, encoder, lastLinear: lastLinear.size ? lastLinear : undefined, stray };
}

function parseApp(root: PyMap): Parsed {
  const version = int(root, 'version');
  if (version !== APP_VERSION) throw new ConvertError('unknown_layout', `app checkpoint version ${version ?? '(none)'} is not one this build reads (${APP_VERSION})`);
  const ms = root.get('model_state');
  if (!isMap(ms)) throw new ConvertError('unknown_layout', "app checkpoint without 'model_state'");
  const encoder = tensors(ms, 'model_state');
  const archField = str(root, 'arch');
  const arch = archOf(encoder, archField, 'model_state');
  if (archField !== null && archField !== arch) throw new ConvertError('wrong_arch', `the file says arch '${archField}' but its keys are ${arch}'s`);
  const head = readHead(encoder, arch);
  const tasks = strList(root.get('tasks'));
  const meta = root.get('meta');
  const m = root.get('moco');
  let moco: Parsed['moco'];
  if (isMap(m)) {
    const ek = m.get('encoder_k');
    const queue = m.get('queue');
    const queuePtr = m.get('queue_ptr');
    if (!isMap(ek) || !(queue instanceof Tensor) || !(queuePtr instanceof Tensor)) throw new ConvertError('bad_value', "app checkpoint's 'moco' needs encoder_k, queue and queue_ptr");
    const opt = m.get('optimizer');
    moco = { encoderK: tensors(ek, 'moco.encoder_k'), queue, queuePtr, optimizer: isMap(opt) ? decodeFloats(opt) as PyMap : null };
  }
  const epoch = int(root, 'epoch');
  const detected: Detected = {
    layout: 'app',
    arch,
    archField,
    stateDictPath: 'model_state',
    prefix: '',
    head,
    epoch,
    tasks,
    tensors: encoder.size,
    app: { version, meta: isMap(meta) ? meta : new Map() },
    summary: `app (${arch}, ${head.kind === 'none' ? 'no head' : head.kind === 'linear' ? `${head.outputs} outputs` : `MLP head -> ${head.dim}`}${moco ? `, MoCo state, K ${moco.queue.shape[1]}` : ''})`,
  };
  if (moco) detected.moco = { dim: moco.queue.shape[0]!, K: moco.queue.shape[1]!, queuePtr: scalar(moco.queuePtr) ?? 0, optimizer: optimizerInfo(moco.optimizer ?? undefined) };
  return { detected, encoder, moco, stray: [], meta: isMap(meta) ? meta : undefined };
}

// ---------------------------------------------------------------------------------------------
// floats in the app format: torch 1.13's weights_only refuses BINFLOAT, so the app's file keeps
// Python floats as ('float', repr) tuples, and decodes them back on reading.

const FLOAT_TAG = '__float__';

export function encodeFloats(v: PickleValue): PickleValue {
  if (v instanceof PyFloat) return new Tuple([FLOAT_TAG, floatRepr(v.value)]);
  if (typeof v === 'number' && !Number.isInteger(v)) return new Tuple([FLOAT_TAG, floatRepr(v)]);
  if (Array.isArray(v)) return v.map(encodeFloats);
  if (v instanceof Tuple) return new Tuple(v.items.map(encodeFloats));
  if (v instanceof Map) {
    const out = v.constructor === Map ? new Map<PickleValue, PickleValue>() : new (v.constructor as MapConstructor)();
    for (const [k, x] of v) out.set(k, encodeFloats(x));
    return out as PyMap;
  }
  return v;
}

export function decodeFloats(v: PickleValue): PickleValue {
  if (v instanceof Tuple) {
    if (v.items.length === 2 && v.items[0] === FLOAT_TAG && typeof v.items[1] === 'string') return new PyFloat(Number(v.items[1]));
    return new Tuple(v.items.map(decodeFloats));
  }
  if (Array.isArray(v)) return v.map(decodeFloats);
  if (v instanceof Map) {
    const out = v.constructor === Map ? new Map<PickleValue, PickleValue>() : new (v.constructor as MapConstructor)();
    for (const [k, x] of v) out.set(k, decodeFloats(x));
    return out as PyMap;
  }
  return v;
}

/** The shortest decimal that reads back as the same double (as Python's repr), 'inf', 'nan'. */
function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return String(x);
}

// ---------------------------------------------------------------------------------------------
// public API

/** What a checkpoint's root value holds: layout, architecture, head, MoCo facts. Throws a
 *  ConvertError naming what did not fit when it is no layout or architecture the app knows. */
export function detectLayout(root: PickleValue): Detected {
  return parse(root).detected;
}

export interface ExtractOptions {
  /** refuse unless the backbone is this architecture's */
  arch?: Arch;
  /** 'all' (default): every key must belong to the layout, and the head and MoCo state must be
   *  well formed; 'backbone': take the backbone alone, ignoring head, key encoder, queue and any
   *  stray keys (the backbone itself is still checked strictly) */
  take?: 'all' | 'backbone';
  /** refuse unless the head is linear with this many outputs */
  numClasses?: number;
}

/** The checkpoint in the app's canonical form, loaded strictly: missing, unexpected and wrongly
 *  shaped keys are refused by name (ConvertError), unless `take: 'backbone'` says to take the
 *  backbone alone. */
export function extractModel(root: PickleValue, options: ExtractOptions = {}): { model: CanonicalModel; detected: Detected } {
  const p = parse(root);
  const d = p.detected;
  const take = options.take ?? 'all';
  const arch = d.arch;
  const where = (part: string) => `${d.layout} checkpoint, ${part}`;
  if (options.arch && options.arch !== arch) {
    throw new ConvertError('wrong_arch', `this is a ${arch} checkpoint but ${options.arch} was expected (${d.summary})`);
  }
  if (take === 'all' && p.stray.length) {
    throw new ConvertError('key_mismatch', `${where('outside any part of the layout')}: ${p.stray.length} unexpected: ${p.stray.slice(0, 5).join(', ')}${p.stray.length > 5 ? ` (and ${p.stray.length - 5} more)` : ''}`);
  }
  const bbNames = backboneKeys(arch);
  const backbone = new Map<string, Tensor>();
  const headT = new Map<string, Tensor>();
  for (const [n, t] of p.encoder) {
    if (bbNames.has(n)) backbone.set(n, t);
    else headT.set(n, t);
  }
  const part = d.layout === 'moco' ? 'encoder_q' : d.layout === 'pipeline' ? 'model_state' : 'state dict';
  if (take === 'backbone') {
    assertKeys(arch, backbone, { head: { kind: 'none' }, what: where(`${part} backbone`) });
  } else {
    const opts = options.numClasses !== undefined ? { numClasses: options.numClasses } : {};
    assertKeys(arch, p.encoder, { ...opts, what: where(part) });
  }
  const model: CanonicalModel = { arch, backbone };
  if (take === 'all') {
    const head = localHead(arch, d.head, headT);
    if (head) model.head = head;
    if (p.moco) {
      assertKeys(arch, p.moco.encoderK, { head: d.head, what: where('encoder_k') });
      model.moco = { encoderK: p.moco.encoderK, queue: p.moco.queue, queuePtr: p.moco.queuePtr, epoch: d.epoch ?? 0, optimizer: p.moco.optimizer };
      const dim = d.moco!.dim;
      if (d.head.kind === 'none' || (d.head.kind === 'mlp' ? d.head.dim : d.head.outputs) !== dim) {
        throw new ConvertError('head_mismatch', `${where('encoder_q')}: the head does not project to the queue's ${dim} dimensions`);
      }
    }
    if (d.tasks) model.tasks = d.tasks;
    if (p.lastLinear) model.lastLinear = p.lastLinear;
    if (p.meta) model.meta = p.meta;
  }
  if (d.epoch !== null) model.epoch = d.epoch;
  return { model, detected: d };
}

/** The head tensors by local names ('weight', '0.weight', ...). */
function localHead(arch: Arch, head: HeadSpec, headT: Map<string, Tensor>): Head | undefined {
  if (head.kind === 'none') return undefined;
  const h = ARCH_INFO[arch].headName;
  const prefix = head.kind === 'linear' ? (head.prefix ?? h) : h;
  const tensorsOut = new Map<string, Tensor>();
  for (const [n, t] of headT) tensorsOut.set(n.slice(prefix.length + 1), t);
  return { kind: head.kind, tensors: tensorsOut };
}

/** The head's spec (outputs, MLP dims) from its tensors. */
export function headSpec(arch: Arch, head: Head | undefined): HeadSpec {
  if (!head) return { kind: 'none' };
  if (head.kind === 'linear') return { kind: 'linear', outputs: head.tensors.get('weight')!.shape[0]! };
  return { kind: 'mlp', dim: head.tensors.get('2.weight')!.shape[0]!, hidden: head.tensors.get('0.weight')?.shape[0] ?? ARCH_INFO[arch].features };
}
