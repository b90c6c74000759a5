import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv.ts';
import { classifyCsvHeader, NIH_FINDINGS, planGeneric, splitFromCsvName } from './generic.ts';
import { folderFiles, folderFromDisk } from './testing.ts';

const NIH = join(import.meta.dirname, '../../../../shared/data/nih');

describe('generic CSV classification', () => {
  it('recognises a Path column in any case, and NIH CSVs', () => {
    expect(classifyCsvHeader(['ID', 'PATH', 'Edema'])).toEqual({ kind: 'path', pathColumn: 1 });
    expect(classifyCsvHeader(['Image Index', 'Finding Labels', 'Patient ID'])).toEqual({ kind: 'nih', pathColumn: 0 });
    expect(classifyCsvHeader(['file', 'label', 'label_name'])).toBe(null);
  });

  it('derives the split from the CSV name', () => {
    expect(splitFromCsvName('x/train.csv')).toBe('train');
    expect(splitFromCsvName('x/labels.csv')).toBe('train');
    expect(splitFromCsvName('x/mimic_val.csv')).toBe('valid');
    expect(splitFromCsvName('x/validation.csv')).toBe('valid');
    expect(splitFromCsvName('x/test_labels.csv')).toBe('test');
    expect(splitFromCsvName('x/interval.csv')).toBe('train');
  });
});

describe('planGeneric: CheXpert-style CSV', () => {
  const csv = [
    'path,Sex,Age,ViewPosition,subject_id,Edema,Pleural Effusion,Notes,Grade,Split',
    'imgs/a.png,F,63,PA,p1,1.0,,first,2,train',
    'imgs/b.JPG,M,70,LATERAL,p1,0,-1,"second, quoted",1,',
    'imgs/c.jpeg,,,AP,p2,-1.0,1,,0,test',
    'imgs/missing.png,F,1,PA,p3,1,1,,0,',
    'imgs/d.txt,F,1,PA,p3,1,1,,0,',
  ].join('\r\n');
  const files = folderFiles({
    'mimic/export.csv': csv,
    'mimic/imgs/a.png': 'a',
    'mimic/imgs/b.JPG': 'b',
    'mimic/imgs/c.jpeg': 'c',
    'mimic/imgs/d.txt': 'd',
  });

  it('takes label columns by their values and maps the known columns', async () => {
    const plan = await planGeneric(files);
    expect(plan.kind).toBe('generic');
    expect(plan.name).toBe('mimic');
    // Grade has a 2; Notes is text; Split and subject_id are known columns.
    expect(plan.labelColumns).toEqual(['Edema', 'Pleural Effusion']);
    expect(plan.images.map((m) => [m.key, m.file, m.split, m.patient, m.sex, m.age, m.frontalLateral, m.apPa, m.labels])).toEqual([
      ['imgs/a.png', 'mimic/imgs/a.png', 'train', 'p1', 'Female', 63, 'Frontal', 'PA', { Edema: 1, 'Pleural Effusion': null }],
      ['imgs/b.JPG', 'mimic/imgs/b.JPG', 'train', 'p1', 'Male', 70, 'Lateral', null, { Edema: 0, 'Pleural Effusion': -1 }],
      ['imgs/c.jpeg', 'mimic/imgs/c.jpeg', 'test', 'p2', null, null, 'Frontal', 'AP', { Edema: -1, 'Pleural Effusion': 1 }],
    ]);
    expect(plan.images[0]!.study).toBe('imgs');
    expect(plan.problems).toEqual([
      { where: 'mimic/export.csv:5', reason: 'image file missing: imgs/missing.png' },
      { where: 'mimic/export.csv:6', reason: 'not a PNG or JPEG file: mimic/imgs/d.txt' },
    ]);
  });

  it('says why a mostly-label column was not taken as labels', async () => {
    const rows = ['Path,Edema'];
    for (let i = 0; i < 12; i++) rows.push(`x${i}.png,${i === 5 ? 'maybe' : '1.0'}`);
    const entries: Record<string, string> = { 'd/data.csv': rows.join('\n') };
    for (let i = 0; i < 12; i++) entries[`d/x${i}.png`] = 'x';
    const plan = await planGeneric(folderFiles(entries));
    expect(plan.images).toHaveLength(0);
    expect(plan.problems.map((p) => p.reason)).toEqual([
      'column "Edema" not used as labels: 1 value(s) other than 1, 0, -1 or blank (e.g. "maybe" at line 7)',
      'CSV has a Path column but no label columns (values 1, 0, -1 or blank); not imported',
    ]);
  });
});

