// JPEG through the browser's own decoder (off the main thread, native speed); PNG stays on our
// Pillow-exact decoder. Both end in the same grey conversion and resampler.
import { prepareImage, prepareFromRgba } from '../src/core/image/decode.ts';
import type { PreparedImage } from '../src/core/ingest/run-import.ts';

const isJpeg = (b: Uint8Array) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

export async function prepareInWorker(bytes: Uint8Array, name: string, sizes: { side: number; thumbSide: number }): Promise<PreparedImage> {
  const opts = { shorterSide: sizes.side, thumbnailSide: sizes.thumbSide };
  if (isJpeg(bytes) && typeof createImageBitmap === 'function' && typeof OffscreenCanvas !== 'undefined') {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(new Blob([bytes as BlobPart], { type: 'image/jpeg' }), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    } catch {
      throw new Error(`${name}: the JPEG could not be decoded (corrupt or truncated)`);
    }
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2D canvas in this worker');
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height, { colorSpace: 'srgb' }).data;
    bitmap.close();
    return prepareFromRgba(new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength), bitmap.width, bitmap.height, opts);
  }
  // 16-bit grey: Pillow would clip to 255 (a white image); map the image's own range instead.
  return prepareImage(bytes, { ...opts, name, sixteenBitGrey: 'range' });
}
