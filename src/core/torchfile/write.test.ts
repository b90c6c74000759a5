// Our writer against torch.load: files we write must load in Debian's torch 1.13 with and without
// weights_only (where the content allows), equal the torch-written originals bit for bit, and
// load into torchvision's resnet18 with strict=True.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures, PYTHON, REPO_ROOT } from '../../../scripts/fixtures/ensure.ts';
import { Describer } from './describe.testutil.ts';
import {
  makeTensor,
  Opaque,
  pyDict,
  PyGlobal,
  readTorchFile,
  stateDict,
  TorchFileError,
  Tuple,
  writeTorchFile,
  type DType,
  type PickleValue,
} from './index.ts';

const dir = ensureFixtures('torch_checkpoints');
const out = mkdtempSync(join(tmpdir(), 'torchfile-write-'));
const fixture = (name: string) => join(dir, name);

interface Spec {
  file: string;
  original?: string;
  original_key?: string;
  sharing?: boolean;
  weights_only: 'ok' | 'reject' | 'skip';
  resnet18?: string;
  inputs?: Record<string, { dtype: DType; shape: number[]; values: (number | string)[] }>;
}
const specs: Spec[] = [];

/** Reads a torch-written fixture, writes it back with our writer, returns the new path. */
function rewrite(name: string, pick?: (root: PickleValue) => PickleValue): string {
  const root = readTorchFile(readFileSync(fixture(name))).root;
  const path = join(out, `${name}.${pick ? 'part' : 'all'}.ours.pth`);
  writeFileSync(path, writeTorchFile(pick ? pick(root) : root, { folder: 'ours' }));
  return path;
}

// inputs for tensors built from scratch; torch converts the same inputs its own way
const FLOATS = [0, -0, 1 / 3, 0.1, -2.5, 65504, 65519, 65520, 1e-8, 5.960464477539063e-8, 2.9802322387695312e-8, 2049, 2051, 3.3895313892515355e38, 1e39, NaN, Infinity, -Infinity];
const INPUTS: NonNullable<Spec['inputs']> = {
  f32: { dtype: 'f32', shape: [3, 6], values: FLOATS },
  f64: { dtype: 'f64', shape: [18], values: FLOATS },
  f16: { dtype: 'f16', shape: [18], values: FLOATS },
  bf16: { dtype: 'bf16', shape: [2, 9], values: FLOATS },
  i64: { dtype: 'i64', shape: [5], values: ['-9223372036854775808', '-1', '0', '9007199254740993', '9223372036854775807'] },
  i32: { dtype: 'i32', shape: [4], values: [-2147483648, -1, 0, 2147483647] },
  i16: { dtype: 'i16', shape: [3], values: [-32768, 0, 32767] },
  i8: { dtype: 'i8', shape: [3], values: [-128, 0, 127] },
  u8: { dtype: 'u8', shape: [3], values: [0, 128, 255] },
  bool: { dtype: 'bool', shape: [2, 2], values: [1, 0, 0, 1] },
  scalar: { dtype: 'i64', shape: [], values: ['42'] },
  empty: { dtype: 'f32', shape: [0, 3], values: [] },
};

function fromScratch(): PickleValue {
  const sd = stateDict(
    Object.entries(INPUTS).map(([name, inp]) => {
      const data =
        inp.dtype === 'i64'
          ? BigInt64Array.from(inp.values, (v) => BigInt(v))
          : inp.dtype === 'f64'
            ? Float64Array.from(inp.values as number[])
            : inp.dtype === 'f32' || inp.dtype === 'f16' || inp.dtype === 'bf16'
              ? Float32Array.from(inp.values as number[]) // f16/bf16 round from float32, like torch's .to()
              : (inp.values as number[]);
      return [name, makeTensor(inp.dtype, inp.shape, data)] as const;
    }),
  );
  // a checkpoint dict without floats: loads under torch 1.13's weights_only too
  return pyDict({ epoch: 5, arch: 'resnet18', state_dict: sd });
}

let results: { file: string; errors: string[] }[] = [];

