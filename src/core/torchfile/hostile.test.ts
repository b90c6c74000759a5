// Hostile input: each refused with its own clear error, fast, and nothing ever executed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';
import { LEGACY_MAGIC } from './legacy.ts';
import { Opaque, OrderedDict, readTorchFile, summarize, Tensor, tensorData, TorchFileError, type PickleValue, type TorchFileErrorCode } from './index.ts';
import { writeZip } from './zip-writer.ts';

const dir = ensureFixtures('torch_checkpoints');
const fixture = (name: string) => new Uint8Array(readFileSync(join(dir, name)));

// --- hand-assembled pickles ----------------------------------------------------------------------
type Part = number | string | Uint8Array | Part[];
function bytes(...parts: Part[]): Uint8Array {
  const out: number[] = [];
  const add = (p: Part) => {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else if (p instanceof Uint8Array) out.push(...p);
    else p.forEach(add);
  };
  parts.forEach(add);
  return Uint8Array.from(out);
}
const u32 = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
const str = (s: string) => ['X', u32(s.length), s];
const int = (n: number) => ['J', u32(n)];
const glob = (m: string, n: string) => `c${m}\n${n}\n`;
const tuple = (xs: number[]) => ['(', xs.map(int), 't'];
const PROTO = [0x80, 2];
/** _rebuild_tensor_v2 over float storage `key` of `numel` elements */
const tensor = (numel: number, shape: number[], stride: number[], legacy = false, offset = 0) => [
  glob('torch._utils', '_rebuild_tensor_v2'),
  '(',
  ['(', str('storage'), glob('torch', 'FloatStorage'), str('0'), str('cpu'), int(numel), legacy ? 'N' : [], 't', 'Q'],
  int(offset),
  tuple(shape),
  tuple(stride),
  0x89,
  glob('collections', 'OrderedDict'),
  ')R',
  't',
  'R',
];

/** The same object pickle in both containers (with `storages` raw payloads by key '0'). */
function zipOf(pickle: Uint8Array, storage?: Uint8Array): Uint8Array {
  const records = [{ name: 'archive/data.pkl', data: pickle }];
  if (storage) records.push({ name: 'archive/data/0', data: storage });
  records.push({ name: 'archive/version', data: bytes('3\n') });
  return writeZip(records);
}
function legacyOf(pickle: Uint8Array, keys: string[] = [], data: Part[] = []): Uint8Array {
  return bytes(LEGACY_MAGIC, PROTO, 'M', [0xe9, 3], '.', PROTO, '}.', pickle, PROTO, ']', keys.length ? ['(', keys.map(str), 'e'] : [], '.', data);
}

function refusal(input: Uint8Array, mode: 'strict' | 'inspect' = 'strict'): TorchFileError {
  const t0 = performance.now();
  try {
    const file = readTorchFile(input, { mode });
    summarize(file);
  } catch (e) {
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(e).toBeInstanceOf(TorchFileError);
    return e as TorchFileError;
  }
  throw new Error('the input was accepted');
}
function expectRefused(input: Uint8Array, code: TorchFileErrorCode, text?: string | RegExp): TorchFileError {
  const e = refusal(input);
  expect(e.code, e.message).toBe(code);
  if (text) expect(e.message).toMatch(text);
  return e;
}

