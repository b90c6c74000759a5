// Reads the zip container torch.save has written since 1.6: a central-directory parser of our own
// (JSZip trips over the zip64 end record torch always writes) that views stored payloads in place
// and inflates deflated ones with fflate, within limits that make zip bombs fail fast.
import { Inflate } from 'fflate';
import { TorchFileError } from './errors.ts';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  /** where the payload starts: read from the local header, whose extra field may differ from
   *  the central one (torch pads it so payloads are 64-byte aligned) */
  dataOffset: number;
}

export interface ZipLimits {
  /** the most bytes all deflated entries together may inflate to (default 1 GiB) */
  maxInflatedBytes?: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
/** deflate cannot do better than about 1032:1 */
const MAX_DEFLATE_RATIO = 1032;
const INFLATE_CHUNK = 1 << 13;
export const DEFAULT_MAX_INFLATED_BYTES = 1 << 30;

function corrupt(msg: string, offset?: number): never {
  throw new TorchFileError('zip_corrupt', msg, offset, offset === undefined ? undefined : 'the zip file');
}

/** ../ segments, absolute paths, drive letters, backslashes and NULs are refused outright. */
function isUnsafeName(name: string): boolean {
  return (
    name.length === 0 ||
    name.startsWith('/') ||
    /^[A-Za-z]:/.test(name) ||
    name.includes('\\') ||
    name.includes('\0') ||
    name.split('/').some((seg) => seg === '..')
  );
}

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  /** the top folder, from the first entry as torch takes it (often 'archive', never assumed) */
  readonly folder: string;
  private inflated = 0;
  private readonly maxInflated: number;
  private readonly view: DataView;

  constructor(
    readonly data: Uint8Array,
    limits: ZipLimits = {},
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.maxInflated = limits.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES;
    const list = this.readCentralDirectory();
    if (list.length === 0) corrupt('the zip archive has no entries');
    const first = list[0]!.name;
    const slash = first.indexOf('/');
    if (slash <= 0) {
      throw new TorchFileError('not_a_checkpoint', `zip entry '${first}' is not in a folder, so this is not a torch.save file`);
    }
    this.folder = first.slice(0, slash);
    this.checkNoOverlap(list);
    let declared = 0;
    for (const e of list) {
      if (e.method === 8) declared += e.size;
    }
    if (declared > this.maxInflated) {
      throw new TorchFileError(
        'zip_bomb',
        `the deflated entries would inflate to ${declared} bytes, more than the limit of ${this.maxInflated}`,
      );
    }
  }

  /** Whether `<folder>/<record>` exists. */
  has(record: string): boolean {
    return this.entries.has(`${this.folder}/${record}`);
  }

  /** The bytes of `<folder>/<record>`: a view into the input for stored entries. */
  read(record: string): Uint8Array {
    const e = this.entries.get(`${this.folder}/${record}`);
    if (!e) throw new TorchFileError('missing_record', `the archive has no record ${this.folder}/${record}`);
    const payload = this.data.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
    if (e.method === 0) return payload;
    return this.inflate(e, payload);
  }

  private inflate(e: ZipEntry, payload: Uint8Array): Uint8Array {
    this.inflated += e.size;
    if (this.inflated > this.maxInflated) {
      throw new TorchFileError('zip_bomb', `inflating ${e.name} goes past the limit of ${this.maxInflated} bytes`);
    }
    const out = new Uint8Array(e.size);
    let n = 0;
    const stream = new Inflate((chunk) => {
      if (chunk.length > e.size - n) {
        throw new TorchFileError('zip_bomb', `${e.name} inflates past the ${e.size} bytes its header declares`);
      }
      out.set(chunk, n);
      n += chunk.length;
    });
    try {
      // small input chunks bound what one push can produce (about 1032 x the chunk)
      for (let p = 0; p < payload.length || p === 0; p += INFLATE_CHUNK) {
        stream.push(payload.subarray(p, p + INFLATE_CHUNK), p + INFLATE_CHUNK >= payload.length);
      }
    } catch (err) {
      if (err instanceof TorchFileError) throw err;
      corrupt(`${e.name} is not valid deflate data (${err instanceof Error ? err.message : String(err)})`);
    }
    if (n !== e.size) corrupt(`${e.name} inflates to ${n} bytes, not the ${e.size} its header declares`);
    return out;
  }

  private u16(p: number): number {
    return this.view.getUint16(p, true);
  }
  private u32(p: number): number {
    return this.view.getUint32(p, true);
  }
  private u64(p: number): number {
    const v = this.view.getBigUint64(p, true);
    if (v > BigInt(this.data.length)) corrupt(`a zip64 size or offset of ${v} is beyond the end of the file`, p);
    return Number(v);
  }
  private within(p: number, n: number, what: string): void {
    if (p < 0 || n < 0 || p + n > this.data.length) {
      throw new TorchFileError('truncated', `the file ends inside the ${what}`, p, 'the zip file');
    }
  }

  private findEndRecord(): number {
    const d = this.data;
    const lowest = Math.max(0, d.length - 22 - 0xffff);
    for (let p = d.length - 22; p >= lowest; p--) {
      if (d[p] === 0x50 && d[p + 1] === 0x4b && d[p + 2] === 5 && d[p + 3] === 6 && p + 22 + this.u16(p + 20) <= d.length) {
        return p;
      }
    }
    throw new TorchFileError('truncated', 'no zip end-of-central-directory record: the file is truncated or not a zip');
  }

