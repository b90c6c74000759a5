// A MoCo-CXR checkpoint written by PyTorch (scripts/fixtures/torch_convert_check.py: builder.py's model
// under DDP's 'module.', Adam after one step, zip format) as a run's start: both encoders, the queue, its
// pointer and Adam's state come into MoCo exactly as saved.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, test } from 'vitest';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';
import { extractModel } from '../convert/index.ts';
import { exportStateDict } from '../models/index.ts';
import { readTorchFile, Tensor, tensorToFloat32 } from '../torchfile/index.ts';
import { sameBits } from './same.testutil.ts';
import { mocoFromCanonical } from './state.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
}, 600_000);

test('a torch-written MoCo-CXR checkpoint starts a run with its encoders, queue, pointer and Adam state', async () => {
  const dir = ensureFixtures('torch_convert_check');
  const { model } = extractModel(readTorchFile(readFileSync(join(dir, 'moco_r18.pth.tar')), { mode: 'strict' }).root);
  const moco = mocoFromCanonical(model, { m: 0.999, T: 0.2 });
  try {
    expect(moco.config).toMatchObject({ arch: 'resnet18', dim: 128, K: 256 });
    expect(moco.queuePtr).toBe(48);
    expect(model.moco?.epoch).toBe(7);
    expect(sameBits((await moco.queue.data()) as Float32Array, tensorToFloat32(model.moco!.queue))).toBe(true);
    const k = await exportStateDict(moco.encoderK);
    for (const [name, t] of model.moco!.encoderK) expect(sameBits(k.get(name)?.data, tensorToFloat32(t)), name).toBe(true);
    const q = await exportStateDict(moco.encoderQ);
    for (const [name, t] of model.backbone) expect(sameBits(q.get(name)?.data, tensorToFloat32(t)), name).toBe(true);

    // Adam: torch's ids 0..n-1 over encoder_q's parameters, then encoder_k's (no state)
    const opt = model.moco!.optimizer!;
    const state = opt.get('state') as Map<unknown, Map<string, unknown>>;
    const trainable = [...moco.encoderQ.trainableVariables().keys()];
    expect(moco.optimizer.slots.size).toBe(trainable.length);
    for (const [i, name] of trainable.entries()) {
      const saved = state.get(i)!;
      const slot = moco.optimizer.slots.get(name)!;
      expect(slot.step).toBe(1);
      const a = moco.encoderQ.store.toTorchLayout(name, slot.expAvgSq);
      expect(sameBits((await a.data()) as Float32Array, tensorToFloat32(saved.get('exp_avg_sq') as Tensor)), name).toBe(true);
      a.dispose();
    }
  } finally {
    moco.dispose();
  }
}, 600_000);
