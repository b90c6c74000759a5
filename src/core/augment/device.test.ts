// augmentBatch / twoViews / previewPairs on the tfjs cpu backend against torchvision's own views
// (scripts/fixtures/torchvision_augment.py: F.hflip, F.rotate NEAREST fill 0, F.crop, ToTensor, Normalize).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GreyImage } from '../image/types.ts';
import { augmentBatch, augmentViews, augmentViewsRgb, normalisationTable, previewPairs, twoViews } from './device.ts';
import { loadAugmentFixtures, type AugmentFixtures, type ViewCase } from './fixture.testutil.ts';
import { viewIndexMap } from './index-map.ts';
import { CXR_MEAN, CXR_STD, viewSampler, type ViewParams } from './params.ts';

let fx: AugmentFixtures;
beforeAll(async () => {
  await tf.setBackend('cpu');
  fx = loadAugmentFixtures();
});

const paramsOf = (v: ViewCase): ViewParams => ({ flip: v.flip, angle: v.angle, top: v.top, left: v.left });

/** Largest |ours - theirs| over one channel of an NHWC batch item, and whether the 3 channels are equal. */
function compare(ours: Float32Array, n: number, c: number, theirs: Float32Array): { max: number; channelsEqual: boolean } {
  let max = 0;
  let channelsEqual = true;
  const o = n * c * c * 3;
  for (let k = 0; k < c * c; k++) {
    const r = ours[o + k * 3]!;
    channelsEqual &&= r === ours[o + k * 3 + 1] && r === ours[o + k * 3 + 2];
    max = Math.max(max, Math.abs(r - theirs[k]!));
  }
  return { max, channelsEqual };
}

describe('normalisationTable', () => {
  it("is ToTensor + Normalize in float32 with MoCo-CXR's mean and std (black: -5.8655)", () => {
    const t = normalisationTable(CXR_MEAN, CXR_STD);
    expect(t[0]).toBeCloseTo((0 - 0.502) / 0.085585, 5);
    expect(t[255]).toBeCloseTo((1 - 0.502) / 0.085585, 5);
    expect(() => normalisationTable(0.5, 0)).toThrow(RangeError);
  });
});

describe('augmentBatch', () => {
  it("equals torchvision's normalised views for every fixture case, in one batch per crop size", async () => {
    expect(fx.mean).toBe(CXR_MEAN);
    expect(fx.std).toBe(CXR_STD);
    let worst = 0;
    let exact = 0;
    for (const crop of [...new Set(fx.views.map((v) => v.crop))]) {
      const cases = fx.views.filter((v) => v.crop === crop);
      const t = augmentBatch(
        cases.map((v) => fx.grey(v.input)),
        cases.map(paramsOf),
        { crop },
      );
      expect(t.shape).toEqual([cases.length, crop, crop, 3]);
      expect(t.dtype).toBe('float32');
      const data = (await t.data()) as Float32Array;
      t.dispose();
      cases.forEach((v, n) => {
        const r = compare(data, n, crop, fx.floats(v));
        expect(r.channelsEqual).toBe(true);
        expect(r.max, `${v.image} S=${v.size} ${JSON.stringify(paramsOf(v))}`).toBeLessThanOrEqual(1e-6);
        worst = Math.max(worst, r.max);
        if (r.max === 0) exact++;
      });
    }
    // The float32 table reproduces torch's arithmetic: every value is identical, not merely close.
    expect(worst).toBe(0);
    expect(exact).toBe(fx.views.length);
  });

  it('fills rotated-in corners with normalised black and frees every tensor it made', async () => {
    const img: GreyImage = { width: 40, height: 40, data: new Uint8Array(1600).fill(200) };
    const before = tf.memory().numTensors;
    const t = augmentBatch([img, img], [{ flip: false, angle: 10, top: 0, left: 0 }, { flip: true, angle: 0, top: 0, left: 0 }], { crop: 40 });
    expect(tf.memory().numTensors).toBe(before + 1);
    const d = (await t.data()) as Float32Array;
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const black = normalisationTable(CXR_MEAN, CXR_STD)[0]!;
    const grey200 = normalisationTable(CXR_MEAN, CXR_STD)[200]!;
    expect(d[0]).toBe(black); // the top-left corner turns out of the image at 10 degrees
    expect(d[(20 * 40 + 20) * 3]).toBe(grey200);
    expect(d.subarray(40 * 40 * 3).every((v) => v === grey200)).toBe(true); // angle 0: no fill anywhere
  });

  it('refuses mismatched inputs', () => {
    const img: GreyImage = { width: 8, height: 8, data: new Uint8Array(64) };
    const p: ViewParams = { flip: false, angle: 0, top: 0, left: 0 };
    expect(() => augmentBatch([img], [p, p], { crop: 8 })).toThrow(RangeError);
    expect(() => augmentBatch([{ ...img, data: new Uint8Array(63) }], [p], { crop: 8 })).toThrow(RangeError);
    expect(() => augmentViews([img], [{ image: 1, params: p }], { crop: 8 })).toThrow(RangeError);
    expect(() => augmentBatch([img], [p], { crop: 9 })).toThrow(RangeError);
  });
});

