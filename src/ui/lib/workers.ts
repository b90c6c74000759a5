// The page's workers, one bridge each. Components call these; workers stay behind the bridge.
import { WorkerBridge } from '../../bridge/client.ts';
import type { TrainWorkerApi } from '../../../workers/train.worker.ts';
import type { IngestWorkerApi } from '../../../workers/ingest.worker.ts';

export const trainWorker = new WorkerBridge<TrainWorkerApi>(
  'training',
  () => new Worker(new URL('../../../workers/train.worker.ts', import.meta.url), { type: 'module', name: 'training' }),
);

export const ingestWorker = new WorkerBridge<IngestWorkerApi>(
  'ingest',
  () => new Worker(new URL('../../../workers/ingest.worker.ts', import.meta.url), { type: 'module', name: 'ingest' }),
);

// Diagnostics entry for end-to-end tests (e.g. e2e/models-webgpu.spec.ts): the page's own worker bridges,
// reachable from page.evaluate in the production build. Exposes only the app's API, nothing secret.
(globalThis as { mocoCxrDiagnostics?: unknown }).mocoCxrDiagnostics = { trainWorker };
