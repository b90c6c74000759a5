// Three MoCo steps against PyTorch (scripts/fixtures/moco_steps.py: builder.py's forward and main_moco.py's
// step with torch.optim.Adam, float64 references of float32 start values), on the tfjs cpu backend.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';
import { compareMocoRun, runMocoSteps, type MocoFixture } from './parity.ts';

export function loadMocoFixture(name: string): MocoFixture {
  const dir = ensureFixtures('moco_steps');
  const index = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Omit<MocoFixture, 'data'>;
  const buf = readFileSync(join(dir, `${name}.bin`));
  return { ...index, data: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)) };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe.each(['mococxr', 'amplified'])('MoCo steps against PyTorch: %s', (name) => {
  test('losses, accuracies, queue, pointer, both encoders and Adam state', async () => {
    const fx = loadMocoFixture(name);
    const report = compareMocoRun(fx, await runMocoSteps(fx));
    console.log(`moco parity ${name}: ${JSON.stringify(report)}; torch float32: ${JSON.stringify(fx.torch_f32_error)}`);
    expect(report.failures).toEqual([]);
  });
});
