// torchvision ResNet-18 (BasicBlock [2,2,2,2]) and ResNet-50 (Bottleneck [3,4,6,3], stride on the 3x3 conv),
// parameter names as torchvision's state dict.
import * as tf from '@tensorflow/tfjs';
import { TorchModel, type ModelOptions } from './model.ts';

interface Block {
  prefix: string;
  stride: number;
  downsample: boolean;
}

export class ResNet extends TorchModel {
  readonly arch: 'resnet18' | 'resnet50';
  protected readonly headBase = 'fc';
  private readonly bottleneck: boolean;
  private readonly blocks: Block[] = [];

  constructor(arch: 'resnet18' | 'resnet50', opts: ModelOptions = {}) {
    const bottleneck = arch === 'resnet50';
    super(bottleneck ? 2048 : 512, opts);
    this.arch = arch;
    this.bottleneck = bottleneck;
    const layers = bottleneck ? [3, 4, 6, 3] : [2, 2, 2, 2];
    const expansion = bottleneck ? 4 : 1;
    const s = this.store;
    s.conv('conv1.weight', 64, 3, 7);
    s.batchNorm('bn1', 64);
    let inplanes = 64;
    layers.forEach((n, li) => {
      const planes = 64 * 2 ** li;
      for (let b = 0; b < n; b++) {
        const prefix = `layer${li + 1}.${b}`;
        const stride = b === 0 && li > 0 ? 2 : 1;
        const downsample = b === 0 && (stride !== 1 || inplanes !== planes * expansion);
        if (bottleneck) {
          s.conv(`${prefix}.conv1.weight`, planes, inplanes, 1);
          s.batchNorm(`${prefix}.bn1`, planes);
          s.conv(`${prefix}.conv2.weight`, planes, planes, 3);
          s.batchNorm(`${prefix}.bn2`, planes);
          s.conv(`${prefix}.conv3.weight`, planes * 4, planes, 1);
          s.batchNorm(`${prefix}.bn3`, planes * 4);
        } else {
          s.conv(`${prefix}.conv1.weight`, planes, inplanes, 3);
          s.batchNorm(`${prefix}.bn1`, planes);
          s.conv(`${prefix}.conv2.weight`, planes, planes, 3);
          s.batchNorm(`${prefix}.bn2`, planes);
        }
        if (downsample) {
          s.conv(`${prefix}.downsample.0.weight`, planes * expansion, inplanes, 1);
          s.batchNorm(`${prefix}.downsample.1`, planes * expansion);
        }
        inplanes = planes * expansion;
        this.blocks.push({ prefix, stride, downsample });
      }
    });
    this.buildHead('default');
  }

  protected backbone(x: tf.Tensor4D): tf.Tensor2D {
    let h = tf.relu(this.bn(this.conv(x, 'conv1.weight', 2, 3), 'bn1'));
    h = this.maxPool(h, 3, 2, 1);
    for (const b of this.blocks) h = this.block(h, b);
    return this.globalAvgPool(h);
  }

  private block(x: tf.Tensor4D, b: Block): tf.Tensor4D {
    const p = b.prefix;
    let out: tf.Tensor4D;
    if (this.bottleneck) {
      out = tf.relu(this.bn(this.conv(x, `${p}.conv1.weight`, 1, 0), `${p}.bn1`));
      out = tf.relu(this.bn(this.conv(out, `${p}.conv2.weight`, b.stride, 1), `${p}.bn2`));
      out = this.bn(this.conv(out, `${p}.conv3.weight`, 1, 0), `${p}.bn3`);
    } else {
      out = tf.relu(this.bn(this.conv(x, `${p}.conv1.weight`, b.stride, 1), `${p}.bn1`));
      out = this.bn(this.conv(out, `${p}.conv2.weight`, 1, 1), `${p}.bn2`);
    }
    const identity = b.downsample ? this.bn(this.conv(x, `${p}.downsample.0.weight`, b.stride, 0), `${p}.downsample.1`) : x;
    return tf.relu(tf.add(out, identity)) as tf.Tensor4D;
  }
}
