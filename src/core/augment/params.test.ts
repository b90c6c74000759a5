// The view sampler: repeatable per seed, torchvision's ranges (flip p = 0.5, angle in [-rotate, rotate],
// crop offsets 0..H-C and 0..W-C with both ends reachable).
import { describe, expect, it } from 'vitest';
import { CXR_MEAN, CXR_STD, DEFAULT_ROTATE, viewSampler, type ViewParams } from './params.ts';

function draw(seed: number, n: number, w: number, h: number, crop: number, rotate?: number): ViewParams[] {
  const s = viewSampler(seed, { crop, ...(rotate === undefined ? {} : { rotate }) });
  return Array.from({ length: n }, () => s(w, h));
}

describe('constants', () => {
  it("are MoCo-CXR's", () => {
    expect([CXR_MEAN, CXR_STD, DEFAULT_ROTATE]).toEqual([0.502, 0.085585, 10]);
  });
});

describe('viewSampler', () => {
  it('gives the same views for the same seed and other views for another seed', () => {
    expect(draw(7, 50, 389, 320, 224)).toEqual(draw(7, 50, 389, 320, 224));
    expect(draw(8, 50, 389, 320, 224)).not.toEqual(draw(7, 50, 389, 320, 224));
  });

  it('flips about half the time, angles fill [-10, 10] as float32 values, crops reach both ends', () => {
    const n = 20_000;
    const w = 389;
    const h = 320;
    const c = 224;
    const views = draw(1234, n, w, h, c);
    const flips = views.filter((v) => v.flip).length;
    // binomial(20000, 0.5): sd = 71; 5 sd either side
    expect(Math.abs(flips - n / 2)).toBeLessThan(355);
    const angles = views.map((v) => v.angle);
    expect(Math.min(...angles)).toBeGreaterThanOrEqual(-10);
    expect(Math.max(...angles)).toBeLessThanOrEqual(10);
    expect(Math.min(...angles)).toBeLessThan(-9.99);
    expect(Math.max(...angles)).toBeGreaterThan(9.99);
    for (const a of angles) expect(Math.fround(a)).toBe(a);
    // uniform: each 2-degree bin holds about a tenth (sd 42 of 2000)
    const bins = new Array<number>(10).fill(0);
    for (const a of angles) bins[Math.min(9, Math.floor((a + 10) / 2))]!++;
    for (const b of bins) expect(Math.abs(b - n / 10)).toBeLessThan(250);
    const tops = new Set(views.map((v) => v.top));
    const lefts = new Set(views.map((v) => v.left));
    for (const v of views) {
      expect(Number.isInteger(v.top) && v.top >= 0 && v.top <= h - c).toBe(true);
      expect(Number.isInteger(v.left) && v.left >= 0 && v.left <= w - c).toBe(true);
    }
    // every offset 0..H-C (97 values) and 0..W-C (166 values) occurs: ~200 and ~120 draws each
    expect(tops.size).toBe(h - c + 1);
    expect(lefts.size).toBe(w - c + 1);
  });

  it('honours rotate = 0 (no rotation) and another rotate range', () => {
    expect(draw(3, 200, 64, 64, 48, 0).every((v) => v.angle === 0)).toBe(true);
    const wide = draw(3, 2000, 64, 64, 48, 30).map((v) => Math.abs(v.angle));
    expect(Math.max(...wide)).toBeLessThanOrEqual(30);
    expect(Math.max(...wide)).toBeGreaterThan(29);
  });

  it('crops at (0, 0) when the crop is the whole image', () => {
    expect(draw(5, 20, 48, 48, 48).every((v) => v.top === 0 && v.left === 0)).toBe(true);
  });

  it('refuses a crop larger than the image and invalid options', () => {
    expect(() => draw(1, 1, 64, 47, 48)).toThrow(/larger than the 64 x 47 image/);
    expect(() => viewSampler(1, { crop: 0 })).toThrow(RangeError);
    expect(() => viewSampler(1, { crop: 4.5 })).toThrow(RangeError);
    expect(() => viewSampler(1, { crop: 4, rotate: -1 })).toThrow(RangeError);
    expect(() => viewSampler(1, { crop: 4, flipP: 2 })).toThrow(RangeError);
  });
});
