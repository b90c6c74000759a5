import { createHash } from 'node:crypto';
import { unzlibSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { CHEXPERT_OBSERVATIONS, type LabelValue } from '../types.ts';
import {
  DEMO_DATASET_NAME,
  createRng,
  demoDataset,
  encodeGreyPng,
  generateDemoImages,
  normalPhantom,
  planDemoCases,
  renderPhantom,
} from './index.ts';
import { auroc, basalOpacity, heartWidth, lateralBlunting, zoneMean } from './measure.ts';

function hashDataset(seed: number, count: number, size: number): string {
  const h = createHash('sha256');
  const ds = demoDataset({ seed, count, size });
  for (const item of ds.items) {
    h.update(JSON.stringify(item.meta));
    h.update(item.pixels);
  }
  return h.digest('hex');
}

describe('prng', () => {
  it('is reproducible per seed and differs between seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xa = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(xa);
    expect(Array.from({ length: 8 }, () => c.u32())).not.toEqual(xa);
  });
  it('has sane helpers', () => {
    const r = createRng(7);
    const n = 20000;
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    let hits = 0;
    const ints = new Set<number>();
    for (let i = 0; i < n; i++) {
      const u = r.next();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      su += u;
      const z = r.normal(2, 3);
      sn += z;
      sn2 += z * z;
      if (r.bernoulli(0.3)) hits++;
      const k = r.int(-2, 2);
      expect(Number.isInteger(k) && k >= -2 && k <= 2).toBe(true);
      ints.add(k);
    }
    expect(su / n).toBeCloseTo(0.5, 1);
    const mean = sn / n;
    expect(mean).toBeCloseTo(2, 0);
    expect(Math.sqrt(sn2 / n - mean * mean)).toBeCloseTo(3, 0);
    expect(hits / n).toBeCloseTo(0.3, 1);
    expect([...ints].sort()).toEqual([-1, -2, 0, 1, 2]);
  });
});

