// `moco-cxr inspect FILE [--json]`: what a PyTorch checkpoint holds, read with the same strict,
// allow-listed reader the app uses. A refused file exits 1 with the reason on stderr.
import { readCheckpointFile } from './read-file.ts';
import { readTorchFile, summarize, TorchFileError, type CheckpointSummary, type PickleValue } from '../core/torchfile/index.ts';
import { ConvertError, detectLayout } from '../core/convert/index.ts';
import type { Command } from './main.ts';

const USAGE = `usage: moco-cxr inspect FILE [--json] [--placeholders]

Prints a checkpoint's container format, top-level keys, arch and epoch when present, tensor and
parameter counts, and every tensor's name, dtype and shape.

  --json          print one JSON object instead of text
  --placeholders  read files that torch.load(weights_only=True) would refuse, showing the refused
                  objects (pickled modules, numpy scalars, ...) as inert placeholders; nothing in
                  the file is ever run`;

interface Report extends CheckpointSummary {
  file: string;
  version: string | null;
  /** the checkpoint layout and architecture, or why none was recognised */
  layout: string;
}

function layoutOf(root: PickleValue): string {
  try {
    return detectLayout(root).summary;
  } catch (e) {
    if (e instanceof ConvertError) return `not recognised (${e.message})`;
    throw e;
  }
}

const count = (n: number) => n.toLocaleString('en-US');

function text(r: Report): string {
  const where = r.format === 'zip' ? ` (folder '${r.folder}', version ${r.version ?? 'missing'})` : ' (torch < 1.6)';
  const rows: [string, string][] = [
    ['file', r.file],
    ['format', r.format + where],
    ['top-level keys', r.topLevelKeys.length ? r.topLevelKeys.join(', ') : '(not a dict)'],
    ['layout', r.layout],
  ];
  if (r.arch !== null) rows.push(['arch', r.arch]);
  if (r.epoch !== null) rows.push(['epoch', String(r.epoch)]);
  rows.push(['tensors', count(r.tensorCount)]);
  const from = r.stateDictPath === null ? 'all tensors' : r.stateDictPath === '' ? 'the state dict' : `'${r.stateDictPath}'`;
  rows.push(['parameters', `${count(r.parameterCount)} (in ${from})`]);
  rows.push(['storages', `${count(r.storageCount)} (${count(r.storageBytes)} bytes)`]);
  if (r.opaqueGlobals.length) rows.push(['placeholders', r.opaqueGlobals.join(', ')]);
  const head = rows.map(([k, v]) => `${k.padEnd(16)}${v}`);
  if (r.tensors.length === 0) return [...head, '', '(no tensors)'].join('\n');
  const nameWidth = Math.max(4, ...r.tensors.map((t) => t.name.length));
  const table = r.tensors.map((t) => `${t.name.padEnd(nameWidth)}  ${t.torchDtype.padEnd(8)}  [${t.shape.join(', ')}]`);
  return [...head, '', `${'name'.padEnd(nameWidth)}  ${'dtype'.padEnd(8)}  shape`, ...table].join('\n');
}

export const inspectCommand: Command = {
  name: 'inspect',
  usage: 'inspect FILE [--json]',
  help: USAGE,
  summary: 'show what a .pth / .pth.tar checkpoint holds',
  async run(args) {
    const flags = new Set(args.filter((a) => a.startsWith('--')));
    const files = args.filter((a) => !a.startsWith('--'));
    const unknown = [...flags].filter((f) => f !== '--json' && f !== '--placeholders');
    if (files.length !== 1 || unknown.length) {
      console.error(unknown.length ? `moco-cxr inspect: unknown option ${unknown[0]}\n\n${USAGE}` : USAGE);
      return 2;
    }
    const path = files[0]!;
    let bytes: Uint8Array;
    try {
      bytes = readCheckpointFile(path);
    } catch (e) {
      console.error(`moco-cxr inspect: cannot read ${path}: ${(e as Error).message}`);
      return 1;
    }
    try {
      const file = readTorchFile(bytes, { mode: flags.has('--placeholders') ? 'inspect' : 'strict' });
      const report: Report = { file: path, version: file.version, ...summarize(file), layout: layoutOf(file.root) };
      console.log(flags.has('--json') ? JSON.stringify(report, null, 2) : text(report));
      return 0;
    } catch (e) {
      if (!(e instanceof TorchFileError)) throw e;
      console.error(`moco-cxr inspect: ${path}: refused (${e.code}): ${e.message}`);
      return 1;
    }
  },
};
