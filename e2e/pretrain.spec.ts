// MoCo pretraining from the page: a demo dataset, a small ResNet-18 run in the training worker (the auto
// backend: wasm here), live numbers, pause and resume, a reload mid-run that resumes from the last
// checkpoint, and the MoCo-format download, which PyTorch loads as main_moco.py --resume does.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { PYTHON, REPO_ROOT } from '../scripts/fixtures/ensure.ts';

test('pretrain: live numbers, pause/resume, reload resumes from the checkpoint, MoCo download loads in PyTorch', async ({ page }) => {
  test.setTimeout(420_000);
  await page.goto('./#/datasets');
  await page.getByLabel('Stored size').fill('64');
  await page.getByLabel('Demo image count').fill('24');
  await page.getByRole('button', { name: 'Generate demo dataset' }).click();
  await expect(page.getByTestId('import-result')).toBeVisible({ timeout: 120_000 });

  await page.goto('./#/pretrain');
  await page.getByLabel('Run name', { exact: true }).fill('tiny');
  await page.getByLabel('Batch size', { exact: true }).fill('4');
  await page.getByLabel('Queue length K', { exact: true }).fill('16');
  await page.getByLabel('Image size', { exact: true }).fill('32');
  await page.getByLabel('Crop', { exact: true }).fill('32');
  await page.getByLabel('Epochs', { exact: true }).fill('3');
  await page.getByLabel('Learning rate', { exact: true }).fill('0.001');
  await page.getByLabel('Checkpoint every (steps)', { exact: true }).fill('2');
  await expect(page.getByTestId('run-plan')).toContainText('6 steps per epoch (24 images, batch 4');
  // before the start: FLOPs and the time at this device's measured speed
  await expect(page.getByTestId('handoff-advice')).toContainText(/This pretraining run needs about [\d.]+e\d+ FLOP: about .* on this device/, { timeout: 120_000 });
  // the augmentation preview: pairs of 32 px views drawn in the training worker
  await page.getByRole('button', { name: 'Show augmentations' }).click();
  await expect(page.getByTestId('augment-pair').first()).toBeVisible({ timeout: 60_000 });
  await expect(page.getByRole('img', { name: /^query view of / }).first()).toBeVisible();
  await expect(page.getByTestId('augment-params').first()).toContainText('query');
  await page.getByRole('button', { name: 'Start pretraining' }).click();

  const run = page.getByRole('listitem', { name: 'Run tiny' });
  await expect(run.getByTestId('live-loss')).toHaveText(/^\d+\.\d{4}$/, { timeout: 120_000 });
  await expect(run.getByTestId('live-step')).toHaveText(/^[3-9]|^1\d/, { timeout: 120_000 });
  // MFU: counted FLOPs per step over the step time, over the matmul probe's peak on this backend
  await expect(run.getByTestId('live-mfu')).toHaveText(/^\d+\.\d % \(\d+\.\d\d of \d+\.\d GFLOP\/s measured peak\)$/, { timeout: 60_000 });

  await run.getByRole('button', { name: 'Pause' }).click();
  await expect(run.getByTestId('run-status')).toHaveText('paused', { timeout: 60_000 });
  await run.getByRole('button', { name: 'Resume' }).click();
  await expect(run.getByTestId('run-status')).toHaveText('running');
  await expect(run.getByTestId('live-checkpoint')).toContainText('interval', { timeout: 120_000 });
  const before = Number(/^(\d+)/.exec((await run.getByTestId('live-step').textContent()) ?? '')?.[1]);

  // a reload kills the worker mid-run; the page resumes the run from its last checkpoint
  await page.reload();
  await expect(page.getByRole('status')).toContainText(/Resuming 'tiny' from the last checkpoint \(step \d+\)/, { timeout: 30_000 });
  const resumedAt = Number(/\(step (\d+)\)/.exec((await page.getByRole('status').textContent()) ?? '')?.[1]);
  expect(resumedAt).toBeGreaterThanOrEqual(2);
  expect(resumedAt).toBeLessThanOrEqual(before + 2);
  await expect(run.getByTestId('run-status')).toHaveText('complete', { timeout: 240_000 });
  await expect(run.getByRole('img', { name: /^Loss from/ })).toBeVisible();

  const dir = mkdtempSync(join(tmpdir(), 'pretrain-e2e-'));
  try {
    const download = page.waitForEvent('download');
    await run.getByRole('button', { name: 'Download MoCo checkpoint (.pth.tar)' }).click();
    const file = join(dir, (await download).suggestedFilename());
    await (await download).saveAs(file);
    expect(file).toMatch(/tiny-epoch3-step18\.pth\.tar$/);
    const out = JSON.parse(execFileSync(PYTHON, [join(REPO_ROOT, 'scripts/fixtures/torch_moco_resume.py'), '--check', file], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(out).toMatchObject({ epoch: 3, arch: 'resnet18', dim: 128, K: 16, queue_ptr: (18 * 4) % 16, adam_steps: [18], adam_state_count: 64, queue_unit: true });

    // the cluster bundle: its MoCo checkpoint resumes in the builder.py mirror and takes one CPU step
    await run.getByRole('button', { name: 'Export for a cluster (.zip)' }).click();
    const link = page.getByTestId('prepared').getByRole('link');
    await expect(link).toHaveText(/^Save tiny.*\.zip$/, { timeout: 60_000 });
    const zipDownload = page.waitForEvent('download');
    await link.click();
    const zip = join(dir, (await zipDownload).suggestedFilename());
    await (await zipDownload).saveAs(zip);
    const b = JSON.parse(execFileSync(PYTHON, [join(REPO_ROOT, 'scripts/fixtures/handoff_bundle_check.py'), zip], { encoding: 'utf8' })) as { names: string[]; resume: { next: Record<string, unknown> } & Record<string, unknown> };
    for (const f of ['run.json', 'README.md', 'launch_torchrun.sh', 'launch_sbatch.sh']) expect(b.names.some((n) => n.endsWith(`/${f}`)), f).toBe(true);
    // main_moco.py starts at epoch 3 of the saved state; one step moves the queue pointer by the batch
    expect(b.resume).toMatchObject({ epoch: 3, arch: 'resnet18', dim: 128, K: 16, queue_ptr: (18 * 4) % 16, adam_steps: [18], adam_state_count: 64 });
    expect(b.resume.next).toMatchObject({ queue_ptr: (18 * 4 + 4) % 16, adam_steps: [19], adam_state_count: 64 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
