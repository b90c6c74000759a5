// CheXpert folders (CheXpert-v1.0 or -v1.0-small): train.csv, valid.csv, optional test.csv and the
// image tree. Labels are kept as the four states found in the CSV; no uncertainty policy here.
import { parseCsvHeader, scanCsv } from './csv.ts';
import { basename, depth, dirname, isImagePath, normalizePath, PathResolver, pickedFolderName } from './paths.ts';
import {
  CHEXPERT_HEADER,
  CHEXPERT_OBSERVATIONS,
  type FolderFiles,
  type ImageMeta,
  type ImportPlan,
  type ImportProblem,
  type LabelValue,
  type Split,
} from './types.ts';

/** CSV file name (lower case) per split. */
export const CHEXPERT_CSV_NAMES: Record<Split, string> = {
  train: 'train.csv',
  valid: 'valid.csv',
  test: 'test.csv',
};

/** Column names accepted in place of the CheXpert ones (MoCo-CXR's code renames Lung Opacity). */
export const CHEXPERT_COLUMN_ALIASES: Record<string, string> = {
  'Airspace Opacity': 'Lung Opacity',
};

const LABEL_RE = /^([+-]?)([01])(?:\.0*)?$/;

/**
 * A label cell as one of the four states: `1.0` → 1, `0.0` → 0, `-1.0` → -1, blank → null
 * (`1`, `0`, `-1` and surrounding spaces tolerated). Anything else → undefined (malformed).
 */
export function parseLabelCell(raw: string): LabelValue | undefined {
  switch (raw) {
    case '1.0':
      return 1;
    case '0.0':
      return 0;
    case '-1.0':
      return -1;
    case '':
      return null;
  }
  const s = raw.trim();
  if (s === '') return null;
  const m = LABEL_RE.exec(s);
  if (!m) return undefined;
  if (m[2] === '0') return 0;
  return m[1] === '-' ? -1 : 1;
}

