// Training-worker methods for device-side augmentation (src/core/augment): parity checks and previews.
// Spread into the worker's API by train.worker.ts.
import * as tf from '@tensorflow/tfjs';
import type { CallContext } from '../../src/bridge/protocol.ts';
import { abortError } from '../../src/bridge/protocol.ts';
import { augmentBatch, previewPairs, type PreviewView } from '../../src/core/augment/device.ts';
import { viewSampler, type ViewParams } from '../../src/core/augment/params.ts';
import { toTrainingSize } from '../../src/core/augment/training-size.ts';
import type { GreyImage } from '../../src/core/image/types.ts';
import { Store } from '../../src/core/store/store.ts';

export interface AugmentParityInput {
  images: GreyImage[];
  /** params[i] applies to images[i]. */
  params: ViewParams[];
  crop: number;
  mean?: number;
  std?: number;
}

export interface AugmentParityOutput {
  backend: string;
  /** [N, C, C, 3] NHWC */
  shape: number[];
  data: Float32Array;
  numTensorsBefore: number;
  numTensorsAfter: number;
  millis: number;
}

export interface AugmentPreviewInput {
  datasetId: string;
  /** How many images (the dataset's first, in key order). */
  count: number;
  /** Training size S: Resize(S) of the stored images. */
  size: number;
  crop: number;
  /** RandomRotation degrees. */
  rotate: number;
  seed: number;
}

export interface AugmentPreviewPair {
  imageKey: string;
  views: [PreviewView, PreviewView];
}

export interface AugmentPreviewOutput {
  backend: string;
  pairs: AugmentPreviewPair[];
}

function requireBackend(): string {
  // backendName stays empty until initBackend (or any op) picks one; the diagnostics must not pick one.
  const name = tf.engine().backendName;
  if (!name) throw new Error('backend not initialised: call initBackend first');
  return name;
}

export const augmentDiagnostics = {
  /** augmentBatch on the active backend, read back: for parity with torchvision (e2e/augment-webgpu.spec.ts). */
  async augmentParity(input: AugmentParityInput, _ctx: CallContext<never>): Promise<AugmentParityOutput> {
    const backend = requireBackend();
    const numTensorsBefore = tf.memory().numTensors;
    const t0 = performance.now();
    const t = augmentBatch(input.images, input.params, {
      crop: input.crop,
      ...(input.mean === undefined ? {} : { mean: input.mean }),
      ...(input.std === undefined ? {} : { std: input.std }),
    });
    let data: Float32Array;
    try {
      data = (await t.data()) as Float32Array;
    } finally {
      t.dispose();
    }
    const millis = performance.now() - t0;
    return { backend, shape: t.shape, data, numTensorsBefore, numTensorsAfter: tf.memory().numTensors, millis };
  },

  /** Two augmented views of each of a dataset's first `count` stored images, as grey levels, for the UI. */
  async augmentPreview(input: AugmentPreviewInput, ctx: CallContext<never>): Promise<AugmentPreviewOutput> {
    const backend = requireBackend();
    const { datasetId, count, size, crop, rotate, seed } = input;
    const store = await Store.open();
    try {
      const metas = (await store.listImages(datasetId)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).slice(0, count);
      if (metas.length === 0) throw new Error(`dataset ${datasetId} has no stored images`);
      const images: GreyImage[] = [];
      for (const m of metas) {
        if (ctx.signal.aborted) throw abortError();
        const px = await store.getPixels(datasetId, m.key);
        if (!px) throw new Error(`no pixels stored for ${m.key}`);
        images.push(toTrainingSize({ width: px.width, height: px.height, data: px.data }, size));
      }
      const pairs = await previewPairs(images, viewSampler(seed, { crop, rotate }), { crop });
      return { backend, pairs: pairs.map((views, i) => ({ imageKey: metas[i]!.key, views })) };
    } finally {
      store.close();
    }
  },
} satisfies Record<string, (input: never, ctx: CallContext<never>) => Promise<unknown>>;
