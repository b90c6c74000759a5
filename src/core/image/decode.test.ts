// Format sniffing (by content, not name), clear errors for other formats, and the size rules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_DATA } from '../../../scripts/fixtures/ensure.ts';
import { decodeToGrey, prepareFromGrey, prepareFromRgba, prepareImage, sniffFormat } from './decode.ts';
import { centerCrop, resizeBilinear, shorterSideSize } from './resize.ts';
import { thumbnailSize } from './thumbnail.ts';
import { ImageDecodeError } from './types.ts';

async function errorOf(p: Promise<unknown>): Promise<ImageDecodeError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ImageDecodeError);
    return e as ImageDecodeError;
  }
  throw new Error('expected an error');
}

describe('decodeToGrey / sniffFormat', () => {
  it('sniffs by magic bytes, not by the name', async () => {
    const png = new Uint8Array(readFileSync(join(SHARED_DATA, 'nih/128px/00000001_000.png')));
    expect(sniffFormat(png, 'x.jpg')).toBe('png');
    const g = await decodeToGrey(png, 'misnamed.jpg');
    expect([g.width, g.height, g.data.length]).toEqual([128, 128, 128 * 128]);
  });

  it('names the format of other images and of non-images', async () => {
    const cases: [Uint8Array, RegExp][] = [
      [new TextEncoder().encode('Path,Sex,Age\nfoo.jpg,Male,40\n'), /not a PNG or JPEG file \(labels\.csv\): it looks like text/],
      [new TextEncoder().encode('GIF89a....'), /unsupported image format GIF/],
      [new Uint8Array([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0]), /unsupported image format TIFF/],
      [new TextEncoder().encode('BM\x00\x00'), /BMP/],
      [new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255]), /unrecognised content \(first bytes 00 01 02 fa fb fc fd fe\)/],
      [new Uint8Array(0), /empty file/],
    ];
    for (const [bytes, re] of cases) {
      const e = await errorOf(decodeToGrey(bytes, 'labels.csv'));
      expect(e.code).toBe('unknown-format');
      expect(e.message).toMatch(re);
    }
    const dicom = new Uint8Array(readFileSync(join(SHARED_DATA, 'dicom/Fake_MONOHR1.dcm')));
    expect((await errorOf(decodeToGrey(dicom, 'a.dcm'))).message).toMatch(/DICOM/);
  });

  it('errors carry the file name', async () => {
    const png = new Uint8Array(readFileSync(join(SHARED_DATA, 'nih/128px/00000001_000.png')));
    const e = await errorOf(prepareImage(png.subarray(0, 3000), { name: 'CXR_png/CHNCXR_0001_0.png' }));
    expect(e.code).toBe('truncated');
    expect(e.message).toMatch(/^CXR_png\/CHNCXR_0001_0\.png: PNG truncated/);
  });

  it('a truncated JPEG is an ImageDecodeError', async () => {
    // SOI and the start of an APP0 segment, then nothing
    const e = await errorOf(decodeToGrey(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2]), 'x.jpg'));
    expect(['truncated', 'corrupt']).toContain(e.code);
  });
});

describe('sizes', () => {
  it('torchvision Resize(320): shorter side 320, the other int(320 * long / short)', () => {
    expect(shorterSideSize(1024, 1024, 320)).toEqual({ width: 320, height: 320 });
    expect(shorterSideSize(750, 733, 320)).toEqual({ width: 327, height: 320 }); // 327.42
    expect(shorterSideSize(629, 736, 320)).toEqual({ width: 320, height: 374 }); // 374.43
    expect(shorterSideSize(3, 1000, 320)).toEqual({ width: 320, height: 106666 });
    expect(shorterSideSize(2828, 2320, 320)).toEqual({ width: 390, height: 320 });
  });

  it('thumbnail: longer side 96', () => {
    expect(thumbnailSize(327, 320)).toEqual({ width: 96, height: 94 });
    expect(thumbnailSize(320, 374)).toEqual({ width: 82, height: 96 });
    expect(thumbnailSize(320, 100000)).toEqual({ width: 1, height: 96 });
  });

  it('center crop as torchvision (round half to even)', () => {
    const img = { width: 5, height: 4, data: Uint8Array.from({ length: 20 }, (_, i) => i) };
    expect(centerCrop(img, 2, 2)).toEqual({ width: 2, height: 2, data: Uint8Array.from([7, 8, 12, 13]) }); // top 1, left round(1.5)=2
    expect(centerCrop(img, 4, 3).data[0]).toBe(0); // top round(0.5)=0, left round(0.5)=0
    expect(() => centerCrop(img, 6, 2)).toThrow(RangeError);
  });

  it('same size is a copy; prepareFromGrey/prepareFromRgba', () => {
    const img = { width: 3, height: 2, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    const same = resizeBilinear(img, 3, 2);
    expect(same.data).toEqual(img.data);
    expect(same.data).not.toBe(img.data);
    const p = prepareFromGrey({ width: 640, height: 480, data: new Uint8Array(640 * 480).fill(77) });
    expect([p.image.width, p.image.height, p.thumbnail.width, p.thumbnail.height]).toEqual([426, 320, 96, 72]);
    expect(p.image.data.every((v) => v === 77)).toBe(true);
    const rgba = new Uint8Array(4 * 4 * 4);
    for (let i = 0; i < 16; i++) rgba.set([255, 0, 0, 9], i * 4);
    const q = prepareFromRgba(rgba, 4, 4, { shorterSide: 2, thumbnailSide: 1 });
    expect(Array.from(q.image.data)).toEqual([76, 76, 76, 76]); // Pillow L of pure red
    expect(q.original).toEqual({ format: 'jpeg', width: 4, height: 4, bitDepth: 8, colorType: 2 });
  });
});
