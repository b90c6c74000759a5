import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chexpertPatient, detectChexpert, isChexpertHeader, parseLabelCell, planChexpert } from './chexpert.ts';
import { toCsv } from './csv.ts';
import { folderFiles } from './testing.ts';
import { CHEXPERT_OBSERVATIONS, type ImageMeta } from './types.ts';

const SHARED = join(import.meta.dirname, '../../../../shared/data');
const REAL_HEADER_LINE = readFileSync(join(SHARED, 'chexpert-format/train_csv_header.csv'), 'utf8').trimEnd();
const REAL_HEADER = REAL_HEADER_LINE.split(',');

/** A row in the real header's column order from named values (labels default to blank). */
function row(path: string, v: { sex?: string; age?: string; fl?: string; ap?: string; labels?: Record<string, string> } = {}): string[] {
  return REAL_HEADER.map((c) => {
    if (c === 'Path') return path;
    if (c === 'Sex') return v.sex ?? 'Male';
    if (c === 'Age') return v.age ?? '50';
    if (c === 'Frontal/Lateral') return v.fl ?? 'Frontal';
    if (c === 'AP/PA') return v.ap ?? 'AP';
    return v.labels?.[c] ?? '';
  });
}

const P1 = 'CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg';
const P2 = 'CheXpert-v1.0-small/train/patient00002/study2/view2_lateral.jpg';
const P3 = 'CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg';
const PV = 'CheXpert-v1.0-small/valid/patient64541/study1/view1_frontal.jpg';

function trainCsv(): string {
  return toCsv(REAL_HEADER, [
    row(P1, { sex: 'Female', age: '68', labels: { 'No Finding': '1.0', 'Support Devices': '1.0', 'Pleural Effusion': '0.0', Edema: '-1.0' } }),
    row(P2, { sex: 'Male', age: '87', fl: 'Lateral', ap: '', labels: { 'Pleural Effusion': '-1.0', Cardiomegaly: '1' } }),
    row(P3, { sex: 'Male', age: '87', fl: 'Frontal', ap: 'PA', labels: { 'Pleural Effusion': ' 1.0 ', Cardiomegaly: '0' } }),
  ]);
}

function validCsv(): string {
  return toCsv(REAL_HEADER, [row(PV, { sex: 'Unknown', age: '', labels: { 'Pleural Effusion': '1.0' } })]);
}

/** The folder's files with keys starting at `prefix` (`''` = the CheXpert folder itself was picked). */
function chexpertFiles(prefix: string, extra: Record<string, string> = {}) {
  const dir = prefix + 'CheXpert-v1.0-small/';
  return folderFiles({
    [dir + 'train.csv']: trainCsv(),
    [dir + 'valid.csv']: validCsv(),
    [prefix + P1]: 'jpeg1',
    [prefix + P2]: 'jpeg2',
    [prefix + P3]: 'jpeg3',
    [prefix + PV]: 'jpegv',
    ...extra,
  });
}

function byKey(images: ImageMeta[]): Map<string, ImageMeta> {
  return new Map(images.map((m) => [m.key, m]));
}

describe('label cells', () => {
  it('keeps the four states and tolerates integers and spaces', () => {
    expect(parseLabelCell('1.0')).toBe(1);
    expect(parseLabelCell('0.0')).toBe(0);
    expect(parseLabelCell('-1.0')).toBe(-1);
    expect(parseLabelCell('')).toBe(null);
    expect(parseLabelCell('  ')).toBe(null);
    expect(parseLabelCell('1')).toBe(1);
    expect(parseLabelCell(' 0 ')).toBe(0);
    expect(parseLabelCell('-1')).toBe(-1);
    for (const bad of ['maybe', '2.0', '0.5', 'nan', '1.0.0', 'yes', '--1']) expect(parseLabelCell(bad)).toBeUndefined();
  });
});

