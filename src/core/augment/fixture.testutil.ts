// Reads the fixtures of scripts/fixtures/torchvision_augment.py (torchvision 0.14 + Pillow 9.4 ground truth)
// for the augmentation tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';
import type { GreyImage } from '../image/types.ts';
import type { ViewParams } from './params.ts';

export interface GreyRef {
  width: number;
  height: number;
  offset: number;
}

export interface ImageRef {
  id: string;
  path: string;
  base: GreyRef;
  r320: GreyRef;
  resized: Record<string, { fromBase: GreyRef; fromR320: GreyRef }>;
}

export interface ViewCase extends ViewParams {
  image: string;
  size: number;
  crop: number;
  input: GreyRef;
  floats: number;
  map: number;
}

export interface MapCase {
  width: number;
  height: number;
  flip: boolean;
  angle: number;
  map: number;
}

export interface AugmentFixtures {
  pillow: string;
  torchvision: string;
  mean: number;
  std: number;
  images: ImageRef[];
  views: ViewCase[];
  maps: MapCase[];
  /** Rows of [angle, width, height, a..f (PIL's matrix), six 16.16 integers (affine_fixed's)]. */
  matrices: Float64Array[];
  grey(ref: GreyRef): GreyImage;
  /** The view's normalised floats (one channel, crop * crop). */
  floats(v: ViewCase): Float32Array;
  /** Index map of a view (crop * crop) or a whole-image rotation (width * height). */
  map(v: ViewCase | MapCase): Int32Array;
}

function typed<T>(file: string, make: (buf: ArrayBuffer) => T): T {
  const b = readFileSync(file);
  return make(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function loadAugmentFixtures(): AugmentFixtures {
  const dir = ensureFixtures('torchvision_augment');
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Omit<AugmentFixtures, 'matrices' | 'grey' | 'floats' | 'map'> & {
    matrices: { offset: number; rows: number; columns: number };
  };
  const u8 = typed(join(dir, 'u8.bin'), (b) => new Uint8Array(b));
  const f32 = typed(join(dir, 'f32.bin'), (b) => new Float32Array(b));
  const i32 = typed(join(dir, 'i32.bin'), (b) => new Int32Array(b));
  const f64 = typed(join(dir, 'f64.bin'), (b) => new Float64Array(b));
  const { offset, rows, columns } = index.matrices;
  return {
    ...index,
    matrices: Array.from({ length: rows }, (_, r) => f64.subarray(offset + r * columns, offset + (r + 1) * columns)),
    grey: (ref) => ({ width: ref.width, height: ref.height, data: u8.slice(ref.offset, ref.offset + ref.width * ref.height) }),
    floats: (v) => f32.subarray(v.floats, v.floats + v.crop * v.crop),
    map: (v) => {
      const n = 'crop' in v ? v.crop * v.crop : v.width * v.height;
      return i32.subarray(v.map, v.map + n);
    },
  };
}
