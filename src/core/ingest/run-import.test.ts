// The import loop against a real IndexedDB implementation (fake-indexeddb): skip what is stored,
// keep finished batches on cancel and on a full disk, list per-file problems, count labels.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { ImageMeta, ImportPlan } from '../data/types.ts';
import { Store } from '../store/store.ts';
import { estimateBytesPerImage, runImport, type LoadFn, type PreparedImage } from './run-import.ts';
import { checkSpace } from './storage.ts';

let dbCounter = 0;
const freshStore = () => Store.open(`test-${++dbCounter}-${Math.random()}`);

function meta(i: number, labels: ImageMeta['labels']): ImageMeta {
  const key = `CheXpert-v1.0-small/train/patient${String(i).padStart(5, '0')}/study1/view1_frontal.jpg`;
  return { key, file: `picked/${key}`, split: i % 5 === 0 ? 'valid' : 'train', patient: `patient${i}`, study: key.replace(/\/[^/]+$/, ''), frontalLateral: 'Frontal', apPa: 'AP', sex: 'Female', age: 40 + i, labels };
}

function plan(n: number): ImportPlan {
  const states = [1, 0, -1, null] as const;
  return {
    kind: 'chexpert',
    name: 'CheXpert-v1.0-small',
    labelColumns: ['Cardiomegaly', 'Pleural Effusion'],
    images: Array.from({ length: n }, (_, i) => meta(i, { Cardiomegaly: states[i % 4]!, 'Pleural Effusion': states[(i + 1) % 4]! })),
    problems: [{ where: 'train.csv line 9', reason: 'malformed row' }],
  };
}

// Pixels derived from the key, so a test can tell which image landed where.
const load: LoadFn = async (m) => {
  if (m.key.includes('patient00007')) throw new Error('truncated PNG: IDAT stream ends early');
  const v = m.key.length % 251;
  const img = (w: number, h: number) => ({ width: w, height: h, data: new Uint8Array(w * h).fill(v) });
  return { image: img(8, 10), thumbnail: img(4, 5), original: { width: 80, height: 100 } } satisfies PreparedImage;
};

const opts = { side: 8, thumbSide: 4, batchSize: 4, concurrency: 2 };

describe('runImport', () => {
  it('stores every image with metadata, pixels, thumbnails, problems and label statistics', async () => {
    const store = await freshStore();
    const p = plan(20);
    const r = await runImport({ store, plan: p, load, options: opts });
    expect(r.stored).toBe(19);
    expect(r.failed).toBe(1);
    expect(r.dataset.status).toBe('complete');
    expect(r.dataset.counts).toEqual({ train: 15, valid: 4, test: 0 });
    const problems = await store.listProblems(r.dataset.id);
    expect(problems.map((x) => x.reason)).toEqual(['malformed row', 'truncated PNG: IDAT stream ends early']);
    // Label statistics count what is stored (the failed image is not).
    const stored = p.images.filter((m) => !m.key.includes('patient00007'));
    const positives = stored.filter((m) => m.labels['Cardiomegaly'] === 1).length;
    expect(r.dataset.labelStats['Cardiomegaly']!.positive).toBe(positives);
    expect(Object.values(r.dataset.labelStats['Pleural Effusion']!).reduce((a, b) => a + b, 0)).toBe(19);
    const px = await store.getPixels(r.dataset.id, p.images[3]!.key);
    expect(px?.width).toBe(8);
    expect(px?.data[0]).toBe(p.images[3]!.key.length % 251);
    store.close();
  });

  it('re-importing skips what is stored and completes the set exactly once', async () => {
    const store = await freshStore();
    const p = plan(30);
    const controller = new AbortController();
    let seen = 0;
    const first = await runImport({
      store,
      plan: p,
      load: async (m) => {
        if (++seen === 10) controller.abort();
        return load(m);
      },
      options: opts,
      signal: controller.signal,
    });
    expect(first.cancelled).toBe(true);
    expect(first.dataset.status).toBe('cancelled');
    const afterCancel = (await store.listImages(first.dataset.id)).length;
    expect(afterCancel).toBeGreaterThan(0);
    expect(afterCancel).toBeLessThan(29);
    const second = await runImport({ store, plan: p, load, options: opts });
    expect(second.skipped).toBe(afterCancel);
    expect(second.stored + second.skipped).toBe(29);
    expect(second.dataset.status).toBe('complete');
    const keys = (await store.listImages(first.dataset.id)).map((m) => m.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBe(29);
    store.close();
  });

  it('a full disk stops the import with a clear message and keeps finished batches', async () => {
    const store = await freshStore();
    const realPut = store.putImages.bind(store);
    let batches = 0;
    store.putImages = async (b) => {
      if (++batches > 2) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return realPut(b);
    };
    const r = await runImport({ store, plan: plan(40), load, options: opts });
    expect(r.error).toMatch(/storage is full/);
    expect(r.dataset.status).toBe('failed');
    const kept = await store.listImages(r.dataset.id);
    expect(kept.length).toBe(8);
    store.close();
  });

  it('asks about space for the images still to store, before writing; a refusal stores nothing', async () => {
    const store = await freshStore();
    const p = plan(12);
    await expect(
      runImport({ store, plan: p, load, options: opts, checkSpace: async () => Promise.reject(new Error('not enough browser storage')) }),
    ).rejects.toThrow('not enough browser storage');
    expect(await store.listDatasets()).toEqual([]);
    const asked: number[] = [];
    const first = await runImport({ store, plan: { ...p, images: p.images.slice(0, 5) }, load, options: opts });
    const second = await runImport({ store, plan: p, load, options: opts, checkSpace: async (n) => (asked.push(n), 'fits') });
    expect(asked).toEqual([(12 - first.stored) * estimateBytesPerImage(opts.side, opts.thumbSide)]);
    expect(second.space).toBe('fits');
    store.close();
  });

  it('deleting a dataset removes its images and leaves other datasets alone', async () => {
    const store = await freshStore();
    const a = await runImport({ store, plan: plan(6), load, options: opts });
    const other = { ...plan(5), name: 'other' };
    const b = await runImport({ store, plan: other, load, options: opts });
    await store.deleteDataset(a.dataset.id);
    expect(await store.getDataset(a.dataset.id)).toBeUndefined();
    expect(await store.listImages(a.dataset.id)).toEqual([]);
    expect(await store.getPixels(a.dataset.id, plan(6).images[0]!.key)).toBeUndefined();
    expect((await store.listImages(b.dataset.id)).length).toBe(5);
    expect(await store.listProblems(a.dataset.id)).toEqual([]);
    store.close();
  });
});

describe('checkSpace', () => {
  it('refuses an import that does not fit and names both sizes', async () => {
    const r = await checkSpace({ estimate: async () => ({ quota: 100 * 2 ** 20, usage: 90 * 2 ** 20 }) }, 50 * 2 ** 20);
    expect(r.fits).toBe(false);
    expect(r.message).toMatch(/needs about 50 MB but only 10 MB is available/);
    expect((await checkSpace({ estimate: async () => ({ quota: 2 ** 30, usage: 0 }) }, 2 ** 20)).fits).toBe(true);
  });
});
