// `moco-cxr convert` as a user runs it, on torch-written checkpoints; one of its outputs is loaded
// back by torch (strict) to tie the command to the library's checked exports.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFixtures, PYTHON, REPO_ROOT } from '../../scripts/fixtures/ensure.ts';

const dir = ensureFixtures('torch_convert_check');
const out = join(dir, 'cli-out');
mkdirSync(out, { recursive: true });
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/moco-cxr.js'), ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('moco-cxr convert', () => {
  it('MoCo -> torchvision: prints what it detected and wrote; torch loads it strictly', () => {
    const dest = join(out, 'r18_backbone.pth');
    const r = cli('convert', join(dir, 'moco_r18.pth.tar'), dest, '--to', 'torchvision');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^detected  moco \(resnet18, dim 128, K 256, epoch 7, Adam state for 64 of 128 parameters, step 1\)$/m);
    expect(r.out).toMatch(/^wrote     .*r18_backbone\.pth \([\d,]+ bytes\): torchvision resnet18 backbone, 120 tensors, bare names$/m);
    const check = execFileSync(
      PYTHON,
      [join(REPO_ROOT, 'scripts/fixtures/torch_convert_check.py'), '--check', 'torchvision:resnet18', dest, join(dir, 'moco_r18.pth.tar'), JSON.stringify({ rules: [['', 'module.encoder_q.']] })],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(check)).toMatchObject({ ok: true, compared: 120 });
  });

  it('pipeline -> moco needs a new head; --new-head gives one; --json says what happened', () => {
    const dest = join(out, 'moco_from_pipeline.pth.tar');
    const refused = cli('convert', join(dir, 'pipeline_d121.pth.tar'), dest, '--to', 'moco');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/refused \(head_mismatch\): the MoCo format needs the MLP projection head \(classifier\.0 \/ classifier\.2\); this model has a linear head/);
    const r = cli('convert', join(dir, 'pipeline_d121.pth.tar'), dest, '--to', 'moco', '--new-head', '--epoch', '0', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.detected).toMatchObject({ layout: 'pipeline', arch: 'densenet121', tasks: ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'] });
    expect(j.notes.join('\n')).toMatch(/new MLP head -> 128/);
    const back = cli('inspect', dest);
    expect(back.out).toMatch(/^layout\s+moco \(densenet121, dim 128, K 24576, epoch 0, Adam, no state yet\)$/m);
  });

  it('refusals exit 1 with the reason: another architecture, a wrong shape, a truncated file', () => {
    const dest = join(out, 'refused.pth');
    rmSync(dest, { force: true });
    const arch = cli('convert', join(dir, 'tv_d121_5.pth'), dest, '--to', 'torchvision', '--arch', 'resnet18');
    expect(arch.code).toBe(1);
    expect(arch.err).toMatch(/refused \(wrong_arch\): this is a densenet121 checkpoint but resnet18 was expected/);
    const shape = cli('convert', join(dir, 'tv_r18_badshape.pth'), dest, '--to', 'pipeline', '--tasks', 'a,b');
    expect(shape.code).toBe(1);
    expect(shape.err).toMatch(/layer2\.0\.conv1\.weight is \[128, 64, 1, 1\], \[128, 64, 3, 3\] expected/);
    const outputs = cli('convert', join(dir, 'tv_r18_14.pth'), dest, '--to', 'pipeline', '--tasks', 'a,b,c');
    expect(outputs.err).toMatch(/the classifier has 14 outputs, 3 expected/);
    expect(existsSync(dest)).toBe(false);
    expect(cli('convert', join(dir, 'manifest.json'), dest, '--to', 'moco').err).toMatch(/refused \(not_a_checkpoint\)/);
    const whole = readFileSync(join(dir, 'moco_r18_single.legacy.pth.tar'));
    writeFileSync(join(out, 'cut.pth.tar'), whole.subarray(0, whole.length - 4096));
    const cut = cli('convert', join(out, 'cut.pth.tar'), dest, '--to', 'torchvision');
    expect(cut.code).toBe(1);
    expect(cut.err).toMatch(/refused \(truncated\)/);
    expect(existsSync(dest)).toBe(false);
  });

  it('bad usage exits 2', () => {
    expect(cli('convert', 'a').code).toBe(2);
    expect(cli('convert', 'a', 'b').err).toMatch(/--to is required/);
    expect(cli('convert', 'a', 'b', '--to', 'onnx').err).toMatch(/--to must be one of moco, torchvision, pipeline, app/);
    expect(cli('convert', 'a', 'b', '--to', 'moco', '--arch', 'vgg16').code).toBe(2);
    expect(cli('convert', '--help').out).toMatch(/weights_only=False, as main_moco\.py does/);
    expect(cli('--help').out).toMatch(/convert IN OUT --to moco\|torchvision\|pipeline\|app/);
  });
});
