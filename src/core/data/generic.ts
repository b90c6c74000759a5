// Any folder with a CheXpert-style CSV (a `Path` column plus label columns: NIH, MIMIC or PadChest
// exports), or an NIH ChestX-ray14 CSV (`Image Index` + `Finding Labels`, `|`-separated findings).
import { normalizeFrontalLateral, normalizeApPa, parseLabelCell } from './chexpert.ts';
import { normalizeSex } from './shenzhen.ts';
import { parseCsv, parseCsvHeader } from './csv.ts';
import { depth, dirname, isImagePath, joinPath, normalizePath, PathResolver, pickedFolderName, stem } from './paths.ts';
import type { FolderFiles, ImageMeta, ImportPlan, ImportProblem, LabelValue, Split } from './types.ts';

/** The 14 NIH ChestX-ray14 findings as written in `Finding Labels`. */
export const NIH_FINDINGS = [
  'Atelectasis',
  'Cardiomegaly',
  'Effusion',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pneumonia',
  'Pneumothorax',
  'Consolidation',
  'Edema',
  'Emphysema',
  'Fibrosis',
  'Pleural_Thickening',
  'Hernia',
] as const;

/** Lower-case column names mapped to ImageMeta fields. */
const COLUMN_ROLES: Record<string, 'path' | 'sex' | 'age' | 'frontalLateral' | 'apPa' | 'patient' | 'study' | 'split'> = {
  path: 'path',
  sex: 'sex',
  gender: 'sex',
  'patient gender': 'sex',
  'patient sex': 'sex',
  patientsex: 'sex',
  age: 'age',
  'patient age': 'age',
  patientage: 'age',
  'frontal/lateral': 'frontalLateral',
  frontal_lateral: 'frontalLateral',
  'ap/pa': 'apPa',
  ap_pa: 'apPa',
  'view position': 'apPa',
  viewposition: 'apPa',
  projection: 'apPa',
  'patient id': 'patient',
  patient_id: 'patient',
  patientid: 'patient',
  patient: 'patient',
  subject_id: 'patient',
  study: 'study',
  study_id: 'study',
  studyid: 'study',
  'study id': 'study',
  split: 'split',
};

/** Columns never taken as labels even when their values look like 0/1. */
const NOT_LABELS = new Set(['', 'unnamed: 0', 'index', 'id', 'file', 'filename', 'image index', 'finding labels', 'follow-up #']);

export type GenericCsvKind = 'path' | 'nih';

/** What a CSV header says about the CSV: a CheXpert-style or NIH CSV and its image column, or null. */
export function classifyCsvHeader(header: readonly string[]): { kind: GenericCsvKind; pathColumn: number } | null {
  const lower = header.map((h) => h.trim().toLowerCase());
  const p = lower.indexOf('path');
  if (p >= 0) return { kind: 'path', pathColumn: p };
  const ii = lower.indexOf('image index');
  if (ii >= 0 && lower.includes('finding labels')) return { kind: 'nih', pathColumn: ii };
  return null;
}

/** The split a CSV's rows belong to, from its file name (`valid`/`val`/`dev` → valid, `test` → test, else train). */
export function splitFromCsvName(csvKey: string): Split {
  const s = stem(csvKey).toLowerCase();
  if (/test/.test(s)) return 'test';
  if (/valid|(^|[^a-z])val([^a-z]|$)|(^|[^a-z])dev([^a-z]|$)|tune/.test(s)) return 'valid';
  return 'train';
}

function splitFromCell(raw: string): Split | null {
  const s = raw.trim().toLowerCase();
  if (s === 'train' || s === 'training') return 'train';
  if (s === 'valid' || s === 'val' || s === 'validation' || s === 'validate' || s === 'tune' || s === 'dev') return 'valid';
  if (s === 'test' || s === 'testing') return 'test';
  return null;
}

