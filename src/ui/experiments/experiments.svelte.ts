// Fine-tuning experiments and evaluation results: the stored lists, the live numbers of the experiment
// this page drives, and the commands (create, run, pause, stop, evaluate, import, export, delete). The
// work happens in the training worker; this module only sends commands and keeps state for rendering.
import type { EvaluationResult } from '../../core/finetune/results.ts';
import type { ExperimentSettings } from '../../core/finetune/settings.ts';
import type { ExperimentRecord } from '../../core/store/schema.ts';
import type { ExperimentEvent } from '../../../workers/train/finetune.ts';
import { checkpoints } from '../checkpoints/checkpoints.svelte.ts';
import { openStore } from '../datasets/datasets.svelte.ts';
import { errorText } from '../lib/format.ts';
import { trainWorker } from '../lib/workers.ts';
import { backendState } from '../system/backend.svelte.ts';

export interface LiveJob {
  jobId: string;
  examples: number;
  examplesTotal: number;
  loss: number;
  examplesPerSecond: number;
  phase: string;
}

class ExperimentsState {
  list = $state<ExperimentRecord[]>([]);
  results = $state<EvaluationResult[]>([]);
  live = $state<Record<string, LiveJob>>({});
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  busy = $state<string | null>(null);
  /** An export made in the worker, offered as a link: exports can take longer than the click's user
   *  activation lasts, and Chrome blocks a second download that no click started. */
  prepared = $state<{ name: string; url: string } | null>(null);
  private driving = new Set<string>();
  private resumedOnLoad = false;

  async refresh(): Promise<void> {
    try {
      const s = await openStore();
      [this.list, this.results] = await Promise.all([s.listExperiments(), s.listResults()]);
      // jobs keep their best checkpoints in the store: the checkpoint lists show them
      await checkpoints.refresh();
    } catch (e) {
      this.error = `could not open the browser database: ${errorText(e)}`;
    }
  }

  isDriving(id: string): boolean {
    return this.driving.has(id);
  }

  private async ensureBackend(): Promise<void> {
    if (!backendState.info) await backendState.apply();
    if (!backendState.info) throw new Error(backendState.error ?? 'no compute backend could start');
  }

  async create(settings: ExperimentSettings): Promise<void> {
    this.error = null;
    try {
      const e = await trainWorker.call('experimentCreate', { settings: $state.snapshot(settings) as ExperimentSettings });
      await this.refresh();
      void this.run(e.id);
    } catch (e) {
      this.error = errorText(e);
    }
  }

  async createFromConfig(file: File, datasetId: string): Promise<void> {
    this.error = null;
    try {
      const e = await trainWorker.call('experimentFromConfig', { text: await file.text(), datasetId });
      await this.refresh();
      void this.run(e.id);
    } catch (e) {
      this.error = `${file.name}: ${errorText(e)}`;
    }
  }

  /** Runs an experiment's queued jobs in the worker; a worker crash takes it up again (twice at most). */
  async run(id: string, crashRetries = 2): Promise<void> {
    if (this.driving.has(id)) return;
    this.error = null;
    this.driving.add(id);
    try {
      await this.ensureBackend();
      const end = await trainWorker.call('experimentRun', { experimentId: id }, {
        onProgress: (e: ExperimentEvent) => {
          if (e.type === 'step') {
            this.live[id] = { jobId: e.jobId, examples: e.examples, examplesTotal: e.examplesTotal, loss: e.loss, examplesPerSecond: e.examplesPerSecond, phase: 'training' };
          } else if (e.type === 'phase') {
            const l = this.live[id];
            if (l) l.phase = e.phase;
            else this.live[id] = { jobId: e.jobId, examples: 0, examplesTotal: 0, loss: NaN, examplesPerSecond: NaN, phase: e.phase };
          } else if (e.type === 'job') {
            void this.refresh();
          } else if (e.type === 'notice') {
            this.notice = e.message;
          }
        },
      });
      if (end.status === 'failed') this.error = `experiment '${end.name}' failed: ${end.message ?? 'unknown error'}`;
    } catch (e) {
      this.error = errorText(e);
      const stored = await (await openStore()).getExperiment(id).catch(() => undefined);
      if (stored?.status === 'running' && crashRetries > 0) {
        this.notice = `The training worker stopped (${errorText(e)}); '${stored.name}' goes on from its last finished job.`;
        this.driving.delete(id);
        await this.run(id, crashRetries - 1);
        return;
      }
    } finally {
      this.driving.delete(id);
      delete this.live[id];
      await this.refresh();
    }
  }

