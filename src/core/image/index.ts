// Image decoding and resizing for dataset import (PNG, JPEG -> grey uint8 as Pillow + torchvision see it).
export * from './types.ts';
export { decodePng, decodePngSync, readPngHeader, isPng, crc32, type PngDecodeOptions, type PngHeader } from './png.ts';
export { decodeJpeg, decodeJpegGrey, readJpegInfo, isJpeg, type JpegDecodeOptions, type JpegInfo } from './jpeg.ts';
export { toGrey, luma, lumaFromInterleaved, greyFromRgba, type GreyOptions } from './grey.ts';
export { resizeBilinear, resizeShorterSide, shorterSideSize, centerCrop, resampleCoefficients } from './resize.ts';
export { makeThumbnail, thumbnailSize, DEFAULT_THUMBNAIL_SIDE } from './thumbnail.ts';
export * from './decode.ts';
