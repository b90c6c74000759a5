// Reads a checkpoint file into memory for the torchfile reader, once, placing legacy files so
// that their storages are aligned (then every float tensor is a view, never a copy).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { legacyAlignmentPad } from '../core/torchfile/index.ts';

function readAt(fd: number, into: Uint8Array, position: number): void {
  for (let done = 0; done < into.length; ) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new Error('the file shrank while it was read');
    done += n;
  }
}

export function readCheckpointFile(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    // the pickles come first; grow the prefix until they all fit (one read for most files)
    let pad: number | null = null;
    for (let len = Math.min(size, 1 << 20); pad === null; len = Math.min(size, len * 4)) {
      const prefix = new Uint8Array(len);
      readAt(fd, prefix, 0);
      pad = legacyAlignmentPad(prefix) ?? (len === size ? 0 : null);
    }
    const buf = new Uint8Array(size + pad);
    readAt(fd, buf.subarray(pad), 0);
    return buf.subarray(pad);
  } finally {
    closeSync(fd);
  }
}
