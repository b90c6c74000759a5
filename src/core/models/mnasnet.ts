// torchvision MNASNet 1.0 (B1 variant, depths 32,16,24,40,80,96,192,320, 1280 features), parameter names
// as torchvision's state dict (`layers.N...`, `classifier.1`). Its batch norms use momentum 1 - 0.9997.
import * as tf from '@tensorflow/tfjs';
import { TorchModel, type ModelOptions } from './model.ts';

/** torchvision's _BN_MOMENTUM. */
export const MNASNET_BN_MOMENTUM = 1 - 0.9997;

// in, out, kernel, stride, expansion, repeats
const STACKS: [number, number, number, number, number, number][] = [
  [16, 24, 3, 2, 3, 3],
  [24, 40, 5, 2, 3, 3],
  [40, 80, 5, 2, 6, 3],
  [80, 96, 3, 1, 6, 2],
  [96, 192, 5, 2, 6, 4],
  [192, 320, 3, 1, 6, 1],
];

interface InvRes {
  prefix: string;
  k: number;
  stride: number;
  residual: boolean;
}

export class MNASNet extends TorchModel {
  readonly arch = 'mnasnet1_0' as const;
  protected readonly headBase = 'classifier';
  private readonly units: InvRes[] = [];

  constructor(opts: ModelOptions = {}) {
    super(1280, opts, 0.2);
    const s = this.store;
    const m = MNASNET_BN_MOMENTUM;
    s.conv('layers.0.weight', 32, 3, 3);
    s.batchNorm('layers.1', 32, m);
    s.conv('layers.3.weight', 32, 1, 3, true);
    s.batchNorm('layers.4', 32, m);
    s.conv('layers.6.weight', 16, 32, 1);
    s.batchNorm('layers.7', 16, m);
    STACKS.forEach(([cin, cout, k, stride, exp, reps], si) => {
      for (let r = 0; r < reps; r++) {
        const inCh = r === 0 ? cin : cout;
        const st = r === 0 ? stride : 1;
        const mid = inCh * exp;
        const p = `layers.${8 + si}.${r}.layers`;
        s.conv(`${p}.0.weight`, mid, inCh, 1);
        s.batchNorm(`${p}.1`, mid, m);
        s.conv(`${p}.3.weight`, mid, 1, k, true);
        s.batchNorm(`${p}.4`, mid, m);
        s.conv(`${p}.6.weight`, cout, mid, 1);
        s.batchNorm(`${p}.7`, cout, m);
        this.units.push({ prefix: p, k, stride: st, residual: inCh === cout && st === 1 });
      }
    });
    s.conv('layers.14.weight', 1280, 320, 1);
    s.batchNorm('layers.15', 1280, m);
    this.buildHead('mnasnet');
  }

  protected backbone(x: tf.Tensor4D): tf.Tensor2D {
    let h = tf.relu(this.bn(this.conv(x, 'layers.0.weight', 2, 1), 'layers.1'));
    h = tf.relu(this.bn(this.dwconv(h, 'layers.3.weight', 1, 1), 'layers.4'));
    h = this.bn(this.conv(h, 'layers.6.weight', 1, 0), 'layers.7');
    for (const u of this.units) {
      const p = u.prefix;
      let y = tf.relu(this.bn(this.conv(h, `${p}.0.weight`, 1, 0), `${p}.1`));
      y = tf.relu(this.bn(this.dwconv(y, `${p}.3.weight`, u.stride, u.k >> 1), `${p}.4`));
      y = this.bn(this.conv(y, `${p}.6.weight`, 1, 0), `${p}.7`);
      h = u.residual ? tf.add(y, h) : y;
    }
    h = tf.relu(this.bn(this.conv(h, 'layers.14.weight', 1, 0), 'layers.15'));
    return this.globalAvgPool(h);
  }
}
