import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseShenzhenName, parseShenzhenReading, planShenzhen, readingSuggestsTb } from './shenzhen.ts';
import { folderFiles, folderFromDisk } from './testing.ts';

const SHENZHEN = join(import.meta.dirname, '../../../../shared/data/shenzhen');

describe('Shenzhen names', () => {
  it('reads id and TB label from CHNCXR_####_L', () => {
    expect(parseShenzhenName('CXR_png/CHNCXR_0001_0.png')).toEqual({ id: '0001', tb: 0 });
    expect(parseShenzhenName('CHNCXR_0352_1.png')).toEqual({ id: '0352', tb: 1 });
    expect(parseShenzhenName('chncxr_0007_1.PNG')).toEqual({ id: '0007', tb: 1 });
    expect(parseShenzhenName('CHNCXR_0001_0_mask.png')).toBe(null);
    expect(parseShenzhenName('CHNCXR_0001_2.png')).toBe(null);
    expect(parseShenzhenName('CHNCXR_0001_0.txt')).toBe(null);
  });
});

describe('Shenzhen clinical readings', () => {
  it('takes sex and age with the original regex, normalised', () => {
    expect(parseShenzhenReading('male 45yrs\nright PTB\n')).toEqual({ sex: 'Male', age: 45 });
    expect(parseShenzhenReading('female 35yrs\nnormal\n')).toEqual({ sex: 'Female', age: 35 });
    expect(parseShenzhenReading('Female,  8yr\r\n\r\nnormal')).toEqual({ sex: 'Female', age: 8 });
    expect(parseShenzhenReading('male 62 yrs\nbilateral PTB, in the upper fields')).toEqual({ sex: 'Male', age: 62 });
    expect(parseShenzhenReading('no demographics\nnormal')).toEqual({ sex: null, age: null });
  });

  it("applies the original's keyword rule, the last non-demographic line deciding", () => {
    expect(readingSuggestsTb('male 45yrs\nright PTB')).toBe(true);
    expect(readingSuggestsTb('female 35yrs\nnormal')).toBe(false);
    expect(readingSuggestsTb('male 30yrs\nleft upper STB\n\n')).toBe(true);
    expect(readingSuggestsTb('male 30yrs\nATB')).toBe(true);
    expect(readingSuggestsTb('female 52yrs\n pleuritis')).toBe(true);
    // A TB reading with none of the keywords reads as negative, as in the original.
    expect(readingSuggestsTb('male 40yrs\nsecondary tuberculosis')).toBe(false);
    // The last line decides.
    expect(readingSuggestsTb('male 40yrs\nright PTB\nnormal')).toBe(false);
    expect(readingSuggestsTb('male 40yrs\nnormal\nPTB in the left lower field')).toBe(true);
    expect(readingSuggestsTb('')).toBe(false);
  });
});

