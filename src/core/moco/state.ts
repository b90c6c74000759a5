// A MoCo model in and out of the checkpoint layer's canonical form (src/core/convert), so that a run's
// state is written as the MoCo-CXR checkpoint main_moco.py --resume reads ({epoch, arch, state_dict with
// module.encoder_q/_k, queue, queue_ptr, optimizer}) or in the app's format, and read back from either,
// the published checkpoints included.
import * as tf from '@tensorflow/tfjs';
import { adamStateDict, ARCH_INFO, scalar, type CanonicalModel, type MocoState } from '../convert/index.ts';
import { exportStateDict, loadStateDict, type StateEntry, type StateEntryInput } from '../models/index.ts';
import { makeTensor, Tensor, tensorToFloat32, type PickleValue } from '../torchfile/index.ts';
import { MoCo, type MocoConfig, type MocoOptions } from './builder.ts';

const toTensor = (e: StateEntry): Tensor => (e.dtype === 'int64' ? makeTensor('i64', e.shape, Array.from(e.data, (v) => Math.round(v))) : makeTensor('f32', e.shape, e.data));
const toInput = (t: Tensor): StateEntryInput => ({ shape: t.shape, data: tensorToFloat32(t) });

/** The run's MoCo state (weights, queue, pointer, Adam) as a canonical model; `lr` goes into Adam's group. */
export async function mocoToCanonical(moco: MoCo, opts: { epoch: number; lr: number; meta?: Map<PickleValue, PickleValue> }): Promise<CanonicalModel> {
  const head = ARCH_INFO[moco.config.arch].headName;
  const q = await exportStateDict(moco.encoderQ);
  const k = await exportStateDict(moco.encoderK);
  const backbone = new Map<string, Tensor>();
  const headTensors = new Map<string, Tensor>();
  for (const [name, e] of q) {
    if (name.startsWith(`${head}.`)) headTensors.set(name.slice(head.length + 1), toTensor(e));
    else backbone.set(name, toTensor(e));
  }
  const encoderK = new Map<string, Tensor>([...k].map(([n, e]) => [n, toTensor(e)]));
  // Adam over model.parameters(): encoder_q's parameters, then encoder_k's (which have no state)
  const trainable = [...moco.encoderQ.trainableVariables().keys()];
  const paramNames = [...trainable.map((n) => `encoder_q.${n}`), ...trainable.map((n) => `encoder_k.${n}`)];
  const state = new Map<string, { step: number; expAvg: Tensor; expAvgSq: Tensor }>();
  for (const [name, s] of moco.optimizer.slots) {
    const [a, b] = [moco.encoderQ.store.toTorchLayout(name, s.expAvg), moco.encoderQ.store.toTorchLayout(name, s.expAvgSq)];
    const shape = moco.encoderQ.torchShape(name) as number[];
    state.set(`encoder_q.${name}`, { step: s.step, expAvg: makeTensor('f32', shape, (await a.data()) as Float32Array), expAvgSq: makeTensor('f32', shape, (await b.data()) as Float32Array) });
    tf.dispose([a, b]);
  }
  const h = moco.optimizer.hyper;
  const optimizer = adamStateDict(paramNames, { lr: opts.lr, betas: h.betas, eps: h.eps, weightDecay: h.weightDecay, state });
  const mocoState: MocoState = {
    encoderK,
    queue: makeTensor('f32', [moco.config.dim, moco.config.K], (await moco.queue.data()) as Float32Array),
    queuePtr: makeTensor('i64', [1], [moco.queuePtr]),
    epoch: opts.epoch,
    optimizer,
  };
  const model: CanonicalModel = { arch: moco.config.arch, backbone, head: { kind: 'mlp', tensors: headTensors }, moco: mocoState, epoch: opts.epoch };
  if (opts.meta) model.meta = opts.meta;
  return model;
}

/**
 * A MoCo model from a canonical model with an MLP head. With MoCo state (a MoCo-CXR checkpoint or one
 * of ours) both encoders, the queue, its pointer and Adam's state come back as saved; without it (weights
 * only) encoder_k takes encoder_q's parameters and a fresh queue, as builder.py starts.
 */
