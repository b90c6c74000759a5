// .npy / .npz reading against numpy: files numpy wrote (np.save in formats 1.0 and 2.0, np.savez stored,
// np.savez_compressed deflated) read back to the values numpy reads (scripts/fixtures/numpy_npz.py), and the
// shared PneumoniaMNIST file to the same bytes (sha256 of the C-order data) as np.load gives.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { inflateSync } from 'fflate';
import { describe, expect, test } from 'vitest';
import { ensureFixtures, SHARED_DATA } from '../../../scripts/fixtures/ensure.ts';
import { listNpz, NpzError, parseNpy, readNpz, type NpyArray } from './npz.ts';

const REAL = join(SHARED_DATA, 'pneumoniamnist/pneumoniamnist.npz');
const dir = ensureFixtures('numpy_npz', [REAL]);

interface Expected {
  dtype: string;
  descr: string;
  shape: number[];
  values: (string | number)[];
}
const small = JSON.parse(readFileSync(join(dir, 'small.json'), 'utf8')) as { arrays: Record<string, Expected>; methods: Record<string, number[]> };
const real = JSON.parse(readFileSync(join(dir, 'real.json'), 'utf8')) as {
  entries: { name: string; method: number; size: number; compressedSize: number; crc: number }[];
  arrays: Record<string, { dtype: string; shape: number[]; sha256: string; sum: number }>;
};

const file = (name: string) => new Uint8Array(readFileSync(join(dir, name)));

/** numpy's value (repr of a float, decimal string of a 64-bit int) as the element type holds it. */
function expectedValue(dtype: string, v: string | number): number | bigint {
  if (dtype === 'int64' || dtype === 'uint64') return BigInt(v);
  if (typeof v === 'number') return v;
  return v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === 'nan' ? NaN : Number(v);
}

function expectSame(got: NpyArray, want: Expected, what: string): void {
  expect(got.dtype, what).toBe(want.dtype);
  expect(got.shape, what).toEqual(want.shape);
  expect(got.data.length, what).toBe(want.values.length);
  const bad: string[] = [];
  want.values.forEach((v, i) => {
    const e = expectedValue(want.dtype, v);
    const g = got.data[i]!;
    if (!Object.is(g, e)) bad.push(`[${i}] ${String(g)} != ${String(e)}`);
  });
  expect(bad, what).toEqual([]);
}

describe('.npy written by np.save', () => {
  for (const [key, want] of Object.entries(small.arrays)) {
    test(`${key} (${want.descr}, shape [${want.shape.join(', ')}])`, () => {
      const a = parseNpy(file(`${key}.npy`), `${key}.npy`);
      expect(a.descr).toBe(want.descr);
      expectSame(a, want, `${key}.npy`);
      if (key !== 'be_f8') expectSame(parseNpy(file(`v2_${key}.npy`)), want, `v2_${key}.npy (format 2.0)`);
    });
  }

  test('refused: Fortran order, a truncated file, not a .npy', () => {
    expect(() => parseNpy(file('fortran.npy'), 'fortran.npy')).toThrow(/fortran.npy: fortran_order is true/);
    const f4 = file('f4.npy');
    expect(() => parseNpy(f4.subarray(0, f4.length - 1), 'cut.npy')).toThrow(/cut.npy: .*needs 24 data bytes, the file has 23/);
    expect(() => parseNpy(new Uint8Array(20), 'zeros.npy')).toThrow(NpzError);
  });
});

describe('.npz written by np.savez (stored) and np.savez_compressed (deflated)', () => {
  test('numpy stored the one and deflated the other', () => {
    expect(small.methods['small_savez.npz']).toEqual([0]);
    expect(small.methods['small_savez_compressed.npz']).toEqual([8]);
    expect(new Set(listNpz(file('small_savez.npz')).map((e) => e.method))).toEqual(new Set([0]));
    expect(new Set(listNpz(file('small_savez_compressed.npz')).map((e) => e.method))).toEqual(new Set([8]));
  });

  const inflaters = {
    'DecompressionStream (default)': undefined,
    'node:zlib inflateRawSync': (d: Uint8Array) => new Uint8Array(inflateRawSync(d)),
    'fflate inflateSync': (d: Uint8Array, size: number) => inflateSync(d, { out: new Uint8Array(size) }),
  };
  for (const archive of ['small_savez.npz', 'small_savez_compressed.npz']) {
    for (const [how, inflateRaw] of Object.entries(inflaters)) {
      test(`${archive}, ${how}: every array equals numpy's`, async () => {
        const got = await readNpz(file(archive), { inflateRaw, name: archive });
        expect([...got.keys()].sort()).toEqual(Object.keys(small.arrays).filter((k) => k !== 'be_f8').sort());
        for (const [k, a] of got) expectSame(a, small.arrays[k]!, `${archive}[${k}]`);
      });
    }
  }

  test('a chosen subset of keys; a missing key and a damaged entry are named', async () => {
    const bytes = file('small_savez_compressed.npz');
    const got = await readNpz(bytes, { keys: ['i8', 'u1_labels'] });
    expect([...got.keys()].sort()).toEqual(['i8', 'u1_labels']);
    await expect(readNpz(bytes, { keys: ['nope'], name: 'x.npz' })).rejects.toThrow(/x.npz has no array 'nope'/);
    // flip one byte inside the stored 'big_u1' payload: the CRC catches it
    const stored = file('small_savez.npz');
    const e = listNpz(stored).find((x) => x.name === 'big_u1.npy')!;
    const damaged = stored.slice();
    damaged[e.localOffset + e.compressedSize]! ^= 0xff;
    await expect(readNpz(damaged, { name: 'd.npz' })).rejects.toThrow(/d.npz, entry 'big_u1.npy': CRC-32 mismatch/);
    await expect(readNpz(bytes.subarray(0, 100), { name: 't.npz' })).rejects.toThrow(/t.npz: not a zip archive/);
  });
});

describe('the shared PneumoniaMNIST .npz (../shared/data, beside the checkout here and in CI)', () => {
  test('entries as Python zipfile lists them; arrays byte for byte as np.load reads them', async () => {
    const bytes = new Uint8Array(readFileSync(REAL));
    expect(listNpz(bytes).map(({ name, method, size, compressedSize, crc }) => ({ name, method, size, compressedSize, crc }))).toEqual(real.entries);
    const got = await readNpz(bytes, { name: 'pneumoniamnist.npz' });
    expect([...got.keys()].sort()).toEqual(Object.keys(real.arrays).sort());
    for (const [k, want] of Object.entries(real.arrays)) {
      const a = got.get(k)!;
      expect(a.dtype, k).toBe(want.dtype);
      expect(a.shape, k).toEqual(want.shape);
      const raw = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
      expect(createHash('sha256').update(raw).digest('hex'), k).toBe(want.sha256);
      let sum = 0;
      for (const x of a.data as Uint8Array) sum += x;
      expect(sum, k).toBe(want.sum);
    }
  });
});
