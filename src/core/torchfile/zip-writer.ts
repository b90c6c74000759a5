// Writes a zip the way torch.save does (caffe2/serialize/inline_container.cc): stored entries,
// payloads padded to 64-byte file offsets with an 'FB' extra field of 'Z's, real CRC-32s, and
// zip64 end records followed by a classic one. The whole file is laid out first and filled into
// one buffer, so each payload is copied exactly once.
import { crc32 } from './crc32.ts';
import { TorchFileError } from './errors.ts';

export interface ZipRecord {
  name: string;
  data: Uint8Array;
}

const ALIGN = 64;
const LOCAL = 30;
const CENTRAL = 46;
const ZIP64_END = 56;
const ZIP64_LOCATOR = 20;
const END = 22;
/** DOS date 1980-01-01 (torch writes 0, which is not a valid date) */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

export function writeZip(records: ZipRecord[]): Uint8Array {
  const enc = new TextEncoder();
  const names = records.map((r) => enc.encode(r.name));
  // layout: where each local header and payload go
  const layout: { offset: number; pad: number; crc: number }[] = [];
  let size = 0;
  records.forEach((r, i) => {
    if (r.data.length >= 0xffffffff) throw new TorchFileError('too_large', `record ${r.name} is 4 GiB or more`);
    const before = size + LOCAL + names[i]!.length + 4;
    const pad = (ALIGN - (before % ALIGN)) % ALIGN;
    layout.push({ offset: size, pad, crc: crc32(r.data) });
    size = before + pad + r.data.length;
  });
  const cdOffset = size;
  const cdSize = names.reduce((n, name) => n + CENTRAL + name.length, 0);
  const total = cdOffset + cdSize + ZIP64_END + ZIP64_LOCATOR + END;
  if (total >= 0xffffffff) throw new TorchFileError('too_large', 'checkpoints of 4 GiB or more are not written');

  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  records.forEach((r, i) => {
    const { offset, pad, crc } = layout[i]!;
    const name = names[i]!;
    let p = offset;
    v.setUint32(p, 0x04034b50, true);
    v.setUint16(p + 4, 20, true); // version needed: 2.0
    v.setUint16(p + 6, 0x0800, true); // UTF-8 names, sizes in this header (no data descriptor)
    v.setUint16(p + 8, 0, true); // stored
    v.setUint16(p + 10, 0, true);
    v.setUint16(p + 12, DOS_DATE, true);
    v.setUint32(p + 14, crc, true);
    v.setUint32(p + 18, r.data.length, true);
    v.setUint32(p + 22, r.data.length, true);
    v.setUint16(p + 26, name.length, true);
    v.setUint16(p + 28, 4 + pad, true);
    out.set(name, p + LOCAL);
    p += LOCAL + name.length;
    out[p] = 0x46; // 'FB': torch's alignment padding field
    out[p + 1] = 0x42;
    v.setUint16(p + 2, pad, true);
    out.fill(0x5a, p + 4, p + 4 + pad); // 'Z'
    out.set(r.data, p + 4 + pad);
  });
  let p = cdOffset;
  records.forEach((r, i) => {
    const { offset, crc } = layout[i]!;
    const name = names[i]!;
    v.setUint32(p, 0x02014b50, true);
    v.setUint16(p + 4, 0x031e, true); // made by: unix, 3.0
    v.setUint16(p + 6, 20, true);
    v.setUint16(p + 8, 0x0800, true);
    v.setUint16(p + 10, 0, true);
    v.setUint16(p + 12, 0, true);
    v.setUint16(p + 14, DOS_DATE, true);
    v.setUint32(p + 16, crc, true);
    v.setUint32(p + 20, r.data.length, true);
    v.setUint32(p + 24, r.data.length, true);
    v.setUint16(p + 28, name.length, true);
    // extra, comment, disk, internal attributes: 0
    v.setUint32(p + 38, 0o100644 << 16, true); // external attributes: a regular file, rw-r--r--
    v.setUint32(p + 42, offset, true);
    out.set(name, p + CENTRAL);
    p += CENTRAL + name.length;
  });
  // zip64 end record and locator, as miniz writes them for torch, then the classic end record
  const z64 = p;
  v.setUint32(p, 0x06064b50, true);
  v.setBigUint64(p + 4, BigInt(ZIP64_END - 12), true);
  v.setUint16(p + 12, 0x031e, true);
  v.setUint16(p + 14, 45, true);
  v.setBigUint64(p + 24, BigInt(records.length), true);
  v.setBigUint64(p + 32, BigInt(records.length), true);
  v.setBigUint64(p + 40, BigInt(cdSize), true);
  v.setBigUint64(p + 48, BigInt(cdOffset), true);
  p += ZIP64_END;
  v.setUint32(p, 0x07064b50, true);
  v.setBigUint64(p + 8, BigInt(z64), true);
  v.setUint32(p + 16, 1, true);
  p += ZIP64_LOCATOR;
  v.setUint32(p, 0x06054b50, true);
  v.setUint16(p + 8, Math.min(records.length, 0xffff), true); // 0xffff: see the zip64 record
  v.setUint16(p + 10, Math.min(records.length, 0xffff), true);
  v.setUint32(p + 12, cdSize, true);
  v.setUint32(p + 16, cdOffset, true);
  return out;
}
