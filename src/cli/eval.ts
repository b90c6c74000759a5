// `moco-cxr eval --checkpoint CKPT --data DIR ...`: a classifier checkpoint of any layout evaluated on a
// dataset folder (CheXpert with its CSVs, Shenzhen, or a generic CSV folder) as the original's test.py
// does it, from the original image files, on tfjs's WebAssembly backend in Node. Writes test.py's
// predictions.csv, groundtruth.csv, scores.csv and scores.txt, confidence_interval.py's confidence.csv,
// and scores.json; prints a short table. Refusals exit 1 with the reason; bad usage exits 2.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readCheckpointFile } from './read-file.ts';
import type { Command } from './main.ts';
import type { DatasetKind, ImageMeta, ImportPlan, Split } from '../core/data/types.ts';
import type { Classifier, Evaluation, OpenMode } from '../core/evaluate/index.ts';

// tfjs, its wasm backend and the evaluation code load only when `eval` runs, so that the other
// commands start as fast as before.
const load = async () => {
  const [tf, ev, convert, torchfile, plan, testing, decode] = await Promise.all([
    import('@tensorflow/tfjs'),
    import('../core/evaluate/index.ts'),
    import('../core/convert/index.ts'),
    import('../core/torchfile/index.ts'),
    import('../core/data/plan.ts'),
    import('../core/data/testing.ts'),
    import('../core/image/decode.ts'),
    import('@tensorflow/tfjs-backend-wasm'),
  ]);
  return { tf, ev, ConvertError: convert.ConvertError, readTorchFile: torchfile.readTorchFile, TorchFileError: torchfile.TorchFileError, planImport: plan.planImport, folderFromDisk: testing.folderFromDisk, decodeImage: decode.decodeImage };
};
type Lib = Awaited<ReturnType<typeof load>>;

const SPLITS = ['test', 'valid', 'train', 'all'] as const;
type SplitChoice = (typeof SPLITS)[number];

const USAGE = `usage: moco-cxr eval --checkpoint CKPT --data DIR [options]

Evaluates a classifier checkpoint on a dataset folder as MoCo-CXR's test.py does: every image opened
as RGB, Resize(scale) on the shorter side, CenterCrop(crop), ImageNet normalisation, eval mode; per
study the max logit over its images, then sigmoid; uncertain labels (-1) left out per task; AUROC,
AUPRC and a bootstrap 95 % interval over studies (confidence_interval.py's rule).

CKPT: a CheXpert-pipeline checkpoint (ModelSaver, tasks in the file), a torchvision state dict with a
classifier head (fc / classifier), or an app export with a task head.
DIR: a CheXpert folder (train.csv / valid.csv / test.csv), a Shenzhen folder (CHNCXR_####_L.png), or
any folder with a CSV that has a Path column.

options:
  --tasks A,B,...   the outputs to evaluate (default: all); for a checkpoint without task names,
                    the names of all its outputs in order
  --split S         test, valid, train or all (default: test if the folder has a test split, else
                    valid, else all)
  --bootstrap N     bootstrap replicates (default 1000; 0: no interval, no confidence.csv)
  --seed S          bootstrap seed (np.random.seed semantics; default 0)
  --batch B         images per forward pass (default 16)
  --scale N         Resize's shorter side (default 320)
  --crop N          CenterCrop's side (default 320)
  --open rgb|grey   rgb: Image.open(p).convert('RGB') (default, the '*_special' datasets); grey:
                    convert('L').convert('RGB') (test.py --dataset custom); the same for grey files
  --kind K          read DIR as chexpert, shenzhen or generic instead of detecting it
  --out DIR         where to write the files (default: ./eval-<checkpoint name>)
  --quiet           no progress on stderr`;

interface Args {
  checkpoint: string;
  data: string;
  tasks?: string[];
  split?: SplitChoice;
  bootstrap: number;
  seed: number;
  batch: number;
  scale: number;
  crop: number;
  open: OpenMode;
  kind?: DatasetKind;
  out?: string;
  quiet: boolean;
}

