// torch.optim.Adam (PyTorch 1.13: amsgrad off, coupled L2 weight decay) over named tf.Variables, with its
// state kept per parameter name so that it reads from and writes to torch's optimizer state_dict.
import * as tf from '@tensorflow/tfjs';

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

/** One Adam update in torch's arithmetic order; returns new tensors (the caller assigns them). */
export function adamUpdateOps(
  param: tf.Tensor,
  grad: tf.Tensor,
  expAvg: tf.Tensor,
  expAvgSq: tf.Tensor,
  h: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number },
): { param: tf.Tensor; expAvg: tf.Tensor; expAvgSq: tf.Tensor } {
  return tf.tidy(() => {
    const g = h.weightDecay !== 0 ? tf.add(grad, tf.mul(param, h.weightDecay)) : grad;
    const m = tf.add(tf.mul(expAvg, h.beta1), tf.mul(g, 1 - h.beta1));
    const v = tf.add(tf.mul(expAvgSq, h.beta2), tf.mul(tf.mul(g, g), 1 - h.beta2));
    // bias corrections in float64 on the host, as torch computes them from a Python float step
    const bc1 = 1 - h.beta1 ** h.step;
    const bc2 = 1 - h.beta2 ** h.step;
    const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), h.eps);
    const p = tf.sub(param, tf.mul(tf.div(m, denom), h.lr / bc1));
    return { param: p, expAvg: m, expAvgSq: v };
  });
}

/** tf.variable shares its initial value's data and leaves that tensor alive: dispose it. */
function zerosVariable(like: tf.Tensor): tf.Variable {
  const z = tf.zerosLike(like);
  const v = tf.variable(z, false);
  z.dispose();
  return v;
}

export type AdamUpdate = typeof adamUpdateOps;

export class Adam {
  readonly slots = new Map<string, AdamSlot>();

  constructor(
    readonly params: Map<string, tf.Variable>,
    readonly hyper: AdamHyper,
    private readonly update: AdamUpdate = adamUpdateOps,
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
