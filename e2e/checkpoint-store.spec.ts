// Keeping checkpoints in the browser (Checkpoints page): a MoCo ResNet-18 written by Debian's torch is
// imported, listed, renamed, survives a reload, is downloaded as a torchvision backbone that torch
// loads strictly, and is deleted. Files of another architecture or no known layout store nothing.
import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFixtures, PYTHON } from '../scripts/fixtures/ensure.ts';

const dir = ensureFixtures('torch_e2e_checkpoints');
const expected = (JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, { torchvision_keys: string[] }>)['moco_r18_e2e.pth.tar']!;

const rows = (page: Page) => page.getByTestId('checkpoint-row');
const row = (page: Page, name: string) => page.locator(`[data-testid="checkpoint-row"][data-name="${name}"]`);

async function openAndKeep(page: Page, file: string) {
  await page.getByLabel('Open checkpoint').setInputFiles(join(dir, file));
  await page.getByRole('button', { name: 'Keep in this browser' }).click();
}

test('a MoCo ResNet-18 is kept, renamed, persists over a reload, downloads as torchvision that torch loads strictly, and is deleted', async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto('./#/checkpoints');
  await expect(page.getByTestId('no-checkpoints')).toBeVisible();
  await openAndKeep(page, 'moco_r18_e2e.pth.tar');
  await expect(page.getByTestId('checkpoint-imported')).toContainText('moco (resnet18', { timeout: 120_000 });
  await expect(rows(page)).toHaveCount(1);
  const r = row(page, 'moco_r18_e2e');
  await expect(r.getByTestId('checkpoint-layout')).toHaveText('moco');
  await expect(r.getByTestId('checkpoint-arch')).toHaveText('resnet18');
  await expect(r).toContainText('mlp (128 dim)');

  // rename
  await page.getByRole('button', { name: 'Rename moco_r18_e2e' }).click();
  await page.getByLabel('New name for moco_r18_e2e').fill('my resnet');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(row(page, 'my resnet')).toBeVisible();

  // starting point
  await page.getByRole('button', { name: 'Use my resnet as starting point' }).click();
  await expect(page.getByTestId('start-checkpoint')).toContainText('my resnet');
  const id = await row(page, 'my resnet').getAttribute('data-id');
  expect(await page.evaluate(() => localStorage.getItem('moco-cxr:start-checkpoint'))).toBe(id);

  // persisted
  await page.reload();
  await expect(row(page, 'my resnet').getByTestId('checkpoint-arch')).toHaveText('resnet18');
  await expect(page.getByTestId('start-checkpoint')).toContainText('my resnet');

  // a format the model does not fit is refused with the reason
  await page.getByLabel('Download my resnet as').selectOption('pipeline');
  await page.getByRole('button', { name: 'Download my resnet' }).click();
  await expect(page.getByTestId('checkpoint-store-error')).toContainText(/cannot be written in the pipeline format \(head_mismatch\): the pipeline format needs the task names/);

  // download as torchvision; torch loads it into resnet18 minus fc with strict=True
  await page.getByLabel('Download my resnet as').selectOption('torchvision');
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download my resnet' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe('my resnet.torchvision.pth.tar');
  const tmp = mkdtempSync(join(tmpdir(), 'ckpt-e2e-'));
  try {
    const saved = join(tmp, 'out.pth.tar');
    await download.saveAs(saved);
    const out = execFileSync(PYTHON, ['-c', [
      'import sys, torch, torchvision',
      'sd = torch.load(sys.argv[1], map_location="cpu", weights_only=True)',
      'm = torchvision.models.resnet18()',
      'm.fc = torch.nn.Identity()',
      'm.load_state_dict(sd, strict=True)',
      'print(len(sd))',
    ].join('\n'), saved], { encoding: 'utf8' });
    expect(Number(out.trim())).toBe(expected.torchvision_keys.length);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  // delete, with a confirm step
  await page.getByRole('button', { name: 'Delete my resnet' }).click();
  await expect(rows(page)).toHaveCount(1);
  await page.getByRole('button', { name: 'Confirm delete my resnet' }).click();
  await expect(rows(page)).toHaveCount(0);
  await expect(page.getByTestId('start-checkpoint')).toContainText('none chosen');
  await page.reload();
  await expect(page.getByTestId('no-checkpoints')).toBeVisible();
});

test('a checkpoint of another architecture, with a wrongly shaped tensor, or of no known layout, is refused by name and nothing is stored', async ({ page }) => {
  await page.goto('./#/checkpoints');
  await openAndKeep(page, 'resnet34_state_dict.pth.tar');
  await expect(page.getByTestId('checkpoint-store-error')).toContainText(/resnet34.*not supported/, { timeout: 60_000 });
  await expect(page.getByRole('alert')).toBeVisible();
  await openAndKeep(page, 'resnet18_wrong_shape.pth.tar');
  await expect(page.getByTestId('checkpoint-store-error')).toContainText('1 wrongly shaped: layer1.0.conv2.weight is [64, 64, 1, 1], [64, 64, 3, 3] expected');
  await openAndKeep(page, 'unknown_layout.pth.tar');
  await expect(page.getByTestId('checkpoint-store-error')).toContainText(/unknown_layout\.pth\.tar was not stored \(unknown_layout\)/);
  await expect(rows(page)).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId('no-checkpoints')).toBeVisible();
});
