// torchvision DenseNet-121 (growth 32, blocks [6,12,24,16], bottleneck 4*32, 64 initial features, no
// dropout), parameter names as torchvision's state dict.
import * as tf from '@tensorflow/tfjs';
import { TorchModel, type ModelOptions } from './model.ts';

const GROWTH = 32;
const BN_SIZE = 4;
const BLOCKS = [6, 12, 24, 16];

export class DenseNet121 extends TorchModel {
  readonly arch = 'densenet121' as const;
  protected readonly headBase = 'classifier';

  constructor(opts: ModelOptions = {}) {
    super(1024, opts);
    const s = this.store;
    s.conv('features.conv0.weight', 64, 3, 7);
    s.batchNorm('features.norm0', 64);
    let c = 64;
    BLOCKS.forEach((n, bi) => {
      for (let l = 1; l <= n; l++) {
        const p = `features.denseblock${bi + 1}.denselayer${l}`;
        const cin = c + (l - 1) * GROWTH;
        s.batchNorm(`${p}.norm1`, cin);
        s.conv(`${p}.conv1.weight`, BN_SIZE * GROWTH, cin, 1);
        s.batchNorm(`${p}.norm2`, BN_SIZE * GROWTH);
        s.conv(`${p}.conv2.weight`, GROWTH, BN_SIZE * GROWTH, 3);
      }
      c += n * GROWTH;
      if (bi < BLOCKS.length - 1) {
        const p = `features.transition${bi + 1}`;
        s.batchNorm(`${p}.norm`, c);
        s.conv(`${p}.conv.weight`, c / 2, c, 1);
        c /= 2;
      }
    });
    s.batchNorm('features.norm5', c);
    this.buildHead('zero-bias');
  }

  protected backbone(x: tf.Tensor4D): tf.Tensor2D {
    let h = tf.relu(this.bn(this.conv(x, 'features.conv0.weight', 2, 3), 'features.norm0'));
    h = this.maxPool(h, 3, 2, 1);
    BLOCKS.forEach((n, bi) => {
      const feats: tf.Tensor4D[] = [h];
      for (let l = 1; l <= n; l++) {
        const p = `features.denseblock${bi + 1}.denselayer${l}`;
        const cat = feats.length === 1 ? (feats[0] as tf.Tensor4D) : tf.concat(feats, 3);
        let y = this.conv(tf.relu(this.bn(cat, `${p}.norm1`)), `${p}.conv1.weight`, 1, 0);
        y = this.conv(tf.relu(this.bn(y, `${p}.norm2`)), `${p}.conv2.weight`, 1, 1);
        feats.push(y);
      }
      h = tf.concat(feats, 3);
      if (bi < BLOCKS.length - 1) {
        const p = `features.transition${bi + 1}`;
        h = this.conv(tf.relu(this.bn(h, `${p}.norm`)), `${p}.conv.weight`, 1, 0);
        h = tf.avgPool(h, 2, 2, 'valid');
      }
    });
    // features ends with norm5; DenseNet.forward applies a functional ReLU, then the average pool.
    return this.globalAvgPool(tf.relu(this.bn(h, 'features.norm5')));
  }
}
