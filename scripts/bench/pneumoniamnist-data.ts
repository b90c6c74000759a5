// PneumoniaMNIST (MedMNIST v2, CC BY 4.0; Yang et al. 2023, from Kermany et al. 2018) for the learning
// benchmark: ../shared/data/pneumoniamnist/pneumoniamnist.npz read with the app's .npz reader, every row a
// 28 x 28 grey image with the one label column 'Pneumonia' (1 = pneumonia, 0 = normal) and its own study.
// The data stays in ../shared/data: nothing is copied into the repository.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { SHARED_DATA } from '../fixtures/ensure.ts';
import { readNpz } from '../../src/core/data/npz.ts';
import type { ImageMeta, LabelValue, Split } from '../../src/core/data/types.ts';
import type { GreyImage } from '../../src/core/image/types.ts';
import { chexpertLabelFractions } from '../../src/core/splits/index.ts';

export const PNEUMONIAMNIST_NPZ = join(SHARED_DATA, 'pneumoniamnist/pneumoniamnist.npz');
export const LABEL = 'Pneumonia';
export const SIDE = 28;

export interface PneumoniaRow {
  meta: ImageMeta;
  image: GreyImage;
}

export interface PneumoniaMnist {
  train: PneumoniaRow[];
  valid: PneumoniaRow[];
  test: PneumoniaRow[];
}

const SPLITS: readonly { key: 'train' | 'val' | 'test'; split: Split }[] = [
  { key: 'train', split: 'train' },
  { key: 'val', split: 'valid' },
  { key: 'test', split: 'test' },
];

/**
 * The three splits, each row in file order (the train rows here are sorted by class: pneumonia first).
 * `limit` keeps that many rows of each split, evenly spaced through it (for trying things out).
 */
export async function loadPneumoniaMnist(opts: { path?: string; limit?: number } = {}): Promise<PneumoniaMnist> {
  const path = opts.path ?? PNEUMONIAMNIST_NPZ;
  const arrays = await readNpz(new Uint8Array(readFileSync(path)), { name: path, inflateRaw: (d) => new Uint8Array(inflateRawSync(d)) });
  const out: Partial<PneumoniaMnist> = {};
  for (const { key, split } of SPLITS) {
    const images = arrays.get(`${key}_images`);
    const labels = arrays.get(`${key}_labels`);
    if (!images || !labels) throw new Error(`${path}: no ${key}_images / ${key}_labels arrays`);
    const [n, h, w] = images.shape;
    if (images.dtype !== 'uint8' || images.shape.length !== 3 || h !== SIDE || w !== SIDE) {
      throw new Error(`${path}: ${key}_images is ${images.dtype} [${images.shape.join(', ')}], expected uint8 [N, 28, 28]`);
    }
    if (labels.shape[0] !== n || labels.data.length !== n) throw new Error(`${path}: ${key}_labels has shape [${labels.shape.join(', ')}] for ${n} images`);
    const count = Math.min(n!, opts.limit ?? Infinity);
    const pixels = images.data as Uint8Array;
    const rows: PneumoniaRow[] = [];
    for (let j = 0; j < count; j++) {
      const i = Math.floor((j * n!) / count);
      const y = Number(labels.data[i]);
      if (y !== 0 && y !== 1) throw new Error(`${path}: ${key}_labels[${i}] is ${y}, not 0 or 1`);
      const id = `${key}/${String(i).padStart(5, '0')}`;
      rows.push({
        meta: { key: id, split, file: `pneumoniamnist.npz:${key}_images[${i}]`, patient: null, study: id, frontalLateral: 'Frontal', apPa: null, sex: null, age: null, labels: { [LABEL]: y as LabelValue } },
        image: { width: SIDE, height: SIDE, data: pixels.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE) },
      });
    }
    out[split as keyof PneumoniaMnist] = rows;
  }
  return out as PneumoniaMnist;
}

export const positives = (rows: readonly PneumoniaRow[]) => rows.filter((r) => r.meta.labels[LABEL] === 1).length;

/**
 * Label-fraction draws of the training rows as MoCo-CXR draws CheXpert's (reorganize_files.py: after
 * random.seed(seed), one random() per row and draw, the row kept when it is below the ratio), through
 * the app's chexpertLabelFractions. A draw with one class only cannot train a classifier: refused.
 */
export function labelDraws(train: readonly PneumoniaRow[], ratio: number, draws: number, seed = 0): PneumoniaRow[][] {
  const { draws: picked } = chexpertLabelFractions(
    train.map((r) => r.meta),
    { seed, fractions: [{ ratio, draws }] },
  );
  return picked.map((d) => {
    const rows = d.rows.map((i) => train[i]!);
    const pos = positives(rows);
    if (pos === 0 || pos === rows.length) throw new Error(`draw ${d.name} holds ${rows.length} rows of one class only (seed ${seed}): choose another seed`);
    return rows;
  });
}
