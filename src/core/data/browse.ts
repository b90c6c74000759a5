// Label statistics and filters for the dataset browser: light, so the page can use them without the importers.
import { labelState, type ImageMeta, type LabelState } from './types.ts';

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
