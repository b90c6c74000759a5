// The first read of a big checkpoint in a fresh Node process (as `moco-cxr inspect` does it), after
// warming the reader's code on a tiny file. Prints milliseconds as JSON.
import { readCheckpointFile } from '../../src/cli/read-file.ts';
import { readTorchFile, Tensor, tensorData, writeTorchFile, stateDict, makeTensor, type PickleValue } from '../../src/core/torchfile/index.ts';

function tensorsIn(v: PickleValue, out: Tensor[] = []): Tensor[] {
  if (v instanceof Tensor) out.push(v);
  else if (v instanceof Map) for (const x of v.values()) tensorsIn(x, out);
  else if (Array.isArray(v)) for (const x of v) tensorsIn(x, out);
  return out;
}
const load = (bytes: Uint8Array) => tensorsIn(readTorchFile(bytes).root).reduce((n, t) => n + tensorData(t).length, 0);

load(writeTorchFile(stateDict([['w', makeTensor('f32', [4], new Float32Array(4))]])));
const t0 = performance.now();
load(readCheckpointFile(process.argv[2]!));
console.log(JSON.stringify(performance.now() - t0));