export function mocoFromCanonical(model: CanonicalModel, config: Partial<Pick<MocoConfig, 'K' | 'm' | 'T'>> = {}, opts: MocoOptions = {}): MoCo {
  if (model.head?.kind !== 'mlp') throw new Error(`MoCo needs the MLP projection head; this ${model.arch} checkpoint has ${model.head ? 'a linear head' : 'no head'}`);
  const w2 = model.head.tensors.get('2.weight');
  if (!w2) throw new Error('the MLP head has no 2.weight');
  const dim = w2.shape[0]!;
  const K = model.moco ? model.moco.queue.shape[1]! : (config.K ?? 24576);
  const moco = new MoCo({ arch: model.arch, dim, K, m: config.m ?? 0.999, T: config.T ?? 0.2 }, opts);
  try {
    const head = ARCH_INFO[model.arch].headName;
    const q = new Map<string, StateEntryInput>([...model.backbone].map(([n, t]) => [n, toInput(t)]));
    for (const [n, t] of model.head.tensors) q.set(`${head}.${n}`, toInput(t));
    loadStrict(moco, 'encoder_q', q);
    if (!model.moco) {
      moco.copyParamsToKey();
      return moco;
    }
    loadStrict(moco, 'encoder_k', new Map([...model.moco.encoderK].map(([n, t]) => [n, toInput(t)])));
    moco.setQueue(tensorToFloat32(model.moco.queue), scalar(model.moco.queuePtr.numel === 1 ? model.moco.queuePtr : undefined) ?? 0);
    if (model.moco.optimizer) loadAdam(moco, model.moco.optimizer);
    return moco;
  } catch (e) {
    moco.dispose();
    throw e;
  }
}

function loadStrict(moco: MoCo, which: 'encoder_q' | 'encoder_k', entries: Map<string, StateEntryInput>): void {
  const model = which === 'encoder_q' ? moco.encoderQ : moco.encoderK;
  try {
    // strict: every key of the encoder, nothing more, shapes equal (REFERENCE 6.15: never strict=False)
    loadStateDict(model, entries, { strict: true });
  } catch (e) {
    throw new Error(`${which}: ${(e as Error).message}`);
  }
}

/** Adam's state from torch's optimizer state_dict: ids index model.parameters() (encoder_q's, then
 *  encoder_k's); only encoder_q's have state. torch >= 1.12 saves `step` as a tensor, 1.4 as an int. */
function loadAdam(moco: MoCo, opt: Map<PickleValue, PickleValue>): void {
  const groups = opt.get('param_groups');
  const state = opt.get('state');
  if (!Array.isArray(groups) || !(state instanceof Map)) throw new Error("the optimizer state has no 'param_groups' list or 'state' dict");
  const ids: number[] = [];
  for (const g of groups) {
    const p = g instanceof Map ? g.get('params') : undefined;
    if (!Array.isArray(p)) throw new Error("an optimizer param group has no 'params' list");
    for (const id of p) ids.push(scalar(id) ?? NaN);
  }
  const trainable = [...moco.encoderQ.trainableVariables().keys()];
  if (ids.length !== 2 * trainable.length) {
    throw new Error(`the optimizer covers ${ids.length} parameters; MoCo ${moco.config.arch} has ${2 * trainable.length} (encoder_q and encoder_k)`);
  }
  for (const [id, s] of state) {
    const pos = ids.indexOf(scalar(id) ?? NaN);
    if (pos < 0) throw new Error(`optimizer state for parameter id ${String(id)}, which no param group lists`);
    if (pos >= trainable.length) continue; // encoder_k: requires_grad False, never stepped
    const name = trainable[pos]!;
    if (!(s instanceof Map)) throw new Error(`optimizer state of ${name} is not a dict`);
    const step = scalar(s.get('step'));
    const a = s.get('exp_avg');
    const b = s.get('exp_avg_sq');
    if (step === null || !(a instanceof Tensor) || !(b instanceof Tensor)) throw new Error(`optimizer state of ${name} lacks step, exp_avg or exp_avg_sq`);
    const store = moco.encoderQ.store;
    const ta = store.fromTorchLayout(name, tensorToFloat32(a));
    const tb = store.fromTorchLayout(name, tensorToFloat32(b));
    try {
      moco.optimizer.setSlot(name, step, ta, tb);
    } finally {
      tf.dispose([ta, tb]);
    }
  }
}
