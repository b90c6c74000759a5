// A fine-tuning experiment's cluster bundle: its split CSVs read back with Python's csv module give the
// manifest; prepare_data.py lays the images out as the pipeline groups them; the launch scripts run every
// (initialisation, fraction, draw) through train.py, select_ensemble.py and test.py with arguments that pass
// the originals' argparse contracts (scripts/fixtures/moco_cxr_argparse.py) and equal the experiment's settings.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYTHON } from '../../../scripts/fixtures/ensure.ts';
import { backboneKeys, newHead, toMoco, type CanonicalModel } from '../convert/index.ts';
import { CHEXPERT_HEADER, type ImageMeta } from '../data/types.ts';
import { scheduleForFraction, type ExperimentSettings, type SplitManifest } from '../finetune/settings.ts';
import { TASK_PRESETS } from '../finetune/tasks.ts';
import { shenzhenSplits } from '../splits/index.ts';
import { makeTensor } from '../torchfile/index.ts';
import { ZipArchive } from '../torchfile/zip-reader.ts';
import { finetuneBundle, finetuneBundleContents, finetuneRuns, HandoffError, parseRunJson, type BundleDataset, type FinetuneBundleInput } from './index.ts';
import { BUNDLE_CHECK, calls, demoExperiment, demoImages, demoManifest, fakeMocoCxr, pipelineStart, runChecker, unzip, type CheckerResult } from './fixtures.testutil.ts';

/** A MoCo-format ResNet-18 start without training anything: zero backbone, a seeded MLP head, a fresh queue. */
function mocoStart(): Uint8Array {
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const backbone = new Map([...backboneKeys('resnet18')].map(([n, k]) => [n, k.dtype === 'i64' ? makeTensor('i64', k.shape, [0]) : makeTensor('f32', k.shape, new Float32Array(size(k.shape)))] as const));
  const model: CanonicalModel = { arch: 'resnet18', backbone, head: newHead('resnet18', { kind: 'mlp', dim: 8 }, 1), epoch: 20 };
  return toMoco(model, { K: 12, epoch: 20 });
}

let dir: string;
let images: ImageMeta[];
let dataset: BundleDataset;
let manifest: SplitManifest;
let experiment: ExperimentSettings;
let input: FinetuneBundleInput;
let moco: Uint8Array;
let bundleDir: string;
let repo: string;
let work: string;
let dataRoot: string;

function writeDataRoot(root: string, list: readonly ImageMeta[]) {
  for (const img of list) {
    mkdirSync(dirname(join(root, img.file)), { recursive: true });
    writeFileSync(join(root, img.file), img.key);
  }
}

