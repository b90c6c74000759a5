import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeChexpertFolder, type ExpectedSummary } from '../../../scripts/make-chexpert-folder.ts';
import { parseCsv } from './csv.ts';
import { matchesFilter, planImport, summarizeLabels } from './plan.ts';
import { folderFiles, folderFromDisk } from './testing.ts';
import { CHEXPERT_OBSERVATIONS, type ImageMeta, type ImportPlan } from './types.ts';

const REPO = join(import.meta.dirname, '../../..');
const SHARED = join(REPO, '../shared/data');
const REAL_HEADER = readFileSync(join(SHARED, 'chexpert-format/train_csv_header.csv'), 'utf8').trimEnd();

function meta(labels: ImageMeta['labels'], fl: string | null = 'Frontal', ap: string | null = 'AP'): ImageMeta {
  return { key: 'k', split: 'train', file: 'f', patient: null, study: 's', frontalLateral: fl, apPa: ap, sex: null, age: null, labels };
}

describe('planImport detection', () => {
  it('prefers CheXpert, then Shenzhen, then generic', async () => {
    const chexpert = folderFiles({
      'mixed/train.csv': `${REAL_HEADER}\ntrain/patient00001/study1/view1_frontal.jpg,Male,50,Frontal,AP${',1.0'.repeat(14)}\n`,
      'mixed/train/patient00001/study1/view1_frontal.jpg': 'x',
      'mixed/CHNCXR_0001_0.png': 'x',
      'mixed/other.csv': 'Path,Edema\nCHNCXR_0001_0.png,1\n',
    });
    expect((await planImport(chexpert)).kind).toBe('chexpert');
    chexpert.delete('mixed/train.csv');
    expect((await planImport(chexpert)).kind).toBe('shenzhen');
    chexpert.delete('mixed/CHNCXR_0001_0.png');
    expect((await planImport(chexpert)).kind).toBe('generic');
    const g = await planImport(folderFiles({ 'g/other.csv': 'Path,Edema\na.png,1\n', 'g/a.png': 'x' }));
    expect([g.kind, g.name, g.images.length, g.labelColumns]).toEqual(['generic', 'g', 1, ['Edema']]);
  });

  it('says what it looked for when nothing fits', async () => {
    const plan = await planImport(folderFiles({ 'holiday/a.png': 'x', 'holiday/notes.txt': 'y' }));
    expect(plan.images).toEqual([]);
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0]!.reason).toMatch(/not a CheXpert folder.*\(2 files, 1 images\)/);
  });

  it('honours a forced kind and refuses demo', async () => {
    const files = folderFiles({ 's/CHNCXR_0001_1.png': 'x', 's/t.csv': 'Path,Edema\nCHNCXR_0001_1.png,1\n' });
    expect((await planImport(files)).kind).toBe('shenzhen');
    expect((await planImport(files, { kind: 'generic' })).kind).toBe('generic');
    await expect(planImport(files, { kind: 'demo' })).rejects.toThrow(/demo/);
  });

  it('plans the shared Shenzhen and NIH folders', async () => {
    const sz = await planImport(await folderFromDisk(join(SHARED, 'shenzhen/arcus-750px')));
    const labels = parseCsv(readFileSync(join(SHARED, 'shenzhen/arcus-750px/labels.csv'), 'utf8'));
    expect(sz.kind).toBe('shenzhen');
    expect(sz.images).toHaveLength(labels.rows.length);
    const nih = await planImport(await folderFromDisk(join(SHARED, 'nih/full-1024px')));
    expect([nih.kind, nih.name]).toEqual(['generic', 'full-1024px']);
    expect(nih.images).toHaveLength(parseCsv(readFileSync(join(SHARED, 'nih/full-1024px/labels.csv'), 'utf8')).rows.length);
  });
});