/** Age from `57`, `57.5`, `057Y` (older NIH CSVs); null when blank or not a number. */
export function parseGenericAge(raw: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*[yY]?$/.exec(raw.trim());
  return m ? Number(m[1]) : null;
}

function genericSex(raw: string): string | null {
  const s = raw.trim();
  if (s === '') return null;
  return normalizeSex(s) ?? s;
}

/** A CSV found in the picked folder that the generic importer can use. */
export interface GenericCsv {
  key: string;
  text: string;
  kind: GenericCsvKind;
}

/** Every CSV in the picked folder with a `Path` column (any case) or NIH's `Image Index` + `Finding Labels`. */
export async function detectGeneric(files: FolderFiles): Promise<GenericCsv[]> {
  const keys = [...files.keys()]
    .filter((k) => k.toLowerCase().endsWith('.csv'))
    .sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
  const out: GenericCsv[] = [];
  for (const key of keys) {
    const text = await files.get(key)!.text();
    const c = classifyCsvHeader(parseCsvHeader(text));
    if (c) out.push({ key, text, kind: c.kind });
  }
  return out;
}

/**
 * Plans a generic import from every usable CSV in the picked folder (see detectGeneric). Label
 * columns are those whose non-blank values are all 1/0/-1 (1.0/0.0/-1.0); NIH findings become one
 * label column each (1 listed, 0 not listed). Image keys are the file paths below the picked folder.
 */