  async control(id: string, action: 'pause' | 'stop'): Promise<void> {
    try {
      await trainWorker.call('experimentControl', { experimentId: id, action });
    } catch (e) {
      this.error = errorText(e);
    }
  }

  /** Experiments the store says are running but nothing drives (a closed tab): they go on. Once per load. */
  async resumeInterrupted(): Promise<void> {
    if (this.resumedOnLoad) return;
    this.resumedOnLoad = true;
    await this.refresh();
    let active: string[] = [];
    try {
      active = await trainWorker.call('experimentActive', null);
    } catch {
      // a worker that cannot start has nothing running
    }
    const cut = this.list.filter((e) => e.status === 'running' && !this.driving.has(e.id) && !active.includes(e.id));
    if (cut.length === 0) return;
    this.notice = `Resuming ${cut.map((e) => `'${e.name}'`).join(', ')}: the page was closed or reloaded while it ran (the interrupted job starts again).`;
    for (const e of cut) void this.run(e.id);
  }

  /** A worker call that stores a result: busy while it runs, the lists refreshed, the result's id back. */
  private async resultCall(busy: string, call: () => Promise<{ id: string }>): Promise<string | null> {
    this.error = null;
    this.busy = busy;
    try {
      const r = await call();
      await this.refresh();
      return r.id;
    } catch (e) {
      this.error = errorText(e);
      return null;
    } finally {
      this.busy = null;
    }
  }

  evaluate(input: { checkpointId: string; datasetId: string; split: 'valid' | 'test' | 'train'; tasks?: string[]; bootstrap: number }): Promise<string | null> {
    return this.resultCall('evaluating', async () => {
      await this.ensureBackend();
      return trainWorker.call('evaluateCheckpoint', input);
    });
  }

  importCluster(input: { label: string; files: { name: string; text: string }[]; experimentId?: string; init?: string; ratio?: number; draw?: number; bootstrap: number }): Promise<string | null> {
    return this.resultCall('importing', () => trainWorker.call('importClusterResults', input));
  }

  async download(input: { experimentId: string; what: 'predictions' | 'config' | 'bundle' | 'checkpoint'; jobId?: string }): Promise<void> {
    this.error = null;
    this.clearPrepared();
    this.busy = `preparing ${input.what}`;
    try {
      const f = await trainWorker.call('experimentExport', input);
      this.offer(f.name, f.bytes);
    } catch (e) {
      this.error = errorText(e);
    } finally {
      this.busy = null;
    }
  }

  private clearPrepared(): void {
    if (this.prepared) URL.revokeObjectURL(this.prepared.url);
    this.prepared = null;
  }

  private offer(name: string, bytes: Uint8Array): void {
    this.clearPrepared();
    this.prepared = { name, url: URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' })) };
  }

  async downloadResult(id: string): Promise<void> {
    this.error = null;
    this.clearPrepared();
    try {
      const f = await trainWorker.call('resultExport', { resultId: id });
      this.offer(f.name, f.bytes);
    } catch (e) {
      this.error = errorText(e);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await (await openStore()).deleteExperiment(id, true);
      await this.refresh();
    } catch (e) {
      this.error = errorText(e);
    }
  }

  async removeResult(id: string): Promise<void> {
    try {
      await (await openStore()).deleteResult(id);
      await this.refresh();
    } catch (e) {
      this.error = errorText(e);
    }
  }
}

export const experiments = new ExperimentsState();
