// Three MoCo steps against PyTorch (scripts/fixtures/moco_steps.py: builder.py's forward and main_moco.py's
// step with torch.optim.Adam, float64 references of float32 start values), on the tfjs cpu backend.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { ensureFixtures, PYTHON, REPO_ROOT } from '../../../scripts/fixtures/ensure.ts';
import { extractModel, toMoco } from '../convert/index.ts';
import { exportStateDict } from '../models/index.ts';
import { readTorchFile } from '../torchfile/index.ts';
import { sameBits } from './same.testutil.ts';
import { mocoFromCanonical, mocoToCanonical } from './state.ts';
import { compareMocoRun, runMocoSteps, type MocoFixture } from './parity.ts';

function loadMocoFixture(name: string): MocoFixture {
  const dir = ensureFixtures('moco_steps');
  const index = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Omit<MocoFixture, 'data'>;
  const buf = readFileSync(join(dir, `${name}.bin`));
  return { ...index, data: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)) };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

test('MoCo-CXR config (m 0.999, T 0.2, lr 1e-4): losses, accuracies, queue, pointer, both encoders and Adam state', async () => {
  const fx = loadMocoFixture('mococxr');
  const report = compareMocoRun(fx, await runMocoSteps(fx));
  console.log(`moco parity mococxr: ${JSON.stringify(report)}; torch float32: ${JSON.stringify(fx.torch_f32_error)}`);
  expect(report.failures).toEqual([]);
}, 600_000);

// The amplified config (m 0.9, T 0.07, lr and decay 1e-2) makes a wrong order or a missing term show. Its
// run is also exported after two steps: the file must read back unchanged and PyTorch must resume from it.
describe('amplified config, and the run exported as a MoCo-CXR checkpoint after two steps', () => {
  test('parity; the export reads back unchanged; PyTorch resumes from it (main_moco.py --resume) with epoch, queue, pointer and Adam intact', async () => {
    const fx = loadMocoFixture('amplified');
    const dir = mkdtempSync(join(tmpdir(), 'moco-resume-'));
    const file = join(dir, 'run.pth.tar');
    let checked = false;
    const report = compareMocoRun(fx, await runMocoSteps(fx, async (s, moco) => {
      if (s !== 1) return;
      const model = await mocoToCanonical(moco, { epoch: 3, lr: fx.config.lr });
      const bytes = toMoco(model);
      writeFileSync(file, bytes);
      // back into the app: same weights, queue, pointer and Adam state, bit for bit
      const back = mocoFromCanonical(extractModel(readTorchFile(bytes, { mode: 'strict' }).root).model, { m: fx.config.m, T: fx.config.T });
      try {
        expect(back.queuePtr).toBe(moco.queuePtr);
        expect(sameBits((await back.queue.data()) as Float32Array, (await moco.queue.data()) as Float32Array)).toBe(true);
        for (const enc of ['encoderQ', 'encoderK'] as const) {
          const a = await exportStateDict(moco[enc]);
          const b = await exportStateDict(back[enc]);
          for (const [k, e] of a) expect(sameBits(b.get(k)?.data, e.data), k).toBe(true);
        }
        expect(back.optimizer.slots.size).toBe(moco.optimizer.slots.size);
        for (const [name, slot] of moco.optimizer.slots) {
          const other = back.optimizer.slots.get(name)!;
          expect(other.step).toBe(slot.step);
          expect(sameBits((await other.expAvgSq.data()) as Float32Array, (await slot.expAvgSq.data()) as Float32Array)).toBe(true);
        }
      } finally {
        back.dispose();
      }
      checked = true;
    }));
    console.log(`moco parity amplified: ${JSON.stringify(report)}; torch float32: ${JSON.stringify(fx.torch_f32_error)}`);
    expect(report.failures).toEqual([]);
    expect(checked).toBe(true);
    const out = JSON.parse(
      execFileSync(PYTHON, [join(REPO_ROOT, 'scripts/fixtures/torch_moco_resume.py'), file, ensureFixtures('moco_steps'), 'amplified', '2'], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } }),
    ) as { epoch: number; arch: string; queue_ptr: number; adam_steps: number[]; adam_state_count: number; queue_diff: number; next: { loss: number; top1: number; top5: number; queue_ptr: number; adam_steps: number[]; moment_rel_err: number } };
    rmSync(dir, { recursive: true, force: true });
    console.log('torch resume:', JSON.stringify(out));
    expect(out.epoch).toBe(3);
    expect(out.arch).toBe('resnet18');
    expect(out.queue_ptr).toBe(fx.steps[1]!.ptr);
    expect(out.adam_steps).toEqual([2]);
    expect(out.adam_state_count).toBe(fx.trainable.length);
    expect(out.queue_diff).toBeLessThan(5e-4);
    // the resumed step is the third step of the uninterrupted float64 run
    expect(Math.abs(out.next.loss - fx.steps[2]!.loss)).toBeLessThan(1e-4);
    expect([out.next.top1, out.next.top5]).toEqual([fx.steps[2]!.top1, fx.steps[2]!.top5]);
    expect(out.next.queue_ptr).toBe(fx.steps[2]!.ptr);
    expect(out.next.adam_steps).toEqual([3]);
    expect(out.next.moment_rel_err).toBeLessThan(5e-2);
  }, 600_000);
});
