// The dataset model shared by the importers, the store, the demo generator and (later) training.
// Plain data only: everything here is structured-clonable, so it crosses worker boundaries and
// goes into IndexedDB as is.

/** The 14 CheXpert observations in CSV column order (train.csv / valid.csv). */
export const CHEXPERT_OBSERVATIONS = [
  'No Finding',
  'Enlarged Cardiomediastinum',
  'Cardiomegaly',
  'Lung Opacity',
  'Lung Lesion',
  'Edema',
  'Consolidation',
  'Pneumonia',
  'Atelectasis',
  'Pneumothorax',
  'Pleural Effusion',
  'Pleural Other',
  'Fracture',
  'Support Devices',
] as const;

/** The exact 19-column header of CheXpert's train.csv (../shared/data/chexpert-format). */
export const CHEXPERT_HEADER = ['Path', 'Sex', 'Age', 'Frontal/Lateral', 'AP/PA', ...CHEXPERT_OBSERVATIONS] as const;

/**
 * A label cell kept as found, with no uncertainty policy applied at import:
 * 1 positive (`1.0`), 0 negative (`0.0`), -1 uncertain (`-1.0`), null unmentioned (blank).
 */
export type LabelValue = 1 | 0 | -1 | null;
export type LabelState = 'positive' | 'negative' | 'uncertain' | 'unmentioned';

export function labelState(v: LabelValue): LabelState {
  return v === 1 ? 'positive' : v === 0 ? 'negative' : v === -1 ? 'uncertain' : 'unmentioned';
}

export type Split = 'train' | 'valid' | 'test';
export type DatasetKind = 'chexpert' | 'shenzhen' | 'generic' | 'demo';

/** One image's metadata as imported (pixels are stored separately). */
export interface ImageMeta {
  /**
   * Key within the dataset: the CSV `Path` as written (CheXpert), the image's file name (Shenzhen,
   * one image per id), or the file's path below the picked folder, without its name (generic CSVs).
   */
  key: string;
  split: Split;
  /**
   * Path of the image file relative to the picked folder (what was actually read): its FolderFiles
   * key, so it starts with the picked folder's own name (`parent/CheXpert-v1.0-small/train/...`).
   */
  file: string;
  /** Patient identifier (CheXpert `patient00001`, Shenzhen the 4-digit id), or null if unknown. */
  patient: string | null;
  /** Study identifier: the parent folder of the CSV path (MoCo-CXR's `Path(p).parent`). */
  study: string;
  /** `Frontal` / `Lateral` or null when not given. */
  frontalLateral: string | null;
  /** `AP`, `PA`, `LL`, `RL` or null (blank for laterals in CheXpert). */
  apPa: string | null;
  sex: string | null;
  age: number | null;
  /** Label column name -> value, for the dataset's label columns. */
  labels: Record<string, LabelValue>;
  /** Free text that came with the image (Shenzhen clinical reading), if any. */
  reading?: string;
}

/** A problem with one file or row that is reported and skipped; the import goes on. */
export interface ImportProblem {
  /** The file (or CSV and line) the problem belongs to. */
  where: string;
  reason: string;
}

/**
 * What a picked folder holds, worked out before any pixel is decoded: the images to import with
 * their metadata, the dataset's label columns, and the problems found while planning.
 */
export interface ImportPlan {
  kind: DatasetKind;
  /** Suggested dataset name (folder name). */
  name: string;
  labelColumns: string[];
  images: ImageMeta[];
  problems: ImportProblem[];
}

/** The subset of `File`/`Blob` that the importers need, so Node tests can pass plain objects. */
export interface FileLike {
  readonly size: number;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Files of a picked folder by their path relative to what the user picked (`/`-separated). */
export type FolderFiles = Map<string, FileLike>;
