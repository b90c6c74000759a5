// Test support: our value tree in the JSON form scripts/fixtures/torch_checkpoints.py writes for
// torch.load's result, so that tests compare the two value by value.
import { createHash } from 'node:crypto';
import { tensorBytes, tensorData } from './tensor-data.ts';
import { OrderedDict, PyFloat, Storage, Tensor, TorchDevice, TorchSize, Tuple, type PickleValue } from './values.ts';

export type Described = Record<string, unknown>;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class Describer {
  private ids = new Map<Storage, number>();

  private storageId(s: Storage): number | null {
    if (s.nbytes === 0) return null;
    let id = this.ids.get(s);
    if (id === undefined) this.ids.set(s, (id = this.ids.size));
    return id;
  }

  value(v: PickleValue): Described {
    if (v instanceof Tensor) {
      const b = tensorBytes(v);
      const d: Described = {
        type: 'tensor',
        dtype: v.dtype,
        shape: [...v.shape],
        stride: [...v.stride],
        offset: v.offset,
        storage: this.storageId(v.storage),
        storage_numel: v.storage.numel,
        requires_grad: v.requiresGrad,
        parameter: v.isParameter,
        sha256: sha(b),
      };
      if (v.dtype === 'f16' || v.dtype === 'bf16') {
        const f = tensorData(v);
        d.f32_sha256 = sha(new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
      }
      if (b.length <= 256) d.hex = hex(b);
      return d;
    }
    if (v instanceof Storage) {
      return { type: 'storage', dtype: v.dtype, numel: v.numel, storage: this.storageId(v), sha256: sha(v.bytes.subarray(0, v.nbytes)) };
    }
    if (v === null) return { type: 'none' };
    if (typeof v === 'boolean') return { type: 'bool', value: v };
    if (typeof v === 'number' || typeof v === 'bigint') return { type: 'int', value: v.toString() };
    if (v instanceof PyFloat) {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v.value, false);
      return { type: 'float', bits: hex(b) };
    }
    if (typeof v === 'string') return { type: 'str', value: v };
    if (v instanceof Uint8Array) return { type: 'bytes', hex: hex(v) };
    if (v instanceof TorchDevice) return { type: 'device', value: v.toString() };
    if (v instanceof TorchSize) return { type: 'size', items: v.items.map((x) => this.value(x)) };
    if (v instanceof Tuple) return { type: 'tuple', items: v.items.map((x) => this.value(x)) };
    if (Array.isArray(v)) return { type: 'list', items: v.map((x) => this.value(x)) };
    if (v instanceof Map) {
      const d: Described = {
        type: v instanceof OrderedDict ? 'odict' : 'dict',
        items: [...v].map(([k, x]) => [this.value(k), this.value(x)]),
      };
      if (v instanceof OrderedDict && v.attrs?.has('_metadata')) d.metadata = this.value(v.attrs.get('_metadata')!);
      return d;
    }
    throw new Error(`cannot describe ${String(v)}`);
  }
}
