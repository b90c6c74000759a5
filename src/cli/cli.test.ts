// The CLI as a user runs it: `node bin/moco-cxr.js inspect FILE [--json]` on torch-written files,
// checked against torch's own description of them.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFixtures, REPO_ROOT } from '../../scripts/fixtures/ensure.ts';

const dir = ensureFixtures('torch_checkpoints');
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/moco-cxr.js'), ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const torchSummary = (name: string) => JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')).summary;

describe('moco-cxr inspect', () => {
  it('prints format, keys, arch, epoch, counts and every tensor (text)', () => {
    const name = 'moco_adam.legacy.pth.tar';
    const t = torchSummary(name);
    const { code, out, err } = cli('inspect', join(dir, name));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^format\s+legacy/m);
    expect(out).toMatch(/^top-level keys\s+epoch, arch, state_dict, optimizer$/m);
    expect(out).toMatch(new RegExp(`^arch\\s+${t.arch}$`, 'm'));
    expect(out).toMatch(new RegExp(`^epoch\\s+${t.epoch}$`, 'm'));
    expect(out).toMatch(new RegExp(`^tensors\\s+${t.tensor_count}$`, 'm'));
    expect(out).toMatch(new RegExp(`^parameters\\s+${t.parameter_count.toLocaleString('en-US')} `, 'm'));
    const torchNames: Record<string, string> = { f32: 'float32', i64: 'int64' };
    for (const x of t.tensors) {
      expect(out).toMatch(new RegExp(`^${x.name.replace(/\./g, '\\.')}\\s+${torchNames[x.dtype]}\\s+\\[${x.shape.join(', ')}\\]$`, 'm'));
    }
  });

  it('--json gives the same facts to machines', () => {
    const name = 'moco_sgd.zip.pth.tar';
    const t = torchSummary(name);
    const { code, out } = cli('inspect', join(dir, name), '--json');
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j.format).toBe('zip');
    expect(j.folder).toBe('moco_sgd.zip.pth');
    expect(j.topLevelKeys).toEqual(t.top_level_keys);
    expect([j.arch, j.epoch, j.tensorCount, j.parameterCount]).toEqual([t.arch, t.epoch, t.tensor_count, t.parameter_count]);
    expect(j.tensors.map((x: { name: string; dtype: string; shape: number[] }) => ({ name: x.name, dtype: x.dtype, shape: x.shape }))).toEqual(t.tensors);
  });

  it('exits non-zero with the reason when a file is refused', () => {
    const r = cli('inspect', join(dir, 'numpy_scalar.zip.pth.tar'));
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/refused \(global_refused\).*numpy\.core\.multiarray\.scalar/);
    expect(cli('inspect', join(dir, 'hostile_dotdot.zip')).err).toMatch(/zip_unsafe_name/);
    expect(cli('inspect', join(dir, 'ancient.tar.pth')).code).toBe(1);
    expect(cli('inspect', join(dir, 'does-not-exist.pth')).err).toMatch(/cannot read/);
  });

  it('--placeholders shows a refused file without running anything', () => {
    const r = cli('inspect', join(dir, 'module_pickle.zip.pth.tar'), '--placeholders');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^placeholders\s+.*__main__\.TinyEncoder/m);
  });

  it('--help, bad usage and unknown commands', () => {
    const h = cli('--help');
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/inspect FILE \[--json\]/);
    expect(cli('inspect', '--help').out).toMatch(/--placeholders/);
    expect(cli('inspect').code).toBe(2);
    expect(cli('inspect', 'a', '--frobnicate').code).toBe(2);
    expect(cli('frobnicate').code).toBe(2);
    expect(cli().code).toBe(2);
  });
});
