// Conv2d with PyTorch's symmetric padding. Its filter gradient is tfjs's Conv2DBackpropFilter, which the
// app replaces on every backend with a matrix-product kernel (src/core/backend/kernels): tfjs's own is a
// per-weight loop on cpu and webgpu (a ResNet-18 backward at 2x64 px took 72 s on cpu with it) and wasm
// has none.
import * as tf from '@tensorflow/tfjs';
import { registerAppKernels } from '../backend/kernels/index.ts';

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

function padArg(pad: number): 'valid' | Pad4 {
  return pad === 0
    ? 'valid'
    : [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ];
}

/** Conv2d without bias: x NHWC, w HWIO, symmetric zero padding `pad`. */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, pad: number): tf.Tensor4D {
  // A registry lookup once registered. Here as well as in initBackend because models also run without it
  // (the Node tests set the backend directly), and a backend package imported later restores its stock kernels.
  registerAppKernels(tf.getBackend());
  return tf.conv2d(x, w, stride, padArg(pad));
}
