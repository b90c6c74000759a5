import { beforeAll, expect, test } from 'vitest';
import { useBackend } from './kernels/backends.testutil.ts';
import { forwardFlops } from '../moco/flops.ts';
import { createModel } from '../models/index.ts';
import { measureTrainingSpeed } from './speed.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

test('training speed: FLOPs of the timed step are 3x the counted forward, and the rate follows from the time', async () => {
  const r = await measureTrainingSpeed({ size: 32, batch: 2, steps: 1 });
  const m = createModel('resnet18', { head: 'linear', numClasses: 1 });
  const f = (await forwardFlops(m, 32)).total;
  m.dispose();
  expect(r.stepFlops).toBe(3 * f * 2);
  expect(r.flopsPerSecond).toBeCloseTo(r.stepFlops / (r.stepMillis / 1000), 0);
  expect(r.flopsPerSecond).toBeGreaterThan(1e7);
  expect(r.backend).toBe('wasm');
}, 60_000);
