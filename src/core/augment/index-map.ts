// Where each pixel of an augmented view comes from, exactly as torchvision 0.14 on a PIL image computes it:
// F.hflip, then F.rotate(angle, NEAREST, expand=False, center=None, fill=0), which is Pillow 9.4's
// img.rotate(angle, NEAREST, expand=False, center=None, fillcolor=0), then F.crop.
//
// Pillow's rotate (PIL/Image.py) takes `angle % 360.0`; a result of 0 copies the image, 180 and (on a square
// image) 90 and 270 are transposes. Otherwise it builds the inverse affine matrix from round(cos, 15) and
// round(sin, 15) about the centre (w / 2, h / 2) and calls ImagingTransformAffine (libImaging/Geometry.c),
// which for NEAREST on an 8-bit image takes one of three paths:
// - a[1] == 0 and a[3] == 0 (angles within about 3e-14 degrees of a multiple of 180): ImagingScaleAffine,
//   a table of COORD(a[2] + a[0] * 0.5 + x * a[0]) accumulated along x, rows likewise;
// - every corner maps inside +-32768: affine_fixed, 16.16 fixed point, a coordinate is (integer sum) >> 16.
//   This is the path every training image takes;
// - otherwise the floating-point loop: xo = a[2] + a[1] * 0.5 + a[0] * 0.5, xx += a[0] along a row,
//   xo += a[1] per row, COORD(v) = v < 0 ? -1 : (int)v.
// Each is replicated with the same double and integer arithmetic in the same order.
import type { ViewParams } from './params.ts';
import { pyMod360, pyRound15, sinCosCorrectlyRounded } from './trig.ts';

/** A rectangle of the rotated image: output columns [left, left + width), rows [top, top + height). */
export interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** PIL's (a, b, c, d, e, f): the output pixel (x, y) samples the input at (a x + b y + c, d x + e y + f). */
export function pilRotateMatrix(angle: number, width: number, height: number): number[] {
  if (!Number.isFinite(angle)) throw new RangeError(`pilRotateMatrix: angle ${angle} is not finite`);
  // math.radians multiplies by pi / 180 (CPython's degToRad), then PIL negates.
  const rad = -(pyMod360(angle) * (Math.PI / 180));
  const { sin, cos } = sinCosCorrectlyRounded(rad);
  const m = [pyRound15(cos), pyRound15(sin), 0.0, pyRound15(-sin), pyRound15(cos), 0.0];
  const cx = width / 2.0;
  const cy = height / 2.0;
  // transform(-cx - 0, -cy - 0, matrix) = a * x + b * y + c, evaluated left to right, then the centre back.
  const c = m[0]! * (-cx - 0) + m[1]! * (-cy - 0) + m[2]!;
  const f = m[3]! * (-cx - 0) + m[4]! * (-cy - 0) + m[5]!;
  m[2] = c + cx;
  m[5] = f + cy;
  return m;
}

/** Geometry.c's COORD: -1 for negatives (so that -0.5 is outside), truncation otherwise. */
function coord(v: number): number {
  return v < 0 ? -1 : Math.trunc(v);
}

/** Geometry.c's FIX: FLOOR(v * 65536.0 + 0.5), FLOOR truncating non-negatives and flooring negatives. */
function fix(v: number): number {
  const t = v * 65536.0 + 0.5;
  return t < 0 ? Math.floor(t) : Math.trunc(t);
}

/** check_fixed: the corner (x, y) maps to coordinates that 16.16 fixed point can hold. */
function fitsFixed(a: number[], x: number, y: number): boolean {
  return Math.abs(x * a[0]! + y * a[1]! + a[2]!) < 32768.0 && Math.abs(x * a[3]! + y * a[4]! + a[5]!) < 32768.0;
}

/** The 16.16 fixed-point matrix affine_fixed works with: [a0, a1, a2 (with the half-pixel), a3, a4, a5]. */
export function pilFixedMatrix(a: number[]): number[] {
  return [fix(a[0]!), fix(a[1]!), fix(a[2]! + a[0]! * 0.5 + a[1]! * 0.5), fix(a[3]!), fix(a[4]!), fix(a[5]! + a[3]! * 0.5 + a[4]! * 0.5)];
}

export type RotatePath = 'copy' | 'rotate90' | 'rotate180' | 'rotate270' | 'scale' | 'fixed' | 'float';

/** Which code path Pillow 9.4 takes to rotate a width x height 8-bit image by `angle` degrees. */
export function pilRotatePath(angle: number, width: number, height: number): RotatePath {
  const a = pyMod360(angle);
  if (a === 0) return 'copy';
  if (a === 180) return 'rotate180';
  if ((a === 90 || a === 270) && width === height) return a === 90 ? 'rotate90' : 'rotate270';
  const m = pilRotateMatrix(angle, width, height);
  if (m[1] === 0 && m[3] === 0) return 'scale';
  const fits = fitsFixed(m, 0, 0) && fitsFixed(m, width, height) && fitsFixed(m, 0, height) && fitsFixed(m, width, 0);
  return fits ? 'fixed' : 'float';
}

