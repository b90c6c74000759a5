// Pixel measurements of demo phantoms, used by the tests (measured from pixels, never from params).

/** Mean grey level of a rectangle given in image fractions. */
export function zoneMean(px: Uint8Array, size: number, x0: number, x1: number, y0: number, y1: number): number {
  let s = 0;
  let c = 0;
  for (let y = Math.floor(y0 * size); y < Math.ceil(y1 * size); y++)
    for (let x = Math.floor(x0 * size); x < Math.ceil(x1 * size); x++) {
      s += px[y * size + x]!;
      c++;
    }
  return s / c;
}

/**
 * Effusion score per side: mean of the lower lateral lung zone minus the mid lateral zone of the
 * same side (self-normalising for exposure). Returns [image-left, image-right].
 */
export function basalOpacity(px: Uint8Array, size: number, y0 = 0.6, y1 = 0.74): [number, number] {
  const left = zoneMean(px, size, 0.13, 0.25, y0, y1) - zoneMean(px, size, 0.13, 0.25, 0.36, 0.48);
  const right = zoneMean(px, size, 0.75, 0.87, y0, y1) - zoneMean(px, size, 0.75, 0.87, 0.36, 0.48);
  return [left, right];
}

/**
 * Costophrenic blunting per side: the lower lateral zone minus the lower medial zone at the same
 * height. Normally the lateral recess is the lowest, darkest part of the lung base (negative);
 * pleural fluid fills it first (towards positive). Exposure cancels out. [image-left, image-right].
 */
export function lateralBlunting(px: Uint8Array, size: number, y0 = 0.6, y1 = 0.74): [number, number] {
  const left = zoneMean(px, size, 0.13, 0.24, y0, y1) - zoneMean(px, size, 0.29, 0.38, y0, y1);
  const right = zoneMean(px, size, 0.76, 0.87, y0, y1) - zoneMean(px, size, 0.62, 0.71, y0, y1);
  return [left, right];
}

/**
 * Width of the bright central silhouette over the cardiac rows (60th percentile of the rows), in image fractions: per row, the run
 * around the midline above the halfway level between the row's lung darkness (30th percentile)
 * and its central brightness.
 */
export function heartWidth(px: Uint8Array, size: number): number {
  const widths: number[] = [];
  const cx = Math.round(size * 0.53);
  for (let y = Math.floor(size * 0.48); y < Math.floor(size * 0.72); y++) {
    const row = Array.from(px.subarray(y * size + Math.floor(size * 0.12), y * size + Math.ceil(size * 0.88))).sort((a, b) => a - b);
    const dark = row[Math.floor(row.length * 0.3)]!;
    let centre = 0;
    for (let x = cx - 2; x <= cx + 2; x++) centre += px[y * size + x]!;
    centre /= 5;
    const thr = (dark + centre) / 2;
    let l = cx;
    while (l > 0 && px[y * size + l - 1]! > thr) l--;
    let r = cx;
    while (r < size - 1 && px[y * size + r + 1]! > thr) r++;
    widths.push((r - l + 1) / size);
  }
  widths.sort((a, b) => a - b);
  return widths[Math.floor(widths.length * 0.6)]!;
}

/** Area under the ROC curve of scores for positives vs negatives (ties count half). */
export function auroc(pos: number[], neg: number[]): number {
  let s = 0;
  for (const p of pos) for (const n of neg) s += p > n ? 1 : p === n ? 0.5 : 0;
  return s / (pos.length * neg.length);
}
