// Resize(S) on the CPU against torchvision's Resize(S) of the same grey array (fixtures from
// scripts/fixtures/torchvision_augment.py: real Shenzhen and NIH images, S = 64, 96, 224).
import { beforeAll, describe, expect, it } from 'vitest';
import type { GreyImage } from '../image/types.ts';
import { loadAugmentFixtures, type AugmentFixtures } from './fixture.testutil.ts';
import { toTrainingSize, TrainingSizeCache } from './training-size.ts';

let fx: AugmentFixtures;
beforeAll(() => {
  fx = loadAugmentFixtures();
});

function expectSame(ours: GreyImage, theirs: GreyImage, what: string): void {
  expect([ours.width, ours.height], what).toEqual([theirs.width, theirs.height]);
  let differing = 0;
  for (let i = 0; i < theirs.data.length; i++) if (ours.data[i] !== theirs.data[i]) differing++;
  expect(differing, what).toBe(0);
}

describe('toTrainingSize', () => {
  it('equals torchvision Resize(S) of the stored Resize(320) image, pixel for pixel', () => {
    let checked = 0;
    for (const img of fx.images) {
      for (const [s, r] of Object.entries(img.resized)) {
        expectSame(toTrainingSize(fx.grey(img.r320), Number(s)), fx.grey(r.fromR320), `${img.id} 320 -> ${s}`);
        checked++;
      }
    }
    expect(checked).toBe(fx.images.length * 3);
  });

  it('equals torchvision Resize(S) of the full-size image too (a single resampling)', () => {
    for (const img of fx.images) {
      for (const [s, r] of Object.entries(img.resized)) {
        expectSame(toTrainingSize(fx.grey(img.base), Number(s)), fx.grey(r.fromBase), `${img.id} full -> ${s}`);
      }
    }
  });

  it('the stored-then-resized image is not the single resize of the original: sizes and values differ', () => {
    // Resize(S) of Resize(320) resamples twice and truncates the longer side twice: what training at
    // S < 320 on stored images sees. 750 x 730 -> 328 x 320 -> 229 x 224, where 750 x 730 -> 230 x 224.
    const sz = fx.images.find((i) => i.id === 'sz0001')!.resized['224']!;
    expect([sz.fromBase.width, sz.fromR320.width]).toEqual([230, 229]);
    let sameSize = 0;
    let worst = 0;
    let differing = 0;
    for (const img of fx.images) {
      for (const r of Object.values(img.resized)) {
        if (r.fromBase.width !== r.fromR320.width || r.fromBase.height !== r.fromR320.height) continue;
        sameSize++;
        const a = fx.grey(r.fromBase).data;
        const b = fx.grey(r.fromR320).data;
        for (let i = 0; i < a.length; i++) {
          const d = Math.abs(a[i]! - b[i]!);
          if (d) differing++;
          worst = Math.max(worst, d);
        }
      }
    }
    expect(sameSize).toBeGreaterThan(5);
    expect(differing).toBeGreaterThan(0);
    // measured: 28 200 of the pixels in 9 same-size pairs differ, by at most 12 grey levels
    expect(worst).toBeLessThanOrEqual(24);
  });

  it('returns the stored image itself at its own size and refuses to enlarge', () => {
    const img = fx.grey(fx.images[0]!.r320);
    expect(toTrainingSize(img, 320)).toBe(img);
    expect(() => toTrainingSize(img, 321)).toThrow(/import the dataset again/);
    expect(() => toTrainingSize(img, 0)).toThrow(RangeError);
  });
});

describe('TrainingSizeCache', () => {
  const stored = (): GreyImage[] => fx.images.map((i) => fx.grey(i.r320));

  it('resizes each image once and serves it again', () => {
    const cache = new TrainingSizeCache(96);
    const imgs = stored();
    const first = imgs.map((img, k) => cache.get(`k${k}`, img));
    expect(imgs.map((img, k) => cache.get(`k${k}`, img))).toEqual(first);
    first.forEach((r, k) => expect(cache.get(`k${k}`, imgs[k]!)).toBe(r));
    expect(cache.count).toBe(imgs.length);
    expect(cache.cachedBytes).toBe(first.reduce((s, r) => s + r.data.byteLength, 0));
  });

  it('evicts the least recently used entries beyond its byte budget and keeps nothing at the stored size', () => {
    const imgs = stored();
    const one = toTrainingSize(imgs[0]!, 96).data.byteLength;
    const cache = new TrainingSizeCache(96, one * 2 + 1);
    const a = cache.get('a', imgs[0]!);
    cache.get('b', imgs[0]!);
    expect(cache.get('a', imgs[0]!)).toBe(a); // a is now the most recent
    cache.get('c', imgs[0]!); // over budget: b goes
    expect(cache.count).toBe(2);
    expect(cache.get('a', imgs[0]!)).toBe(a);
    expect(cache.cachedBytes).toBeLessThanOrEqual(one * 2 + 1);
    const same = new TrainingSizeCache(320);
    expect(same.get('x', imgs[0]!)).toBe(imgs[0]);
    expect(same.count).toBe(0);
  });
});
