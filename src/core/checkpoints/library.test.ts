// The checkpoint library in Node against torch-written files: stored in the app format, exported again
// with the same backbone tensors, refusals named and nothing stored for them.
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';
import { Store } from '../store/store.ts';
import { readTorchFile, Tensor, tensorBytes } from '../torchfile/index.ts';
import { exportStoredCheckpoint, importCheckpointBytes } from './library.ts';

const dir = ensureFixtures('torch_e2e_checkpoints');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, { layout: string; arch: string; epoch: number; torchvision_keys: string[] }>;
const bytesOf = (f: string) => new Uint8Array(readFileSync(join(dir, f)));

describe('checkpoint library', () => {
  it('keeps a MoCo ResNet-18 and exports its encoder as torchvision, tensors unchanged', async () => {
    const store = await Store.open(`lib-${Math.random()}`);
    const src = bytesOf('moco_r18_e2e.pth.tar');
    const r = await importCheckpointBytes(store, src, { fileName: 'moco_r18_e2e.pth.tar', size: src.length });
    const want = expected['moco_r18_e2e.pth.tar']!;
    expect(r.record).toMatchObject({ layout: want.layout, arch: want.arch, epoch: want.epoch, name: 'moco_r18_e2e' });
    expect((await store.listCheckpoints()).map((c) => c.id)).toEqual([r.record.id]);

    const out = await exportStoredCheckpoint(store, r.record.id, 'torchvision');
    expect(out.name).toBe('moco_r18_e2e.torchvision.pth.tar');
    const exported = readTorchFile(out.bytes).root as Map<string, Tensor>;
    expect([...exported.keys()]).toEqual(want.torchvision_keys);
    // Every exported tensor equals the source's module.encoder_q.<key>, byte for byte.
    const source = (readTorchFile(src).root as Map<string, unknown>).get('state_dict') as Map<string, Tensor>;
    for (const [k, t] of exported) {
      const s = source.get(`module.encoder_q.${k}`);
      expect(s, k).toBeInstanceOf(Tensor);
      expect(Buffer.from(tensorBytes(t)).equals(Buffer.from(tensorBytes(s!))), k).toBe(true);
    }
    await expect(exportStoredCheckpoint(store, r.record.id, 'pipeline')).rejects.toThrow(/cannot be written in the pipeline format/);
    store.close();
  });

  it('refuses another architecture, a wrongly shaped tensor and an unknown layout, storing nothing', async () => {
    const store = await Store.open(`lib-${Math.random()}`);
    const cases: [string, RegExp][] = [
      ['resnet34_state_dict.pth.tar', /resnet34/],
      ['resnet18_wrong_shape.pth.tar', /wrongly shaped: layer1\.0\.conv2\.weight/],
      ['unknown_layout.pth.tar', /unknown_layout/],
    ];
    for (const [f, why] of cases) {
      const b = bytesOf(f);
      await expect(importCheckpointBytes(store, b, { fileName: f, size: b.length })).rejects.toThrow(why);
    }
    expect(await store.listCheckpoints()).toEqual([]);
    store.close();
  });
});
