// Plans an import from a picked folder (before any pixel is decoded). The browser's label statistics
// and filters live in browse.ts and are re-exported here.
import { detectChexpert, planChexpert } from './chexpert.ts';
import { detectGeneric, planGeneric } from './generic.ts';
import { isImagePath, pickedFolderName } from './paths.ts';
import { isShenzhenFolder, planShenzhen } from './shenzhen.ts';
import type { DatasetKind, FolderFiles, ImportPlan } from './types.ts';

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

export { summarizeLabels, matchesFilter, type LabelCounts, type ImageFilter } from './browse.ts';