describe('demo dataset', () => {
  it('is named as synthetic', () => {
    expect(DEMO_DATASET_NAME).toMatch(/synthetic/i);
    expect(DEMO_DATASET_NAME).toMatch(/not real patients/i);
    expect(demoDataset({ seed: 1, count: 3 }).name).toBe(DEMO_DATASET_NAME);
  });

  it('is deterministic: the same seed gives identical pixels and labels, another seed differs', () => {
    const a = hashDataset(11, 40, 64);
    expect(hashDataset(11, 40, 64)).toBe(a);
    expect(hashDataset(12, 40, 64)).not.toBe(a);
  });

  it('renders the same image whatever came before it', () => {
    const ds = demoDataset({ seed: 5, count: 6, size: 64 });
    const all = [...ds.items];
    const last = ds.cases[5]!;
    expect(Buffer.from(ds.render(last).pixels).equals(Buffer.from(all[5]!.pixels))).toBe(true);
  });

  it('labels all 14 CheXpert columns with the four states; valid/test have no uncertain or blank', () => {
    const cases = planDemoCases({ seed: 3, count: 800 });
    expect(cases).toHaveLength(800);
    const seen = { train: new Set<LabelValue>(), valid: new Set<LabelValue>(), test: new Set<LabelValue>() };
    for (const c of cases) {
      expect(Object.keys(c.meta.labels)).toEqual([...CHEXPERT_OBSERVATIONS]);
      for (const v of Object.values(c.meta.labels)) seen[c.meta.split].add(v);
      const pathology = CHEXPERT_OBSERVATIONS.filter((o) => o !== 'No Finding' && o !== 'Support Devices');
      const anything = pathology.some((o) => c.meta.labels[o] === 1 || c.meta.labels[o] === -1);
      if (c.meta.split === 'train') expect(c.meta.labels['No Finding']).toBe(anything ? null : 1);
      else expect(c.meta.labels['No Finding']).toBe(anything ? 0 : 1);
    }
    expect([...seen.train].sort()).toEqual([-1, 0, 1, null].sort());
    for (const s of ['valid', 'test'] as const) {
      expect(seen[s].has(-1)).toBe(false);
      expect(seen[s].has(null)).toBe(false);
      expect(seen[s].has(1) && seen[s].has(0)).toBe(true);
    }
  });

  it('uses CheXpert-style paths, ids and demographics', () => {
    const cases = planDemoCases({ seed: 4, count: 120 });
    for (const { meta } of cases) {
      expect(meta.key).toMatch(/^demo\/(train|valid|test)\/patient\d{5}\/study\d\/view1_frontal\.png$/);
      expect(meta.file).toBe(meta.key);
      expect(meta.key.startsWith(`demo/${meta.split}/${meta.patient}/`)).toBe(true);
      expect(meta.study).toBe(meta.key.slice(0, meta.key.lastIndexOf('/')));
      expect(meta.frontalLateral).toBe('Frontal');
      expect(['AP', 'PA']).toContain(meta.apPa);
      expect(['Male', 'Female']).toContain(meta.sex);
      expect(meta.age).toBeGreaterThanOrEqual(18);
      expect(meta.age).toBeLessThanOrEqual(90);
    }
    const perPatient = new Map<string, number>();
    for (const { meta } of cases) perPatient.set(meta.patient!, (perPatient.get(meta.patient!) ?? 0) + 1);
    expect(Math.max(...perPatient.values())).toBeLessThanOrEqual(3);
    expect([...perPatient.values()].some((n) => n > 1)).toBe(true);
  });

  it('splits by patient with the requested fractions', () => {
    const cases = planDemoCases({ seed: 9, count: 1000, validFraction: 0.15, testFraction: 0.1 });
    const splitOf = new Map<string, string>();
    const n = { train: 0, valid: 0, test: 0 };
    for (const { meta } of cases) {
      const s = splitOf.get(meta.patient!);
      if (s !== undefined) expect(s).toBe(meta.split);
      splitOf.set(meta.patient!, meta.split);
      n[meta.split]++;
    }
    expect(Math.abs(n.valid - 150)).toBeLessThanOrEqual(2);
    expect(Math.abs(n.test - 100)).toBeLessThanOrEqual(2);
    expect(n.train + n.valid + n.test).toBe(1000);
  });

  it('has CheXpert-like prevalences, and older patients have more cardiomegaly', () => {
    const cases = planDemoCases({ seed: 10, count: 3000 });
    const rate = (col: string) => cases.filter((c) => c.meta.labels[col] === 1 || c.meta.labels[col] === -1).length / cases.length;
    expect(rate('Pleural Effusion')).toBeGreaterThan(0.28);
    expect(rate('Pleural Effusion')).toBeLessThan(0.45);
    expect(rate('Cardiomegaly')).toBeGreaterThan(0.1);
    expect(rate('Cardiomegaly')).toBeLessThan(0.25);
    expect(rate('Support Devices')).toBeGreaterThan(0.25);
    for (const col of CHEXPERT_OBSERVATIONS) expect(rate(col), col).toBeGreaterThan(0.01);
    const ages = (v: boolean) => {
      const a = cases.filter((c) => (c.truth.grades['Cardiomegaly']! > 0) === v).map((c) => c.meta.age!);
      return a.reduce((s, x) => s + x, 0) / a.length;
    };
    expect(ages(true) - ages(false)).toBeGreaterThan(4);
  });

  it('shows its findings in the pixels: effusion blunts the bases, cardiomegaly widens the heart', () => {
    const size = 128;
    const ds = demoDataset({ seed: 21, count: 320, size });
    const eff = { pos: [] as number[], neg: [] as number[], basalPos: [] as number[], basalNeg: [] as number[], gPos: [] as number[], gNeg: [] as number[] };
    const cm = { pos: [] as number[], neg: [] as number[] };
    for (const c of ds.cases) {
      const e = c.meta.labels['Pleural Effusion'];
      const noEff = c.truth.grades['Pleural Effusion'] === 0;
      const k = c.meta.labels['Cardiomegaly'];
      const noCm = c.truth.grades['Cardiomegaly'] === 0;
      const isPA = c.meta.apPa === 'PA';
      if (!(e === 1 || noEff || (isPA && (k === 1 || noCm)))) continue;
      const px = ds.render(c).pixels;
      if (e === 1 || noEff) {
        // Within-image differences: exposure cancels out.
        const b = lateralBlunting(px, size, 0.55, 0.7);
        const z = basalOpacity(px, size, 0.55, 0.7);
        (e === 1 ? eff.pos : eff.neg).push(Math.max(b[0] + z[0], b[1] + z[1]));
        (e === 1 ? eff.basalPos : eff.basalNeg).push(Math.max(...z));
        (e === 1 ? eff.gPos : eff.gNeg).push(zoneMean(px, size, 0, 1, 0, 1));
      }
      if (isPA && (k === 1 || noCm)) (k === 1 ? cm.pos : cm.neg).push(heartWidth(px, size));
    }
    const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    expect(eff.pos.length).toBeGreaterThan(40);
    // The lower lateral zone (relative to the same lung's mid zone) is brighter with an effusion ...
    expect(mean(eff.basalPos) - mean(eff.basalNeg)).toBeGreaterThan(8);
    const local = auroc(eff.pos, eff.neg);
    const global = auroc(eff.gPos, eff.gNeg);
    expect(local).toBeGreaterThan(0.75);
    // ... but a single global statistic does not give it away.
    expect(global).toBeLessThan(0.7);
    expect(local - global).toBeGreaterThan(0.1);
    // The measured heart is wider when cardiomegaly is labelled (PA views, no AP magnification).
    expect(cm.pos.length).toBeGreaterThan(5);
    expect(mean(cm.pos) - mean(cm.neg)).toBeGreaterThan(0.04);
    expect(auroc(cm.pos, cm.neg)).toBeGreaterThan(0.85);
  });

  it('generates 200 images at 128 px with progress', () => {
    let calls = 0;
    let last = 0;
    const items = generateDemoImages({ seed: 2, count: 200, size: 128 }, { onProgress: (d, t) => ((calls += 1), (last = d), expect(t).toBe(200)) });
    expect(items).toHaveLength(200);
    expect(calls).toBe(200);
    expect(last).toBe(200);
    for (const it of items) {
      expect(it.width).toBe(128);
      expect(it.height).toBe(128);
      expect(it.pixels).toHaveLength(128 * 128);
    }
  });

  it('stops when aborted', () => {
    const ctl = new AbortController();
    expect(() =>
      generateDemoImages({ seed: 2, count: 50, size: 32 }, { signal: ctl.signal, onProgress: (d) => d === 3 && ctl.abort(new Error('stop')) }),
    ).toThrow('stop');
  });
});

