// Reading torch-written checkpoints in the browser (in the ingest worker), compared with what torch
// itself says of the same files (scripts/fixtures/torch_checkpoints.py).
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixtures } from '../scripts/fixtures/ensure.ts';

interface TorchSummary {
  format: string;
  arch: string | null;
  epoch: number | null;
  tensor_count: number;
  parameter_count: number;
  top_level_keys: string[];
}

const dir = ensureFixtures('torch_checkpoints');
const torchSays = (f: string) => (JSON.parse(readFileSync(join(dir, `${f}.json`), 'utf8')) as { summary: TorchSummary }).summary;

for (const f of ['moco_adam.zip.pth.tar', 'moco_sgd.legacy.pth.tar', 'resnet18_state_dict.zip.pth.tar']) {
  test(`${f}: format, keys, arch, epoch and counts as torch reports them`, async ({ page }) => {
    const t = torchSays(f);
    await page.goto('./#/checkpoints');
    await page.getByLabel('Open checkpoint').setInputFiles(join(dir, f));
    await expect(page.getByTestId('ckpt-tensors')).toHaveText(t.tensor_count.toLocaleString('en-US'));
    await expect(page.getByTestId('ckpt-format')).toContainText(t.format);
    await expect(page.getByTestId('ckpt-params')).toContainText(t.parameter_count.toLocaleString('en-US'));
    await expect(page.getByTestId('ckpt-keys')).toHaveText(t.top_level_keys.join(', '));
    if (t.arch !== null) await expect(page.getByTestId('ckpt-arch')).toHaveText(t.arch);
    if (t.epoch !== null) await expect(page.getByTestId('ckpt-epoch')).toHaveText(String(t.epoch));
  });
}

test('a pickled nn.Module is refused with the global named; placeholders show it inertly', async ({ page }) => {
  await page.goto('./#/checkpoints');
  await page.getByLabel('Open checkpoint').setInputFiles(join(dir, 'module_pickle.zip.pth.tar'));
  await expect(page.getByTestId('checkpoint-error')).toContainText(/refused \(global_refused\): refused global __main__\.TinyEncoder/);
  await page.getByLabel('show refused objects as inert placeholders').check();
  await page.getByLabel('Open checkpoint').setInputFiles(join(dir, 'module_pickle.zip.pth.tar'));
  await expect(page.getByText(/Placeholders/)).toBeVisible();
});