/** Zips, unzips with Python and prepares a bundle; returns its folder and work folder. */
function unpack(name: string, bytes: Uint8Array, root: string, folder: string): { bundle: string; work: string } {
  writeFileSync(join(dir, `${name}.zip`), bytes);
  unzip(join(dir, `${name}.zip`), join(dir, name));
  const bundle = join(dir, name, folder);
  const w = join(dir, `${name}-work`);
  execFileSync(PYTHON, [join(bundle, 'prepare_data.py'), '--data-root', root, '--work', w]);
  return { bundle, work: w };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'handoff-finetune-'));
  ({ dataset, images } = demoImages());
  manifest = demoManifest(images);
  experiment = demoExperiment();
  moco = mocoStart();
  input = {
    experiment,
    dataset,
    images,
    manifest,
    checkpoints: [
      { label: 'MoCo r8', format: 'moco', bytes: moco },
      { label: 'ImageNet', format: 'pipeline', bytes: pipelineStart(moco) },
    ],
    createdAt: new Date('2026-12-01T10:00:00Z'),
  };
  repo = join(dir, 'MoCo-CXR');
  fakeMocoCxr(repo);
  dataRoot = join(dir, 'data');
  writeDataRoot(dataRoot, images);
  ({ bundle: bundleDir, work } = unpack('bundle', finetuneBundle(input), dataRoot, 'moco-cxr-finetune-moco-vs-imagenet'));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the fine-tuning bundle', () => {
  it('opens and holds the listed files', () => {
    const zip = new ZipArchive(new Uint8Array(readFileSync(join(dir, 'bundle.zip'))));
    const names = [...zip.entries.keys()].map((n) => n.slice(zip.folder.length + 1)).sort();
    expect(names).toEqual(
      [
        'README.md', 'run.json', 'checkpoints/MoCo-r8.moco.pth.tar', 'checkpoints/ImageNet.pipeline.pth.tar',
        'splits/train_semi_0.5-it0.csv', 'splits/train_semi_0.5-it1.csv', 'splits/train.csv', 'splits/valid.csv', 'splits/test.csv', 'splits/images.csv',
        'prepare_data.py', 'setup_moco_cxr.sh', 'runs.sh', 'launch_torchrun.sh', 'launch_sbatch.sh',
      ].sort(),
    );
    expect(Buffer.compare(readFileSync(join(bundleDir, 'checkpoints/MoCo-r8.moco.pth.tar')), Buffer.from(moco))).toBe(0);
  });

  it("the split CSVs, read with Python's csv module, give the manifest back (CheXpert's columns)", () => {
    const out = JSON.parse(execFileSync(PYTHON, [BUNDLE_CHECK, join(dir, 'bundle.zip')], { encoding: 'utf8' })) as { splits: Record<string, { header: string[]; keys: string[]; rows: Record<string, string>[] }> };
    expect(Object.keys(out.splits).sort()).toEqual(['test.csv', 'train.csv', 'train_semi_0.5-it0.csv', 'train_semi_0.5-it1.csv', 'valid.csv']);
    for (const t of manifest.train) expect(out.splits[`${t.name}.csv`]!.keys, t.name).toEqual(t.keys);
    expect(out.splits['valid.csv']!.keys).toEqual(manifest.valid);
    expect(out.splits['test.csv']!.keys).toEqual(manifest.test);
    for (const s of Object.values(out.splits)) expect(s.header).toEqual([...CHEXPERT_HEADER]);
    // label cells as CheXpert writes them
    const first = images.find((i) => i.key === manifest.valid[0])!;
    const row = out.splits['valid.csv']!.rows[0]!;
    expect(row['Age']).toBe(String(first.age));
    expect(row['Cardiomegaly']).toBe(first.labels['Cardiomegaly'] === 1 ? '1.0' : first.labels['Cardiomegaly'] === 0 ? '0.0' : '');
  });

  it('run.json reads back to the same experiment, manifest and checkpoints', () => {
    const r = parseRunJson(readFileSync(join(bundleDir, 'run.json'), 'utf8'));
    if (r.kind !== 'finetune') throw new Error('kind');
    expect(r.experiment).toEqual(experiment);
    expect(r.manifest).toEqual(manifest);
    expect(r.checkpoints).toEqual([
      { label: 'MoCo r8', file: 'checkpoints/MoCo-r8.moco.pth.tar', format: 'moco' },
      { label: 'ImageNet', file: 'checkpoints/ImageNet.pipeline.pth.tar', format: 'pipeline' },
    ]);
    expect(r.augmentations.train.map((a) => a.op)).toEqual(['Grayscale->RGB', 'Resize', 'RandomCrop', 'ToTensor', 'Normalize']);
    expect(r.augmentations.eval.map((a) => a.op)).toEqual(['Grayscale->RGB', 'Resize', 'CenterCrop', 'ToTensor', 'Normalize']);
  });

  it("prepare_data.py links each image into its study's folder and writes the CSVs with absolute paths", () => {
    const csv = readFileSync(join(work, 'csv/valid.csv'), 'utf8').trim().split('\n');
    expect(csv.length).toBe(manifest.valid.length + 1);
    for (const line of csv.slice(1)) {
      const path = line.split(',')[0]!;
      expect(path.startsWith(join(work, 'data') + '/')).toBe(true);
      const img = images.find((i) => path.endsWith(i.key))!;
      expect(readlinkSync(path)).toBe(join(dataRoot, img.file));
      expect(dirname(path)).toBe(join(work, 'data', img.study)); // the pipeline's Study = Path(p).parent
    }
  });
});

const runs = () => finetuneRuns({ experiment, manifest, datasetKind: 'demo', checkpoints: [{ label: 'MoCo r8', file: 'checkpoints/MoCo-r8.moco.pth.tar', format: 'moco' }, { label: 'ImageNet', file: 'checkpoints/ImageNet.pipeline.pth.tar', format: 'pipeline' }] });

/** The three steps of each run, in order, from one checker result. */
function stepsByRun(r: CheckerResult): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of r.invocations) {
    if (!['train.py', 'select_ensemble.py', 'test.py'].includes(c.script)) continue;
    const name = c.cwd.split('/').pop()!;
    out.set(name, [...(out.get(name) ?? []), c.script]);
  }
  return out;
}

