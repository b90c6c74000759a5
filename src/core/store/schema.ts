// IndexedDB schema. Metadata, pixels and thumbnails live in separate stores so that browsing a
// dataset reads kilobytes, not the 100 KB of pixels each image holds.
import type { DBSchema } from 'idb';
import type { DatasetKind, ImageMeta, LabelState, Split } from '../data/types.ts';

export const DB_NAME = 'moco-cxr';
export const DB_VERSION = 1;

export type DatasetStatus = 'importing' | 'complete' | 'cancelled' | 'failed';

export type LabelCounts = Record<LabelState, number>;

export interface DatasetRecord {
  id: string;
  name: string;
  kind: DatasetKind;
  /** What the user picked (folder name), used to recognise a re-import of the same folder. */
  source: string;
  /** True for generated data (the demo phantoms). */
  synthetic: boolean;
  labelColumns: string[];
  /** Stored images have this shorter side (aspect kept), as MoCo-CXR's `Resize(side)`. */
  imageSide: number;
  thumbSide: number;
  status: DatasetStatus;
  /** Images the last plan listed, stored or not. */
  planned: number;
  counts: Record<Split, number>;
  /** Per label column, per state; filled when an import ends. */
  labelStats: Record<string, LabelCounts>;
  /** Bytes of pixels and thumbnails stored. */
  bytes: number;
  createdAt: number;
  updatedAt: number;
  /** Last import's problem count (the problems themselves are in their own store). */
  problemCount: number;
  /** Last error that stopped an import, if any. */
  lastError?: string;
}

export interface StoredImage extends ImageMeta {
  dataset: string;
  width: number;
  height: number;
  /** Size of the file as decoded, before resizing. */
  originalWidth: number;
  originalHeight: number;
}

export interface StoredPixels {
  dataset: string;
  key: string;
  width: number;
  height: number;
  /** Grey uint8, row-major, width * height bytes. */
  data: Uint8Array;
}

export interface StoredProblem {
  id?: number;
  dataset: string;
  where: string;
  reason: string;
}

export interface MocoCxrDB extends DBSchema {
  datasets: { key: string; value: DatasetRecord };
  images: { key: [string, string]; value: StoredImage; indexes: { byDataset: string } };
  pixels: { key: [string, string]; value: StoredPixels };
  thumbs: { key: [string, string]; value: StoredPixels };
  problems: { key: number; value: StoredProblem; indexes: { byDataset: string } };
}