function parseArgs(args: string[]): Args | string {
  const a: Partial<Args> & { bootstrap: number; seed: number; batch: number; scale: number; crop: number; open: OpenMode; quiet: boolean } = {
    bootstrap: 1000,
    seed: 0,
    batch: 16,
    scale: 320,
    crop: 320,
    open: 'rgb',
    quiet: false,
  };
  for (let i = 0; i < args.length; i++) {
    const x = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${x} needs a value`);
      return v;
    };
    const whole = (min: number) => {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < min) throw new Error(`${x} needs a whole number${min > 0 ? ` of at least ${min}` : ''}, not '${v}'`);
      return Number(v);
    };
    try {
      if (x === '--checkpoint') a.checkpoint = value();
      else if (x === '--data') a.data = value();
      else if (x === '--tasks') {
        a.tasks = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (a.tasks.length === 0) return '--tasks needs at least one name';
      } else if (x === '--split') {
        const v = value();
        if (!(SPLITS as readonly string[]).includes(v)) return `--split must be one of ${SPLITS.join(', ')}, not '${v}'`;
        a.split = v as SplitChoice;
      } else if (x === '--bootstrap') a.bootstrap = whole(0);
      else if (x === '--seed') a.seed = whole(0);
      else if (x === '--batch') a.batch = whole(1);
      else if (x === '--scale') a.scale = whole(1);
      else if (x === '--crop') a.crop = whole(1);
      else if (x === '--open') {
        const v = value();
        if (v !== 'rgb' && v !== 'grey') return `--open must be rgb or grey, not '${v}'`;
        a.open = v;
      } else if (x === '--kind') {
        const v = value();
        if (v !== 'chexpert' && v !== 'shenzhen' && v !== 'generic') return `--kind must be chexpert, shenzhen or generic, not '${v}'`;
        a.kind = v;
      } else if (x === '--out') a.out = value();
      else if (x === '--quiet') a.quiet = true;
      else return x.startsWith('-') ? `unknown option ${x}` : `unexpected argument '${x}'`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (!a.checkpoint) return '--checkpoint is required';
  if (!a.data) return '--data is required';
  if (a.crop > a.scale) return `--crop ${a.crop} is larger than --scale ${a.scale}`;
  return a as Args;
}

/** A refusal to report (exit 1) rather than a crash. */
class Refusal extends Error {}

function loadCheckpoint(lib: Lib, a: Args): { classifier: Classifier; summary: string; layout: string; bytes: number } {
  let bytes: Uint8Array;
  try {
    bytes = readCheckpointFile(a.checkpoint);
  } catch (e) {
    throw new Refusal(`cannot read ${a.checkpoint}: ${(e as Error).message}`);
  }
  try {
    const { classifier, detected } = lib.ev.loadClassifier(lib.readTorchFile(bytes).root);
    if (classifier.taskSource === 'default' && a.tasks) {
      // a checkpoint without task names: --tasks names every output, in order
      if (a.tasks.length !== classifier.tasks.length) {
        classifier.dispose();
        throw new Refusal(
          `${a.checkpoint}: the head has ${classifier.tasks.length} outputs and no task names, so --tasks must name all ${classifier.tasks.length} in order (got ${a.tasks.length}: ${a.tasks.join(', ')})`,
        );
      }
      classifier.tasks = [...a.tasks];
      classifier.taskSource = 'caller';
    }
    return { classifier, summary: detected.summary, layout: detected.layout, bytes: bytes.length };
  } catch (e) {
    if (e instanceof lib.TorchFileError || e instanceof lib.ConvertError || e instanceof lib.ev.ClassifierError) {
      throw new Refusal(`${a.checkpoint}: refused (${e.code}): ${e.message}`);
    }
    throw e;
  }
}

function chooseSplit(plan: ImportPlan, asked: SplitChoice | undefined): { split: SplitChoice; images: ImageMeta[] } {
  const counts: Record<Split, number> = { train: 0, valid: 0, test: 0 };
  for (const img of plan.images) counts[img.split]++;
  const present = (Object.keys(counts) as Split[]).filter((s) => counts[s] > 0);
  const split = asked ?? (counts.test > 0 ? 'test' : counts.valid > 0 ? 'valid' : 'all');
  const images = split === 'all' ? plan.images : plan.images.filter((img) => img.split === split);
  if (images.length === 0) {
    throw new Refusal(`the ${plan.kind} folder has no ${split} images (it has ${present.map((s) => `${counts[s]} ${s}`).join(', ')}); choose another --split`);
  }
  return { split, images };
}

async function useWasm({ tf }: Lib): Promise<void> {
  // one thread: the threaded build needs worker files and cross-origin isolation (browsers)
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Refusal('the tfjs WebAssembly backend did not start');
  await tf.ready();
}

const fmt = (x: number | null | undefined, d = 3) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));

function table(e: Evaluation): string {
  const rows = [['task', 'studies', 'positives', 'AUROC', '95% CI', 'AUPRC']];
  for (const s of e.scores) {
    rows.push([s.task, String(s.studies), String(s.positives), fmt(s.auroc), s.ci ? `${fmt(s.ci.lower)}-${fmt(s.ci.upper)}` : '-', fmt(s.auprc)]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ')).join('\n');
}

async function run(a: Args): Promise<number> {
  const t0 = performance.now();
  const lib = await load();
  const { tf, ev } = lib;
  await useWasm(lib);
  const ck = loadCheckpoint(lib, a);
  const { classifier } = ck;
  try {
    const data = resolve(a.data);
    let plan: ImportPlan;
    let files: Awaited<ReturnType<Lib['folderFromDisk']>>;
    try {
      files = await lib.folderFromDisk(data);
      plan = await lib.planImport(files, a.kind ? { kind: a.kind } : {});
    } catch (e) {
      throw new Refusal(`cannot read the folder ${a.data}: ${(e as Error).message}`);
    }
    if (plan.images.length === 0) {
      const why = plan.problems.slice(0, 3).map((p) => `${p.where}: ${p.reason}`);
      throw new Refusal(`no images to evaluate in ${a.data}${why.length ? `:\n  ${why.join('\n  ')}` : ''}`);
    }
    const { split, images } = chooseSplit(plan, a.split);
    // --tasks selects outputs when the checkpoint names them (for one without names it named them all)
    const tasks = a.tasks ?? classifier.tasks;
    const notOutputs = tasks.filter((t) => !classifier.tasks.includes(t));
    if (notOutputs.length) throw new Refusal(`the checkpoint has no output ${notOutputs.map((t) => `'${t}'`).join(', ')} (its outputs: ${classifier.tasks.join(', ')})`);
    let samples;
    try {
      samples = ev.samplesFromImages(images, tasks, plan.labelColumns, async (img) => {
        const f = files.get(img.file);
        if (!f) throw new Error('file not found');
        const bytes = new Uint8Array(await f.arrayBuffer());
        return ev.evalImageFromDecoded(await lib.decodeImage(bytes, img.file), { mode: a.open, scale: a.scale, crop: a.crop });
      });
    } catch (e) {
      if (e instanceof ev.EvaluationError) {
        if (classifier.taskSource === 'default') {
          throw new Refusal(`${e.message}; the checkpoint does not name its outputs: name all ${classifier.tasks.length} in order with --tasks`);
        }
        const have = classifier.tasks.filter((t) => plan.labelColumns.includes(ev.labelColumnOf(t, plan.labelColumns)));
        throw new Refusal(
          `${e.message}; ${have.length ? `of the checkpoint's outputs the dataset has ${have.join(', ')}: choose them with --tasks '${have.join(',')}'` : `none of the checkpoint's outputs (${classifier.tasks.join(', ')}) is a column of the dataset`}`,
        );
      }
      throw e;
    }
    if (!a.quiet) console.error(`evaluating ${images.length} ${split === 'all' ? '' : `${split} `}images of ${plan.name || a.data} (${plan.kind}) with ${ck.summary}`);
    let lastPrint = 0;
    const e = await ev.evaluateClassifier(classifier, samples, {
      tasks,
      batch: a.batch,
      bootstrap: a.bootstrap,
      seed: a.seed,
      onProgress: (done, total) => {
        const now = performance.now();
        if (!a.quiet && (done === total || now - lastPrint > 2000)) {
          lastPrint = now;
          console.error(`  ${done}/${total} images, ${((now - t0) / 1000).toFixed(1)} s`);
        }
      },
    }).catch((err: unknown) => {
      if (err instanceof ev.EvaluationError) throw new Refusal(err.message);
      throw err;
    });

    const out = resolve(a.out ?? `eval-${basename(a.checkpoint).replace(/(\.(pth|pt|tar|ckpt|bin))+$/i, '') || 'checkpoint'}`);
    const written = ev.pipelineFiles(e.table, e.scores);
    const summary = {
      tool: 'moco-cxr eval',
      checkpoint: { file: resolve(a.checkpoint), bytes: ck.bytes, layout: ck.layout, arch: classifier.arch, summary: ck.summary, epoch: classifier.epoch, outputs: classifier.tasks, taskNames: classifier.taskSource },
      data: { dir: data, kind: plan.kind, name: plan.name, split, images: e.images, studies: e.table.studies.length, labelColumns: plan.labelColumns, problems: plan.problems.length },
      settings: { scale: a.scale, crop: a.crop, open: a.open, normalization: 'imagenet', batch: a.batch, bootstrap: a.bootstrap, seed: a.seed, threshold: 0.5, backend: tf.getBackend() },
      tasks: e.scores,
      files: [...Object.keys(written), 'scores.json'],
      seconds: (performance.now() - t0) / 1000,
    };
    try {
      mkdirSync(out, { recursive: true });
      for (const [name, text] of Object.entries(written)) writeFileSync(join(out, name), text);
      writeFileSync(join(out, 'scores.json'), JSON.stringify(summary, null, 2) + '\n');
    } catch (err) {
      throw new Refusal(`cannot write to ${out}: ${(err as Error).message}`);
    }
    console.log(`checkpoint  ${a.checkpoint}: ${ck.summary}`);
    console.log(`data        ${a.data}: ${plan.kind}, ${split}, ${e.images} images, ${e.table.studies.length} studies`);
    console.log(`settings    Resize(${a.scale}) CenterCrop(${a.crop}) open ${a.open}, ImageNet normalisation, bootstrap ${a.bootstrap} (seed ${a.seed}), ${tf.getBackend()}`);
    console.log('');
    console.log(table(e));
    console.log('');
    console.log(`wrote       ${out}/{${summary.files.join(',')}} in ${summary.seconds.toFixed(1)} s`);
    return 0;
  } finally {
    classifier.dispose();
  }
}

export const evalCommand: Command = {
  name: 'eval',
  usage: 'eval --checkpoint CKPT --data DIR',
  summary: "evaluate a classifier checkpoint on a dataset folder as test.py does; writes the pipeline's CSVs",
  help: USAGE,
  async run(args) {
    const a = parseArgs(args);
    if (typeof a === 'string') {
      console.error(`moco-cxr eval: ${a}\n\n${USAGE}`);
      return 2;
    }
    try {
      return await run(a);
    } catch (e) {
      if (e instanceof Refusal) {
        console.error(`moco-cxr eval: ${e.message}`);
        return 1;
      }
      // reported here: an error left to Node would pass through the wasm module's uncaughtException
      // handler, which prints its whole minified source line
      console.error(`moco-cxr eval: unexpected error: ${(e as Error)?.stack ?? String(e)}`);
      return 1;
    }
  },
};
