// 16-bit grey in the app's import: the image's own range onto 0..255 (Pillow would clip to white).
import { describe, expect, it } from 'vitest';
import { toGrey } from './grey.ts';
import type { DecodedImage } from './types.ts';

function grey16(values: number[]): DecodedImage {
  return { format: 'png', width: values.length, height: 1, colorType: 0, bitDepth: 16, channels: 1, interlaced: false, data: Uint16Array.from(values) };
}

describe("toGrey sixteenBitGrey: 'range'", () => {
  it('maps a 12-bit range linearly onto 0..255', () => {
    const values = [1000, 1500, 2547, 4095];
    const out = toGrey(grey16(values), { sixteenBitGrey: 'range' }).data;
    const expected = values.map((v) => Math.round(((v - 1000) * 255) / (4095 - 1000)));
    expect([...out]).toEqual(expected);
    expect(out[0]).toBe(0);
    expect(out[3]).toBe(255);
  });
  it('differs from Pillow, which clips every value above 255', () => {
    const img = grey16([300, 40000]);
    expect([...toGrey(img).data]).toEqual([255, 255]);
    expect([...toGrey(img, { sixteenBitGrey: 'range' }).data]).toEqual([0, 255]);
  });
  it('a flat image stays black rather than dividing by zero', () => {
    expect([...toGrey(grey16([7, 7, 7]), { sixteenBitGrey: 'range' }).data]).toEqual([0, 0, 0]);
  });
});