describe('summarizeLabels and matchesFilter', () => {
  const images = [
    meta({ Edema: 1, Effusion: 0 }),
    meta({ Edema: -1, Effusion: null }, 'Lateral', null),
    meta({ Edema: null, Effusion: 1 }, 'Frontal', 'PA'),
    meta({ Edema: 1 }, null, null),
  ];

  it('counts the four states per observation (a missing column is unmentioned)', () => {
    expect(summarizeLabels(images, ['Edema', 'Effusion', 'Other'])).toEqual([
      { observation: 'Edema', positive: 2, negative: 0, uncertain: 1, unmentioned: 1 },
      { observation: 'Effusion', positive: 1, negative: 1, uncertain: 0, unmentioned: 2 },
      { observation: 'Other', positive: 0, negative: 0, uncertain: 0, unmentioned: 4 },
    ]);
  });

  it('filters by observation, state and view', () => {
    const pick = (f: Parameters<typeof matchesFilter>[1]): number[] => images.flatMap((m, i) => (matchesFilter(m, f) ? [i] : []));
    expect(pick({})).toEqual([0, 1, 2, 3]);
    expect(pick({ observation: 'Edema' })).toEqual([0, 3]);
    expect(pick({ observation: 'Edema', state: 'uncertain' })).toEqual([1]);
    expect(pick({ observation: 'Effusion', state: 'unmentioned' })).toEqual([1, 3]);
    expect(pick({ state: 'negative' })).toEqual([0]);
    expect(pick({ view: 'lateral' })).toEqual([1]);
    expect(pick({ view: 'Frontal' })).toEqual([0, 2]);
    expect(pick({ view: 'PA' })).toEqual([2]);
    expect(pick({ view: 'unknown' })).toEqual([3]);
    expect(pick({ view: 'Frontal', observation: 'Edema' })).toEqual([0]);
  });
});

describe('end to end: make-chexpert-folder from the NIH images, then planImport', () => {
  const out = join(REPO, 'fixtures-generated/chexpert-from-nih');
  let expected: ExpectedSummary;
  beforeAll(() => {
    expected = makeChexpertFolder(out, { sharedData: SHARED });
  });

  function check(plan: ImportPlan, prefix: string): void {
    expect(plan.kind).toBe('chexpert');
    expect(plan.images).toHaveLength(expected.planned.total);
    expect(plan.images.filter((m) => m.split === 'train')).toHaveLength(expected.planned.train);
    expect(plan.images.filter((m) => m.split === 'valid')).toHaveLength(expected.planned.valid);
    expect(plan.images.filter((m) => m.frontalLateral === 'Lateral')).toHaveLength(expected.planned.lateral);
    expect(plan.images.filter((m) => m.frontalLateral === 'Lateral').every((m) => m.apPa === null)).toBe(true);
    expect(new Set(plan.images.map((m) => m.patient)).size).toBe(expected.patients);
    expect(new Set(plan.images.map((m) => m.study)).size).toBe(expected.studies);
    for (const m of plan.images) expect(m.file).toBe(prefix + m.key);
    // The truncated PNG is planned (its bytes are read only when decoding).
    for (const d of expected.decodeProblems) expect(plan.images.some((m) => m.key === d.file)).toBe(true);
    expect(plan.problems.map((p) => p.where)).toEqual(expected.planProblems.map((p) => prefix + p.where));
    for (const [p, e] of plan.problems.map((p, i) => [p, expected.planProblems[i]!] as const)) {
      if (e.kind === 'missing-file') expect(p.reason).toBe(`image file missing: ${e.path}`);
      else expect(p.reason).toContain(`column "${e.column}": ${JSON.stringify(e.value)}`);
    }
    const counts = summarizeLabels(plan.images, plan.labelColumns);
    expect(counts.map((c) => c.observation)).toEqual([...CHEXPERT_OBSERVATIONS]);
    for (const c of counts) {
      const { observation, ...states } = c;
      expect(states).toEqual(expected.labelCounts[observation]);
    }
    expect(expected.statesPresent).toEqual(['positive', 'negative', 'uncertain', 'unmentioned']);
    expect(plan.images.some((m) => m.sex === 'Female')).toBe(true);
  }

  it('writes the real header and the summary it prints', () => {
    const csv = readFileSync(join(out, 'CheXpert-v1.0-small/train.csv'), 'utf8');
    expect(csv.split('\n')[0]).toBe(REAL_HEADER);
    expect(csv).toContain(',"Female",');
    expect(JSON.parse(readFileSync(join(out, 'expected.json'), 'utf8'))).toEqual(expected);
    expect(expected.importable).toBe(expected.planned.total - expected.decodeProblems.length);
  });

  it('plans it with the parent folder picked', async () => {
    check(await planImport(await folderFromDisk(out)), 'chexpert-from-nih/');
  });

  it('plans it with the CheXpert folder itself picked', async () => {
    const plan = await planImport(await folderFromDisk(join(out, 'CheXpert-v1.0-small')));
    expect(plan.name).toBe('CheXpert-v1.0-small');
    // Keys then start with the CheXpert folder's name, as the CSV paths do.
    check(plan, '');
  });
});