describe('code execution attempts', () => {
  const osSystem = bytes(PROTO, glob('os', 'system'), str('touch /tmp/pwned'), 0x85, 'R.');
  it('GLOBAL os system + REDUCE is refused at the GLOBAL, naming it and where', () => {
    for (const f of [zipOf(osSystem), legacyOf(osSystem)]) {
      const e = expectRefused(f, 'global_refused', /os\.system/);
      expect(e.offset).toBeDefined();
      expect(e.message).toMatch(/at byte \d+ of (archive\/data\.pkl|pickle 4 of 5)/);
    }
  });
  it('inspect mode keeps it as an inert placeholder', () => {
    const file = readTorchFile(zipOf(osSystem), { mode: 'inspect' });
    expect(file.root).toBeInstanceOf(Opaque);
    expect((file.root as Opaque).qualname).toBe('os.system');
    expect(summarize(file).opaqueGlobals).toEqual(['os.system']);
  });
  it('builtins eval, __builtin__ eval and STACK_GLOBAL eval are refused', () => {
    expectRefused(zipOf(bytes(PROTO, glob('builtins', 'eval'), str('1'), 0x85, 'R.')), 'global_refused', /builtins\.eval/);
    expectRefused(zipOf(bytes(PROTO, glob('__builtin__', 'eval'), str('1'), 0x85, 'R.')), 'global_refused', /__builtin__\.eval/);
    const stackGlobal = bytes(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, 0x8c, 1, '1', 0x85, 'R.');
    expectRefused(zipOf(stackGlobal), 'global_refused', /builtins\.eval/);
  });
  it('REDUCE on something that is not an allowed callable is refused', () => {
    expectRefused(zipOf(bytes(PROTO, glob('torch', 'FloatStorage'), ')R.')), 'bad_pickle', /not callable/);
    expectRefused(zipOf(bytes(PROTO, str('x'), ')R.')), 'bad_pickle');
  });
  it('a persistent id that is not a storage is refused', () => {
    expectRefused(zipOf(bytes(PROTO, '(', str('module'), str('src'), 't', 'Q.')), 'persistent_id', /module/);
  });
});

