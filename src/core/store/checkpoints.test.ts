// Checkpoints in the store (schema v2) and the v1 -> v2 upgrade keeping datasets, on fake-indexeddb.
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import type { CheckpointRecord, DatasetRecord } from './schema.ts';
import { CHECKPOINT_PART_BYTES, DB_VERSION } from './schema.ts';
import { StorageFullError, Store } from './store.ts';

let n = 0;
const freshName = () => `ckpt-test-${Date.now()}-${n++}`;

function record(id: string, name: string, createdAt: number): CheckpointRecord {
  return {
    id,
    name,
    createdAt,
    sourceFile: `${name}.pth.tar`,
    size: 1234,
    storedSize: 4,
    layout: 'moco',
    arch: 'resnet18',
    epoch: 3,
    head: 'mlp (128 dim)',
    summary: 'moco (resnet18, dim 128, K 256)',
    tensorCount: 10,
    parameterCount: 11_000_000,
  };
}

const dataset: DatasetRecord = {
  id: 'demo:one:256',
  name: 'one',
  kind: 'demo',
  source: 'demo',
  synthetic: true,
  labelColumns: ['TB'],
  imageSide: 256,
  thumbSide: 64,
  status: 'complete',
  planned: 1,
  counts: { train: 1, valid: 0, test: 0 },
  labelStats: {},
  bytes: 10,
  createdAt: 1,
  updatedAt: 1,
  problemCount: 0,
};

describe('Store checkpoints', () => {
  it('is schema version 4', () => expect(DB_VERSION).toBe(4));

  // Chrome aborts a transaction whose one value exceeds about 128 MB: bytes go in parts.
  it('stores a checkpoint larger than a part in parts, reads it back whole and deletes every part', async () => {
    const s = await Store.open(`parts-${Math.random()}`);
    const big = new Uint8Array(2 * CHECKPOINT_PART_BYTES + 12345);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 13)) & 255;
    await s.putCheckpoint(record('big', 'big', 1), big);
    const keys = (await s.db.getAllKeys('checkpointBytes')).sort();
    expect(keys).toEqual(['big', 'big#1', 'big#2']);
    // each part holds its own buffer (a view would carry the whole file's buffer into every part)
    expect((await s.db.get('checkpointBytes', 'big'))?.bytes.buffer.byteLength).toBe(CHECKPOINT_PART_BYTES);
    const back = (await s.getCheckpointBytes('big'))!;
    expect(back.byteLength).toBe(big.byteLength);
    expect(Buffer.compare(back, big)).toBe(0); // toEqual walks 64 MB element by element: minutes
    // parts whose record never landed (a tab closed between the writes) are swept; stored ones stay
    await s.db.put('checkpointBytes', { id: 'ghost', bytes: new Uint8Array(3), parts: 2 });
    await s.db.put('checkpointBytes', { id: 'ghost#1', bytes: new Uint8Array(3) });
    expect(await s.sweepOrphanBytes()).toBe(2);
    expect((await s.db.getAllKeys('checkpointBytes')).sort()).toEqual(['big', 'big#1', 'big#2']);
    await s.deleteCheckpoint('big');
    expect(await s.db.getAllKeys('checkpointBytes')).toEqual([]);
    expect(await s.getCheckpointBytes('big')).toBeUndefined();
    s.close();
  });

  it('puts, lists (oldest first), reads bytes, renames and deletes', async () => {
    const s = await Store.open(freshName());
    await s.putCheckpoint(record('b', 'second', 20), new Uint8Array([5, 6]));
    await s.putCheckpoint(record('a', 'first', 10), new Uint8Array([1, 2, 3, 4]));
    expect((await s.listCheckpoints()).map((r) => r.name)).toEqual(['first', 'second']);
    expect([...(await s.getCheckpointBytes('a'))!]).toEqual([1, 2, 3, 4]);
    expect(await s.getCheckpointBytes('nope')).toBeUndefined();

    const renamed = await s.renameCheckpoint('a', '  renamed  ');
    expect(renamed.name).toBe('renamed');
    expect((await s.getCheckpoint('a'))!.name).toBe('renamed');
    expect((await s.getCheckpoint('a'))!.arch).toBe('resnet18');
    await expect(s.renameCheckpoint('a', '   ')).rejects.toThrow(/needs a name/);
    await expect(s.renameCheckpoint('missing', 'x')).rejects.toThrow(/no stored checkpoint/);

    await s.deleteCheckpoint('a');
    expect((await s.listCheckpoints()).map((r) => r.id)).toEqual(['b']);
    expect(await s.getCheckpointBytes('a')).toBeUndefined();
    expect([...(await s.getCheckpointBytes('b'))!]).toEqual([5, 6]);
    s.close();
  });

  it('a refused write changes nothing, and quota errors become StorageFullError', async () => {
    const s = await Store.open(freshName());
    await s.putCheckpoint(record('a', 'kept', 1), new Uint8Array([1]));
    // the browser refusing the bytes for quota, simulated on the raw object store
    const proto = (globalThis as unknown as { IDBObjectStore: { prototype: { put: (...a: unknown[]) => unknown } } }).IDBObjectStore.prototype;
    const realPut = proto.put;
    proto.put = function (this: { name: string }, ...args: unknown[]) {
      if (this.name === 'checkpointBytes') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return realPut.apply(this, args);
    };
    const err = await s.putCheckpoint(record('b', 'too big', 2), new Uint8Array(10)).catch((e: unknown) => e);
    proto.put = realPut;
    expect(err).toBeInstanceOf(StorageFullError);
    expect((err as Error).message).toMatch(/storage is full.*'too big'/);
    expect((await s.listCheckpoints()).map((r) => r.id)).toEqual(['a']);
    expect(await s.getCheckpointBytes('b')).toBeUndefined();
    s.close();
  });

  it('upgrades a version-1 database with a dataset in it, keeping the dataset', async () => {
    const name = freshName();
    const v1 = await openDB(name, 1, {
      upgrade(db) {
        db.createObjectStore('datasets', { keyPath: 'id' });
        db.createObjectStore('images', { keyPath: ['dataset', 'key'] }).createIndex('byDataset', 'dataset');
        db.createObjectStore('pixels', { keyPath: ['dataset', 'key'] });
        db.createObjectStore('thumbs', { keyPath: ['dataset', 'key'] });
        db.createObjectStore('problems', { keyPath: 'id', autoIncrement: true }).createIndex('byDataset', 'dataset');
      },
    });
    await v1.put('datasets', dataset);
    await v1.add('problems', { dataset: dataset.id, where: 'x.png', reason: 'unreadable' });
    v1.close();

    const s = await Store.open(name);
    expect(s.db.version).toBe(4);
    expect([...s.db.objectStoreNames].sort()).toEqual(['checkpointBytes', 'checkpoints', 'datasets', 'experiments', 'images', 'pixels', 'problems', 'results', 'runs', 'thumbs']);
    expect(await s.getDataset(dataset.id)).toEqual(dataset);
    expect((await s.listProblems(dataset.id)).map((p) => p.where)).toEqual(['x.png']);
    expect(await s.listCheckpoints()).toEqual([]);
    await s.putCheckpoint(record('a', 'after upgrade', 1), new Uint8Array([9]));
    s.close();

    const again = await Store.open(name);
    expect((await again.listCheckpoints()).map((r) => r.name)).toEqual(['after upgrade']);
    expect(await again.getDataset(dataset.id)).toEqual(dataset);
    again.close();
  });
});
