// Backend state shown in the header and on the System page.
import type { BackendInfo, BackendPreference } from '../../core/backend/backend.ts';
import { trainWorker } from '../lib/workers.ts';
import { loadBackendPreference, saveBackendPreference } from '../lib/settings.ts';
import type { OpCheck } from '../../../workers/train.worker.ts';

class BackendState {
  preference = $state<BackendPreference>(loadBackendPreference());
  info = $state<BackendInfo | null>(null);
  error = $state<string | null>(null);
  busy = $state(false);
  check = $state<OpCheck | null>(null);

  async apply(preference: BackendPreference = this.preference): Promise<void> {
    this.preference = preference;
    saveBackendPreference(preference);
    this.busy = true;
    this.error = null;
    this.check = null;
    try {
      // A backend cannot be swapped cleanly inside a live tfjs runtime with webgpu buffers; start afresh.
      if (this.info) trainWorker.terminate('restarting with another backend');
      this.info = await trainWorker.call('initBackend', preference);
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      this.busy = false;
    }
  }

  async runCheck(): Promise<void> {
    this.error = null;
    try {
      if (!this.info) await this.apply();
      this.check = await trainWorker.call('checkOp', null);
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
  }
}

export const backendState = new BackendState();
trainWorker.onCrash = (message) => {
  backendState.error = message;
  backendState.info = null;
};
