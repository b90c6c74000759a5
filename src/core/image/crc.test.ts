import { crc32 as zlibCrc } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from './png.ts';

describe('crc32', () => {
  it('matches zlib on every length 0..64 and a large buffer, at any offset', () => {
    const b = new Uint8Array(100_003);
    for (let i = 0; i < b.length; i++) b[i] = (i * 2654435761) >>> 23;
    for (let n = 0; n <= 64; n++) expect(crc32(b, 3, 3 + n)).toBe(zlibCrc(b.subarray(3, 3 + n)));
    expect(crc32(b)).toBe(zlibCrc(b));
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
  });
});