describe('planShenzhen', () => {
  it('reads the original layout with readings; the label comes from the file name', async () => {
    const files = folderFiles({
      'ChinaSet_AllFiles/CXR_png/CHNCXR_0001_0.png': 'a',
      'ChinaSet_AllFiles/CXR_png/CHNCXR_0327_1.png': 'b',
      'ChinaSet_AllFiles/CXR_png/CHNCXR_0328_1.png': 'c',
      'ChinaSet_AllFiles/CXR_png/Thumbs.db': 'x',
      'ChinaSet_AllFiles/ClinicalReadings/CHNCXR_0001_0.txt': 'female 35yrs\nnormal\n',
      'ChinaSet_AllFiles/ClinicalReadings/CHNCXR_0327_1.txt': 'male 45yrs\nright PTB\n',
      // The reading says normal but the file name says TB: the file name wins.
      'ChinaSet_AllFiles/ClinicalReadings/CHNCXR_0328_1.txt': 'male 20yrs\nnormal\n',
      'ChinaSet_AllFiles/NLM-ChinaCXRSet-ReadMe.docx': 'x',
    });
    const plan = await planShenzhen(files);
    expect(plan.kind).toBe('shenzhen');
    expect(plan.name).toBe('ChinaSet_AllFiles');
    expect(plan.labelColumns).toEqual(['No Finding', 'Tuberculosis']);
    expect(plan.problems).toEqual([]);
    expect(plan.images.map((m) => [m.key, m.patient, m.sex, m.age, m.labels['Tuberculosis'], m.labels['No Finding']])).toEqual([
      ['CHNCXR_0001_0.png', '0001', 'Female', 35, 0, 1],
      ['CHNCXR_0327_1.png', '0327', 'Male', 45, 1, 0],
      ['CHNCXR_0328_1.png', '0328', 'Male', 20, 1, 0],
    ]);
    const a = plan.images[1]!;
    expect(a.file).toBe('ChinaSet_AllFiles/CXR_png/CHNCXR_0327_1.png');
    expect(a.reading).toBe('male 45yrs\nright PTB');
    expect(a.split).toBe('train');
    expect(a.study).toBe('CHNCXR_0327_1');
    expect(readingSuggestsTb(plan.images[2]!.reading!)).toBe(false);
  });

  it('reads a flat folder of CHNCXR_*.png without readings', async () => {
    const plan = await planShenzhen(folderFiles({ 'flat/CHNCXR_0002_0.png': 'a', 'flat/CHNCXR_0500_1.png': 'b' }));
    expect(plan.problems).toEqual([]);
    expect(plan.images.map((m) => [m.file, m.labels['Tuberculosis'], m.sex, m.age, m.reading])).toEqual([
      ['flat/CHNCXR_0002_0.png', 0, null, null, undefined],
      ['flat/CHNCXR_0500_1.png', 1, null, null, undefined],
    ]);
  });

  it('plans the shared arcus folder (images/ + lungmasks/): every image once, masks left out', async () => {
    const dir = join(SHENZHEN, 'arcus-750px');
    const onDisk = readdirSync(join(dir, 'images')).filter((f) => /^CHNCXR_\d{4}_[01]\.png$/.test(f));
    const plan = await planShenzhen(await folderFromDisk(dir));
    expect(plan.name).toBe('arcus-750px');
    expect(plan.problems).toEqual([]);
    expect(plan.images.map((m) => m.file).sort()).toEqual(onDisk.map((f) => `arcus-750px/images/${f}`).sort());
    for (const m of plan.images) expect(m.labels['Tuberculosis']).toBe(parseShenzhenName(m.file)!.tb);
  });

  it('plans the shared pegasus folder (train_images/ + test_images/), one per id', async () => {
    const dir = join(SHENZHEN, 'pegasus-256-512px');
    const names = ['train_images', 'test_images'].flatMap((d) => readdirSync(join(dir, d)).filter((f) => /^CHNCXR_\d{4}_[01]\.png$/.test(f)));
    const ids = new Set(names.map((f) => f.slice(7, 11)));
    const plan = await planShenzhen(await folderFromDisk(dir));
    expect(plan.images).toHaveLength(ids.size);
    const tb = names.filter((f) => f.endsWith('_1.png')).length;
    expect(plan.images.filter((m) => m.labels['Tuberculosis'] === 1)).toHaveLength(tb);
    expect(plan.images.filter((m) => m.labels['Tuberculosis'] === 0)).toHaveLength(ids.size - tb);
  });

  it('plans the whole shared shenzhen folder: ids in both sets kept once, the larger file, each duplicate noted', async () => {
    const all = (await folderFromDisk(SHENZHEN)).keys();
    const byId = new Map<string, string[]>();
    for (const k of all) {
      const m = parseShenzhenName(k);
      if (m) byId.set(m.id, [...(byId.get(m.id) ?? []), k]);
    }
    const dupes = [...byId.values()].reduce((s, l) => s + l.length - 1, 0);
    expect(dupes).toBeGreaterThan(0);
    const plan = await planShenzhen(await folderFromDisk(SHENZHEN));
    expect(plan.images).toHaveLength(byId.size);
    expect(plan.problems.filter((p) => p.reason.startsWith('duplicate of image'))).toHaveLength(dupes);
    const sizes = new Map([...(await folderFromDisk(SHENZHEN))].map(([k, f]) => [k, f.size]));
    for (const m of plan.images) {
      const biggest = Math.max(...byId.get(m.patient!)!.map((k) => sizes.get(k)!));
      expect(sizes.get(m.file)).toBe(biggest);
    }
  });

  it('de-duplicates the same id found twice (two folders, two sizes), keeping the larger file', async () => {
    const files = folderFiles({
      'shenzhen/small/CHNCXR_0001_0.png': 'small',
      'shenzhen/big/CHNCXR_0001_0.png': 'the bigger one',
      'shenzhen/big/CHNCXR_0002_0.png': 'x',
      'shenzhen/other/CHNCXR_0002_1.png': 'conflicting label',
    });
    const plan = await planShenzhen(files);
    expect(plan.images.map((m) => m.file)).toEqual(['shenzhen/big/CHNCXR_0001_0.png', 'shenzhen/other/CHNCXR_0002_1.png']);
    expect(plan.problems).toEqual([
      { where: 'shenzhen/small/CHNCXR_0001_0.png', reason: 'duplicate of image 0001 (kept shenzhen/big/CHNCXR_0001_0.png)' },
      { where: 'shenzhen/big/CHNCXR_0002_0.png', reason: 'image 0002 also named with label 1 in shenzhen/other/CHNCXR_0002_1.png; kept that one (labels disagree)' },
    ]);
  });

  it('prefers the copy in CXR_png', async () => {
    const plan = await planShenzhen(
      folderFiles({ 's/CXR_png/CHNCXR_0001_0.png': 'a', 's/resized/CHNCXR_0001_0.png': 'much bigger file' }),
    );
    expect(plan.images.map((m) => m.file)).toEqual(['s/CXR_png/CHNCXR_0001_0.png']);
    expect(plan.problems).toHaveLength(1);
  });
});
