// torch.optim.Adam (PyTorch 1.13: amsgrad off, coupled L2 weight decay) over named tf.Variables, with its
// state kept per parameter name so that it reads from and writes to torch's optimizer state_dict. Each
// update is the engine's fused kernel (src/core/backend/kernels/adam.ts), one dispatch per parameter.
import * as tf from '@tensorflow/tfjs';
import { adamUpdate } from '../backend/kernels/adam.ts';

export interface AdamHyper {
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

export interface AdamSlot {
  step: number;
  expAvg: tf.Variable;
  expAvgSq: tf.Variable;
}

/** tf.variable shares its initial value's data and leaves that tensor alive: dispose it. */
function zerosVariable(like: tf.Tensor): tf.Variable {
  const z = tf.zerosLike(like);
  const v = tf.variable(z, false);
  z.dispose();
  return v;
}

export type AdamUpdate = typeof adamUpdate;

export class Adam {
  readonly slots = new Map<string, AdamSlot>();

  constructor(
    readonly params: Map<string, tf.Variable>,
    readonly hyper: AdamHyper,
    private readonly update: AdamUpdate = adamUpdate,
  ) {}

  private slot(name: string, p: tf.Variable): AdamSlot {
    let s = this.slots.get(name);
    if (!s) {
      s = { step: 0, expAvg: zerosVariable(p), expAvgSq: zerosVariable(p) };
      this.slots.set(name, s);
    }
    return s;
  }

  /** Applies the gradients (tfjs layout, by parameter name) at learning rate `lr`; disposes them.
   *  A parameter without a gradient is skipped and its step does not advance, as torch does. */
  step(grads: Map<string, tf.Tensor>, lr: number): void {
    const [beta1, beta2] = this.hyper.betas;
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      if (!p) throw new Error(`Adam: gradient for unknown parameter ${name}`);
      const s = this.slot(name, p);
      s.step += 1;
      const out = this.update(p, g, s.expAvg, s.expAvgSq, { lr, beta1, beta2, eps: this.hyper.eps, weightDecay: this.hyper.weightDecay, step: s.step });
      p.assign(out.param);
      s.expAvg.assign(out.expAvg);
      s.expAvgSq.assign(out.expAvgSq);
      out.param.dispose();
      out.expAvg.dispose();
      out.expAvgSq.dispose();
      g.dispose();
    }
  }

  /** Sets a parameter's state (tfjs layout values). */
  setSlot(name: string, step: number, expAvg: tf.Tensor, expAvgSq: tf.Tensor): void {
    const p = this.params.get(name);
    if (!p) throw new Error(`Adam: state for unknown parameter ${name}`);
    if (!tf.util.arraysEqual(expAvg.shape, p.shape) || !tf.util.arraysEqual(expAvgSq.shape, p.shape)) {
      throw new Error(`Adam: state for ${name} is [${expAvg.shape.join(', ')}], the parameter is [${p.shape.join(', ')}]`);
    }
    const s = this.slot(name, p);
    s.step = step;
    s.expAvg.assign(expAvg);
    s.expAvgSq.assign(expAvgSq);
  }

  dispose(): void {
    for (const s of this.slots.values()) {
      s.expAvg.dispose();
      s.expAvgSq.dispose();
    }
    this.slots.clear();
  }
}
