// summarize(): what a checkpoint holds, in the terms a researcher asks about (format, top-level
// keys, arch, epoch, tensors, parameter count). Shared by `moco-cxr inspect` and the UI.
import type { TorchFile, TorchFileFormat } from './read.ts';
import { DTYPES, Opaque, PyFloat, PyGlobal, Tensor, Tuple, type DType, type PickleValue } from './values.ts';

export interface TensorSummary {
  /** dotted path from the root: 'state_dict.module.encoder_q.conv1.weight', 'optimizer.state.0.exp_avg' */
  name: string;
  dtype: DType;
  /** torch's name for the dtype: 'float32' */
  torchDtype: string;
  shape: number[];
  numel: number;
}

export interface CheckpointSummary {
  format: TorchFileFormat;
  /** zip only: the top folder */
  folder: string | null;
  topLevelKeys: string[];
  arch: string | null;
  epoch: number | null;
  tensorCount: number;
  /** elements in the model's state dict (parameters and buffers, as sum(t.numel() for t in
   *  state_dict.values())); all tensors' elements when no state dict is found */
  parameterCount: number;
  /** where that state dict is: 'state_dict', 'model_state', '' for the root, null for none */
  stateDictPath: string | null;
  storageCount: number;
  storageBytes: number;
  /** refused globals that inspection mode kept as inert placeholders (empty in strict mode) */
  opaqueGlobals: string[];
  tensors: TensorSummary[];
}

const STATE_DICT_KEYS = ['state_dict', 'model_state', 'model', 'module'];

/** How a dict key appears in a dotted name: str, int, bool and None by value, others by type. */
export function keyName(k: PickleValue): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'bigint') return String(k);
  if (typeof k === 'boolean') return k ? 'True' : 'False';
  if (k === null) return 'None';
  if (k instanceof Tuple) return '<tuple>';
  if (k instanceof PyFloat) return '<float>';
  if (k instanceof Uint8Array) return '<bytes>';
  return `<${k.constructor.name}>`;
}

function isStateDict(v: PickleValue | undefined): v is Map<PickleValue, PickleValue> {
  if (!(v instanceof Map) || v.size === 0) return false;
  for (const x of v.values()) if (!(x instanceof Tensor)) return false;
  return true;
}

function get(v: PickleValue, key: string): PickleValue | undefined {
  return v instanceof Map ? v.get(key) : undefined;
}

export function summarize(file: TorchFile): CheckpointSummary {
  const tensors: TensorSummary[] = [];
  const opaque = new Set<string>();
  const seen = new Set<object>();
  // the tree was checked to be acyclic and at most MAX_DEPTH deep, so plain recursion is safe;
  // `seen` visits a shared container once, as the Python side of the tests does
  const walk = (v: PickleValue, name: string): void => {
    if (v instanceof Tensor) {
      tensors.push({ name, dtype: v.dtype, torchDtype: DTYPES[v.dtype].torch, shape: [...v.shape], numel: v.numel });
      return;
    }
    if (v instanceof PyGlobal && !v.allowed) opaque.add(v.qualname);
    const isContainer = v instanceof Map || Array.isArray(v) || v instanceof Tuple || v instanceof Opaque;
    if (!isContainer || seen.has(v)) return;
    seen.add(v);
    const join = (k: string) => (name ? `${name}.${k}` : k);
    if (v instanceof Map) for (const [k, x] of v) walk(x, join(keyName(k)));
    else if (v instanceof Opaque) {
      if (v.callable) walk(v.callable, name);
      walk(v.args, join('<args>'));
      if (v.state !== undefined) walk(v.state, join('<state>'));
    } else (Array.isArray(v) ? v : v.items).forEach((x, i) => walk(x, join(String(i))));
  };
  walk(file.root, '');

  const root = file.root;
  let stateDictPath: string | null = null;
  let sd: Map<PickleValue, PickleValue> | null = null;
  for (const k of STATE_DICT_KEYS) {
    const v = get(root, k);
    if (isStateDict(v)) {
      stateDictPath = k;
      sd = v;
      break;
    }
  }
  if (!sd && isStateDict(root)) {
    stateDictPath = '';
    sd = root;
  }
  const parameterCount = sd
    ? [...sd.values()].reduce<number>((n, t) => n + (t as Tensor).numel, 0)
    : tensors.reduce((n, t) => n + t.numel, 0);

  const arch = get(root, 'arch') ?? get(root, 'model_name');
  let epoch = get(root, 'epoch');
  if (epoch === undefined) epoch = get(get(root, 'ckpt_info') ?? null, 'epoch');

  return {
    format: file.format,
    folder: file.folder,
    topLevelKeys: root instanceof Map ? [...root.keys()].map(keyName) : [],
    arch: typeof arch === 'string' ? arch : null,
    epoch: typeof epoch === 'number' ? epoch : null,
    tensorCount: tensors.length,
    parameterCount,
    stateDictPath,
    storageCount: file.storages.length,
    storageBytes: file.storages.reduce((n, s) => n + s.nbytes, 0),
    opaqueGlobals: [...opaque].sort(),
    tensors,
  };
}
