// Plans an import from a picked folder (before any pixel is decoded), and the label statistics
// and filters the dataset browser shows.
import { detectChexpert, planChexpert } from './chexpert.ts';
import { detectGeneric, planGeneric } from './generic.ts';
import { isImagePath, pickedFolderName } from './paths.ts';
import { isShenzhenFolder, planShenzhen } from './shenzhen.ts';
import { labelState, type DatasetKind, type FolderFiles, type ImageMeta, type ImportPlan, type LabelState } from './types.ts';

export interface PlanOptions {
  /** Force a dataset kind instead of detecting it (`demo` is not planned from files). */
  kind?: DatasetKind;
}

/**
 * Works out what a picked folder holds: CheXpert (train.csv / valid.csv with the CheXpert header)
 * first, then Shenzhen (`CHNCXR_####_L` images), then any CSV with a `Path` column or NIH's
 * `Image Index` + `Finding Labels`. Only PNG and JPEG images are planned. Problems are listed in
 * the plan; nothing here throws for a bad row or a missing file.
 */
export async function planImport(files: FolderFiles, opts: PlanOptions = {}): Promise<ImportPlan> {
  const name = pickedFolderName(files);
  let plan: ImportPlan;
  switch (opts.kind) {
    case 'chexpert':
      plan = await planChexpert(files);
      break;
    case 'shenzhen':
      plan = await planShenzhen(files);
      break;
    case 'generic':
      plan = await planGeneric(files);
      break;
    case 'demo':
      throw new Error('the demo dataset is generated, not planned from a folder');
    case undefined: {
      const chexpert = await detectChexpert(files);
      if (chexpert) {
        plan = await planChexpert(files, chexpert);
      } else if (isShenzhenFolder(files)) {
        plan = await planShenzhen(files);
      } else {
        const csvs = await detectGeneric(files);
        plan = await planGeneric(files, csvs);
        if (csvs.length === 0) {
          let imageCount = 0;
          for (const k of files.keys()) if (isImagePath(k)) imageCount++;
          plan.problems = [
            {
              where: name || '(picked folder)',
              reason:
                `not a CheXpert folder (train.csv / valid.csv with the CheXpert header), no Shenzhen CHNCXR_####_L images, ` +
                `and no CSV with a Path column or NIH Image Index + Finding Labels (${files.size} files, ${imageCount} images)`,
            },
          ];
        }
      }
      break;
    }
  }
  plan.name = name || plan.name;
  return plan;
}

/** Per-observation counts for the dataset browser's label table. */
export interface LabelCounts {
  observation: string;
  positive: number;
  negative: number;
  uncertain: number;
  unmentioned: number;
}

/** Counts of each label state per label column; an image without the column counts as unmentioned. */
export function summarizeLabels(images: readonly ImageMeta[], labelColumns: readonly string[]): LabelCounts[] {
  return labelColumns.map((observation) => {
    const c: LabelCounts = { observation, positive: 0, negative: 0, uncertain: 0, unmentioned: 0 };
    for (const m of images) c[labelState(m.labels[observation] ?? null)]++;
    return c;
  });
}

export interface ImageFilter {
  /** A label column. With no `state`, images where it is positive. */
  observation?: string;
  /** A label state. With no `observation`, images where any label column is in this state. */
  state?: LabelState;
  /** `Frontal`, `Lateral`, `AP`, `PA`, ... (case-insensitive), matched against Frontal/Lateral or AP/PA; `unknown` for neither given. */
  view?: string;
}

/** Whether an image passes the browser's filter; an empty filter passes everything. */
export function matchesFilter(meta: ImageMeta, filter: ImageFilter): boolean {
  if (filter.view !== undefined && filter.view !== '') {
    const v = filter.view.toLowerCase();
    const fl = meta.frontalLateral?.toLowerCase() ?? null;
    const ap = meta.apPa?.toLowerCase() ?? null;
    const ok = v === 'unknown' ? fl === null && ap === null : fl === v || ap === v;
    if (!ok) return false;
  }
  if (filter.observation !== undefined && filter.observation !== '') {
    return labelState(meta.labels[filter.observation] ?? null) === (filter.state ?? 'positive');
  }
  if (filter.state !== undefined) {
    return Object.values(meta.labels).some((v) => labelState(v) === filter.state);
  }
  return true;
}
