// kernelCheck (the training worker's diagnostic, run on webgpu and webgl in e2e/kernels-webgpu.spec.ts) on
// the Node backends, so that what it reports is known to be right before a browser relies on it.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { kernelCheck } from './check.ts';
import { checkInputFromFixtures, loadKernelFixtures } from './fixtures.testutil.ts';
import { useBackend } from './backends.testutil.ts';

describe('kernelCheck', () => {
  const input = checkInputFromFixtures(loadKernelFixtures());

  it('on cpu: ours equals the stock kernel and torch, tf.conv2d reaches ours, Adam equals torch; frees all', async () => {
    await useBackend('cpu');
    const r = await kernelCheck(input);
    expect(r.backend).toBe('cpu');
    expect(r.registered).toEqual({ Conv2DBackpropFilter: true, MocoCxrAdamUpdate: true });
    expect(r.conv.map((c) => c.name)).toEqual(input.conv.map((c) => c.name));
    for (const c of r.conv) {
      expect(c.stockError, c.name).toBeNull();
      expect(c.oursVsStock!, c.name).toBeLessThan(1e-5);
      expect(c.oursVsExpected!, c.name).toBeLessThan(1e-5);
      expect(c.gradVsOurs, c.name).toBe(0);
    }
    expect(r.adam).toHaveLength(input.adam.length);
    for (const a of r.adam) {
      expect(Math.max(...Object.values(a.vsExpected!)), a.name).toBe(0);
      expect(Math.max(...Object.values(a.vsLoop.fused)), a.name).toBe(0);
      // the unfused reference is a different computation, and the check can tell the two apart
      expect(Math.max(...Object.values(a.vsLoop.unfused)), a.name).toBeGreaterThan(0);
    }
    expect(r.numTensorsAfter).toBe(r.numTensorsBefore);
  });

  it('on wasm: says that tfjs has no stock kernel, and still checks ours against torch', async () => {
    await useBackend('wasm');
    const r = await kernelCheck({ conv: input.conv.slice(0, 2), adam: [] });
    for (const c of r.conv) {
      expect(c.oursVsStock).toBeNull();
      expect(c.stockError).toMatch(/tfjs has no Conv2DBackpropFilter on wasm/);
      expect(c.oursVsExpected!).toBeLessThan(1e-5);
    }
    expect(r.numTensorsAfter).toBe(r.numTensorsBefore);
  });

  it('a wrong expectation shows as a large error, not a pass', async () => {
    await useBackend('cpu');
    const c = input.conv[0]!;
    const wrong = Array.from(c.expected!, (v, i) => (i === 3 ? v + 1 : v));
    const r = await kernelCheck({ conv: [{ ...c, expected: wrong }], adam: [] });
    expect(r.conv[0]!.oursVsExpected!).toBeGreaterThan(1e-2);
    tf.disposeVariables();
  });
});
