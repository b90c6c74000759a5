// readCheckpointFile places legacy files so their float storages are aligned: every float tensor
// is then a view of the one buffer the file was read into, never a copy.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFixtures } from '../../scripts/fixtures/ensure.ts';
import { legacyAlignmentPad, readTorchFile, Tensor, tensorData } from '../core/torchfile/index.ts';
import { readCheckpointFile } from './read-file.ts';

const dir = ensureFixtures('torch_checkpoints');
const files = readdirSync(dir).filter((f) => /^(moco_|plain_|resnet18_).*\.pth\.tar$/.test(f));

describe('readCheckpointFile', () => {
  for (const name of files) {
    it(name, () => {
      const bytes = readCheckpointFile(join(dir, name));
      // (Buffer.equals: vitest's deep equality is far too slow for 45 MB)
      expect(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).equals(readFileSync(join(dir, name)))).toBe(true);
      const file = readTorchFile(bytes);
      for (const s of file.storages.filter((x) => x.dtype === 'f32')) {
        expect(tensorData(new Tensor(s, 0, [s.numel], [1])).buffer).toBe(bytes.buffer);
      }
    });
  }
  it('asks for more bytes while the pickles are incomplete, and says 0 for zip files', () => {
    const legacy = new Uint8Array(readFileSync(join(dir, 'moco_sgd.legacy.pth.tar')));
    expect(legacyAlignmentPad(legacy.subarray(0, 100))).toBeNull();
    expect(legacyAlignmentPad(legacy)).toBeGreaterThanOrEqual(0);
    expect(legacyAlignmentPad(new Uint8Array(readFileSync(join(dir, 'moco_sgd.zip.pth.tar'))))).toBe(0);
  });
});
