// CheXpert label-fraction draws against reorganize_files.py's loop run by CPython
// (scripts/fixtures/python_splits.py): row for row on a CSV read by the app's own importer, and by
// digest on a full-size (223,414-row) synthetic train.csv; plus the patient-level option.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chexpertPatient, planChexpert } from '../data/chexpert.ts';
import { folderFiles } from '../data/testing.ts';
import { CHEXPERT_FRACTIONS, chexpertDrawName, chexpertLabelFractions, type ChexpertSplits } from './chexpert.ts';
import type { SplitRow } from './types.ts';
import { splitsFixture, splitsFixtureDir } from './fixtures.testutil.ts';

interface PatientRef {
  validation: number[];
  draws: Record<string, number[]>;
}
interface SmallRef {
  rows: number;
  image: Record<string, number[]>;
  patient: PatientRef;
  patient_val: PatientRef;
}
interface DigestRef {
  size: number;
  sha256: string;
  head?: number[];
}
interface FullRef {
  rows: number;
  image: Record<string, DigestRef>;
  patient: Record<string, DigestRef>;
  patient_validation: DigestRef;
}

const byName = (s: ChexpertSplits) => Object.fromEntries(s.draws.map((d) => [d.name, d.rows]));
const sha = (idx: number[]) => createHash('sha256').update(idx.join(',')).digest('hex');

/** Every patient is wholly inside or wholly outside each subset, and none is in validation and a subset. */
function expectWholePatients(rows: readonly SplitRow[], s: ChexpertSplits): void {
  const rowsOf = new Map<string, number[]>();
  rows.forEach((r, i) => rowsOf.set(r.patient!, [...(rowsOf.get(r.patient!) ?? []), i]));
  const inVal = new Set(s.validation.map((i) => rows[i]!.patient));
  for (const d of s.draws) {
    const set = new Set(d.rows);
    for (const i of d.rows) {
      const p = rows[i]!.patient!;
      expect(inVal.has(p), `${p} in validation and ${d.name}`).toBe(false);
      for (const j of rowsOf.get(p)!) if (!set.has(j)) expect.fail(`${d.name} holds part of ${p}`);
    }
  }
}

async function importedTrainRows(): Promise<SplitRow[]> {
  const dir = join(splitsFixtureDir(), 'chexpert_small');
  const csv = readFileSync(join(dir, 'CheXpert-v1.0-small/train.csv'), 'utf8');
  const entries: Record<string, string> = { 'picked/CheXpert-v1.0-small/train.csv': csv };
  for (const line of csv.trimEnd().split('\n').slice(1)) entries[`picked/${line.split(',')[0]}`] = 'jpeg';
  const plan = await planChexpert(folderFiles(entries));
  expect(plan.problems).toEqual([]);
  return plan.images.filter((m) => m.split === 'train');
}