beforeAll(() => {
  for (const fmt of ['zip', 'legacy']) {
    specs.push({ file: rewrite(`resnet18_state_dict.${fmt}.pth.tar`), original: fixture(`resnet18_state_dict.${fmt}.pth.tar`), weights_only: 'ok', resnet18: '' });
    // floats, bytes, torch.device: fine for weights_only=False; torch 1.13's weights_only refuses floats
    specs.push({ file: rewrite(`everything.${fmt}.pth.tar`), original: fixture(`everything.${fmt}.pth.tar`), weights_only: 'reject' });
    specs.push({ file: rewrite(`moco_adam.${fmt}.pth.tar`), original: fixture(`moco_adam.${fmt}.pth.tar`), weights_only: 'reject' });
    specs.push({
      file: rewrite(`moco_sgd.${fmt}.pth.tar`, (root) => (root as Map<PickleValue, PickleValue>).get('state_dict')!),
      original: fixture(`moco_sgd.${fmt}.pth.tar`),
      original_key: 'state_dict',
      weights_only: 'ok',
    });
  }
  specs.push({ file: rewrite('legacy_views.legacy.pth.tar'), original: fixture('legacy_views.legacy.pth.tar'), weights_only: 'ok' });
  specs.push({ file: rewrite('deflated.zip.pth.tar'), original: fixture('deflated.zip.pth.tar'), weights_only: 'reject' });
  const scratch = join(out, 'scratch.pth');
  writeFileSync(scratch, writeTorchFile(fromScratch()));
  // as strings, so that NaN, ±Infinity and -0 survive JSON (Python's float() reads them all)
  const asText = (v: number | string) => (Object.is(v, -0) ? '-0' : String(v));
  const inputs = Object.fromEntries(Object.entries(INPUTS).map(([k, v]) => [k, { ...v, values: v.values.map(asText) }]));
  specs.push({ file: scratch, weights_only: 'ok', inputs });

  const specPath = join(out, 'spec.json');
  writeFileSync(specPath, JSON.stringify(specs));
  const stdout = execFileSync(PYTHON, [join(REPO_ROOT, 'scripts/fixtures/torch_roundtrip.py'), specPath], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1' },
    timeout: 300_000,
  });
  results = JSON.parse(stdout);
});

describe('torch.load reads what we write', () => {
  it('checked every file', () => expect(results.map((r) => r.file)).toEqual(specs.map((s) => s.file)));
  for (const name of [
    'resnet18_state_dict.zip', 'resnet18_state_dict.legacy', 'everything.zip', 'everything.legacy', 'moco_adam.zip',
    'moco_adam.legacy', 'moco_sgd.zip', 'moco_sgd.legacy', 'legacy_views.legacy', 'deflated.zip', 'scratch',
  ]) {
    it(name, () => {
      const r = results.find((x) => x.file.includes(`/${name}.`));
      expect(r, name).toBeDefined();
      expect(r!.errors).toEqual([]);
    });
  }
});

describe('the zip we write', () => {
  it('reads back to what torch described for the original', () => {
    for (const fmt of ['zip', 'legacy']) {
      const torch = JSON.parse(readFileSync(fixture(`everything.${fmt}.pth.tar.json`), 'utf8'));
      const ours = readTorchFile(readFileSync(join(out, `everything.${fmt}.pth.tar.all.ours.pth`)));
      expect(new Describer().value(ours.root)).toEqual(torch.value);
    }
  });

  it('opens in fflate, an independent zip reader, with torch layout and aligned payloads', () => {
    const bytes = new Uint8Array(readFileSync(join(out, 'scratch.pth'))); // a buffer of its own, offset 0
    const files = unzipSync(bytes);
    const names = Object.keys(files);
    expect(names[0]).toBe('archive/data.pkl');
    expect(names).toContain('archive/version');
    expect(new TextDecoder().decode(files['archive/version'])).toBe('3\n');
    expect(new TextDecoder().decode(files['archive/byteorder'])).toBe('little');
    expect(names.filter((n) => n.startsWith('archive/data/'))).toHaveLength(Object.keys(INPUTS).length);
    const file = readTorchFile(bytes);
    for (const s of file.storages) expect(s.bytes.byteOffset % 64).toBe(0);
  });

  it('refuses to write what weights_only would refuse', () => {
    const bad = [new Opaque(new PyGlobal('os', 'system', false), new Tuple(['id']), 'reduce'), new PyGlobal('builtins', 'eval', false)];
    for (const v of bad) {
      expect(() => writeTorchFile(pyDict({ x: v }))).toThrow(TorchFileError);
      try {
        writeTorchFile(pyDict({ x: v }));
      } catch (e) {
        expect((e as TorchFileError).code).toBe('unsupported_value');
      }
    }
  });
});
