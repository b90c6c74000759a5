// `moco-cxr convert IN OUT --to moco|torchvision|pipeline|app`: a checkpoint of any layout the app
// reads, loaded strictly, written in the format the original PyTorch code paths load. Prints what
// it detected and wrote; a refusal exits 1 with the reason.
import { writeFileSync } from 'node:fs';
import { readCheckpointFile } from './read-file.ts';
import { readTorchFile, TorchFileError } from '../core/torchfile/index.ts';
import {
  ConvertError,
  extractModel,
  headSpec,
  isArch,
  newHead,
  toApp,
  toMoco,
  toPipeline,
  toTorchvision,
  type CanonicalModel,
  type Detected,
} from '../core/convert/index.ts';
import type { Command } from './main.ts';

const TARGETS = ['moco', 'torchvision', 'pipeline', 'app'] as const;
type Target = (typeof TARGETS)[number];

const USAGE = `usage: moco-cxr convert IN OUT --to moco|torchvision|pipeline|app [options]

Reads IN (a MoCo checkpoint, a torchvision state dict with or without 'module.', a CheXpert-pipeline
checkpoint, or an app export), checks every key against the architecture strictly, and writes OUT:

  --to torchvision  the backbone alone, bare torchvision names (what main_lincls.py and the
                    MoCo-CXR model saver load); loads with torch.load(weights_only=True)
  --to moco         {epoch, arch, state_dict, optimizer} with module.encoder_q/_k, queue and
                    queue_ptr, for main_moco.py --resume; needs the MLP head. Its optimizer holds
                    Python floats: load with weights_only=False, as main_moco.py does
  --to pipeline     ModelSaver's checkpoint for the pipeline's test.py (moco false); needs a
                    linear head with one output per task; weights_only=False as well
  --to app          the app's own format (weights_only-safe)

options:
  --arch A          refuse unless the checkpoint is A (resnet18, resnet50, densenet121, mnasnet1_0)
  --tasks T1,T2,..  task names for --to pipeline (default: those in IN)
  --take backbone   take the backbone alone: ignore the head, key encoder, queue and stray keys
  --new-head        give the model a fresh head where the target needs one it lacks (a task head
                    of one output per task, or MoCo's MLP projection to --dim, default 128), with
                    nn.Linear's default initialisation (seeded, --seed N)
  --keep-head       --to torchvision: keep a linear head (fc / classifier) as a whole model
  --epoch N         the epoch to write
  --json            print one JSON object`;

interface Args {
  input: string;
  output: string;
  to: Target;
  arch?: string;
  tasks?: string[];
  take: 'all' | 'backbone';
  newHead: boolean;
  keepHead: boolean;
  epoch?: number;
  dim: number;
  seed: number;
  json: boolean;
}