describe('the fine-tuning scripts against the pipeline\'s argparse contracts', () => {
  const env = () => ({ MOCO_CXR: repo, WORK: work });

  function expectRun(r: CheckerResult) {
    const s = experiment.settings;
    for (const c of calls(r, 'train.py')) {
      const run = runs().find((x) => x.name === c.parsed!['logger_args.experiment_name'])!;
      const sched = scheduleForFraction(run.split.ratio, s.batch);
      expect(c.parsed).toMatchObject({
        'logger_args.save_dir': join(work, 'runs'),
        'data_args.dataset': 'custom',
        'model_args.model': 'ResNet18',
        'data_args.csv': join(work, 'csv', `${run.split.name}.csv`),
        'data_args.csv_dev': join(work, 'csv', 'valid.csv'),
        'optim_args.num_epochs': sched.epochs,
        'logger_args.iters_per_eval': sched.examplesPerEval,
        'logger_args.iters_per_save': sched.examplesPerEval,
        'data_args.batch_size': s.batch,
        'optim_args.optimizer': 'adam',
        'optim_args.lr': s.lr,
        'optim_args.weight_decay': 0,
        'optim_args.metric_name': 'chexpert-competition-AUROC',
        'logger_args.max_ckpts': s.keepTopK,
        'transform_args.scale': s.scale,
        'transform_args.crop': s.crop,
        'transform_args.normalization': 'imagenet',
        'model_args.fine_tuning': 'module.fc.weight,module.fc.bias',
        'model_args.ckpt_path': join(bundleDir, run.checkpoint!.file),
        'model_args.moco': run.checkpoint!.format === 'moco',
        'data_args.uncertain_map_path': null,
      });
      expect(c.cwd).toBe(join(work, 'runs', run.name));
    }
    for (const c of calls(r, 'select_ensemble.py')) {
      expect(c.parsed).toMatchObject({ search_dir: c.cwd, tasks: 'Atelectasis,Cardiomegaly,Consolidation,Edema,Pleural Effusion', aggregation_method: 'mean' });
    }
    for (const c of calls(r, 'test.py')) {
      expect(c.parsed).toMatchObject({ 'model_args.config_path': join(c.cwd, 'final.json'), 'data_args.test_csv': join(work, 'csv/test.csv'), 'data_args.phase': 'test', 'model_args.moco': false, inference_only: true });
    }
  }

  it('launch_torchrun.sh on two nodes of two GPUs: every run once, train -> select -> test, each worker on its own GPU', () => {
    const seen = new Map<string, string[]>();
    for (const rank of [0, 1]) {
      const r = runChecker(join(bundleDir, 'launch_torchrun.sh'), { ...env(), NNODES: '2', NODE_RANK: String(rank), GPUS_PER_NODE: '2' });
      expect(r.errors).toEqual([]);
      expectRun(r);
      const [t] = calls(r, 'torchrun');
      expect([t!.nnodes, t!.node_rank, t!.nproc_per_node, t!.no_python]).toEqual([2, rank, 2, true]);
      for (const c of calls(r, 'train.py')) {
        // worker RANK takes runs RANK, RANK + 4, ...; its GPU is its local rank
        const run = runs().find((x) => x.name === c.parsed!['logger_args.experiment_name'])!;
        expect(run.index % 4).toBe(Number(c.env.RANK));
        expect(c.env.CUDA_VISIBLE_DEVICES).toBe(String(Number(c.env.RANK) % 2));
      }
      for (const [k, v] of stepsByRun(r)) seen.set(k, v);
    }
    expect([...seen.keys()].sort()).toEqual(runs().map((r) => r.name).sort());
    for (const steps of seen.values()) expect(steps).toEqual(['train.py', 'select_ensemble.py', 'test.py']);
  }, 60_000);

  it('launch_sbatch.sh: a job array of one GPU per run; without SLURM every run in turn', () => {
    const one = runChecker(join(bundleDir, 'launch_sbatch.sh'), { ...env(), SLURM_SUBMIT_DIR: bundleDir, SLURM_ARRAY_TASK_ID: '4' });
    expect(one.errors).toEqual([]);
    expect(one.sbatch).toContain('--array=0-5');
    expect(one.sbatch).toContain('--gres=gpu:1');
    expect([...stepsByRun(one).keys()]).toEqual([runs()[4]!.name]);
    expectRun(one);
    const all = runChecker(join(bundleDir, 'launch_sbatch.sh'), env());
    expect(all.errors).toEqual([]);
    expect([...stepsByRun(all).keys()]).toEqual(runs().map((r) => r.name));
    expectRun(all);
  }, 60_000);

  it('a bad choice or a cadence the pipeline refuses fails the check (negative)', () => {
    const original = readFileSync(join(bundleDir, 'runs.sh'), 'utf8');
    for (const [what, from, to, message] of [
      ['value outside the choices', '--normalization imagenet', '--normalization imagenet_norm', /argument --normalization: invalid choice: 'imagenet_norm'/],
      ['cadence not a multiple of the batch', '--iters_per_eval 8192', '--iters_per_eval 8200', /iters_per_eval 8200 is not divisible by batch_size 16/],
      ['unknown flag', '--train_custom_csv', '--train_csv', /unrecognized arguments: --train_csv/],
    ] as const) {
      writeFileSync(join(bundleDir, 'runs.sh'), original.replace(from, to));
      const r = runChecker(join(bundleDir, 'launch_sbatch.sh'), { ...env(), SLURM_SUBMIT_DIR: bundleDir, SLURM_ARRAY_TASK_ID: '0' });
      expect(r.ok, what).toBe(false);
      expect(r.errors.join('\n'), what).toMatch(message);
    }
    writeFileSync(join(bundleDir, 'runs.sh'), original);
  }, 60_000);
});

