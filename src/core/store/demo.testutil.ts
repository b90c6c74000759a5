// A Store (fake-indexeddb) holding one complete demo dataset, for tests that train from the store.
import { demoDataset } from '../data/demo/generate.ts';
import type { DatasetRecord } from './schema.ts';
import { Store } from './store.ts';

let dbCount = 0;

export async function storeWithDemo(opts: { count: number; side: number; seed?: number; prefix?: string }): Promise<{ store: Store; dataset: DatasetRecord }> {
  const n = ++dbCount;
  const store = await Store.open(`${opts.prefix ?? 'demo-test'}-${n}`);
  const demo = demoDataset({ seed: opts.seed ?? 3, count: opts.count, size: opts.side });
  const now = Date.now();
  const dataset: DatasetRecord = {
    id: `demo-${n}`,
    name: 'demo',
    kind: 'demo',
    source: 'demo',
    synthetic: true,
    labelColumns: demo.labelColumns,
    imageSide: opts.side,
    thumbSide: 8,
    status: 'complete',
    planned: opts.count,
    counts: { train: 0, valid: 0, test: 0 },
    labelStats: {},
    bytes: 0,
    createdAt: now,
    updatedAt: now,
    problemCount: 0,
  };
  await store.putDataset(dataset);
  await store.putImages(
    demo.cases.map((c) => {
      const img = demo.render(c);
      return {
        meta: { ...c.meta, dataset: dataset.id, width: img.width, height: img.height, originalWidth: img.width, originalHeight: img.height },
        pixels: { dataset: dataset.id, key: c.meta.key, width: img.width, height: img.height, data: img.pixels },
        thumb: { dataset: dataset.id, key: c.meta.key, width: 1, height: 1, data: new Uint8Array(1) },
      };
    }),
  );
  return { store, dataset };
}
