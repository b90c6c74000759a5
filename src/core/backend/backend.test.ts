// The backend layer in Node: no WebGPU and no WebGL here, so auto falls through to wasm (or cpu), and
// every choice says why.
import { describe, expect, it } from 'vitest';
import { initBackend } from './backend.ts';
import * as tf from '@tensorflow/tfjs';

describe('initBackend in Node', () => {
  it('auto skips the GPU backends with a reason and runs a real op', async () => {
    const info = await initBackend('auto');
    expect(info.context).toBe('node');
    expect(['wasm', 'cpu']).toContain(info.active);
    expect(info.webgpu).toBeNull();
    expect(info.notes.join('\n')).toMatch(/webgpu: navigator\.gpu is not available/);
    const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])));
    expect(Array.from(await y.data())).toEqual([11]);
    y.dispose();
  });

  it('an explicit choice that cannot start falls back to cpu and says so', async () => {
    const info = await initBackend('webgpu');
    expect(info.active).toBe('cpu');
    expect(info.notes.join('\n')).toMatch(/webgpu was requested but cpu runs/);
  });

  it('cpu on request', async () => {
    const info = await initBackend('cpu');
    expect(info.active).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
});
