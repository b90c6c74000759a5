// Our reader against torch.load: every fixture written by Debian's torch 1.13 (both formats) is
// described by torch itself, value by value, and we must describe it the same way.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';
import { Describer } from './describe.testutil.ts';
import { readTorchFile, summarize, tensorData, TorchFileError, Tensor, Opaque, type PickleValue } from './index.ts';

const dir = ensureFixtures('torch_checkpoints');
const described = readdirSync(dir).filter((f) => f.endsWith('.pth.tar.json') && !f.startsWith('numpy') && !f.startsWith('module'));
const load = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8'));
const bytesOf = (name: string) => new Uint8Array(readFileSync(join(dir, name)));

describe('reads what torch.save wrote, as torch.load does', () => {
  it('has both formats of every kind of fixture', () => {
    for (const kind of ['moco_sgd', 'moco_adam', 'plain_state_dict', 'everything', 'resnet18_state_dict']) {
      expect(described).toContain(`${kind}.zip.pth.tar.json`);
      expect(described).toContain(`${kind}.legacy.pth.tar.json`);
    }
  });

  for (const jsonName of described) {
    const name = jsonName.slice(0, -'.json'.length);
    it(name, () => {
      const torch = load(jsonName);
      const file = readTorchFile(bytesOf(name));
      expect(file.format).toBe(torch.format);
      expect(new Describer().value(file.root)).toEqual(torch.value);

      const s = summarize(file);
      const t = torch.summary;
      expect({
        topLevelKeys: s.topLevelKeys,
        arch: s.arch,
        epoch: s.epoch,
        tensorCount: s.tensorCount,
        parameterCount: s.parameterCount,
        stateDictPath: s.stateDictPath,
        tensors: s.tensors.map((x) => ({ name: x.name, dtype: x.dtype, shape: x.shape })),
      }).toEqual({
        topLevelKeys: t.top_level_keys,
        arch: t.arch,
        epoch: t.epoch,
        tensorCount: t.tensor_count,
        parameterCount: t.parameter_count,
        stateDictPath: t.state_dict_path,
        tensors: t.tensors,
      });
    });
  }
});

describe('details torch relies on', () => {
  it('takes the zip folder from the first entry, whatever it is', () => {
    expect(readTorchFile(bytesOf('moco_adam.zip.pth.tar')).folder).toBe('moco_adam.zip.pth');
    expect(readTorchFile(bytesOf('deflated.zip.pth.tar')).folder).toBe('weird folder-name');
    expect(readTorchFile(bytesOf('pyzip_stored.zip.pth.tar')).folder).toBe('my-export');
  });

  it('views aligned zip payloads in the input buffer instead of copying them', () => {
    const input = bytesOf('resnet18_state_dict.zip.pth.tar');
    const file = readTorchFile(input);
    expect(file.storages.length).toBe(122);
    for (const s of file.storages) expect(s.bytes.buffer).toBe(input.buffer);
    const sd = file.root as Map<PickleValue, PickleValue>;
    const w = tensorData(sd.get('conv1.weight') as Tensor);
    expect(w).toBeInstanceOf(Float32Array);
    expect(w.buffer).toBe(input.buffer); // no copy even for the typed array
  });

  it('views legacy storages too, copying only when a typed array needs alignment', () => {
    const input = bytesOf('resnet18_state_dict.legacy.pth.tar');
    const file = readTorchFile(input);
    for (const s of file.storages) expect(s.bytes.buffer).toBe(input.buffer);
    const sd = file.root as Map<PickleValue, PickleValue>;
    const t = sd.get('conv1.weight') as Tensor;
    const data = tensorData(t);
    expect(data.buffer === input.buffer).toBe(t.storage.bytes.byteOffset % 4 === 0);
  });

  it('reads a MoCo checkpoint the way MoCo-CXR code uses it', () => {
    for (const fmt of ['zip', 'legacy']) {
      const root = readTorchFile(bytesOf(`moco_adam.${fmt}.pth.tar`)).root as Map<PickleValue, PickleValue>;
      expect(root.get('arch')).toBe('resnet18');
      expect(root.get('epoch')).toBe(3);
      const sd = root.get('state_dict') as Map<PickleValue, PickleValue>;
      const queue = sd.get('module.queue') as Tensor;
      expect(queue.shape).toEqual([8, 32]);
      expect(tensorData(sd.get('module.queue_ptr') as Tensor)).toEqual(BigInt64Array.of(16n));
      const state = (root.get('optimizer') as Map<PickleValue, PickleValue>).get('state') as Map<PickleValue, PickleValue>;
      expect([...state.keys()].every((k) => typeof k === 'number')).toBe(true); // int keys stay ints
      const step = (state.get(0) as Map<PickleValue, PickleValue>).get('step') as Tensor;
      expect(step.shape).toEqual([]); // Adam's step is a 0-d float tensor since torch 1.12
      expect(step.dtype).toBe('f32');
    }
  });

  for (const kind of ['numpy_scalar', 'module_pickle']) {
    for (const fmt of ['zip', 'legacy']) {
      it(`strict mode refuses ${kind}.${fmt}, naming the global torch refuses`, () => {
        const torch = load(`${kind}.zip.pth.tar.json`);
        expect(torch.weights_only_ok).toBe(false);
        const err = (() => {
          try {
            readTorchFile(bytesOf(`${kind}.${fmt}.pth.tar`));
          } catch (e) {
            return e;
          }
        })();
        expect(err).toBeInstanceOf(TorchFileError);
        expect((err as TorchFileError).code).toBe('global_refused');
        expect((err as TorchFileError).message).toContain(torch.refused_global);
      });
      it(`inspect mode shows ${kind}.${fmt} with inert placeholders`, () => {
        const file = readTorchFile(bytesOf(`${kind}.${fmt}.pth.tar`), { mode: 'inspect' });
        const s = summarize(file);
        expect(s.opaqueGlobals).toContain(load(`${kind}.zip.pth.tar.json`).refused_global);
        if (kind === 'numpy_scalar') {
          const root = file.root as Map<PickleValue, PickleValue>;
          expect(root.get('epoch')).toBe(1);
          expect(root.get('auc')).toBeInstanceOf(Opaque);
        } else {
          // the module's parameters and buffers are still found inside the placeholders
          const plain = load('plain_state_dict.zip.pth.tar.json').summary;
          expect(s.tensorCount).toBe(plain.tensor_count);
          expect(s.tensors.reduce((n, t) => n + t.numel, 0)).toBe(plain.parameter_count);
        }
      });
    }
  }
});

describe('tensor data from a Node Buffer', () => {
  it('reads a misaligned storage from a Buffer slice (Buffer.slice is a view, not a copy)', async () => {
    const { Buffer } = await import('node:buffer');
    const { Storage } = await import('./values.ts');
    const { storageElements } = await import('./tensor-data.ts');
    const values = Float32Array.from([1.5, -2, 3.25]);
    const backing = Buffer.alloc(13);
    Buffer.from(values.buffer).copy(backing, 1);
    const bytes = backing.subarray(1);
    expect(bytes.byteOffset % 4).not.toBe(0);
    expect(Array.from(storageElements(new Storage('f32', 3, '0', 'cpu', bytes)) as Float32Array)).toEqual([1.5, -2, 3.25]);
  });
});
