// Reading a checkpoint from a Blob or File (the browser's way in; Node has Blob too) into one buffer,
// streamed, so a 200 MB file costs one copy of its bytes. Legacy files land `pad` bytes into the
// buffer so that their storages are aligned and viewed in place, as the Node reader does.
import { TorchFileError } from './errors.ts';
import { legacyAlignmentPad } from './legacy.ts';

export interface BlobReadProgress {
  loaded: number;
  total: number;
}

export async function readCheckpointBlob(blob: Blob, onProgress?: (p: BlobReadProgress) => void): Promise<Uint8Array> {
  const size = blob.size;
  let pad: number | null = null;
  for (let len = Math.min(size, 1 << 20); pad === null; len = Math.min(size, len * 4)) {
    pad = legacyAlignmentPad(new Uint8Array(await blob.slice(0, len).arrayBuffer())) ?? (len === size ? 0 : null);
  }
  const buf = new Uint8Array(size + pad);
  const reader = blob.stream().getReader();
  let off = pad;
  let lastReport = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (off + value.length > buf.length) throw new TorchFileError('truncated', `the file grew while it was read (more than ${size} bytes)`);
    buf.set(value, off);
    off += value.length;
    if (onProgress && (off - lastReport > 8 << 20 || off === buf.length)) {
      lastReport = off;
      onProgress({ loaded: off - pad, total: size });
    }
  }
  if (off !== buf.length) throw new TorchFileError('truncated', `the file shrank while it was read (${off - pad} of ${size} bytes)`);
  return buf.subarray(pad);
}
