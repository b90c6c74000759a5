// Bit-for-bit equality of float arrays, fast: vitest's toEqual walks typed arrays element by element
// with its deep-equality machinery, minutes for a ResNet-18's worth of tensors.
export function sameBits(a: ArrayLike<number> | undefined, b: ArrayLike<number>): boolean {
  if (!a || !(a instanceof Float32Array) || !(b instanceof Float32Array)) return false;
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}