describe('other task sets, policies and datasets', () => {
  it('U-Ones: prepare_data.py writes train CSVs with -1 as 1.0 and train.py reads them through --uncertain_map_path', () => {
    const exp = { ...demoExperiment({ uncertainty: 'ones', mode: 'end-to-end' }), inits: [{ label: 'ImageNet', init: { kind: 'imagenet' as const, checkpointId: 'x' } }] };
    const contents = finetuneBundleContents({ ...input, experiment: exp, checkpoints: [] });
    const { bundle, work: w } = unpack('uones', finetuneBundle({ ...input, experiment: exp, checkpoints: [] }), dataRoot, contents.folder);
    const t = manifest.train[2]!; // the 100 % draw
    const read = (p: string) => JSON.parse(execFileSync(PYTHON, ['-c', `import csv, json, sys; print(json.dumps(list(csv.DictReader(open(sys.argv[1], newline='')))))`, p], { encoding: 'utf8' })) as Record<string, string>[];
    const before = read(join(w, `csv/${t.name}.csv`));
    const after = read(join(w, `csv/${t.name}_uncertain_ones.csv`));
    const uncertain = before.flatMap((row, i) => Object.entries(row).filter(([, v]) => v === '-1.0').map(([c]) => [i, c] as const));
    expect(uncertain.length).toBeGreaterThan(0);
    for (const [i, c] of uncertain) expect(after[i]![c]).toBe('1.0');
    expect(after.some((row) => Object.values(row).includes('-1.0'))).toBe(false);
    const r = runChecker(join(bundle, 'launch_sbatch.sh'), { MOCO_CXR: repo, WORK: w, SLURM_SUBMIT_DIR: bundle, SLURM_ARRAY_TASK_ID: '2' });
    expect(r.errors).toEqual([]);
    expect(calls(r, 'train.py')[0]!.parsed).toMatchObject({ 'data_args.uncertain_map_path': join(w, `csv/${t.name}_uncertain_ones.csv`), 'model_args.fine_tuning': 'full', 'model_args.pretrained': true, 'model_args.ckpt_path': null });
    expect(readFileSync(join(bundle, 'README.md'), 'utf8')).toContain('**uncertainty policy U-Ones**');
  }, 60_000);

  it('the 5 competition tasks: --custom_tasks chexpert-competition in all three steps', () => {
    const exp = { ...demoExperiment({ tasks: { ...TASK_PRESETS['competition-5'] } }), inits: [{ label: 'ImageNet', init: { kind: 'imagenet' as const, checkpointId: 'x' } }] };
    const c = finetuneBundleContents({ ...input, experiment: exp, checkpoints: [] });
    const runsSh = new TextDecoder().decode(c.files.find((f) => f.path === 'runs.sh')!.data);
    expect(runsSh.match(/--custom_tasks chexpert-competition/g)!.length).toBe(3 * manifest.train.length);
  });

  it('Shenzhen: chexpert_like columns, one study per image, --dataset shenzhen_special scored by shenzhen-AUROC', () => {
    const sz: ImageMeta[] = Array.from({ length: 200 }, (_, i) => {
      const id = String(i + 1).padStart(4, '0');
      const tb = (i % 2) as 0 | 1;
      const name = `CHNCXR_${id}_${tb}.png`;
      return { key: name, split: 'train', file: `ChinaSet_AllFiles/CXR_png/${name}`, patient: id, study: `CHNCXR_${id}_${tb}`, frontalLateral: null, apPa: null, sex: i % 3 ? 'male' : 'female', age: 20 + i, labels: { Tuberculosis: tb } };
    });
    const split = shenzhenSplits(sz, { seed: 1, fractions: [{ ratio: 0.25, draws: 2 }, { ratio: 0.5, draws: 1 }] });
    const m: SplitManifest = {
      datasetId: 'sz',
      unit: 'image',
      seed: 1,
      valid: split.validation.map((i) => sz[i]!.key),
      test: split.test.map((i) => sz[i]!.key),
      train: split.draws.map((d) => ({ ratio: d.ratio, draw: d.draw, name: d.name, keys: d.rows.map((i) => sz[i]!.key) })),
    };
    const exp: ExperimentSettings = { ...demoExperiment({ tasks: { ...TASK_PRESETS.tuberculosis } }), datasetId: 'sz', inits: [{ label: 'ImageNet', init: { kind: 'imagenet', checkpointId: 'x' } }] };
    const ds: BundleDataset = { id: 'sz', name: 'Shenzhen', kind: 'shenzhen', labelColumns: ['Tuberculosis'], imageSide: 320 };
    const root = join(dir, 'sz-data');
    writeDataRoot(root, sz);
    const c = finetuneBundleContents({ experiment: exp, dataset: ds, images: sz, manifest: m, checkpoints: [] });
    const { bundle, work: w } = unpack('sz', finetuneBundle({ experiment: exp, dataset: ds, images: sz, manifest: m, checkpoints: [] }), root, c.folder);
    const out = JSON.parse(execFileSync(PYTHON, [BUNDLE_CHECK, join(dir, 'sz.zip')], { encoding: 'utf8' })) as { splits: Record<string, { header: string[]; keys: string[]; rows: Record<string, string>[] }> };
    expect(out.splits['valid.csv']!.header).toEqual(['Study', 'Age', 'Sex', 'No Finding', 'Tuberculosis', 'Path']);
    expect(out.splits['test.csv']!.keys).toEqual(m.test);
    for (const t of m.train) expect(out.splits[`${t.name}.csv`]!.keys).toEqual(t.keys);
    const row = out.splits['valid.csv']!.rows[0]!;
    expect(Number(row['No Finding']) + Number(row['Tuberculosis'])).toBe(1);
    // every image its own study folder (all PNGs sit in one folder on disk)
    const paths = readFileSync(join(w, 'csv/test.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').pop()!);
    expect(new Set(paths.map((p) => dirname(p))).size).toBe(paths.length);
    const r = runChecker(join(bundle, 'launch_sbatch.sh'), { MOCO_CXR: repo, WORK: w, SLURM_SUBMIT_DIR: bundle, SLURM_ARRAY_TASK_ID: '0' });
    expect(r.errors).toEqual([]);
    expect(calls(r, 'train.py')[0]!.parsed).toMatchObject({ 'data_args.dataset': 'shenzhen_special', 'optim_args.metric_name': 'shenzhen-AUROC' });
    expect(calls(r, 'select_ensemble.py')[0]!.parsed).toMatchObject({ tasks: 'Tuberculosis' });
    expect(calls(r, 'test.py')[0]!.parsed).toMatchObject({ 'data_args.dataset': 'shenzhen_special' });
  }, 60_000);
});

describe('finetuneBundle refuses what train.py would get wrong', () => {
  it('names the problem', () => {
    // a pipeline start whose Adam lr would replace --lr
    expect(() => finetuneBundleContents({ ...input, experiment: demoExperiment({ lr: 3e-4 }) })).toThrow(/lr 0.0001; train.py --moco false loads that optimizer state, whose lr replaces --lr 0.0003/);
    expect(() => finetuneBundleContents({ ...input, checkpoints: [input.checkpoints[1]!] })).toThrow(/'MoCo r8' starts from a MoCo checkpoint, which the bundle must carry/);
    expect(() => finetuneBundleContents({ ...input, checkpoints: [{ label: 'MoCo r8', format: 'pipeline', bytes: moco }] })).toThrow(/not the pipeline format/);
    expect(() => finetuneBundleContents({ ...input, experiment: demoExperiment({ tasks: { outputs: ['Nodule'], pick: ['Nodule'] } }) })).toThrow(HandoffError);
    expect(() => finetuneBundleContents({ ...input, images: images.slice(1) })).toThrow(/not among the images given/);
  });
});