function checkRegion(width: number, height: number, r: Region): void {
  const ok =
    [width, height, r.left, r.top, r.width, r.height].every(Number.isInteger) &&
    width >= 1 &&
    height >= 1 &&
    r.left >= 0 &&
    r.top >= 0 &&
    r.width >= 0 &&
    r.height >= 0 &&
    r.left + r.width <= width &&
    r.top + r.height <= height;
  if (!ok) throw new RangeError(`region ${JSON.stringify(r)} is not inside a ${width} x ${height} image`);
}

/**
 * For each pixel of `region` of the image rotated by `angle` degrees (row-major), the index y * width + x
 * of the input pixel it copies, or -1 where Pillow leaves the fill colour.
 */
export function rotationSourceMap(width: number, height: number, angle: number, region: Region = { left: 0, top: 0, width, height }): Int32Array {
  checkRegion(width, height, region);
  const { left, top, width: rw, height: rh } = region;
  const out = new Int32Array(rw * rh);
  const path = pilRotatePath(angle, width, height);
  const W = width;
  const H = height;
  // Transposes: ImagingRotate180 / 90 / 270 write out[y][x] from these input pixels.
  const direct: Record<string, ((x: number, y: number) => number) | undefined> = {
    copy: (x, y) => y * W + x,
    rotate180: (x, y) => (H - 1 - y) * W + (W - 1 - x),
    rotate90: (x, y) => x * W + (W - 1 - y),
    rotate270: (x, y) => (H - 1 - x) * W + y,
  };
  const d = direct[path];
  if (d) {
    for (let j = 0; j < rh; j++) for (let i = 0; i < rw; i++) out[j * rw + i] = d(left + i, top + j);
    return out;
  }
  const a = pilRotateMatrix(angle, width, height);
  if (path === 'scale') {
    // xintab over the whole row: columns between the first and last valid one read xintab (0 where unset,
    // as calloc leaves it); rows accumulate yo += a[4] from y = 0.
    const xintab = new Int32Array(W);
    let xmin = W;
    let xmax = 0;
    let xo = a[2]! + a[0]! * 0.5;
    for (let x = 0; x < W; x++) {
      const v = coord(xo);
      if (v >= 0 && v < W) {
        xmax = x + 1;
        if (x < xmin) xmin = x;
        xintab[x] = v;
      }
      xo += a[0]!;
    }
    let yo = a[5]! + a[4]! * 0.5;
    for (let y = 0; y < top + rh; y++) {
      const yi = coord(yo);
      yo += a[4]!;
      if (y < top) continue;
      const row = (y - top) * rw;
      for (let i = 0; i < rw; i++) {
        const x = left + i;
        out[row + i] = yi >= 0 && yi < H && x >= xmin && x < xmax ? yi * W + xintab[x]! : -1;
      }
    }
    return out;
  }
  if (path === 'fixed') {
    // Integer sums are exact in any order, so a row can start at `left` directly.
    const [a0, a1, a2, a3, a4, a5] = pilFixedMatrix(a) as [number, number, number, number, number, number];
    for (let j = 0; j < rh; j++) {
      const y = top + j;
      let xx = a2 + y * a1 + left * a0;
      let yy = a5 + y * a4 + left * a3;
      const row = j * rw;
      for (let i = 0; i < rw; i++) {
        const xi = xx >> 16;
        const yi = yy >> 16;
        out[row + i] = xi >= 0 && xi < W && yi >= 0 && yi < H ? yi * W + xi : -1;
        xx += a0;
        yy += a3;
      }
    }
    return out;
  }
  // Floating point: sums are rounded at each step, so accumulate from the first row and column as C does.
  let xo = a[2]! + a[1]! * 0.5 + a[0]! * 0.5;
  let yo = a[5]! + a[4]! * 0.5 + a[3]! * 0.5;
  for (let y = 0; y < top + rh; y++, xo += a[1]!, yo += a[4]!) {
    if (y < top) continue;
    let xx = xo;
    let yy = yo;
    const row = (y - top) * rw;
    for (let x = 0; x < left + rw; x++, xx += a[0]!, yy += a[3]!) {
      if (x < left) continue;
      const xi = coord(xx);
      const yi = coord(yy);
      out[row + x - left] = xi >= 0 && xi < W && yi >= 0 && yi < H ? yi * W + xi : -1;
    }
  }
  return out;
}

/**
 * One view's crop x crop map into the width x height image it is drawn from (after Resize(S)): flip, then
 * rotate, then crop at (top, left). Entries are y * width + x, or -1 for the rotation's fill.
 */
export function viewIndexMap(width: number, height: number, view: ViewParams, crop: number): Int32Array {
  if (crop > width || crop > height) throw new RangeError(`crop ${crop} is larger than the ${width} x ${height} image`);
  const map = rotationSourceMap(width, height, view.angle, { left: view.left, top: view.top, width: crop, height: crop });
  return view.flip ? mirrorSourceColumns(map, width) : map;
}

/**
 * Turns a map into an image into the same map into that image mirrored left-right (in place): what the
 * rotation read at column x of the flipped image is column width - 1 - x of the original.
 */
export function mirrorSourceColumns(map: Int32Array, width: number): Int32Array {
  for (let i = 0; i < map.length; i++) {
    const v = map[i]!;
    if (v >= 0) {
      const x = v % width;
      map[i] = v - x + (width - 1 - x);
    }
  }
  return map;
}
