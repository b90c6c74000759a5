// Split CSVs in the layouts MoCo-CXR's code reads, and the map from each row to the image file it names.
//   CheXpert (and the demo phantoms, and generic datasets): train.csv's 19 columns (CHEXPERT_HEADER), labels
//   written as CheXpert writes them (1.0, 0.0, -1.0, blank); a generic dataset's own label columns follow
//   the five metadata columns.
//   Shenzhen: the columns of the original's chexpert_like_*.csv (REFERENCE 4): Study, Age, Sex, No Finding,
//   Tuberculosis, Path, with Tuberculosis 1/0 and No Finding = 1 - Tuberculosis. The original wrote a pandas
//   index column first; the pipeline ignores it, so it is left out.
// `Path` is relative to $WORK/data, the folder of links prepare_data.py makes (images.csv maps each Path to
// the real file below the data root). The link layout keeps MoCo-CXR's grouping: the pipeline takes a
// study as Path(p).parent, so each image's link sits in a folder named after its study (CheXpert's own
// layout stays as it is: patient/study/view). Without that, Shenzhen's PNGs, all in one folder, would be one
// study.
import { CHEXPERT_HEADER, CHEXPERT_OBSERVATIONS, type DatasetKind, type ImageMeta, type LabelValue } from '../data/types.ts';
import { HandoffError } from './shell.ts';

/** What a bundle needs of each image (the app's ImageMeta has all of it). */
export type BundleImage = Pick<ImageMeta, 'key' | 'file' | 'study' | 'patient' | 'sex' | 'age' | 'frontalLateral' | 'apPa' | 'labels'>;

/** One CSV field, quoted as Python's csv module and pandas write it (only when needed). */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}

export function csvText(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

/** A CheXpert label cell: 1.0, 0.0, -1.0, or blank. */
export function labelCell(v: LabelValue | undefined): string {
  return v === 1 ? '1.0' : v === 0 ? '0.0' : v === -1 ? '-1.0' : '';
}

const SAFE_SEGMENT = /[^A-Za-z0-9._-]+/g;

function safeSegments(p: string): string[] {
  return p
    .split('/')
    .map((s) => s.replace(SAFE_SEGMENT, '_'))
    .filter((s) => s !== '' && s !== '.' && s !== '..')
    .map((s) => (/^\.+$/.test(s) ? '_' : s));
}

/**
 * Where each image's link goes below $WORK/data: `<study>/<file name>`, made of safe path segments, unique
 * (a clash gets a numbered name). For CheXpert this is the CSV path itself.
 */
export function linkPaths(images: readonly BundleImage[]): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set<string>();
  for (const img of images) {
    if (out.has(img.key)) throw new HandoffError(`image key '${img.key}' is listed twice`);
    const study = safeSegments(img.study);
    const base = safeSegments(img.file.split('/').pop() ?? img.key).join('_') || 'image';
    let p = [...(study.length ? study : ['study']), base].join('/');
    for (let n = 1; taken.has(p); n++) p = [...study, `${n}_${base}`].join('/');
    taken.add(p);
    out.set(img.key, p);
  }
  return out;
}

export type CsvLayout = 'chexpert' | 'shenzhen';

export function csvLayoutFor(kind: DatasetKind, labelColumns: readonly string[]): CsvLayout {
  return kind === 'shenzhen' || (labelColumns.includes('Tuberculosis') && !labelColumns.some((c) => (CHEXPERT_OBSERVATIONS as readonly string[]).includes(c))) ? 'shenzhen' : 'chexpert';
}

export function csvHeader(layout: CsvLayout, labelColumns: readonly string[]): string[] {
  if (layout === 'shenzhen') return ['Study', 'Age', 'Sex', 'No Finding', 'Tuberculosis', 'Path'];
  const extra = labelColumns.filter((c) => !(CHEXPERT_HEADER as readonly string[]).includes(c));
  return [...CHEXPERT_HEADER, ...extra];
}

/** One split's CSV text: its images in the given order, Path = the link path. */
export function splitCsv(layout: CsvLayout, labelColumns: readonly string[], images: readonly BundleImage[], links: ReadonlyMap<string, string>): string {
  const header = csvHeader(layout, labelColumns);
  const rows = images.map((img) => {
    const path = links.get(img.key);
    if (path === undefined) throw new HandoffError(`image '${img.key}' has no link path`);
    if (layout === 'shenzhen') {
      const tb = img.labels['Tuberculosis'];
      if (tb !== 0 && tb !== 1) throw new HandoffError(`Shenzhen image '${img.key}' has no 0/1 Tuberculosis label`);
      const study = path.split('/').slice(0, -1).join('/');
      return [study, img.age === null ? '' : String(img.age), img.sex ?? '', String(1 - tb), String(tb), path];
    }
    return header.map((col) => {
      switch (col) {
        case 'Path':
          return path;
        case 'Sex':
          return img.sex ?? '';
        case 'Age':
          return img.age === null ? '' : String(img.age);
        case 'Frontal/Lateral':
          return img.frontalLateral ?? '';
        case 'AP/PA':
          return img.apPa ?? '';
        default:
          return labelCell(img.labels[col]);
      }
    });
  });
  return csvText(header, rows);
}

/** images.csv: Key (the app's image key), Source (the file below the data root), Path (its link below $WORK/data). */
export function imagesCsv(images: readonly BundleImage[], links: ReadonlyMap<string, string>): string {
  return csvText(
    ['Key', 'Source', 'Path'],
    images.map((img) => {
      if (img.file.split('/').some((s) => s === '..') || img.file.startsWith('/')) throw new HandoffError(`image file '${img.file}' is not a path below the data root`);
      return [img.key, img.file, links.get(img.key)!];
    }),
  );
}