describe('twoViews and previewPairs', () => {
  const images = (): GreyImage[] => fx.images.map((i) => fx.grey(i.resized['64']!.fromBase));

  it("draw query then key per image from the sampler and equal augmentBatch on those parameters; tensors freed", async () => {
    const imgs = images();
    const before = tf.memory().numTensors;
    const tv = twoViews(imgs, viewSampler(99, { crop: 48 }), { crop: 48 });
    const draws = viewSampler(99, { crop: 48 });
    const expected = imgs.flatMap((i) => [draws(i.width, i.height), draws(i.width, i.height)]);
    expect(tv.params.query).toEqual(expected.filter((_, k) => k % 2 === 0));
    expect(tv.params.key).toEqual(expected.filter((_, k) => k % 2 === 1));
    expect(tv.params.query).not.toEqual(tv.params.key);
    const q = augmentBatch(imgs, tv.params.query, { crop: 48 });
    const k = augmentBatch(imgs, tv.params.key, { crop: 48 });
    expect(await tv.query.data()).toEqual(await q.data());
    expect(await tv.key.data()).toEqual(await k.data());
    for (const t of [tv.query, tv.key, q, k]) t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('previewPairs returns each view as the grey levels the index map picks (0 for fill)', async () => {
    const imgs = images();
    const before = tf.memory().numTensors;
    const pairs = await previewPairs(imgs, viewSampler(5, { crop: 48, rotate: 10 }), { crop: 48 });
    expect(tf.memory().numTensors).toBe(before);
    expect(pairs.length).toBe(imgs.length);
    pairs.forEach((pair, n) => {
      for (const v of pair) {
        const img = imgs[n]!;
        const map = viewIndexMap(img.width, img.height, v.params, 48);
        const want = Uint8Array.from(map, (s) => (s >= 0 ? img.data[s]! : 0));
        expect(v.side).toBe(48);
        expect(v.data).toEqual(want);
      }
    });
  });
});

describe('augmentViewsRgb', () => {
  it('normalises each channel with its own mean and std, exactly as the grey path does per channel', async () => {
    const data = Uint8Array.from({ length: 12 * 10 }, (_, i) => (i * 37) % 256);
    const img = { width: 12, height: 10, data };
    const view = { image: 0, params: { flip: true, angle: 7, top: 1, left: 2 } };
    const mean = [0.485, 0.456, 0.406] as const;
    const std = [0.229, 0.224, 0.225] as const;
    const rgb = augmentViewsRgb([img], [view], 8, { mean, std });
    expect(rgb.shape).toEqual([1, 8, 8, 3]);
    const got = await rgb.data();
    rgb.dispose();
    for (let c = 0; c < 3; c++) {
      const grey = augmentViews([img], [view], { crop: 8, mean: mean[c], std: std[c] });
      const want = await grey.data();
      grey.dispose();
      for (let k = 0; k < 64; k++) expect(got[k * 3 + c]).toBe(want[k * 3]);
    }
  });
});