describe('CheXpert header', () => {
  it('matches the real header and rejects others', () => {
    expect(isChexpertHeader(REAL_HEADER)).toBe(true);
    expect(isChexpertHeader(REAL_HEADER.map((c) => (c === 'Lung Opacity' ? 'Airspace Opacity' : c)))).toBe(true);
    expect(isChexpertHeader(REAL_HEADER.slice(0, 18))).toBe(false);
    expect(isChexpertHeader([...REAL_HEADER, 'Extra'])).toBe(false);
    expect(isChexpertHeader(REAL_HEADER.map((c) => c.toLowerCase()))).toBe(false);
    // test.csv may lack the demographic columns.
    expect(isChexpertHeader(['Path', ...CHEXPERT_OBSERVATIONS], false)).toBe(true);
  });

  it('finds the patient segment', () => {
    expect(chexpertPatient(P1)).toBe('patient00001');
    expect(chexpertPatient('x/y.jpg')).toBe(null);
  });
});

describe('planChexpert', () => {
  for (const [how, prefix] of [
    ['the parent folder picked', 'picked/'],
    ['the CheXpert folder itself picked', ''],
  ] as const) {
    it(`resolves every Path with ${how}`, async () => {
      const files = chexpertFiles(prefix);
      const plan = await planChexpert(files);
      expect(plan.kind).toBe('chexpert');
      expect(plan.problems).toEqual([]);
      expect(plan.labelColumns).toEqual([...CHEXPERT_OBSERVATIONS]);
      expect(plan.images.map((m) => m.key)).toEqual([P1, P2, P3, PV]);
      for (const m of plan.images) {
        expect(m.file).toBe(prefix + m.key);
        expect(files.has(m.file)).toBe(true);
      }
      expect(plan.name).toBe(prefix === '' ? 'CheXpert-v1.0-small' : 'picked');
    });
  }

  it('keeps the row fields: split, study, patient, view, sex, age and the four label states', async () => {
    const plan = await planChexpert(chexpertFiles('picked/'));
    const m = byKey(plan.images);
    const a = m.get(P1)!;
    expect(a.split).toBe('train');
    expect(a.study).toBe('CheXpert-v1.0-small/train/patient00001/study1');
    expect(a.patient).toBe('patient00001');
    expect([a.frontalLateral, a.apPa, a.sex, a.age]).toEqual(['Frontal', 'AP', 'Female', 68]);
    expect(a.labels['No Finding']).toBe(1);
    expect(a.labels['Pleural Effusion']).toBe(0);
    expect(a.labels['Edema']).toBe(-1);
    expect(a.labels['Cardiomegaly']).toBe(null);
    expect(Object.keys(a.labels)).toEqual([...CHEXPERT_OBSERVATIONS]);
    const lat = m.get(P2)!;
    expect([lat.frontalLateral, lat.apPa]).toEqual(['Lateral', null]);
    expect(lat.labels['Cardiomegaly']).toBe(1);
    expect(lat.study).toBe(m.get(P3)!.study);
    expect(m.get(P3)!.labels['Pleural Effusion']).toBe(1);
    expect(m.get(P3)!.labels['Cardiomegaly']).toBe(0);
    const v = m.get(PV)!;
    expect([v.split, v.sex, v.age, v.patient]).toEqual(['valid', 'Unknown', null, 'patient64541']);
  });

  it('resolves when the CSVs sit next to train/ in a renamed folder', async () => {
    const files = folderFiles({
      'chexpert/train.csv': trainCsv(),
      'chexpert/valid.csv': validCsv(),
      'chexpert/train/patient00001/study1/view1_frontal.jpg': 'x',
      'chexpert/train/patient00002/study2/view2_lateral.jpg': 'x',
      'chexpert/train/patient00002/study2/view1_frontal.jpg': 'x',
      'chexpert/valid/patient64541/study1/view1_frontal.jpg': 'x',
    });
    const plan = await planChexpert(files);
    expect(plan.problems).toEqual([]);
    expect(plan.images.map((m) => m.file)).toEqual([
      'chexpert/train/patient00001/study1/view1_frontal.jpg',
      'chexpert/train/patient00002/study2/view2_lateral.jpg',
      'chexpert/train/patient00002/study2/view1_frontal.jpg',
      'chexpert/valid/patient64541/study1/view1_frontal.jpg',
    ]);
  });

  it('resolves by unique suffix when the CSVs were moved away from the images', async () => {
    const files = folderFiles({
      'top/labels/train.csv': trainCsv(),
      'top/labels/valid.csv': validCsv(),
      'top/images/CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg': 'x',
      'top/images/CheXpert-v1.0-small/train/patient00002/study2/view2_lateral.jpg': 'x',
      'top/images/CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg': 'x',
      // Same file name in another patient must not be taken for the missing valid image.
      'top/images/CheXpert-v1.0-small/valid/patient99999/study1/view1_frontal.jpg': 'x',
    });
    const plan = await planChexpert(files);
    expect(plan.images.map((m) => m.file)).toEqual([
      'top/images/CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg',
      'top/images/CheXpert-v1.0-small/train/patient00002/study2/view2_lateral.jpg',
      'top/images/CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg',
    ]);
    expect(plan.problems).toEqual([{ where: 'top/labels/valid.csv:2', reason: `image file missing: ${PV}` }]);
  });

  it('reports malformed, ragged, duplicate and missing-file rows with CSV, line and column, and goes on', async () => {
    const rows = [
      row(P1, { labels: { Edema: 'maybe' } }),
      row(P2, { age: 'old' }),
      row('CheXpert-v1.0-small/train/patient00009/study1/view1_frontal.jpg'),
      row(P3, { sex: '"quoted, sex"', labels: { Fracture: '-1.0' } }),
      row(P3),
    ];
    let text = toCsv(REAL_HEADER, rows);
    text += 'CheXpert-v1.0-small/train/patient00003/study1/view1_frontal.jpg,Male,40\n';
    const files = chexpertFiles('p/', { 'p/CheXpert-v1.0-small/train.csv': text });
    const plan = await planChexpert(files);
    expect(plan.images.map((m) => m.key)).toEqual([P3, PV]);
    expect(plan.images[0]!.sex).toBe('"quoted, sex"');
    expect(plan.images[0]!.labels['Fracture']).toBe(-1);
    const t = 'p/CheXpert-v1.0-small/train.csv';
    expect(plan.problems.map((p) => p.where)).toEqual([`${t}:2`, `${t}:3`, `${t}:4`, `${t}:6`, `${t}:7`]);
    expect(plan.problems[0]!.reason).toBe('malformed row: column "Edema": "maybe" is not 1.0, 0.0, -1.0 or blank');
    expect(plan.problems[1]!.reason).toMatch(/column "Age": "old"/);
    expect(plan.problems[2]!.reason).toMatch(/image file missing: .*patient00009/);
    expect(plan.problems[3]!.reason).toMatch(/duplicate Path/);
    expect(plan.problems[4]!.reason).toMatch(/malformed row: ragged row: 3 fields where the header has 19/);
  });

  it('reads an optional test.csv and skips other files and non-images', async () => {
    const test = toCsv(['Path', ...CHEXPERT_OBSERVATIONS], [['CheXpert-v1.0-small/test/patient70000/study1/view1_frontal.jpg', ...CHEXPERT_OBSERVATIONS.map(() => '0')]]);
    const files = chexpertFiles('', {
      'CheXpert-v1.0-small/test.csv': test,
      'CheXpert-v1.0-small/test/patient70000/study1/view1_frontal.jpg': 'x',
      'CheXpert-v1.0-small/README.txt': 'x',
    });
    const layout = await detectChexpert(files);
    expect(layout!.csvs.map((c) => c.split)).toEqual(['train', 'valid', 'test']);
    const plan = await planChexpert(files, layout);
    const t = plan.images.find((m) => m.split === 'test')!;
    expect([t.sex, t.age, t.frontalLateral]).toEqual([null, null, null]);
    expect(Object.values(t.labels).every((v) => v === 0)).toBe(true);
  });

  it('is not detected without the real header', async () => {
    const files = folderFiles({ 'x/train.csv': 'Path,Label\na.png,1\n', 'x/a.png': 'x' });
    expect(await detectChexpert(files)).toBe(null);
  });
});
