// The training worker's augmentation methods in Node: tfjs cpu and a real IndexedDB implementation
// (fake-indexeddb) behind Store.open(), as the worker uses them.
import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { augmentBatch } from '../../src/core/augment/device.ts';
import { viewIndexMap } from '../../src/core/augment/index-map.ts';
import { toTrainingSize } from '../../src/core/augment/training-size.ts';
import type { GreyImage } from '../../src/core/image/types.ts';
import { Store } from '../../src/core/store/store.ts';
import { augmentDiagnostics } from './augment-diagnostics.ts';

const ctx = { signal: new AbortController().signal, progress: () => undefined };

/** A 100 x 80 image whose grey levels vary in both directions, so a wrong pixel shows. */
function image(shift: number): GreyImage {
  const width = 100;
  const height = 80;
  return { width, height, data: Uint8Array.from({ length: width * height }, (_, i) => ((i % width) * 2 + Math.floor(i / width) + shift) % 256) };
}

async function storeImages(dataset: string, keys: string[]): Promise<Map<string, GreyImage>> {
  const store = await Store.open();
  const out = new Map<string, GreyImage>();
  await store.putImages(
    keys.map((key, k) => {
      const img = image(k * 17);
      out.set(key, img);
      return {
        meta: { dataset, key, file: key, split: 'train' as const, patient: null, study: '', frontalLateral: null, apPa: null, sex: null, age: null, labels: {}, width: img.width, height: img.height, originalWidth: img.width, originalHeight: img.height },
        pixels: { dataset, key, ...img },
        thumb: { dataset, key, width: 1, height: 1, data: new Uint8Array(1) },
      };
    }),
  );
  store.close();
  return out;
}

describe('augment diagnostics', () => {
  it('refuse to run before a backend is chosen (they must not pick one themselves)', async () => {
    expect(tf.engine().backendName).toBeFalsy();
    const input = { images: [image(0)], params: [{ flip: false, angle: 0, top: 0, left: 0 }], crop: 8 };
    await expect(augmentDiagnostics.augmentParity(input, ctx)).rejects.toThrow(/backend not initialised/);
  });

  it('augmentParity returns what augmentBatch computes on the active backend, with every tensor freed', async () => {
    await tf.setBackend('cpu');
    const images = [image(0), image(40)];
    const params = [
      { flip: true, angle: 7.5, top: 3, left: 30 },
      { flip: false, angle: -10, top: 32, left: 0 },
    ];
    const out = await augmentDiagnostics.augmentParity({ images, params, crop: 48 }, ctx);
    expect(out.backend).toBe('cpu');
    expect(out.shape).toEqual([2, 48, 48, 3]);
    expect(out.numTensorsAfter).toBe(out.numTensorsBefore);
    const t = augmentBatch(images, params, { crop: 48 });
    expect(out.data).toEqual(await t.data());
    t.dispose();
  });

  it("augmentPreview reads the dataset's first images in key order, resizes them to S and returns grey view pairs", async () => {
    const stored = await storeImages('ds-preview', ['b.png', 'a.png', 'c.png']);
    const out = await augmentDiagnostics.augmentPreview({ datasetId: 'ds-preview', count: 2, size: 64, crop: 48, rotate: 10, seed: 3 }, ctx);
    expect(out.backend).toBe('cpu');
    expect(out.pairs.map((p) => p.imageKey)).toEqual(['a.png', 'b.png']);
    for (const pair of out.pairs) {
      const img = toTrainingSize(stored.get(pair.imageKey)!, 64);
      expect([img.width, img.height]).toEqual([80, 64]);
      for (const v of pair.views) {
        expect(Math.abs(v.params.angle)).toBeLessThanOrEqual(10);
        const map = viewIndexMap(img.width, img.height, v.params, 48);
        expect(v.data).toEqual(Uint8Array.from(map, (s) => (s >= 0 ? img.data[s]! : 0)));
      }
    }
    const again = await augmentDiagnostics.augmentPreview({ datasetId: 'ds-preview', count: 2, size: 64, crop: 48, rotate: 10, seed: 3 }, ctx);
    expect(again.pairs).toEqual(out.pairs);
  });

  it('augmentPreview explains an unknown dataset, a size above the stored side and a crop above the size', async () => {
    await storeImages('ds-errors', ['x.png']);
    const base = { datasetId: 'ds-errors', count: 1, size: 64, crop: 48, rotate: 10, seed: 1 };
    await expect(augmentDiagnostics.augmentPreview({ ...base, datasetId: 'nope' }, ctx)).rejects.toThrow(/no stored images/);
    await expect(augmentDiagnostics.augmentPreview({ ...base, size: 96 }, ctx)).rejects.toThrow(/larger than the stored images/);
    await expect(augmentDiagnostics.augmentPreview({ ...base, crop: 65 }, ctx)).rejects.toThrow(/crop 65 is larger/);
  });
});