describe('planGeneric: NIH CSVs from ../shared/data/nih', () => {
  for (const sub of ['128px', '512px', 'full-1024px']) {
    it(`turns Finding Labels into label columns (${sub})`, async () => {
      const dir = join(NIH, sub);
      const { header, rows } = parseCsv(readFileSync(join(dir, 'labels.csv'), 'utf8'));
      const col = (n: string): number => header.indexOf(n);
      const plan = await planGeneric(await folderFromDisk(dir));
      expect(plan.problems).toEqual([]);
      expect(plan.labelColumns.slice(0, 15)).toEqual(['No Finding', ...NIH_FINDINGS]);
      expect(plan.images).toHaveLength(rows.length);
      for (const r of rows) {
        const index = r.fields[col('Image Index')]!;
        const m = plan.images.find((i) => i.key === index)!;
        expect(m.file).toBe(`${sub}/${index}`);
        const findings = r.fields[col('Finding Labels')]!.split('|');
        for (const c of plan.labelColumns) expect(m.labels[c]).toBe(findings.includes(c) ? 1 : 0);
        expect(m.patient).toBe(r.fields[col('Patient ID')]);
        expect(m.age).toBe(Number(r.fields[col('Patient Age')]));
        expect(m.sex).toBe(r.fields[col('Patient Gender')] === 'F' ? 'Female' : 'Male');
        expect(m.apPa).toBe(r.fields[col('View Position')]);
        expect(m.frontalLateral).toBe('Frontal');
        expect(m.study).toBe(index.replace(/\.png$/, ''));
      }
    });
  }

  it('picks up every labels.csv when the nih folder itself is picked, each resolved next to its CSV', async () => {
    const plan = await planGeneric(await folderFromDisk(NIH));
    let expected = 0;
    for (const sub of ['128px', '512px', 'full-1024px']) {
      expected += parseCsv(readFileSync(join(NIH, sub, 'labels.csv'), 'utf8')).rows.length;
    }
    expect(plan.problems).toEqual([]);
    expect(plan.images).toHaveLength(expected);
    for (const m of plan.images) expect(m.file).toBe(`nih/${m.key}`);
    expect(new Set(plan.images.map((m) => m.key)).size).toBe(expected);
  });

  it('finds NIH images in another folder by unique file name', async () => {
    const files = folderFiles({
      'nihset/Data_Entry_2017.csv': 'Image Index,Finding Labels,Patient ID\n00000001_000.png,Cardiomegaly|Emphysema,1\n00000002_000.png,No Finding,2\n00000003_000.png,Hernia,3\n',
      'nihset/images_001/images/00000001_000.png': 'x',
      'nihset/images_001/images/00000002_000.png': 'x',
    });
    const plan = await planGeneric(files);
    expect(plan.images.map((m) => [m.file, m.labels['Cardiomegaly'], m.labels['Emphysema'], m.labels['No Finding'], m.labels['Hernia']])).toEqual([
      ['nihset/images_001/images/00000001_000.png', 1, 1, 0, 0],
      ['nihset/images_001/images/00000002_000.png', 0, 0, 1, 0],
    ]);
    expect(plan.problems).toEqual([{ where: 'nihset/Data_Entry_2017.csv:4', reason: 'image file missing: 00000003_000.png' }]);
  });
});