describe('phantom', () => {
  it('looks like a chest radiograph: dark lungs, bright mediastinum and abdomen, dark outside', () => {
    const size = 160;
    const px = renderPhantom(normalPhantom(3), size);
    expect(px).toHaveLength(size * size);
    const lungR = zoneMean(px, size, 0.2, 0.3, 0.3, 0.5);
    const lungL = zoneMean(px, size, 0.7, 0.8, 0.3, 0.5);
    const mediastinum = zoneMean(px, size, 0.47, 0.53, 0.3, 0.5);
    const heart = zoneMean(px, size, 0.5, 0.6, 0.58, 0.66);
    const abdomen = zoneMean(px, size, 0.3, 0.7, 0.86, 0.95);
    expect(lungR).toBeLessThan(110);
    expect(lungL).toBeLessThan(110);
    expect(mediastinum - Math.max(lungR, lungL)).toBeGreaterThan(60);
    expect(heart - Math.max(lungR, lungL)).toBeGreaterThan(60);
    expect(abdomen).toBeGreaterThan(170);
  });

  it('rejects silly sizes', () => {
    expect(() => renderPhantom(normalPhantom(), 8)).toThrow();
    expect(() => renderPhantom(normalPhantom(), 10.5)).toThrow();
  });
});

describe('png encoder', () => {
  it('writes a valid 8-bit grey PNG', () => {
    const w = 5;
    const h = 3;
    const pixels = Uint8Array.from({ length: w * h }, (_, i) => i * 17);
    const png = encodeGreyPng(pixels, w, h);
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const dv = new DataView(png.buffer, png.byteOffset);
    expect(dv.getUint32(16)).toBe(w);
    expect(dv.getUint32(20)).toBe(h);
    expect(png[24]).toBe(8);
    expect(png[25]).toBe(0);
    const idatLen = dv.getUint32(33);
    expect(String.fromCharCode(...png.subarray(37, 41))).toBe('IDAT');
    const raw = unzlibSync(png.subarray(41, 41 + idatLen));
    for (let y = 0; y < h; y++) {
      expect(raw[y * (w + 1)]).toBe(0);
      expect(Array.from(raw.subarray(y * (w + 1) + 1, (y + 1) * (w + 1)))).toEqual(Array.from(pixels.subarray(y * w, (y + 1) * w)));
    }
    expect(String.fromCharCode(...png.subarray(png.length - 8, png.length - 4))).toBe('IEND');
  });
});
