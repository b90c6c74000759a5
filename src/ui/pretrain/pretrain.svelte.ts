// MoCo pretraining runs: the stored list, the live numbers of runs this page drives, and the commands
// (create, run or resume, pause, stop, download, delete). The work happens in the training worker.
import type { PretrainEvent } from '../../core/moco/pretrain-run.ts';
import type { StepReport } from '../../core/moco/run.ts';
import type { PretrainSettings } from '../../core/moco/settings.ts';
import type { RunRecord } from '../../core/store/schema.ts';
import { openStore } from '../datasets/datasets.svelte.ts';
import { errorText } from '../lib/format.ts';
import { saveBytes } from '../lib/download.ts';
import { ingestWorker, trainWorker } from '../lib/workers.ts';
import { backendState } from '../system/backend.svelte.ts';

/** The last step's report (its stepMillis the mean over recent steps, for the time left) and more. */
export interface LiveRun extends StepReport {
  numBytes: number;
  numTensors: number;
  lastCheckpoint: string | null;
  notice: string | null;
  flopsPerStep: number | null;
  peakFlops: number | null;
}

class PretrainState {
  runs = $state<RunRecord[]>([]);
  live = $state<Record<string, LiveRun>>({});
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  prepared = $state<{ name: string; url: string } | null>(null);
  private driving = new Set<string>();
  private resumedOnLoad = false;

  async refresh(): Promise<void> {
    try {
      this.runs = await (await openStore()).listRuns();
    } catch (e) {
      this.error = `could not open the browser database: ${errorText(e)}`;
    }
  }

  isDriving(id: string): boolean {
    return this.driving.has(id) && this.live[id] !== undefined;
  }

  private async ensureBackend(): Promise<void> {
    if (!backendState.info) await backendState.apply();
    if (!backendState.info) throw new Error(backendState.error ?? 'no compute backend could start');
  }

  async create(name: string, datasetId: string, settings: PretrainSettings): Promise<void> {
    this.error = null;
    try {
      await this.ensureBackend();
      const run = await trainWorker.call('pretrainCreate', { name, datasetId, settings: $state.snapshot(settings) as PretrainSettings });
      await this.refresh();
      void this.run(run.id);
    } catch (e) {
      this.error = errorText(e);
    }
  }

  /** Runs or resumes a run in the worker until it completes, pauses, stops or fails. A worker that
   *  crashes mid-run (the bridge starts a fresh one) takes the run up again from its last checkpoint,
   *  twice at most in a row. */
  async run(id: string, crashRetries = 2): Promise<void> {
    if (this.driving.has(id)) return;
    this.error = null;
    this.driving.add(id);
    const times: number[] = [];
    try {
      await this.ensureBackend();
      this.live[id] = { epoch: 0, step: 0, stepsPerEpoch: 0, globalStep: 0, loss: NaN, top1: NaN, top5: NaN, lr: NaN, imagesPerSecond: NaN, stepMillis: NaN, numBytes: 0, numTensors: 0, lastCheckpoint: null, notice: null, flopsPerStep: null, peakFlops: null };
      await this.refresh();
      const end = await trainWorker.call('pretrainRun', { runId: id }, {
        onProgress: (e: PretrainEvent) => {
          const l = this.live[id];
          if (!l) return;
          if (e.type === 'step') {
            const r = e.report;
            times.push(r.stepMillis);
            if (times.length > 20) times.shift();
            Object.assign(l, { epoch: r.epoch, step: r.step, stepsPerEpoch: r.stepsPerEpoch, globalStep: r.globalStep, loss: r.loss, top1: r.top1, top5: r.top5, lr: r.lr, imagesPerSecond: r.imagesPerSecond, stepMillis: times.reduce((a, b) => a + b, 0) / times.length, numBytes: e.numBytes, numTensors: e.numTensors });
          } else if (e.type === 'checkpoint') {
            l.lastCheckpoint = `epoch ${e.progress.epoch}, step ${e.progress.globalStep} (${e.reason})`;
            void this.refresh();
          } else if (e.type === 'efficiency') {
            l.flopsPerStep = e.flopsPerStep;
            l.peakFlops = e.peakFlops;
          } else {
            l.notice = e.message;
          }
        },
      });
      if (end.status === 'failed') this.error = `run '${end.name}' failed: ${end.message ?? 'unknown error'}`;
    } catch (e) {
      this.error = errorText(e);
      const stored = await (await openStore()).getRun(id).catch(() => undefined);
      if (stored?.status === 'running' && crashRetries > 0) {
        this.notice = `The training worker stopped (${errorText(e)}); '${stored.name}' resumes from its last checkpoint (step ${stored.progress.globalStep}).`;
        this.driving.delete(id);
        delete this.live[id];
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
      await trainWorker.call('pretrainControl', { runId: id, action });
    } catch (e) {
      this.error = errorText(e);
    }
  }

  /**
   * Runs the store says are running but no worker drives were cut off (a closed tab, a reload, a crashed
   * worker): they continue from their last checkpoint. Once per page load.
   */
  async resumeInterrupted(): Promise<void> {
    if (this.resumedOnLoad) return;
    this.resumedOnLoad = true;
    await this.refresh();
    const cut = this.runs.filter((r) => r.status === 'running' && !this.driving.has(r.id));
    if (cut.length === 0) return;
    this.notice = `Resuming ${cut.map((r) => `'${r.name}'`).join(', ')} from the last checkpoint (step ${cut.map((r) => r.progress.globalStep).join(', ')}): the page was closed or reloaded while training.`;
    for (const r of cut) void this.run(r.id);
  }

  async download(run: RunRecord, checkpointId = run.checkpointId): Promise<void> {
    if (!checkpointId) return;
    this.error = null;
    try {
      const r = await ingestWorker.call('exportCheckpoint', { id: checkpointId, to: 'moco' });
      saveBytes(`${run.name.replace(/[^\w.-]+/g, '_')}-epoch${run.progress.epoch}-step${run.progress.globalStep}.pth.tar`, r.bytes);
    } catch (e) {
      this.error = errorText(e);
    }
  }

  /** The run's cluster bundle, made in the worker and offered as a link (it can take longer than a
   *  click's user activation lasts). */
  async exportBundle(run: RunRecord): Promise<void> {
    this.error = null;
    if (this.prepared) URL.revokeObjectURL(this.prepared.url);
    this.prepared = null;
    try {
      const f = await trainWorker.call('pretrainBundleExport', { runId: run.id });
      this.prepared = { name: f.name, url: URL.createObjectURL(new Blob([f.bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' })) };
    } catch (e) {
      this.error = errorText(e);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await (await openStore()).deleteRun(id, true);
      await this.refresh();
    } catch (e) {
      this.error = errorText(e);
    }
  }
}

export const pretrain = new PretrainState();