/** Age cell: a non-negative number, null when blank, undefined when malformed. */
export function parseAgeCell(raw: string): number | null | undefined {
  const s = raw.trim();
  if (s === '') return null;
  const v = Number(s);
  return Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** `Frontal` / `Lateral` with CheXpert's capitalisation when recognised; other text kept. */
export function normalizeFrontalLateral(raw: string): string | null {
  const s = raw.trim();
  if (s === '') return null;
  const l = s.toLowerCase();
  if (l === 'frontal') return 'Frontal';
  if (l === 'lateral') return 'Lateral';
  return s;
}

/** `AP`, `PA`, `LL`, `RL`... upper-cased; blank → null. */
export function normalizeApPa(raw: string): string | null {
  const s = raw.trim();
  return s === '' ? null : s.toUpperCase();
}

/** `patient00001` from a CheXpert path, or null. */
export function chexpertPatient(path: string): string | null {
  return PATIENT_RE.exec(normalizePath(path))?.[1] ?? null;
}

const PATIENT_RE = /(?:^|\/)(patient\d+)(?=\/|$)/i;

/** The header's columns mapped to CheXpert names (aliases applied, spaces trimmed). */
function canonicalColumns(header: readonly string[]): string[] {
  return header.map((h) => {
    const t = h.trim();
    return CHEXPERT_COLUMN_ALIASES[t] ?? t;
  });
}

/**
 * Whether a header is CheXpert's: every one of the 19 columns, exact names (after trimming; the
 * `Airspace Opacity` alias allowed), any order, nothing else except with `requireAll` false, where
 * only `Path` and the 14 observations are needed (a test.csv may lack the demographic columns).
 */
export function isChexpertHeader(header: readonly string[], requireAll = true): boolean {
  const cols = canonicalColumns(header);
  const set = new Set(cols);
  if (set.size !== cols.length) return false;
  const needed: readonly string[] = requireAll ? CHEXPERT_HEADER : ['Path', ...CHEXPERT_OBSERVATIONS];
  if (!needed.every((c) => set.has(c))) return false;
  const known = new Set<string>(CHEXPERT_HEADER);
  return cols.every((c) => known.has(c));
}

/** The CSVs of a CheXpert folder found in a picked folder. */
export interface ChexpertLayout {
  /** The folder holding the CSVs (FolderFiles key prefix, may be `''`). */
  dir: string;
  csvs: { split: Split; key: string; text: string }[];
  /** CheXpert CSVs elsewhere in the picked folder that were not used. */
  ignored: string[];
}

/**
 * Finds the folder with CheXpert's train.csv and/or valid.csv (header checked), preferring the
 * shallowest and the one with most CSVs. Reads only the CSV files named like CheXpert's.
 */
export async function detectChexpert(files: FolderFiles): Promise<ChexpertLayout | null> {
  const byDir = new Map<string, { split: Split; key: string }[]>();
  for (const key of files.keys()) {
    const name = basename(key).toLowerCase();
    const split = (Object.keys(CHEXPERT_CSV_NAMES) as Split[]).find((s) => CHEXPERT_CSV_NAMES[s] === name);
    if (!split) continue;
    const dir = dirname(key);
    let list = byDir.get(dir);
    if (!list) byDir.set(dir, (list = []));
    list.push({ split, key });
  }
  const dirs = [...byDir.keys()].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
  const found: ChexpertLayout[] = [];
  for (const dir of dirs) {
    const csvs: ChexpertLayout['csvs'] = [];
    let hasMain = false;
    for (const { split, key } of byDir.get(dir)!) {
      const text = await files.get(key)!.text();
      const header = parseCsvHeader(text);
      if (split !== 'test' && isChexpertHeader(header)) {
        hasMain = true;
        csvs.push({ split, key, text });
      } else if (split === 'test' && isChexpertHeader(header, false)) {
        csvs.push({ split, key, text });
      }
    }
    if (hasMain) {
      const order: Split[] = ['train', 'valid', 'test'];
      csvs.sort((a, b) => order.indexOf(a.split) - order.indexOf(b.split));
      found.push({ dir, csvs, ignored: [] });
    }
  }
  if (found.length === 0) return null;
  // Shallowest first (sorted above); among equally deep folders the one with most CSVs.
  const best = found.reduce((a, b) => (depth(b.dir) < depth(a.dir) || (depth(b.dir) === depth(a.dir) && b.csvs.length > a.csvs.length) ? b : a));
  best.ignored = found.filter((f) => f !== best).flatMap((f) => f.csvs.map((c) => c.key));
  return best;
}

function cell(f: string[], i: number): string {
  return i < 0 ? '' : (f[i] ?? '');
}

/**
 * Plans a CheXpert import: one ImageMeta per CSV row whose image file is found. Rows that are
 * malformed, duplicated or whose file is missing become problems.
 */
export async function planChexpert(files: FolderFiles, layout?: ChexpertLayout | null): Promise<ImportPlan> {
  const found = layout === undefined ? await detectChexpert(files) : layout;
  const name = pickedFolderName(files);
  const problems: ImportProblem[] = [];
  const images: ImageMeta[] = [];
  const plan: ImportPlan = { kind: 'chexpert', name, labelColumns: [...CHEXPERT_OBSERVATIONS], images, problems };
  if (!found) {
    problems.push({ where: name || '(picked folder)', reason: 'no CheXpert train.csv or valid.csv with the CheXpert header found' });
    return plan;
  }
  for (const k of found.ignored) {
    problems.push({ where: k, reason: `another CheXpert CSV was used (${found.dir || 'top folder'}); this one was not imported` });
  }
  const resolver = new PathResolver(files);
  const seenKeys = new Set<string>();
  const seenFiles = new Map<string, string>();

  for (const csv of found.csvs) {
    let header: string[] | null = null;
    let at: (c: string) => number = () => -1;
    let iPath = -1;
    let iSex = -1;
    let iAge = -1;
    let iFL = -1;
    let iAP = -1;
    let iObs: number[] = [];
    // Rows are handled as they are parsed, so the parsed fields of a 200k-row CSV are not all kept.
    scanCsv(csv.text, (f, line, rowProblems) => {
      if (header === null) {
        header = f;
        const cols = canonicalColumns(header);
        at = (c) => cols.indexOf(c);
        iPath = at('Path');
        iSex = at('Sex');
        iAge = at('Age');
        iFL = at('Frontal/Lateral');
        iAP = at('AP/PA');
        iObs = CHEXPERT_OBSERVATIONS.map((o) => at(o));
        return;
      }
      const where = `${csv.key}:${line}`;
      if (rowProblems || f.length !== header.length) {
        const why = rowProblems ?? [];
        if (f.length !== header.length) why.push(`ragged row: ${f.length} fields where the header has ${header.length}`);
        problems.push({ where, reason: `malformed row: ${why.join('; ')}` });
        return;
      }
      const path = cell(f, iPath).trim();
      const bad: string[] = [];
      if (path === '') bad.push('column "Path" is blank');
      const labels: Record<string, LabelValue> = {};
      for (let j = 0; j < CHEXPERT_OBSERVATIONS.length; j++) {
        const o = CHEXPERT_OBSERVATIONS[j]!;
        const raw = cell(f, iObs[j]!);
        const v = parseLabelCell(raw);
        if (v === undefined) bad.push(`column "${o}": ${JSON.stringify(raw)} is not 1.0, 0.0, -1.0 or blank`);
        else labels[o] = v;
      }
      const age = parseAgeCell(cell(f, iAge));
      if (age === undefined) bad.push(`column "Age": ${JSON.stringify(cell(f, iAge))} is not a number`);
      if (bad.length > 0) {
        problems.push({ where, reason: `malformed row: ${bad.join('; ')}` });
        return;
      }
      if (seenKeys.has(path)) {
        problems.push({ where, reason: `duplicate Path ${path} (first row kept)` });
        return;
      }
      const file = resolver.resolve(path, csv.key);
      if (file === null) {
        problems.push({ where, reason: `image file missing: ${path}` });
        return;
      }
      if (!isImagePath(file)) {
        problems.push({ where, reason: `not a PNG or JPEG file: ${file}` });
        return;
      }
      const other = seenFiles.get(file);
      if (other !== undefined) {
        problems.push({ where, reason: `file ${file} is already used by ${other}` });
        return;
      }
      seenKeys.add(path);
      seenFiles.set(file, path);
      const sex = cell(f, iSex).trim();
      images.push({
        key: path,
        split: csv.split,
        file,
        patient: chexpertPatient(path),
        study: dirname(normalizePath(path)),
        frontalLateral: normalizeFrontalLateral(cell(f, iFL)),
        apPa: normalizeApPa(cell(f, iAP)),
        sex: sex === '' ? null : sex,
        age: age ?? null,
        labels,
      });
    });
  }
  return plan;
}