  private readCentralDirectory(): ZipEntry[] {
    const eocd = this.findEndRecord();
    if (this.u32(eocd) !== SIG_EOCD) corrupt('bad end record', eocd);
    let count = this.u16(eocd + 10);
    let cdSize = this.u32(eocd + 12);
    let cdOffset = this.u32(eocd + 16);
    const disk = this.u16(eocd + 4);
    // torch always writes zip64 end records; their values are only needed when the classic
    // ones are saturated
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      this.within(loc, 20, 'zip64 locator');
      if (this.u32(loc) !== SIG_ZIP64_LOCATOR) corrupt('the end record needs a zip64 locator, which is missing', loc);
      const z = this.u64(loc + 8);
      this.within(z, 56, 'zip64 end record');
      if (this.u32(z) !== SIG_ZIP64_EOCD) corrupt('the zip64 locator points at no zip64 end record', z);
      if (count === 0xffff) count = this.u64(z + 32);
      if (cdSize === 0xffffffff) cdSize = this.u64(z + 40);
      if (cdOffset === 0xffffffff) cdOffset = this.u64(z + 48);
    } else if (disk !== 0) {
      throw new TorchFileError('zip_unsupported', 'multi-part (spanned) zip archives are not supported');
    }
    this.within(cdOffset, cdSize, 'central directory');
    if (count * 46 > cdSize) corrupt(`the end record lists ${count} entries, more than a ${cdSize}-byte central directory holds`);
    const list: ZipEntry[] = [];
    let p = cdOffset;
    const end = cdOffset + cdSize;
    for (let i = 0; i < count; i++) {
      if (p + 46 > end || this.u32(p) !== SIG_CENTRAL) corrupt(`central directory entry ${i} of ${count} is missing or damaged`, p);
      const e = this.readCentralEntry(p, end);
      if (this.entries.has(e.entry.name)) corrupt(`duplicate zip entry ${e.entry.name}`, p);
      this.entries.set(e.entry.name, e.entry);
      list.push(e.entry);
      p = e.next;
    }
    if (p !== end) corrupt(`the central directory holds more than the ${count} entries its end record lists`, p);
    return list;
  }

  private readCentralEntry(p: number, end: number): { entry: ZipEntry; next: number } {
    const flags = this.u16(p + 8);
    const method = this.u16(p + 10);
    let compressedSize = this.u32(p + 20);
    let size = this.u32(p + 24);
    const nameLen = this.u16(p + 28);
    const extraLen = this.u16(p + 30);
    const commentLen = this.u16(p + 32);
    let localOffset = this.u32(p + 42);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > end) corrupt('a central directory entry runs past the directory', p);
    const name = new TextDecoder('utf-8').decode(this.data.subarray(p + 46, p + 46 + nameLen));
    if (isUnsafeName(name)) {
      throw new TorchFileError('zip_unsafe_name', `unsafe zip entry name '${name}' (absolute, ../ or backslash)`, p, 'the central directory');
    }
    // zip64 extra field (id 1): 8-byte values for whichever classic fields are saturated
    for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = this.u16(x);
      const len = this.u16(x + 2);
      if (x + 4 + len > p + 46 + nameLen + extraLen) corrupt('a zip extra field runs past its entry', x);
      if (id === 1) {
        let q = x + 4;
        const take = (): number => {
          if (q + 8 > x + 4 + len) corrupt('the zip64 extra field is too short', x);
          const v = this.u64(q);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      x += 4 + len;
    }
    if (flags & 1) throw new TorchFileError('zip_unsupported', `zip entry ${name} is encrypted`);
    if (method !== 0 && method !== 8) {
      throw new TorchFileError('zip_unsupported', `zip entry ${name} uses compression method ${method}; only stored and deflate are read`);
    }
    if (method === 0 && size !== compressedSize) corrupt(`stored entry ${name} has different compressed and real sizes`, p);
    if (method === 8 && size > compressedSize * MAX_DEFLATE_RATIO + 1024) {
      throw new TorchFileError('zip_bomb', `zip entry ${name} claims ${size} bytes from ${compressedSize}, more than deflate can compress`);
    }
    this.within(localOffset, 30, `local header of ${name}`);
    if (this.u32(localOffset) !== SIG_LOCAL) corrupt(`the local header of ${name} is missing`, localOffset);
    const dataOffset = localOffset + 30 + this.u16(localOffset + 26) + this.u16(localOffset + 28);
    this.within(dataOffset, compressedSize, `data of ${name}`);
    return { entry: { name, method, flags, compressedSize, size, localOffset, dataOffset }, next };
  }

  /** Entries whose bytes overlap are the trick behind non-recursive zip bombs; torch never writes them. */
  private checkNoOverlap(list: ZipEntry[]): void {
    const sorted = [...list].sort((a, b) => a.localOffset - b.localOffset);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      if (prev.dataOffset + prev.compressedSize > sorted[i]!.localOffset) {
        throw new TorchFileError('zip_bomb', `zip entries ${prev.name} and ${sorted[i]!.name} overlap`);
      }
    }
  }
}
