// Builds a CheXpert-format folder from the shared NIH images (no CheXpert images are available) for
// end-to-end import tests:
//
//   node bin/run-ts.js scripts/make-chexpert-folder.ts OUT_DIR
//
// writes OUT_DIR/CheXpert-v1.0-small/{train.csv,valid.csv,train/patientNNNNN/studyN/viewN_frontal.png,...}
// with CheXpert's exact header, all four label states, a lateral with blank AP/PA, a quoted field,
// one row whose image is missing, one malformed row (label `maybe`) and one truncated PNG. The NIH
// bytes are copied as they are (PNG, so paths end `.png`). A JSON summary of what an importer should
// find is printed and written to OUT_DIR/expected.json; every number in it is counted from the rows
// written here. The shared images stay outside the repository: use an OUT_DIR under
// fixtures-generated/ (git-ignored) or a temporary folder.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { csvField, parseCsv } from '../src/core/data/csv.ts';
import { CHEXPERT_HEADER, CHEXPERT_OBSERVATIONS } from '../src/core/data/types.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_SHARED_DATA = resolve(HERE, '../../shared/data');
export const DATASET_DIR = 'CheXpert-v1.0-small';

type Cell = '1.0' | '0.0' | '-1.0' | '' | 'maybe';
type State = 'positive' | 'negative' | 'uncertain' | 'unmentioned';
const STATE_OF: Record<string, State> = { '1.0': 'positive', '0.0': 'negative', '-1.0': 'uncertain', '': 'unmentioned' };

interface NihImage {
  folder: string;
  file: string;
  finding: string[];
  patientId: number;
  age: number;
  sex: 'Male' | 'Female';
  view: string;
}

interface Row {
  split: 'train' | 'valid';
  path: string;
  sex: string;
  quoteSex: boolean;
  age: string;
  fl: 'Frontal' | 'Lateral';
  apPa: string;
  labels: Cell[];
  /** Source bytes; null for the missing-file row. */
  source: Uint8Array | null;
  sourceName: string;
  role: 'image' | 'corrupt' | 'missing' | 'malformed';
}

export interface ExpectedSummary {
  outDir: string;
  datasetDir: string;
  header: string[];
  csvRows: { train: number; valid: number };
  /** Rows the planner should turn into images (the truncated PNG included: its bytes are only read when decoding). */
  planned: { total: number; train: number; valid: number; frontal: number; lateral: number };
  /** Images that should decode and import (planned minus the truncated PNG). */
  importable: number;
  /** Problems the planner should report: `where` is `<csv key relative to OUT_DIR>:<line>`. */
  planProblems: { where: string; kind: 'missing-file' | 'malformed'; path: string; column?: string; value?: string }[];
  /** Files that should fail to decode. */
  decodeProblems: { file: string; kind: 'truncated-png'; bytes: number; originalBytes: number }[];
  /** Label states over the planned rows, per observation. */
  labelCounts: Record<string, Record<State, number>>;
  /** The same over the importable rows. */
  labelCountsImportable: Record<string, Record<State, number>>;
  /** Label states seen anywhere in the planned rows. */
  statesPresent: State[];
  patients: number;
  studies: number;
  sources: string[];
}

function readNih(shared: string): NihImage[] {
  const out: NihImage[] = [];
  for (const folder of ['128px', '512px', 'full-1024px']) {
    const { header, rows } = parseCsv(readFileSync(join(shared, 'nih', folder, 'labels.csv'), 'utf8'));
    const col = (n: string): number => {
      const i = header.indexOf(n);
      if (i < 0) throw new Error(`nih/${folder}/labels.csv: no column ${n}`);
      return i;
    };
    for (const r of rows) {
      const f = (n: string): string => r.fields[col(n)] ?? '';
      out.push({
        folder,
        file: f('Image Index'),
        finding: f('Finding Labels').split('|'),
        patientId: Number(f('Patient ID')),
        age: Number(f('Patient Age')),
        sex: f('Patient Gender') === 'F' ? 'Female' : 'Male',
        view: f('View Position'),
      });
    }
  }
  return out;
}

