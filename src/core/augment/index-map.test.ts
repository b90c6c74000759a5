// Index maps against Pillow 9.4 itself: the fixtures rotate images whose pixels are their own index, so
// PIL's output is the map (scripts/fixtures/torchvision_augment.py).
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAugmentFixtures, type AugmentFixtures } from './fixture.testutil.ts';
import { mirrorSourceColumns, pilFixedMatrix, pilRotateMatrix, pilRotatePath, rotationSourceMap, viewIndexMap } from './index-map.ts';

let fx: AugmentFixtures;
beforeAll(() => {
  fx = loadAugmentFixtures();
});

/** Positions where two maps differ (at most a few, for the failure message), and how many. */
function mismatches(a: Int32Array, b: Int32Array): { count: number; first: [number, number, number][] } {
  expect(a.length).toBe(b.length);
  const first: [number, number, number][] = [];
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      if (count < 5) first.push([i, a[i]!, b[i]!]);
      count++;
    }
  }
  return { count, first };
}

describe('fixtures', () => {
  it('come from Pillow 9.4 and torchvision 0.14', () => {
    expect(fx.pillow).toMatch(/^9\.4\./);
    expect(fx.torchvision).toMatch(/^0\.14\./);
  });
});

describe('pilRotateMatrix', () => {
  it("matches Image.rotate's matrix for ~48 000 angles (all but a handful of rows, by 1e-15) and its 16.16 fixed-point integers exactly", () => {
    expect(fx.matrices.length).toBeGreaterThan(40_000);
    let rowsDiffering = 0;
    let fixedDiffs = 0;
    for (const row of fx.matrices) {
      const [angle, w, h] = [row[0]!, row[1]!, row[2]!];
      const ours = pilRotateMatrix(angle, w, h);
      const theirs = [...row.subarray(3, 9)];
      if (ours.some((v, k) => v !== theirs[k])) rowsDiffering++;
      for (let k = 0; k < 6; k++) {
        if (ours[k] !== theirs[k]) {
          // glibc's sin / cos are off by up to ~0.502 ulp and round(x, 15) rarely keeps it (trig.ts); a
          // rotation entry then differs by 1e-15, and a translation entry by that times the centre's size.
          const tol = k === 2 || k === 5 ? 1.5e-15 * (1 + w + h) : 1.5e-15;
          expect(Math.abs(ours[k]! - theirs[k]!), `angle ${angle} entry ${k}`).toBeLessThanOrEqual(tol);
        }
      }
      if (pilFixedMatrix(ours).join() !== [...row.subarray(9, 15)].join()) fixedDiffs++;
    }
    expect(fixedDiffs).toBe(0);
    // measured: 8 of 48 362 rows differ (3 of them in [-10, 10] degrees); Math.sin / Math.cos give 60
    expect(rowsDiffering).toBeLessThanOrEqual(20);
  });

  it('rejects a non-finite angle', () => {
    expect(() => pilRotateMatrix(Number.NaN, 10, 10)).toThrow(RangeError);
  });
});

describe('rotationSourceMap and viewIndexMap', () => {
  it('reproduce every code path of Image.rotate on whole images (copy, transposes, scale, fixed, float)', () => {
    const paths = new Set<string>();
    for (const m of fx.maps) {
      paths.add(pilRotatePath(m.angle, m.width, m.height));
      const map = rotationSourceMap(m.width, m.height, m.angle);
      const ours = m.flip ? mirrorSourceColumns(map, m.width) : map;
      const d = mismatches(ours, fx.map(m));
      expect(d, `${m.width}x${m.height} flip=${m.flip} angle=${m.angle}`).toEqual({ count: 0, first: [] });
    }
    expect([...paths].sort()).toEqual(['copy', 'fixed', 'float', 'rotate180', 'rotate270', 'rotate90', 'scale']);
  });

  it('equal torchvision hflip -> rotate -> crop for every view case (flips, angles 0, +-10, fractional, edge crops)', () => {
    expect(fx.views.length).toBeGreaterThan(100);
    const seen = { flip: 0, zero: 0, fill: 0, topEdge: 0, bottomEdge: 0, leftEdge: 0, rightEdge: 0 };
    for (const v of fx.views) {
      const ours = viewIndexMap(v.input.width, v.input.height, v, v.crop);
      const theirs = fx.map(v);
      expect(mismatches(ours, theirs), `${v.image} S=${v.size} ${JSON.stringify(v)}`).toEqual({ count: 0, first: [] });
      seen.flip += v.flip ? 1 : 0;
      seen.zero += v.angle === 0 ? 1 : 0;
      seen.fill += theirs.includes(-1) ? 1 : 0;
      seen.topEdge += v.top === 0 ? 1 : 0;
      seen.bottomEdge += v.top === v.input.height - v.crop ? 1 : 0;
      seen.leftEdge += v.left === 0 ? 1 : 0;
      seen.rightEdge += v.left === v.input.width - v.crop ? 1 : 0;
    }
    for (const [k, n] of Object.entries(seen)) expect(n, k).toBeGreaterThan(0);
  });

  it('a region equals the same rows and columns of the whole map on every path', () => {
    for (const [w, h, angle] of [
      [41, 37, 7.3],
      [40, 40, 90],
      [41, 37, 180],
      [41, 37, 1e-15],
      [41, 37, 180 + 1e-14],
      [3000, 3, 0.3], // below 32768: fixed point
    ] as const) {
      const whole = rotationSourceMap(w, h, angle);
      const r = { left: Math.floor(w / 4), top: 1, width: Math.floor(w / 2), height: h - 2 };
      const part = rotationSourceMap(w, h, angle, r);
      for (let j = 0; j < r.height; j++) {
        for (let i = 0; i < r.width; i++) expect(part[j * r.width + i]).toBe(whole[(r.top + j) * w + r.left + i]);
      }
    }
  });

  it('rejects a crop or region outside the image', () => {
    expect(() => viewIndexMap(50, 40, { flip: false, angle: 0, top: 0, left: 0 }, 41)).toThrow(RangeError);
    expect(() => viewIndexMap(50, 40, { flip: false, angle: 0, top: 1, left: 0 }, 40)).toThrow(RangeError);
    expect(() => rotationSourceMap(50, 40, 3, { left: 45, top: 0, width: 6, height: 1 })).toThrow(RangeError);
  });
});