describe('CheXpert draws = reorganize_files.py chexpert_random', () => {
  const small = splitsFixture<SmallRef>('chexpert_small.json');

  it('row for row on a train.csv read by the importer (ImageMeta rows)', async () => {
    const rows = await importedTrainRows();
    expect(rows.length).toBe(small.rows);
    const s = chexpertLabelFractions(rows);
    expect(s.draws.map((d) => d.name)).toEqual(Object.keys(small.image)); // names and loop order
    expect(byName(s)).toEqual(small.image);
    expect(s.validation).toEqual([]);
  });

  it('patient level, with and without a validation hold-out, = the Python rendering; whole patients only', async () => {
    const rows = await importedTrainRows();
    const p = chexpertLabelFractions(rows, { unit: 'patient' });
    expect(byName(p)).toEqual(small.patient.draws);
    expect(p.validation).toEqual([]);
    const v = chexpertLabelFractions(rows, { unit: 'patient', seed: 7, validationFraction: 0.1 });
    expect(byName(v)).toEqual(small.patient_val.draws);
    expect(v.validation).toEqual(small.patient_val.validation);
    expect(v.validation.length).toBeGreaterThan(0);
    expectWholePatients(rows, p);
    expectWholePatients(rows, v);
  });

  it('full size: all 21 draws on 223,414 rows equal CPython by digest; sizes as the reference expects', () => {
    const full = splitsFixture<FullRef>('chexpert_full.json');
    const paths = readFileSync(join(splitsFixtureDir(), 'chexpert_full_paths.txt'), 'utf8').trimEnd().split('\n');
    expect(paths.length).toBe(223_414);
    const rows: SplitRow[] = paths.map((p) => ({ key: p, patient: chexpertPatient(p), study: p.slice(0, p.lastIndexOf('/')) }));
    const s = chexpertLabelFractions(rows);
    expect(s.draws.map((d) => d.name)).toEqual(Object.keys(full.image));
    for (const d of s.draws) {
      const ref = full.image[d.name]!;
      expect(d.rows.slice(0, 20), `${d.name} head`).toEqual(ref.head);
      expect({ size: d.rows.length, sha256: sha(d.rows) }, d.name).toEqual({ size: ref.size, sha256: ref.sha256 });
    }
    // Reference §3.12: 0.1 % ~ 223, 1 % ~ 2 234, 10 % ~ 22 341 images (binomial spread).
    for (const d of s.draws.filter((d) => d.ratio < 1)) {
      const mean = d.ratio * rows.length;
      expect(Math.abs(d.rows.length - mean)).toBeLessThan(5 * Math.sqrt(mean));
    }
    const p = chexpertLabelFractions(rows, { unit: 'patient', validationFraction: 0.1 });
    for (const d of p.draws) {
      const ref = full.patient[d.name]!;
      expect({ size: d.rows.length, sha256: sha(d.rows) }, `patient ${d.name}`).toEqual({ size: ref.size, sha256: ref.sha256 });
    }
    expect({ size: p.validation.length, sha256: sha(p.validation) }).toEqual(full.patient_validation);
  });
});

describe('options and names', () => {
  const rows: SplitRow[] = Array.from({ length: 50 }, (_, i) => ({ key: `r${i}`, patient: `p${i >> 2}`, study: `s${i >> 1}` }));

  it('names as the original writes them', () => {
    expect(CHEXPERT_FRACTIONS.flatMap((f) => Array.from({ length: f.draws }, (_, it) => chexpertDrawName(f.ratio, it)))).toContain('train_semi_0.001-it4');
    expect(chexpertDrawName(1, 0)).toBe('train');
    expect(chexpertDrawName(0.0625, 2)).toBe('train_semi_0.0625-it2');
  });

  it('a seed repeats; ratio 1 takes every row; rows without a patient are their own patient', () => {
    const a = chexpertLabelFractions(rows, { seed: 3 });
    expect(chexpertLabelFractions(rows, { seed: 3 })).toEqual(a);
    expect(chexpertLabelFractions(rows, { seed: 4 })).not.toEqual(a);
    expect(a.draws.at(-1)!.rows).toEqual(rows.map((_, i) => i));
    const loose = rows.map((r) => ({ ...r, patient: null }));
    expect(byName(chexpertLabelFractions(loose, { unit: 'patient' }))).toEqual(byName(chexpertLabelFractions(loose)));
  });

  it('refuses a validation hold-out at image level and bad fractions', () => {
    expect(() => chexpertLabelFractions(rows, { validationFraction: 0.1 })).toThrow(/patient/);
    expect(() => chexpertLabelFractions(rows, { unit: 'patient', validationFraction: 1 })).toThrow(/\[0, 1\)/);
    expect(() => chexpertLabelFractions(rows, { fractions: [{ ratio: 0, draws: 1 }] })).toThrow(/\(0, 1\]/);
    expect(() => chexpertLabelFractions(rows, { fractions: [{ ratio: 0.5, draws: 0 }] })).toThrow(/draws/);
    expect(() => chexpertLabelFractions(rows, { fractions: [] })).toThrow(/no fractions/);
  });
});