/** Labels for one image: NIH findings mapped where CheXpert has the observation, the rest cycled so all states occur. */
function labelsFor(img: NihImage, j: number, split: 'train' | 'valid'): Cell[] {
  const cycle: Cell[] = ['', '1.0', '0.0', '-1.0'];
  const noFinding = img.finding.includes('No Finding');
  return CHEXPERT_OBSERVATIONS.map((o, k): Cell => {
    if (o === 'No Finding') return noFinding ? '1.0' : '';
    if (o === 'Cardiomegaly' && img.finding.includes('Cardiomegaly')) return '1.0';
    if (o === 'Pleural Other' && img.finding.includes('Pleural_Thickening')) return '1.0';
    let c = cycle[(j + k + Math.floor(j / 4)) % 4]!;
    if (noFinding && c === '1.0') c = '0.0';
    // CheXpert's valid.csv has no uncertain labels.
    if (split === 'valid' && c === '-1.0') c = '0.0';
    return c;
  });
}

function pad5(n: number): string {
  return String(n).padStart(5, '0');
}

export function makeChexpertFolder(outDir: string, opts: { sharedData?: string } = {}): ExpectedSummary {
  const shared = resolve(opts.sharedData ?? DEFAULT_SHARED_DATA);
  const out = resolve(outDir);
  const nih = readNih(shared);
  const bytesOf = (img: NihImage): Uint8Array => readFileSync(join(shared, 'nih', img.folder, img.file));

  // Studies: each NIH image is a study of its NIH patient, numbered in source order; NIH patient 2's
  // 1024 px image becomes the lateral view of its first study.
  const rows: Row[] = [];
  const studyCount = new Map<number, number>();
  const validPatients = new Set([27426, 13]);
  let lateralDone = false;
  nih.forEach((img, j) => {
    const split = validPatients.has(img.patientId) ? 'valid' : 'train';
    const patient = `patient${pad5(img.patientId)}`;
    let study: number;
    let view = 'view1_frontal';
    let fl: Row['fl'] = 'Frontal';
    let apPa = img.view;
    if (!lateralDone && img.patientId === 2 && img.folder === 'full-1024px') {
      study = 1;
      view = 'view2_lateral';
      fl = 'Lateral';
      apPa = '';
      lateralDone = true;
    } else {
      study = (studyCount.get(img.patientId) ?? 0) + 1;
      studyCount.set(img.patientId, study);
    }
    rows.push({
      split,
      path: `${DATASET_DIR}/${split}/${patient}/study${study}/${view}.png`,
      sex: img.sex,
      quoteSex: img.sex === 'Female',
      age: String(img.age),
      fl,
      apPa,
      labels: labelsFor(img, j, split),
      source: bytesOf(img),
      sourceName: `nih/${img.folder}/${img.file}`,
      role: 'image',
    });
  });
  const first128 = nih.find((i) => i.folder === '128px' && i.sex === 'Female') ?? nih[0]!;
  const full = bytesOf(first128);
  const truncated = full.slice(0, Math.floor(full.byteLength * 0.4));
  const extra = (n: number, role: Row['role'], source: Uint8Array | null, labels: Cell[]): Row => ({
    split: 'train',
    path: `${DATASET_DIR}/train/patient${pad5(n)}/study1/view1_frontal.png`,
    sex: 'Male',
    quoteSex: false,
    age: String(40 + (n % 50)),
    fl: 'Frontal',
    apPa: 'AP',
    labels,
    source,
    sourceName: `nih/${first128.folder}/${first128.file}`,
    role,
  });
  const plainLabels = labelsFor(first128, 7, 'train');
  rows.push(extra(90001, 'corrupt', truncated, plainLabels));
  rows.push(extra(90002, 'missing', null, labelsFor(first128, 8, 'train')));
  const bad = labelsFor(first128, 9, 'train');
  const effusion = CHEXPERT_OBSERVATIONS.indexOf('Pleural Effusion');
  bad[effusion] = 'maybe';
  rows.push(extra(90003, 'malformed', full, bad));

  // Write the folder.
  const root = join(out, DATASET_DIR);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const planProblems: ExpectedSummary['planProblems'] = [];
  const decodeProblems: ExpectedSummary['decodeProblems'] = [];
  for (const split of ['train', 'valid'] as const) {
    const mine = rows.filter((r) => r.split === split).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const lines = [CHEXPERT_HEADER.map(csvField).join(',')];
    mine.forEach((r, i) => {
      const line = i + 2;
      const sex = r.quoteSex ? `"${r.sex}"` : csvField(r.sex);
      lines.push([csvField(r.path), sex, r.age, r.fl, r.apPa, ...r.labels].join(','));
      const where = `${DATASET_DIR}/${split}.csv:${line}`;
      if (r.role === 'missing') planProblems.push({ where, kind: 'missing-file', path: r.path });
      if (r.role === 'malformed') planProblems.push({ where, kind: 'malformed', path: r.path, column: 'Pleural Effusion', value: 'maybe' });
      if (r.role === 'corrupt') {
        decodeProblems.push({ file: r.path, kind: 'truncated-png', bytes: r.source!.byteLength, originalBytes: full.byteLength });
      }
      if (r.source) {
        const p = join(out, r.path);
        mkdirSync(dirname(p), { recursive: true });
        writeFileSync(p, r.source);
      }
    });
    writeFileSync(join(root, `${split}.csv`), lines.join('\n') + '\n');
  }

  const planned = rows.filter((r) => r.role === 'image' || r.role === 'corrupt');
  const importable = rows.filter((r) => r.role === 'image');
  const count = (rs: Row[]): Record<string, Record<State, number>> => {
    const c: Record<string, Record<State, number>> = {};
    CHEXPERT_OBSERVATIONS.forEach((o, k) => {
      const s: Record<State, number> = { positive: 0, negative: 0, uncertain: 0, unmentioned: 0 };
      for (const r of rs) s[STATE_OF[r.labels[k]!]!]++;
      c[o] = s;
    });
    return c;
  };
  const labelCounts = count(planned);
  const present = new Set<State>();
  for (const r of planned) for (const l of r.labels) present.add(STATE_OF[l]!);
  const summary: ExpectedSummary = {
    outDir: out,
    datasetDir: DATASET_DIR,
    header: [...CHEXPERT_HEADER],
    csvRows: { train: rows.filter((r) => r.split === 'train').length, valid: rows.filter((r) => r.split === 'valid').length },
    planned: {
      total: planned.length,
      train: planned.filter((r) => r.split === 'train').length,
      valid: planned.filter((r) => r.split === 'valid').length,
      frontal: planned.filter((r) => r.fl === 'Frontal').length,
      lateral: planned.filter((r) => r.fl === 'Lateral').length,
    },
    importable: importable.length,
    planProblems,
    decodeProblems,
    labelCounts,
    labelCountsImportable: count(importable),
    statesPresent: (['positive', 'negative', 'uncertain', 'unmentioned'] as State[]).filter((s) => present.has(s)),
    patients: new Set(planned.map((r) => r.path.split('/')[2])).size,
    studies: new Set(planned.map((r) => r.path.split('/').slice(0, 4).join('/'))).size,
    sources: [...new Set(rows.map((r) => r.sourceName))].sort(),
  };
  writeFileSync(join(out, 'expected.json'), JSON.stringify(summary, null, 1) + '\n');
  return summary;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: node bin/run-ts.js scripts/make-chexpert-folder.ts OUT_DIR');
    process.exit(2);
  }
  const s = makeChexpertFolder(outDir);
  console.log(JSON.stringify(s, null, 1));
}