describe('prototype pollution', () => {
  it('__proto__ and constructor keys stay plain Map keys', () => {
    const polluting = bytes(PROTO, '}(', str('__proto__'), '}', str('polluted'), 0x88, 's', str('constructor'), '}', str('prototype'), '}', 's', 'u.');
    for (const f of [zipOf(polluting), legacyOf(polluting)]) {
      const root = readTorchFile(f).root as Map<PickleValue, PickleValue>;
      expect(root).toBeInstanceOf(Map);
      expect([...root.keys()]).toEqual(['__proto__', 'constructor']);
      expect((root.get('__proto__') as Map<PickleValue, PickleValue>).get('polluted')).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    }
  });
  it('BUILD state with __proto__ lands in a Map too', () => {
    const build = bytes(PROTO, glob('collections', 'OrderedDict'), ')R', '}', str('__proto__'), '}', str('polluted'), 0x88, 's', 's', 'b.');
    const root = readTorchFile(zipOf(build)).root as OrderedDict;
    expect(root.attrs).toBeInstanceOf(Map);
    expect(root.attrs!.has('__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('malformed pickles', () => {
  it('memo indices out of range', () => {
    expectRefused(zipOf(bytes(PROTO, 'h', 5, '.')), 'memo_missing', /memo slot 5/);
    expectRefused(zipOf(bytes(PROTO, 'j', u32(0xffffffff), '.')), 'memo_missing', /4294967295/);
  });
  it('deep nesting', () => {
    const n = 200_000;
    expectRefused(zipOf(bytes(PROTO, ']'.repeat(n), 'a'.repeat(n - 1), '.')), 'too_deep', /deeper than 1000/);
    expectRefused(legacyOf(bytes(PROTO, '}', [...Array(5000)].map(() => [str('k'), '}']), 's'.repeat(5000), '.')), 'too_deep');
  });
  it('a container that contains itself', () => {
    expectRefused(zipOf(bytes(PROTO, ']q', 0, 'h', 0, 'a.')), 'too_deep', /cycle/);
  });
  it('shared sub-trees (a billion laughs) are walked once, not exponentially', () => {
    // L0 = []; L(i+1) = [Li, Li]: 2^60 paths, 61 objects
    const levels = [...Array(60)].map((_, i) => ['(', 'h', i, 'h', i, 'l', 'q', i + 1]);
    const laughs = bytes(PROTO, ']q', 0, levels, '.');
    const t0 = performance.now();
    const file = readTorchFile(zipOf(laughs));
    let depth = 0;
    for (let v = file.root; Array.isArray(v) && v.length === 2; v = v[0]!) depth++;
    expect(depth).toBe(60);
    summarize(file);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
  it('a stack of a million MARKs, STOP on an empty stack', () => {
    expectRefused(zipOf(bytes(PROTO, '('.repeat(1_000_000), '.')), 'bad_pickle', /empty stack/);
  });
  it('an unknown opcode', () => {
    expectRefused(zipOf(bytes(PROTO, 0xff, '.')), 'bad_pickle', /opcode 0xff/);
  });
  it('APPEND onto a dict, SETITEM onto a list', () => {
    expectRefused(zipOf(bytes(PROTO, '}', 'K', 1, 'a.')), 'bad_pickle', /not a list/);
    expectRefused(zipOf(bytes(PROTO, ']', 'K', 1, 'K', 2, 's.')), 'bad_pickle', /not a dict/);
  });
});

describe('lying lengths and counts', () => {
  it('a string longer than the file', () => {
    expectRefused(zipOf(bytes(PROTO, 'X', u32(0x7fffffff), 'abc.')), 'truncated');
    expectRefused(legacyOf(bytes(PROTO, 'X', u32(0xffffffff), 'abc.')), 'truncated');
  });
  it('an int of two gigabytes', () => {
    expectRefused(zipOf(bytes(PROTO, 0x8b, u32(0x7fffffff), '.')), 'bad_pickle', /too long/);
  });
  it('a legacy storage whose count differs from the pickle', () => {
    const pickle = bytes(PROTO, tensor(4, [4], [1], true), '.');
    const ok = legacyOf(pickle, ['0'], [[4, 0, 0, 0, 0, 0, 0, 0], new Uint8Array(16)]);
    expect(readTorchFile(ok).storages[0]!.numel).toBe(4); // the well-formed file reads
    expectRefused(legacyOf(pickle, ['0'], [[5, 0, 0, 0, 0, 0, 0, 0], new Uint8Array(20)]), 'storage_mismatch', /5 elements .* declares 4/);
    expectRefused(legacyOf(pickle, ['0'], [[4, 0, 0, 0, 0, 0, 0, 0], new Uint8Array(15)]), 'truncated');
    expectRefused(legacyOf(pickle, [], []), 'missing_record');
    expectRefused(legacyOf(pickle, ['0', '7'], [[4, 0, 0, 0, 0, 0, 0, 0], new Uint8Array(16)]), 'storage_mismatch', /storage 7/);
  });
  it('a zip record shorter than its storage', () => {
    expectRefused(zipOf(bytes(PROTO, tensor(4, [4], [1]), '.'), new Uint8Array(12)), 'storage_mismatch', /12 bytes/);
    expectRefused(zipOf(bytes(PROTO, tensor(4, [4], [1]), '.')), 'missing_record', /data\/0/);
  });
  it('a tensor reaching outside its storage', () => {
    expectRefused(zipOf(bytes(PROTO, tensor(4, [2, 3], [3, 1]), '.'), new Uint8Array(16)), 'tensor_bounds', /reaches element 6/);
    expectRefused(zipOf(bytes(PROTO, tensor(4, [4], [1], false, 1), '.'), new Uint8Array(16)), 'tensor_bounds');
    expectRefused(zipOf(bytes(PROTO, tensor(4, [2], [1, 1]), '.'), new Uint8Array(16)), 'tensor_bounds', /stride has 2/);
  });
  it('a zip end record that lists more or fewer entries than there are', () => {
    const good = fixture('moco_sgd.zip.pth.tar');
    const eocd = good.length - 22;
    for (const delta of [1, -1]) {
      const bad = good.slice();
      const v = new DataView(bad.buffer);
      v.setUint16(eocd + 10, v.getUint16(eocd + 10, true) + delta, true);
      expectRefused(bad, 'zip_corrupt', /entr(y|ies)/);
    }
  });
  it('a central directory beyond the end of the file', () => {
    const bad = fixture('moco_sgd.zip.pth.tar');
    new DataView(bad.buffer).setUint32(bad.length - 22 + 16, 0x7ffffff0, true);
    expectRefused(bad, 'truncated', /central directory/);
  });
  it('saturated classic end-record fields send the reader to torch\'s zip64 record', () => {
    const file = fixture('moco_sgd.zip.pth.tar');
    const v = new DataView(file.buffer);
    const eocd = file.length - 22;
    v.setUint16(eocd + 8, 0xffff, true);
    v.setUint16(eocd + 10, 0xffff, true);
    v.setUint32(eocd + 12, 0xffffffff, true);
    v.setUint32(eocd + 16, 0xffffffff, true);
    expect(readTorchFile(file).storages.length).toBe(59);
  });
});

describe('truncated files', () => {
  for (const name of ['moco_adam.zip.pth.tar', 'moco_adam.legacy.pth.tar', 'everything.zip.pth.tar', 'everything.legacy.pth.tar']) {
    it(name, () => {
      const full = fixture(name);
      for (const frac of [0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99]) {
        expectRefused(full.subarray(0, Math.floor(full.length * frac)), 'truncated');
      }
      expectRefused(full.subarray(0, full.length - 1), 'truncated');
    });
  }
});

describe('hostile zips (written byte by byte in Python)', () => {
  it('../ entry names', () => expectRefused(fixture('hostile_dotdot.zip'), 'zip_unsafe_name', /\.\.\/\.\.\/\.\.\/etc/));
  it('absolute and backslash names', () => {
    for (const name of ['/etc/passwd', 'archive\\..\\evil', 'C:/evil']) {
      expectRefused(writeZip([{ name: 'archive/data.pkl', data: bytes(PROTO, 'N.') }, { name, data: bytes('x') }]), 'zip_unsafe_name');
    }
  });
  it('a bomb that declares its real size (1.25 GiB in 1.3 MB)', () => expectRefused(fixture('hostile_bomb_huge.zip'), 'zip_bomb', /limit/));
  it('a bomb that declares 16 bytes and inflates to 64 MiB', () => expectRefused(fixture('hostile_bomb_lying.zip'), 'zip_bomb', /past the 16 bytes/));
  it('a bomb of 2000 entries overlapping one record', () => expectRefused(fixture('hostile_bomb_overlap.zip'), 'zip_bomb', /overlap/));
});

describe('not checkpoints', () => {
  it('the ancient tar format is recognised and refused', () => expectRefused(fixture('ancient.tar.pth'), 'tar_format', /tar container of torch 0\.3/));
  it('empty input, random bytes, a bare pickle', () => {
    expectRefused(new Uint8Array(0), 'not_a_checkpoint');
    expectRefused(Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 255), 'not_a_checkpoint');
    expectRefused(bytes(PROTO, 'N.'), 'not_a_checkpoint', /magic/);
  });
  it('a zip whose first entry is not in a folder', () => {
    expectRefused(writeZip([{ name: 'data.pkl', data: bytes(PROTO, 'N.') }]), 'not_a_checkpoint', /not in a folder/);
  });
});

describe('torch 2.x forms (from its source; no torch 2.x here to write them)', () => {
  it('_rebuild_tensor_v3 over an UntypedStorage, with the dtype as a global', () => {
    const pickle = bytes(
      PROTO,
      glob('torch._utils', '_rebuild_tensor_v3'),
      '(',
      ['(', str('storage'), glob('torch', 'UntypedStorage'), str('0'), str('cpu'), int(8), 't', 'Q'],
      int(0),
      tuple([2]),
      tuple([1]),
      0x89,
      glob('collections', 'OrderedDict'),
      ')R',
      glob('torch', 'float32'),
      't',
      'R.',
    );
    const file = readTorchFile(zipOf(pickle, Uint8Array.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40])));
    const t = file.root as Tensor;
    expect(t.dtype).toBe('f32');
    expect(t.shape).toEqual([2]);
    expect([...tensorData(t)]).toEqual([1, 2]);
  });
});