export async function planGeneric(files: FolderFiles, csvs?: GenericCsv[]): Promise<ImportPlan> {
  const found = csvs ?? (await detectGeneric(files));
  const name = pickedFolderName(files);
  const problems: ImportProblem[] = [];
  const images: ImageMeta[] = [];
  const labelColumns: string[] = [];
  const addColumn = (c: string): void => {
    if (!labelColumns.includes(c)) labelColumns.push(c);
  };
  if (found.length === 0) {
    problems.push({ where: name || '(picked folder)', reason: 'no CSV with a Path column (or NIH Image Index + Finding Labels) found' });
  }
  const resolver = new PathResolver(files);
  const usedFiles = new Map<string, string>();
  const rootPrefix = name === '' ? '' : name + '/';

  for (const csv of found) {
    const { header, rows, errors } = parseCsv(csv.text);
    const lower = header.map((h) => h.trim().toLowerCase());
    const role = (r: string): number => lower.findIndex((h) => COLUMN_ROLES[h] === r);
    const iPath = csv.kind === 'nih' ? lower.indexOf('image index') : lower.indexOf('path');
    const iSex = role('sex');
    const iAge = role('age');
    const iFL = role('frontalLateral');
    const iAP = role('apPa');
    const iPatient = role('patient');
    const iStudy = role('study');
    const iSplit = role('split');
    const iFindings = lower.indexOf('finding labels');
    const badLines = new Map<number, string>();
    for (const e of errors) badLines.set(e.line, (badLines.has(e.line) ? badLines.get(e.line)! + '; ' : '') + e.message);
    const goodRows = rows.filter((r) => !badLines.has(r.line));

    // Label columns of this CSV.
    const labelIdx: { col: string; i: number }[] = [];
    let nihColumns: string[] = [];
    if (csv.kind === 'nih') {
      const extra = new Set<string>();
      for (const r of goodRows) {
        for (const f of splitFindings(r.fields[iFindings] ?? '')) {
          if (f !== 'No Finding' && !(NIH_FINDINGS as readonly string[]).includes(f)) extra.add(f);
        }
      }
      nihColumns = ['No Finding', ...NIH_FINDINGS, ...[...extra].sort()];
      nihColumns.forEach(addColumn);
    } else {
      header.forEach((h, i) => {
        const l = lower[i]!;
        if (COLUMN_ROLES[l] !== undefined || NOT_LABELS.has(l)) return;
        let valid = 0;
        let invalid = 0;
        let example: { v: string; line: number } | null = null;
        for (const r of goodRows) {
          const raw = r.fields[i] ?? '';
          if (raw.trim() === '') continue;
          if (parseLabelCell(raw) === undefined) {
            invalid++;
            example ??= { v: raw, line: r.line };
          } else valid++;
        }
        if (valid > 0 && invalid === 0) {
          labelIdx.push({ col: h.trim(), i });
          addColumn(h.trim());
        } else if (valid > 0 && example && invalid * 10 <= valid) {
          problems.push({
            where: csv.key,
            reason: `column "${h.trim()}" not used as labels: ${invalid} value(s) other than 1, 0, -1 or blank (e.g. ${JSON.stringify(example.v)} at line ${example.line})`,
          });
        }
      });
      if (labelIdx.length === 0) {
        problems.push({ where: csv.key, reason: 'CSV has a Path column but no label columns (values 1, 0, -1 or blank); not imported' });
        continue;
      }
    }

    const defaultSplit = splitFromCsvName(csv.key);
    for (const row of rows) {
      const where = `${csv.key}:${row.line}`;
      const bad = badLines.get(row.line);
      if (bad !== undefined) {
        problems.push({ where, reason: `malformed row: ${bad}` });
        continue;
      }
      const f = row.fields;
      const cell = (i: number): string => (i < 0 ? '' : (f[i] ?? ''));
      const path = cell(iPath).trim();
      if (path === '') {
        problems.push({ where, reason: `malformed row: the ${csv.kind === 'nih' ? 'Image Index' : 'Path'} cell is blank` });
        continue;
      }
      const file = resolver.resolve(path, csv.key);
      if (file === null) {
        problems.push({ where, reason: `image file missing: ${path}` });
        continue;
      }
      if (!isImagePath(file)) {
        problems.push({ where, reason: `not a PNG or JPEG file: ${file}` });
        continue;
      }
      const other = usedFiles.get(file);
      if (other !== undefined) {
        problems.push({ where, reason: `file ${file} is already used by ${other}` });
        continue;
      }
      usedFiles.set(file, where);

      const labels: Record<string, LabelValue> = {};
      if (csv.kind === 'nih') {
        const fs = new Set(splitFindings(cell(iFindings)));
        for (const c of nihColumns) labels[c] = fs.size === 0 ? null : fs.has(c) ? 1 : 0;
      } else {
        for (const { col, i } of labelIdx) labels[col] = parseLabelCell(cell(i)) ?? null;
      }
      let fl = normalizeFrontalLateral(cell(iFL));
      let ap = normalizeApPa(cell(iAP));
      if (ap !== null && ['L', 'LAT', 'LATERAL', 'LL', 'RL'].includes(ap)) {
        fl ??= 'Lateral';
        if (ap !== 'LL' && ap !== 'RL') ap = null;
      } else if (ap !== null && /^(AP|PA)\b/.test(ap)) {
        fl ??= 'Frontal';
      }
      const key = file.startsWith(rootPrefix) ? file.slice(rootPrefix.length) : file;
      const written = normalizePath(path);
      const studyCell = cell(iStudy).trim();
      const patientCell = cell(iPatient).trim();
      images.push({
        key,
        split: splitFromCell(cell(iSplit)) ?? defaultSplit,
        file,
        patient: patientCell === '' ? null : patientCell,
        study: studyCell !== '' ? studyCell : dirname(written) !== '' ? dirname(written) : joinPath(dirname(key), stem(key)),
        frontalLateral: fl,
        apPa: ap,
        sex: genericSex(cell(iSex)),
        age: parseGenericAge(cell(iAge)),
        labels,
      });
    }
  }
  // NIH columns first in their order, then others as found; make every image carry every column.
  for (const m of images) {
    for (const c of labelColumns) if (!(c in m.labels)) m.labels[c] = null;
  }
  return { kind: 'generic', name, labelColumns, images, problems };
}

function splitFindings(cell: string): string[] {
  return cell
    .split('|')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