function parseArgs(args: string[]): Args | string {
  const pos: string[] = [];
  const a: Partial<Args> & { take: 'all' | 'backbone'; newHead: boolean; keepHead: boolean; json: boolean; dim: number; seed: number } = {
    take: 'all',
    newHead: false,
    keepHead: false,
    json: false,
    dim: 128,
    seed: 0,
  };
  for (let i = 0; i < args.length; i++) {
    const x = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${x} needs a value`);
      return v;
    };
    const int = () => {
      const v = value();
      if (!/^\d+$/.test(v)) throw new Error(`${x} needs a whole number, not '${v}'`);
      return Number(v);
    };
    try {
      if (x === '--to') {
        const v = value();
        if (!(TARGETS as readonly string[]).includes(v)) return `--to must be one of ${TARGETS.join(', ')}, not '${v}'`;
        a.to = v as Target;
      } else if (x === '--arch') a.arch = value();
      else if (x === '--tasks') a.tasks = value().split(',').map((s) => s.trim()).filter(Boolean);
      else if (x === '--take') {
        const v = value();
        if (v !== 'backbone' && v !== 'all') return `--take must be 'backbone' or 'all', not '${v}'`;
        a.take = v;
      } else if (x === '--new-head') a.newHead = true;
      else if (x === '--keep-head') a.keepHead = true;
      else if (x === '--epoch') a.epoch = int();
      else if (x === '--dim') a.dim = int();
      else if (x === '--seed') a.seed = int();
      else if (x === '--json') a.json = true;
      else if (x.startsWith('--')) return `unknown option ${x}`;
      else pos.push(x);
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (pos.length !== 2) return 'expected IN and OUT';
  if (!a.to) return '--to is required';
  if (a.arch !== undefined && !isArch(a.arch)) return `--arch must be one of resnet18, resnet50, densenet121, mnasnet1_0, not '${a.arch}'`;
  return { ...a, input: pos[0]!, output: pos[1]!, to: a.to } as Args;
}

function headText(m: CanonicalModel): string {
  const h = headSpec(m.arch, m.head);
  return h.kind === 'none' ? 'no head' : h.kind === 'linear' ? `linear head, ${h.outputs} outputs` : `MLP head ${h.hidden} -> ${h.dim}`;
}

/** Gives the model the head the target needs, when asked to (--new-head); returns what was done. */
function fitHead(model: CanonicalModel, a: Args): string | null {
  if (!a.newHead) return null;
  if (a.to === 'pipeline') {
    const tasks = a.tasks ?? model.tasks;
    if (!tasks?.length) throw new ConvertError('head_mismatch', '--new-head for the pipeline needs --tasks');
    const h = headSpec(model.arch, model.head);
    if (h.kind === 'linear' && (h.outputs === tasks.length || h.outputs === 3 * tasks.length)) return null;
    model.head = newHead(model.arch, { kind: 'linear', outputs: tasks.length }, a.seed);
    return `new task head: ${tasks.length} outputs (nn.Linear's default init, seed ${a.seed})`;
  }
  if (a.to === 'moco' && model.head?.kind !== 'mlp') {
    model.head = newHead(model.arch, { kind: 'mlp', dim: a.dim }, a.seed);
    model.moco = undefined;
    return `new MLP head -> ${a.dim} and a fresh key encoder and queue (seed ${a.seed})`;
  }
  return null;
}

function convert(a: Args, bytes: Uint8Array): { detected: Detected; model: CanonicalModel; out: Uint8Array; wrote: string; notes: string[] } {
  const file = readTorchFile(bytes);
  const take = a.take;
  const { model, detected } = extractModel(file.root, { ...(a.arch ? { arch: a.arch as CanonicalModel['arch'] } : {}), take });
  const notes: string[] = [];
  const fitted = fitHead(model, a);
  if (fitted) notes.push(fitted);
  let out: Uint8Array;
  let wrote: string;
  const epoch = a.epoch !== undefined ? { epoch: a.epoch } : {};
  switch (a.to) {
    case 'torchvision':
      out = toTorchvision(model, { head: a.keepHead ? 'keep' : 'drop' });
      wrote = `torchvision ${model.arch} ${a.keepHead ? `with its ${headText(model)}` : 'backbone'}, ${model.backbone.size + (a.keepHead ? 2 : 0)} tensors, bare names`;
      notes.push('loads with torch.load(weights_only=True); main_lincls.py-style: load_state_dict(strict=False) misses only the head');
      break;
    case 'moco': {
      out = toMoco(model, epoch);
      const q = model.backbone.size + 4;
      wrote = `moco ${model.arch}, module.encoder_q (${q}) + module.encoder_k + queue ${model.moco ? `[${model.moco.queue.shape.join(', ')}]` : '[dim, 24576] (fresh)'}, ${model.moco?.optimizer ? 'optimizer as read' : 'fresh Adam (lr 1e-4, wd 1e-4)'}`;
      notes.push('the optimizer holds Python floats: torch.load(weights_only=False), as main_moco.py --resume does');
      break;
    }
    case 'pipeline': {
      const tasks = a.tasks ? { tasks: a.tasks } : {};
      out = toPipeline(model, { ...tasks, ...epoch });
      const n = (a.tasks ?? model.tasks)!.length;
      wrote = `pipeline ${model.arch} (model_name ${model.arch === 'resnet18' ? 'ResNet18' : model.arch === 'resnet50' ? 'ResNet50' : model.arch === 'densenet121' ? 'DenseNet121' : 'MNASNet'}), ${n} tasks, module.model.* + ${model.arch.startsWith('resnet') ? 'module.fc' : 'module.model.classifier'}`;
      if (model.arch.startsWith('resnet') && !model.lastLinear) notes.push("module.model.last_linear (Cadene's unused ImageNet head) written as zeros");
      notes.push("for test.py with --moco false; the tasks also belong in args.json next to it; torch.load(weights_only=False)");
      break;
    }
    case 'app':
      out = toApp(model);
      wrote = `app ${model.arch}, ${headText(model)}${model.moco ? ', MoCo state' : ''}`;
      break;
  }
  return { detected, model, out, wrote, notes };
}

export const convertCommand: Command = {
  name: 'convert',
  usage: 'convert IN OUT --to moco|torchvision|pipeline|app',
  help: USAGE,
  summary: 'convert a checkpoint between MoCo, torchvision, pipeline and app formats',
  async run(args) {
    const a = parseArgs(args);
    if (typeof a === 'string') {
      console.error(`moco-cxr convert: ${a}\n\n${USAGE}`);
      return 2;
    }
    let bytes: Uint8Array;
    try {
      bytes = readCheckpointFile(a.input);
    } catch (e) {
      console.error(`moco-cxr convert: cannot read ${a.input}: ${(e as Error).message}`);
      return 1;
    }
    let r: ReturnType<typeof convert>;
    try {
      r = convert(a, bytes);
    } catch (e) {
      if (e instanceof ConvertError || e instanceof TorchFileError) {
        console.error(`moco-cxr convert: ${a.input}: refused (${e.code}): ${e.message}`);
        return 1;
      }
      throw e;
    }
    try {
      writeFileSync(a.output, r.out);
    } catch (e) {
      console.error(`moco-cxr convert: cannot write ${a.output}: ${(e as Error).message}`);
      return 1;
    }
    if (a.json) {
      const { layout, arch, prefix, head, epoch, tasks, moco, pipeline, summary } = r.detected;
      console.log(JSON.stringify({ input: a.input, output: a.output, to: a.to, detected: { layout, arch, prefix, head, epoch, tasks, moco, pipeline, summary }, wrote: r.wrote, bytes: r.out.length, notes: r.notes }, null, 2));
    } else {
      const rows: [string, string][] = [
        ['read', `${a.input} (${bytes.length.toLocaleString('en-US')} bytes)`],
        ['detected', r.detected.summary],
        ['model', `${r.model.arch}, backbone ${r.model.backbone.size} tensors, ${headText(r.model)}`],
        ['wrote', `${a.output} (${r.out.length.toLocaleString('en-US')} bytes): ${r.wrote}`],
        ...r.notes.map((n): [string, string] => ['note', n]),
      ];
      console.log(rows.map(([k, v]) => `${k.padEnd(10)}${v}`).join('\n'));
    }
    return 0;
  },
};
