// Shenzhen chest X-ray set: `CXR_png/CHNCXR_####_L.png` (L = 1 tuberculosis, 0 normal) with
// optional `ClinicalReadings/CHNCXR_####_L.txt`. Any folder layout works: images are found by name.
import { basename, dirname, extname, pickedFolderName, stem } from './paths.ts';
import type { FolderFiles, ImageMeta, ImportPlan, ImportProblem } from './types.ts';

export const SHENZHEN_LABEL_COLUMNS = ['No Finding', 'Tuberculosis'] as const;

const NAME_RE = /^CHNCXR_(\d{4})_([01])\.(png|jpe?g)$/i;
const READING_RE = /^CHNCXR_(\d{4})_([01])\.txt$/i;
/** MoCo-CXR's `convert_to_chexpert.py`: `(?P<sex>.*al)[e]?[\s|,]*(?P<age>[0-9]+)[yr]?[s]?`. */
const SEX_AGE_RE = /(.*al)e?[\s|,]*([0-9]+)[yr]?s?/;
const TB_KEYWORDS = ['upper', 'lower', 'left', 'right', 'bilateral', 'atb', 'ptb', 'stb'];

/** `CHNCXR_0001_0.png` → id `0001`, tb 0; null for other names (masks, other files). */
export function parseShenzhenName(fileName: string): { id: string; tb: 0 | 1 } | null {
  const m = NAME_RE.exec(basename(fileName));
  if (!m) return null;
  return { id: m[1]!, tb: m[2] === '1' ? 1 : 0 };
}

/** `Male` / `Female` from the reading's sex word (`male`, `Female`, or the regex's `mal` / `femal`). */
export function normalizeSex(raw: string): 'Male' | 'Female' | null {
  const s = raw.trim().toLowerCase();
  if (s.includes('femal') || s === 'f') return 'Female';
  if (s.includes('mal') || s === 'm') return 'Male';
  return null;
}

export interface ShenzhenReading {
  sex: 'Male' | 'Female' | null;
  age: number | null;
}

/** Sex and age from a clinical reading (as the original: the last line matching its sex/age regex). */
export function parseShenzhenReading(text: string): ShenzhenReading {
  let out: ShenzhenReading = { sex: null, age: null };
  for (const line of text.split(/\r\n|\r|\n/)) {
    const m = SEX_AGE_RE.exec(line);
    if (m) out = { sex: normalizeSex(m[1]!), age: Number(m[2]) };
  }
  return out;
}

/**
 * MoCo-CXR's label rule on a reading: lines matching the sex/age regex are skipped; on every other
 * non-empty line, `normal` means no disease, otherwise disease if the line has one of
 * upper/lower/left/right/bilateral/atb/ptb/stb or `pleuritis`. The last such line decides.
 */
export function readingSuggestsTb(text: string): boolean {
  let disease = false;
  for (const raw of text.split(/\r\n|\r|\n/)) {
    if (SEX_AGE_RE.test(raw)) continue;
    const l = raw.trim().toLowerCase();
    if (l.length === 0) continue;
    if (l.includes('normal')) {
      disease = false;
    } else {
      disease = TB_KEYWORDS.some((k) => l.includes(k)) || l.includes('pleuritis');
    }
  }
  return disease;
}

/** Whether the picked folder holds any `CHNCXR_####_L` image. */
export function isShenzhenFolder(files: FolderFiles): boolean {
  for (const k of files.keys()) if (parseShenzhenName(k)) return true;
  return false;
}

function preference(key: string, size: number): [number, number] {
  // A file in CXR_png (the original layout) first, then the largest (full resolution).
  const inCxrPng = key.split('/').some((s) => s.toLowerCase() === 'cxr_png') ? 1 : 0;
  return [inCxrPng, size];
}

/**
 * Plans a Shenzhen import: every `CHNCXR_####_L` PNG/JPEG anywhere in the picked folder, one per
 * id (duplicates noted as problems), label from the file name, sex/age/reading from a matching
 * ClinicalReadings text when there is one. All images are `train` (splits are made later).
 */
export async function planShenzhen(files: FolderFiles): Promise<ImportPlan> {
  const name = pickedFolderName(files);
  const problems: ImportProblem[] = [];
  const byId = new Map<string, string[]>();
  const readings = new Map<string, string[]>();
  let otherImages = 0;
  for (const key of files.keys()) {
    const b = basename(key);
    const m = parseShenzhenName(b);
    if (m) {
      const list = byId.get(m.id);
      if (list) list.push(key);
      else byId.set(m.id, [key]);
      continue;
    }
    const r = READING_RE.exec(b);
    if (r) {
      const list = readings.get(r[1]!);
      if (list) list.push(key);
      else readings.set(r[1]!, [key]);
      continue;
    }
    const e = extname(b);
    if ((e === 'png' || e === 'jpg' || e === 'jpeg') && !/_mask$/i.test(stem(b))) otherImages++;
  }

  const images: ImageMeta[] = [];
  const ids = [...byId.keys()].sort();
  for (const id of ids) {
    const keys = byId.get(id)!.sort();
    let file = keys[0]!;
    let best = preference(file, files.get(file)!.size);
    for (const k of keys.slice(1)) {
      const p = preference(k, files.get(k)!.size);
      if (p[0] > best[0] || (p[0] === best[0] && p[1] > best[1])) {
        file = k;
        best = p;
      }
    }
    const { tb } = parseShenzhenName(file)!;
    for (const k of keys) {
      if (k === file) continue;
      const otherTb = parseShenzhenName(k)!.tb;
      problems.push({
        where: k,
        reason:
          otherTb === tb
            ? `duplicate of image ${id} (kept ${file})`
            : `image ${id} also named with label ${tb} in ${file}; kept that one (labels disagree)`,
      });
    }
    const meta: ImageMeta = {
      key: basename(file),
      split: 'train',
      file,
      patient: id,
      study: stem(file),
      frontalLateral: 'Frontal',
      apPa: null,
      sex: null,
      age: null,
      labels: { 'No Finding': tb === 1 ? 0 : 1, Tuberculosis: tb },
    };
    const readingKey = pickReading(readings.get(id), file);
    if (readingKey) {
      const text = await files.get(readingKey)!.text();
      const r = parseShenzhenReading(text);
      meta.sex = r.sex;
      meta.age = r.age;
      meta.reading = text.trim();
    }
    images.push(meta);
  }
  if (otherImages > 0) {
    problems.push({
      where: name || '(picked folder)',
      reason: `${otherImages} image file(s) not named CHNCXR_####_L were not imported`,
    });
  }
  return { kind: 'shenzhen', name, labelColumns: [...SHENZHEN_LABEL_COLUMNS], images, problems };
}

/** The reading for an image: same file stem preferred (label digit included), then any for the id. */
function pickReading(keys: string[] | undefined, image: string): string | null {
  if (!keys || keys.length === 0) return null;
  const s = stem(image).toLowerCase();
  const sameStem = keys.filter((k) => stem(k).toLowerCase() === s);
  const pool = sameStem.length > 0 ? sameStem : keys;
  // Nearest to the image's folder (a sibling ClinicalReadings first) by shared prefix length.
  const dir = dirname(dirname(image));
  return pool.sort((a, b) => Number(b.startsWith(dir)) - Number(a.startsWith(dir)) || a.localeCompare(b))[0]!;
}
