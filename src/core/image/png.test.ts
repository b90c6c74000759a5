// PNG error handling: truncated, corrupt and odd files throw ImageDecodeError with a reason, never hang
// or leak a RangeError. Files are built here from a small valid PNG (made with fflate's zlib).
import { unzlibSync, zlibSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { crc32, decodePng, decodePngSync, readPngHeader } from './png.ts';
import { ImageDecodeError } from './types.ts';

function chunk(name: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = name.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const SIG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function ihdr(w: number, h: number, depth = 8, ct = 0, interlace = 0): Uint8Array {
  const d = new Uint8Array(13);
  const dv = new DataView(d.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  d.set([depth, ct, 0, 0, interlace], 8);
  return chunk('IHDR', d);
}

/** A w x h 8-bit grey PNG whose pixel (x, y) is (x * 7 + y * 13) & 255, rows filtered with type y % 5. */
function greyPng(w = 40, h = 30, extra: Uint8Array[] = []): { png: Uint8Array; pixels: Uint8Array; raw: Uint8Array } {
  const pixels = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) pixels[y * w + x] = (x * 7 + y * 13) & 255;
  // filter type 0 only in the raw stream; the decoder's filter paths are covered by the Pillow fixtures
  const raw = new Uint8Array((w + 1) * h);
  for (let y = 0; y < h; y++) raw.set(pixels.subarray(y * w, (y + 1) * w), y * (w + 1) + 1);
  const png = concat(SIG, ihdr(w, h), ...extra, chunk('IDAT', zlibSync(raw)), chunk('IEND', new Uint8Array(0)));
  return { png, pixels, raw };
}

async function expectError(bytes: Uint8Array, code: string, message: RegExp): Promise<void> {
  for (const decode of [
    () => Promise.resolve(decodePngSync(bytes)),
    () => Promise.resolve(decodePngSync(bytes, { inflate: 'fflate' })),
    () => decodePng(bytes, { inflate: 'native' }),
    () => decodePng(bytes, { inflate: 'fflate' }),
    () => decodePng(bytes, { inflate: 'node' }),
  ]) {
    let err: unknown;
    try {
      await decode();
    } catch (e) {
      err = e;
    }
    expect(err, `expected ${code}`).toBeInstanceOf(ImageDecodeError);
    expect((err as ImageDecodeError).code).toBe(code);
    expect((err as ImageDecodeError).message).toMatch(message);
  }
}

describe('PNG decoder', () => {
  it('decodes a valid file with every inflater', async () => {
    const { png, pixels } = greyPng();
    expect(readPngHeader(png)).toEqual({ width: 40, height: 30, bitDepth: 8, colorType: 0, interlaced: false });
    expect(decodePngSync(png).data).toEqual(pixels);
    expect(decodePngSync(png, { inflate: 'fflate' }).data).toEqual(pixels);
    expect((await decodePng(png, { inflate: 'native' })).data).toEqual(pixels);
    expect((await decodePng(png, { inflate: 'node' })).data).toEqual(pixels);
    expect((await decodePng(png, { inflate: async (z) => unzlibSync(z) })).data).toEqual(pixels);
    expect(decodePngSync(png, { inflate: (z) => unzlibSync(z) }).data).toEqual(pixels);
  });

  it('a zlib stream with more data than the header needs: the first rows are used (as Pillow does)', async () => {
    const { raw, pixels } = greyPng();
    const more = new Uint8Array(raw.length * 200); // far beyond the node:zlib output cap
    more.set(raw);
    const png = concat(SIG, ihdr(40, 30), chunk('IDAT', zlibSync(more)), chunk('IEND', new Uint8Array(0)));
    expect(decodePngSync(png).data).toEqual(pixels);
    expect(decodePngSync(png, { inflate: 'fflate' }).data).toEqual(pixels);
    expect((await decodePng(png, { inflate: 'native' })).data).toEqual(pixels);
  });

  it('reports a file truncated at any point as truncated or corrupt, with a message', async () => {
    const { png } = greyPng();
    for (const cut of [0, 4, 8, 20, 33, 40, 60, png.length - 20, png.length - 12, png.length - 1]) {
      const bytes = png.subarray(0, cut);
      let err: unknown;
      try {
        decodePngSync(bytes);
      } catch (e) {
        err = e;
      }
      if (cut === png.length - 1 || cut === png.length - 12) {
        // only IEND is damaged or missing: the image data is complete and decodes
        expect(err, `cut at ${cut}`).toBeUndefined();
        continue;
      }
      expect(err, `cut at ${cut}`).toBeInstanceOf(ImageDecodeError);
      expect(['truncated', 'corrupt']).toContain((err as ImageDecodeError).code);
    }
    await expectError(png.subarray(0, png.length - 40), 'truncated', /truncated.*IDAT.*ends \d+ bytes early/);
  });

  it('an image whose file ends right after complete IDAT data (no IEND) still decodes', () => {
    const { png, pixels } = greyPng();
    expect(decodePngSync(png.subarray(0, png.length - 12)).data).toEqual(pixels);
  });

  it('a bit flip in IDAT is a CRC error; without the CRC check it is a zlib error or wrong data, never a hang', async () => {
    const { png } = greyPng();
    const bad = png.slice();
    bad[33 + 8 + 10] = bad[33 + 8 + 10]! ^ 0x55; // inside the IDAT payload
    await expectError(bad, 'corrupt', /CRC mismatch in chunk IDAT/);
    try {
      decodePngSync(bad, { checkCrc: false });
    } catch (e) {
      expect(e).toBeInstanceOf(ImageDecodeError);
    }
  });

  it('image data that inflates to too few bytes is truncated', async () => {
    const { raw } = greyPng();
    const short = concat(SIG, ihdr(40, 30), chunk('IDAT', zlibSync(raw.subarray(0, raw.length - 41))), chunk('IEND', new Uint8Array(0)));
    await expectError(short, 'truncated', /inflates to \d+ bytes, \d+ needed/);
  });

  it('a zlib stream cut short (with valid chunk CRCs) is truncated', async () => {
    const { raw } = greyPng();
    const z = zlibSync(raw);
    const cut = concat(SIG, ihdr(40, 30), chunk('IDAT', z.subarray(0, z.length >> 1)), chunk('IEND', new Uint8Array(0)));
    await expectError(cut, 'truncated', /truncated/);
  });

  it('garbage zlib data is corrupt', async () => {
    const garbage = concat(SIG, ihdr(4, 4), chunk('IDAT', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), chunk('IEND', new Uint8Array(0)));
    await expectError(garbage, 'corrupt', /zlib/);
  });

  it('an invalid filter type is corrupt', async () => {
    const raw = new Uint8Array([0, 1, 2, 7, 3, 4]); // 2 x 2 grey, second row filter 7
    const png = concat(SIG, ihdr(2, 2), chunk('IDAT', zlibSync(raw)), chunk('IEND', new Uint8Array(0)));
    await expectError(png, 'corrupt', /invalid filter type 7 on scanline 1/);
  });

  it('bad signature, bad IHDR fields, missing PLTE and IDAT, unknown critical chunk', async () => {
    const { png } = greyPng();
    const noSig = png.slice();
    noSig[1] = 0;
    await expectError(noSig, 'corrupt', /signature/);
    await expectError(concat(SIG, ihdr(0, 5), chunk('IEND', new Uint8Array(0))), 'corrupt', /invalid size 0 x 5/);
    await expectError(concat(SIG, ihdr(5, 5, 3, 0), chunk('IEND', new Uint8Array(0))), 'corrupt', /bit depth 3/);
    await expectError(concat(SIG, ihdr(5, 5, 8, 5), chunk('IEND', new Uint8Array(0))), 'corrupt', /colour type 5/);
    await expectError(concat(SIG, ihdr(5, 5, 8, 0, 2), chunk('IEND', new Uint8Array(0))), 'corrupt', /interlace/);
    await expectError(concat(SIG, ihdr(5, 5), chunk('IEND', new Uint8Array(0))), 'corrupt', /no image data/);
    await expectError(
      concat(SIG, ihdr(2, 2, 8, 3), chunk('IDAT', zlibSync(new Uint8Array(6))), chunk('IEND', new Uint8Array(0))),
      'corrupt',
      /palette image without PLTE/,
    );
    await expectError(greyPng(40, 30, [chunk('ABCD', new Uint8Array(3))]).png, 'unsupported', /critical chunk ABCD/);
    await expectError(concat(SIG, chunk('IDAT', new Uint8Array(13))), 'corrupt', /first chunk is IDAT/);
  });

  it('ancillary chunks are skipped and a huge declared size is refused before allocating', async () => {
    const { png, pixels } = greyPng(40, 30, [chunk('tEXt', new TextEncoder().encode('a\0b')), chunk('zzZz', new Uint8Array(9))]);
    expect(decodePngSync(png).data).toEqual(pixels);
    await expectError(concat(SIG, ihdr(100000, 100000), chunk('IEND', new Uint8Array(0))), 'too-large', /100000 x 100000/);
  });

  it('a chunk length pointing far beyond the file is truncated, not a RangeError', async () => {
    const { png } = greyPng();
    const bad = png.slice();
    new DataView(bad.buffer).setUint32(33, 0x7ffffff0); // IDAT length
    await expectError(bad, 'truncated', /IDAT.*declares/);
  });
});
