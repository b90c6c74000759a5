// One dataset's browser: its images' metadata, the label table, filters and problems.
import { matchesFilter } from '../../core/data/browse.ts';
import type { LabelState } from '../../core/data/types.ts';
import type { DatasetRecord, StoredImage, StoredPixels, StoredProblem } from '../../core/store/schema.ts';
import { errorText } from '../lib/format.ts';
import { openStore } from './datasets.svelte.ts';

export const PAGE_SIZE = 48;

export class DatasetBrowser {
  dataset = $state<DatasetRecord | null>(null);
  images = $state.raw<StoredImage[]>([]);
  problems = $state.raw<StoredProblem[]>([]);
  error = $state<string | null>(null);
  loading = $state(true);
  observation = $state('');
  state = $state<LabelState | ''>('');
  view = $state('');
  split = $state('');
  page = $state(0);

  filtered = $derived.by(() => {
    const filter = { observation: this.observation, view: this.view, ...(this.state ? { state: this.state } : {}) };
    return this.images.filter((m) => (!this.split || m.split === this.split) && matchesFilter(m, filter));
  });
  /** View values to filter by: Frontal/Lateral and AP/PA as they occur, `unknown` when neither is given. */
  views = $derived(
    [...new Set(this.images.flatMap((m) => (m.frontalLateral || m.apPa ? [m.frontalLateral, m.apPa].filter((v): v is string => !!v) : ['unknown'])))].sort(),
  );
  pageItems = $derived(this.filtered.slice(this.page * PAGE_SIZE, (this.page + 1) * PAGE_SIZE));
  pages = $derived(Math.max(1, Math.ceil(this.filtered.length / PAGE_SIZE)));

  async load(id: string): Promise<void> {
    this.loading = true;
    try {
      const store = await openStore();
      this.dataset = (await store.getDataset(id)) ?? null;
      if (!this.dataset) throw new Error(`no dataset with id ${id}`);
      this.images = await store.listImages(id);
      this.problems = await store.listProblems(id);
    } catch (e) {
      this.error = errorText(e);
    } finally {
      this.loading = false;
    }
  }

  async thumb(key: string): Promise<StoredPixels | undefined> {
    if (!this.dataset) return undefined;
    return (await openStore()).getThumb(this.dataset.id, key);
  }
}

export function viewOf(m: StoredImage): string {
  return [m.frontalLateral, m.apPa].filter(Boolean).join(' ') || 'unknown';
}
