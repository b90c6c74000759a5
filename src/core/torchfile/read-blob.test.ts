// The streamed Blob reader gives the same tree as reading the bytes directly, and aligns legacy files.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';
import { readCheckpointBlob } from './read-blob.ts';
import { readTorchFile, summarize } from './index.ts';

describe('readCheckpointBlob', () => {
  const dir = ensureFixtures('torch_checkpoints');
  const files = readdirSync(dir).filter((f) => !f.endsWith('.json') && !f.startsWith('.'));
  it('has torch-written fixtures to read', () => expect(files.length).toBeGreaterThan(3));
  for (const f of files) {
    it(f, async () => {
      const bytes = readFileSync(join(dir, f));
      const outcome = (b: Uint8Array) => {
        try {
          return summarize(readTorchFile(b));
        } catch (e) {
          return { refused: (e as { code?: string }).code };
        }
      };
      const direct = outcome(new Uint8Array(bytes));
      const seen: number[] = [];
      const viaBlob = await readCheckpointBlob(new Blob([bytes]), (p) => seen.push(p.loaded));
      expect(viaBlob.length).toBe(bytes.length);
      expect(Buffer.from(viaBlob).equals(bytes)).toBe(true);
      expect(outcome(viaBlob)).toEqual(direct);
      expect(seen.at(-1)).toBe(bytes.length);
      if ('format' in direct && direct.format === 'legacy') expect(viaBlob.byteOffset).toBeLessThan(8);
    });
  }
});
